//! A sampler named by one line of text, so that declarations list the configurations of a sweep
//! (`"heun 18"`, `"dpm++2m 20"`, `"em 100 1.0"`, `"edm-sde 32 30 0.01 1 1.007"`, `"restart 18 3 2 0.14 0.30"`)
//! and every one runs from σ_max on EDM's default grid (σ_min = 0.002, σ_max = 80, ρ = 7).

use crate::dpm_solver::sample_dpm_solver_pp_2m;
use crate::edm_sde::{sample_edm_sde, Churn};
use crate::euler::sample_euler;
use crate::euler_maruyama::sample_euler_maruyama;
use crate::grid::edm_default;
use crate::heun::sample_heun;
use crate::restart::{Interval, MainSolver, Restart};
use crate::Particles;
use anyhow::{bail, Context, Result};
use diffusion::Denoiser;

/// A full sampler from the prior at σ_max = 80 to σ = 0.
#[derive(Clone, Debug, PartialEq)]
pub enum SamplerSpec {
    /// `heun N`: EDM Alg. 1 with N steps.
    Heun(usize),
    /// `euler N`: the Euler ODE with N steps.
    Euler(usize),
    /// `dpm++2m N`: the multistep DPM-Solver++(2M) with N steps.
    DpmPp2m(usize),
    /// `em N β`: Euler–Maruyama with noise multiplier β (β = 1: the reverse SDE).
    EulerMaruyama(usize, f64),
    /// `edm-sde N S_churn S_tmin S_tmax S_noise`: EDM Alg. 2, the thesis's "Improved SDE".
    EdmSde(usize, Churn),
    /// `restart N_main (N_Restart K t_min t_max)+`: Alg. 9 with Heun main steps.
    Restart(usize, Vec<Interval>),
}

/// The EDM σ_max the specs start from.
pub const SIGMA_MAX: f64 = 80.0;

impl SamplerSpec {
    /// Parses one configuration line; the error names the line and what is wrong with it.
    pub fn parse(line: &str) -> Result<Self> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let num = |i: usize| -> Result<f64> {
            let w = words.get(i).with_context(|| format!("sampler {line:?}: missing value {i}"))?;
            w.parse::<f64>().with_context(|| format!("sampler {line:?}: {w:?} is not a number"))
        };
        let count = |i: usize| -> Result<usize> {
            let v = num(i)?;
            if v < 1.0 || v.fract() != 0.0 {
                bail!("sampler {line:?}: value {i} ({v}) must be a positive integer");
            }
            Ok(v as usize)
        };
        let arity = |n: usize| -> Result<()> {
            if words.len() != n {
                bail!("sampler {line:?}: expected {} values after {:?}", n - 1, words[0]);
            }
            Ok(())
        };
        let spec = match words.first().copied() {
            Some("heun") => arity(2).and(count(1)).map(SamplerSpec::Heun)?,
            Some("euler") => arity(2).and(count(1)).map(SamplerSpec::Euler)?,
            Some("dpm++2m") => arity(2).and(count(1)).map(SamplerSpec::DpmPp2m)?,
            Some("em") => {
                arity(3)?;
                SamplerSpec::EulerMaruyama(count(1)?, num(2)?)
            }
            Some("edm-sde") => {
                arity(6)?;
                let churn = Churn {
                    s_churn: num(2)?,
                    s_tmin: num(3)?,
                    s_tmax: num(4)?,
                    s_noise: num(5)?,
                };
                SamplerSpec::EdmSde(count(1)?, churn)
            }
            Some("restart") => {
                if words.len() < 6 || !(words.len() - 2).is_multiple_of(4) {
                    bail!("sampler {line:?}: expected N_main and groups of (N_Restart K t_min t_max)");
                }
                let intervals = (2..words.len())
                    .step_by(4)
                    .map(|i| {
                        let iv = Interval {
                            n_restart: count(i)?,
                            k: num(i + 1)? as usize,
                            t_min: num(i + 2)?,
                            t_max: num(i + 3)?,
                        };
                        if iv.n_restart < 2 || !(0.0 < iv.t_min && iv.t_min < iv.t_max) {
                            bail!("sampler {line:?}: an interval needs N_Restart ≥ 2 and 0 < t_min < t_max");
                        }
                        Ok(iv)
                    })
                    .collect::<Result<_>>()?;
                SamplerSpec::Restart(count(1)?, intervals)
            }
            _ => bail!("sampler {line:?}: unknown kind (known: heun, euler, dpm++2m, em, edm-sde, restart)"),
        };
        Ok(spec)
    }

    /// The family, for legends: "ODE (Heun)", "ODE (Euler)", "SDE (EM)", "Improved SDE", "Restart".
    pub fn family(&self) -> &'static str {
        match self {
            SamplerSpec::Heun(_) => "ODE (Heun)",
            SamplerSpec::Euler(_) => "ODE (Euler)",
            SamplerSpec::DpmPp2m(_) => "ODE (DPM-Solver++(2M))",
            SamplerSpec::EulerMaruyama(..) => "SDE (EM)",
            SamplerSpec::EdmSde(..) => "Improved SDE",
            SamplerSpec::Restart(..) => "Restart",
        }
    }

    /// The Restart runner of a `restart` spec (Heun main steps, no inner churn, S_noise = 1).
    pub fn restart(&self) -> Option<Restart> {
        match self {
            SamplerSpec::Restart(n, intervals) => Some(Restart {
                main_grid: edm_default(*n),
                intervals: intervals.clone(),
                main: MainSolver::Heun,
                s_noise: 1.0,
                gamma: 0.0,
                rho: 7.0,
                jump: crate::jump::Jump::Gaussian,
            }),
            _ => None,
        }
    }

    /// Runs the sampler on `p`, which must hold draws from N(0, σ_max² I).
    pub fn sample(&self, den: &dyn Denoiser, p: &mut Particles) -> Result<()> {
        match self {
            SamplerSpec::Heun(n) => sample_heun(den, p, &edm_default(*n)),
            SamplerSpec::Euler(n) => sample_euler(den, p, &edm_default(*n)),
            SamplerSpec::DpmPp2m(n) => sample_dpm_solver_pp_2m(den, p, &edm_default(*n)),
            SamplerSpec::EulerMaruyama(n, beta) => sample_euler_maruyama(den, p, &edm_default(*n), *beta),
            SamplerSpec::EdmSde(n, churn) => sample_edm_sde(den, p, &edm_default(*n), churn),
            SamplerSpec::Restart(..) => self.restart().expect("a restart spec").sample(den, p),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// N(0, s²I), whose denoiser is D(x; σ) = s²x/(s² + σ²).
    struct Gaussian(f64);

    impl Denoiser for Gaussian {
        fn dim(&self) -> usize {
            1
        }
        fn denoise(&self, x: &[f64], sigma: f64, out: &mut [f64]) -> Result<()> {
            let s2 = self.0 * self.0;
            out.iter_mut().zip(x).for_each(|(o, x)| *o = s2 * x / (s2 + sigma * sigma));
            Ok(())
        }
    }

    #[test]
    fn parses_every_kind_and_counts_nfe_as_the_formula() {
        let r = SamplerSpec::parse("restart 18 3 2 0.14 0.30").unwrap();
        let mut p = Particles::from_prior(4, 1, SIGMA_MAX, seeding::Stream::new(0));
        r.sample(&Gaussian(1.0), &mut p).unwrap();
        assert_eq!(p.nfe, 43);
        for (line, nfe) in [
            ("heun 18", 35),
            ("euler 10", 10),
            ("dpm++2m 10", 10),
            ("em 7 1.0", 7),
            ("edm-sde 18 30 0.01 1 1.007", 35),
        ] {
            let mut p = Particles::from_prior(4, 1, SIGMA_MAX, seeding::Stream::new(0));
            SamplerSpec::parse(line).unwrap().sample(&Gaussian(1.0), &mut p).unwrap();
            assert_eq!(p.nfe, nfe, "{line}");
        }
    }

    #[test]
    fn bad_lines_name_the_problem() {
        for (line, needle) in [
            ("heun", "expected 1 values"),
            ("heun x", "not a number"),
            ("heun 0", "positive integer"),
            ("restart 18 1 2 0.1 0.3", "N_Restart ≥ 2"),
            ("restart 18 3 2 0.3", "groups of"),
            ("dpm 10", "unknown kind"),
        ] {
            let e = SamplerSpec::parse(line).unwrap_err();
            assert!(format!("{e:#}").contains(needle), "{line}: {e:#}");
        }
    }

    #[test]
    fn heun_spec_converges_to_the_exact_gaussian_flow_at_second_order() {
        // The probability-flow ODE of N(0, s²I) is x_σ ∝ √(s² + σ²), so each sample should end at
        // x_T·s/√(s² + T²); Heun's global error must fall ≈ 4× when the steps double.
        let ratio = 2.0 / (4.0 + SIGMA_MAX * SIGMA_MAX).sqrt();
        let error = |n: usize| {
            let mut p = Particles::from_prior(50, 1, SIGMA_MAX, seeding::Stream::new(3));
            let start = p.x.clone();
            SamplerSpec::parse(&format!("heun {n}")).unwrap().sample(&Gaussian(2.0), &mut p).unwrap();
            p.x.iter().zip(&start).map(|(x0, xt)| (x0 / (xt * ratio) - 1.0).abs()).fold(0.0, f64::max)
        };
        let (coarse, fine) = (error(128), error(256));
        assert!(fine < 1e-3, "{fine}");
        assert!((3.0..5.0).contains(&(coarse / fine)), "order ratio {}", coarse / fine);
    }
}

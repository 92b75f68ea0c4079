//! RSD §5 / Alg. 2 on a toy with a known posterior (the Table 1 question, exact analog): a
//! Gaussian-mixture prior in 2-D, the identity decoder, a half mask (only the first coordinate is
//! measured, with noise σ_v). The posterior is again a mixture with a closed form; the unmeasured
//! coordinate keeps the prior's modes, so a set of particles should split between them. Per
//! measurement, 4 particles by augmented HQS with γ on a grid, and 4 exact posterior draws as the
//! reference: posterior-mode coverage, mean pairwise distance (diversity), PSNR to the truth
//! as mean-of-4 and best-of-4 (fidelity) and the mean log posterior density (quality). One cell per method.

use crate::{CellDone, Experiment, Outcome, Quantity, Run};
use anyhow::{anyhow, bail, Result};
use artifacts::{Table, Tables};
use exact_denoisers::{softmax_in_place, squared_distance, GaussianMixture};
use figures::{Figure, Panel, Series, Style};
use metrics::Estimate;
use rand::Rng as _;
use rayon::prelude::*;
use registry::Params;
use repulsive_distillation::hqs::{solve, Hqs, LinearProblem};
use repulsive_distillation::{AdamParams, Ddpm, Repulsion};
use seeding::normals;

/// The runner `rsd-hqs-posterior`.
pub struct RsdInverseToy;

const METRICS: [&str; 5] = ["coverage", "pairwise", "psnr_mean_of_n", "psnr_best_of_n", "log_posterior"];

/// The posterior of a 2-D isotropic mixture given a noisy first coordinate: per component,
/// weight ∝ π_k N(y; μ_k1, s_k² + σ_v²), the first coordinate N((σ_v²μ_k1 + s_k²y)/(s_k² + σ_v²),
/// s_k²σ_v²/(s_k² + σ_v²)), the second unchanged N(μ_k2, s_k²).
struct MaskedPosterior {
    weights: Vec<f64>,
    means: Vec<[f64; 2]>,
    sd: Vec<[f64; 2]>,
}

impl MaskedPosterior {
    fn new(prior: &GaussianMixture, y: f64, noise_var: f64) -> Self {
        let k = prior.components();
        let mut logw = vec![0.0; k];
        let (mut means, mut sd) = (Vec::with_capacity(k), Vec::with_capacity(k));
        for (j, lw) in logw.iter_mut().enumerate() {
            let (m, s2) = (prior.mean(j), prior.variances[j]);
            let v = s2 + noise_var;
            *lw = prior.weights[j].ln() - 0.5 * (y - m[0]).powi(2) / v - 0.5 * v.ln();
            means.push([(noise_var * m[0] + s2 * y) / v, m[1]]);
            sd.push([(s2 * noise_var / v).sqrt(), s2.sqrt()]);
        }
        softmax_in_place(&mut logw);
        MaskedPosterior { weights: logw, means, sd }
    }

    fn sample(&self, rng: &mut seeding::Rng) -> [f64; 2] {
        let u: f64 = rng.random();
        let mut acc = 0.0;
        let mut k = self.weights.len() - 1;
        for (j, w) in self.weights.iter().enumerate() {
            acc += w;
            if u < acc {
                k = j;
                break;
            }
        }
        let z = normals(rng, 2);
        [self.means[k][0] + self.sd[k][0] * z[0], self.means[k][1] + self.sd[k][1] * z[1]]
    }

    /// log p(x | y) of one point.
    fn log_density(&self, x: &[f64]) -> f64 {
        let terms: Vec<f64> = (0..self.weights.len())
            .map(|k| {
                let (m, s) = (self.means[k], self.sd[k]);
                self.weights[k].ln() - (0..2).map(|i| 0.5 * ((x[i] - m[i]) / s[i]).powi(2) + s[i].ln()).sum::<f64>() - (2.0 * std::f64::consts::PI).ln()
            })
            .collect();
        exact_denoisers::logsumexp(&terms)
    }

    /// Fraction of the posterior's modes (components of weight ≥ `min_weight`) that are the nearest
    /// significant mode of at least one particle.
    fn coverage(&self, set: &[f64], min_weight: f64) -> f64 {
        let modes: Vec<usize> = (0..self.weights.len()).filter(|&k| self.weights[k] >= min_weight).collect();
        let hit: std::collections::BTreeSet<usize> = set
            .chunks(2)
            .map(|x| {
                *modes
                    .iter()
                    .min_by(|&&a, &&b| squared_distance(x, &self.means[a]).total_cmp(&squared_distance(x, &self.means[b])))
                    .expect("a mode")
            })
            .collect();
        hit.len() as f64 / modes.len() as f64
    }
}

struct Setup {
    prior: GaussianMixture,
    gammas: Vec<f64>,
}

impl Setup {
    fn new(p: &Params) -> Result<Self> {
        let c = p.f64("mode_offset")?;
        let prior = GaussianMixture::new(2, vec![1.0; 4], vec![c, c, c, -c, -c, c, -c, -c], vec![p.f64("mode_variance")?; 4]);
        let gammas = p.f64_list("gammas")?;
        if gammas.first() != Some(&0.0) {
            bail!("gammas must start at 0 (RSD without repulsion), got {gammas:?}");
        }
        Ok(Setup { prior, gammas })
    }

    /// Cell 0 is the exact posterior, cell 1 + g is HQS with gammas[g].
    fn label(&self, c: usize) -> String {
        if c == 0 {
            "exact-posterior".into()
        } else {
            format!("hqs.gamma={}", self.gammas[c - 1])
        }
    }
}

fn psnr(x: &[f64], truth: &[f64]) -> f64 {
    -10.0 * (squared_distance(x, truth) / x.len() as f64).log10()
}

impl Experiment for RsdInverseToy {
    fn cells(&self, params: &Params) -> Result<Vec<String>> {
        let s = Setup::new(params)?;
        Ok((0..=s.gammas.len()).map(|c| s.label(c)).collect())
    }

    fn run_cells(&self, run: &Run, cells: &[usize], done: &CellDone) -> Result<()> {
        let p = run.params;
        let s = Setup::new(p)?;
        let (sets, n) = (p.usize("measurements")?, p.usize("particles")?);
        let noise_var = p.f64("noise_std")?.powi(2);
        let min_weight = p.f64("mode_min_weight")?;
        let steps = p.usize("steps")?;
        let schedule = Ddpm::stable_diffusion(1000);
        let timesteps = Ddpm::descending(p.usize("t_max")?, p.usize("t_min")?, steps);
        cells.par_iter().try_for_each(|&c| -> Result<()> {
            let mut rows = Vec::with_capacity(sets);
            for k in 0..sets {
                // The truth and the measurement depend on the measurement index only: every method sees the same ones.
                let mut rng = run.stream.child(c as u64).child(k as u64).named("particles").rng();
                let mut truth_rng = seeding::Stream::new(p.u64("measurement_seed")?).child(k as u64).rng();
                let mut truth = [0.0; 2];
                let u: f64 = truth_rng.random();
                s.prior.sample_with(u, &normals(&mut truth_rng, 2), &mut truth);
                let y = truth[0] + noise_var.sqrt() * normals(&mut truth_rng, 1)[0];
                let post = MaskedPosterior::new(&s.prior, y, noise_var);
                let set: Vec<f64> = if c == 0 {
                    (0..n).flat_map(|_| post.sample(&mut rng)).collect()
                } else {
                    let problem = LinearProblem {
                        a: vec![1.0, 0.0],
                        decoder: vec![1.0, 0.0, 0.0, 1.0],
                        y: vec![y],
                        dim_x: 2,
                        dim_z: 2,
                    };
                    let hqs = Hqs {
                        lambda: p.f64("lambda")?,
                        rho: p.f64("rho")?,
                        gamma: s.gammas[c - 1],
                        repulsion: Repulsion::code(),
                        adam_x: AdamParams::rsd(p.f64("lr_x")?),
                        adam_z: AdamParams::rsd(p.f64("lr_z")?),
                        schedule: schedule.clone(),
                        timesteps: timesteps.clone(),
                    };
                    let seed = run.stream.child(c as u64).child(k as u64).named("hqs");
                    solve(&s.prior, &problem, &hqs, n, seed, None)?.x
                };
                let mut pair = 0.0;
                for i in 0..n {
                    for j in i + 1..n {
                        pair += squared_distance(&set[2 * i..2 * i + 2], &set[2 * j..2 * j + 2]).sqrt();
                    }
                }
                let ps: Vec<f64> = set.chunks(2).map(|x| psnr(x, &truth)).collect();
                rows.push([
                    post.coverage(&set, min_weight),
                    pair / (n * (n - 1) / 2) as f64,
                    ps.iter().sum::<f64>() / n as f64,
                    ps.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                    set.chunks(2).map(|x| post.log_density(x)).sum::<f64>() / n as f64,
                ]);
            }
            let mut t = Table::new()
                .str("method", vec![s.label(c)])
                .f64("gamma", vec![if c == 0 { f64::NAN } else { s.gammas[c - 1] }])
                .i64("measurements", vec![sets as i64]);
            for (j, name) in METRICS.iter().enumerate() {
                let e = Estimate::of(&rows.iter().map(|r| r[j]).collect::<Vec<_>>());
                t = t.f64(name, vec![e.mean]).f64(&format!("{name}_se"), vec![e.se]);
            }
            done(c, vec![("methods".into(), t)])
        })
    }

    fn finish(&self, params: &Params, tables: Tables) -> Result<Outcome> {
        let s = Setup::new(params)?;
        let t = &tables.iter().find(|(n, _)| n == "methods").ok_or_else(|| anyhow!("no methods table"))?.1;
        let vals: Vec<Vec<f64>> = METRICS
            .iter()
            .map(|m| t.f64_column(m).ok_or_else(|| anyhow!("methods table lacks `{m}`")))
            .collect::<Result<_>>()?;
        let ses: Vec<Vec<f64>> = METRICS
            .iter()
            .map(|m| t.f64_column(&format!("{m}_se")).ok_or_else(|| anyhow!("methods table lacks `{m}_se`")))
            .collect::<Result<_>>()?;
        let mut out = Outcome::default();
        out.tables.push(("methods".into(), t.clone()));
        for c in 0..=s.gammas.len() {
            for (j, m) in METRICS.iter().enumerate() {
                out.quantities.push(Quantity::mc(format!("{}.{m}", s.label(c)), vals[j][c], ses[j][c]));
            }
        }
        let gref = params.f64("gamma_reference")?;
        let r = 1 + s
            .gammas
            .iter()
            .position(|&g| g == gref)
            .ok_or_else(|| anyhow!("gamma_reference = {gref} is not one of gammas"))?;
        // Cells use independent particle draws on the same measurements: the combined s.e. is conservative.
        let diff = |j: usize, a: usize, b: usize| Quantity::mc("", vals[j][a] - vals[j][b], (ses[j][a].powi(2) + ses[j][b].powi(2)).sqrt());
        for (key, j, a, b) in [
            ("table1.pairwise_gain", 1, r, 1),
            ("table1.coverage_gain", 0, r, 1),
            ("table1.psnr_mean_change", 2, r, 1),
            ("table1.psnr_best_change", 3, r, 1),
            ("exact_minus_hqs0.coverage", 0, 0, 1),
            ("exact_minus_hqs0.pairwise", 1, 0, 1),
            ("table1.log_posterior_change", 4, r, 1),
            ("exact_minus_hqs0.log_posterior", 4, 0, 1),
        ] {
            let mut q = diff(j, a, b);
            q.key = key.into();
            out.quantities.push(q);
        }
        out.notes.push(format!(
            "Per set of {}: exact posterior coverage {:.3}, pairwise {:.3}, PSNR mean/best {:.2}/{:.2} dB; HQS γ = 0 {:.3}, {:.3}, {:.2}/{:.2}; γ = {gref} {:.3}, {:.3}, {:.2}/{:.2}.",
            params.usize("particles")?,
            vals[0][0], vals[1][0], vals[2][0], vals[3][0],
            vals[0][1], vals[1][1], vals[2][1], vals[3][1],
            vals[0][r], vals[1][r], vals[2][r], vals[3][r],
        ));
        let g: Vec<f64> = s.gammas[1..].to_vec();
        let pick = |j: usize| -> Vec<f64> { (2..=s.gammas.len()).map(|c| vals[j][c]).collect() };
        let flat = |v: f64| vec![v; g.len()];
        let panel = |title: &str, y: &str, j: usize| Panel {
            title: title.into(),
            x_label: "repulsion γ".into(),
            y_label: y.into(),
            x_log: true,
            y_log: false,
            series: vec![
                Series::new("RSD-HQS, γ > 0", &g, &pick(j), Style::LineMarkers, 1),
                Series::new("RSD-HQS, γ = 0", &g, &flat(vals[j][1]), Style::Dashed, 0),
                Series::new("exact posterior draws", &g, &flat(vals[j][0]), Style::Dashed, 2),
            ],
        };
        out.figures.push((
            String::new(),
            Figure {
                title: "RSD Alg. 2 on a half-masked 2-D mixture: diversity and fidelity of 4 particles against γ".into(),
                panels: vec![
                    panel("posterior modes covered", "fraction of posterior modes hit", 0),
                    panel("diversity", "mean pairwise distance", 1),
                    panel("fidelity, mean of 4", "PSNR to the truth [dB]", 2),
                    panel("fidelity, best of 4", "PSNR to the truth [dB]", 3),
                    panel("posterior quality", "mean log p(x | y)", 4),
                ],
                columns: 3,
            },
        ));
        Ok(out)
    }
}

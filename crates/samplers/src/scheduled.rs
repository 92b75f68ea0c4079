//! Song et al.'s samplers for any schedule x_t = s(t)(x̂ + σ(t)n) (VE, VP; EDM Table 1), driven
//! by the shared denoiser D(x̂; σ) of the unscaled variable x̂ = x/s:
//!
//! * the probability-flow ODE in t (EDM Eq. 4 in denoiser form),
//!   dx/dt = (σ̇/σ + ṡ/s) x − (s σ̇/σ) D(x/s; σ(t)), integrated by RK45;
//! * the reverse SDE dx = [f x − g² ∇ₓ log p_t(x)] dt + g dw̄ (Song et al. 2021, Eq. 6) with
//!   f = ṡ/s, g² = 2 s² σ̇ σ and ∇ₓ log p_t(x) = (D(x/s; σ) − x/s)/(s σ²), by Euler–Maruyama on
//!   equal steps in t, the last step without noise (Song et al.'s "noise removal"); the same
//!   stepper with a noise multiplier β (β = 0: Euler on the probability-flow ODE) and a hook for
//!   an extra drift (guidance) is [`sample_scheduled_em`].
//!
//! Both take and return [`Particles`] in the unscaled variable x̂, so they start from the same
//! prior draws σ(t_start)·n as every other sampler and their outputs compare directly.

use crate::rk45::{solve_rk45, Rk45, VectorField};
use crate::Particles;
use anyhow::{ensure, Result};
use diffusion::{Denoiser, Schedule};

struct ScheduledFlow<'a> {
    p: &'a mut Particles,
    den: &'a dyn Denoiser,
    schedule: &'a dyn Schedule,
}

impl VectorField for ScheduledFlow<'_> {
    fn eval(&mut self, x: &[f64], t: f64) -> Result<Vec<f64>> {
        let sch = self.schedule;
        let (s, sigma) = (sch.scale(t), sch.sigma(t));
        let (ds, dsigma) = (sch.scale_deriv(t), sch.sigma_deriv(t));
        let unscaled: Vec<f64> = x.iter().map(|v| v / s).collect();
        let d = self.p.denoise(self.den, &unscaled, sigma)?;
        let (a, b) = (dsigma / sigma + ds / s, s * dsigma / sigma);
        Ok(x.iter().zip(&d).map(|(xi, di)| a * xi - b * di).collect())
    }

    fn accepted(&mut self, step: usize, t: f64, x: &[f64]) -> Result<()> {
        let s = self.schedule.scale(t);
        self.p.x.clear();
        self.p.x.extend(x.iter().map(|v| v / s));
        self.p.check("scheduled ode", step, self.schedule.sigma(t))
    }
}

/// The probability-flow ODE of `schedule` from t_start down to t_end by RK45 (particles in x̂);
/// returns the accepted steps (the NFE is counted on the particles).
pub fn sample_scheduled_ode(den: &dyn Denoiser, schedule: &dyn Schedule, p: &mut Particles, t_start: f64, t_end: f64, opts: &Rk45) -> Result<usize> {
    ensure!(
        t_start > t_end && t_end > 0.0,
        "the scheduled ODE runs from t_start > t_end > 0 (got {t_start}, {t_end})"
    );
    let s0 = schedule.scale(t_start);
    let x: Vec<f64> = p.x.iter().map(|v| v * s0).collect();
    let mut flow = ScheduledFlow { p, den, schedule };
    let solution = solve_rk45(&mut flow, x, t_start, t_end, opts)?;
    let s1 = schedule.scale(t_end);
    p.x = solution.x.iter().map(|v| v / s1).collect();
    Ok(solution.accepted)
}

/// The reverse SDE of `schedule` by Euler–Maruyama with `steps` equal steps from t_start down to
/// t_end (particles in x̂; `steps` NFE): [`sample_scheduled_em`] with β = 1 and no extra drift.
pub fn sample_scheduled_sde(den: &dyn Denoiser, schedule: &dyn Schedule, p: &mut Particles, t_start: f64, t_end: f64, steps: usize) -> Result<()> {
    sample_scheduled_em(den, schedule, p, t_start, t_end, steps, 1.0, |_, _| Ok(()))
}

/// One step of [`sample_scheduled_em`] as its `extra` hook sees it, in the scaled coordinates x = s(t)x̂.
pub struct ScheduledStep<'a> {
    /// The state x at t, before the step.
    pub x: &'a [f64],
    /// D(x/s; σ(t)), the Tweedie estimate of the clean x̂₀.
    pub denoised: &'a [f64],
    /// The time t the step starts from.
    pub t: f64,
    /// s(t).
    pub scale: f64,
    /// σ(t), the noise level of x̂ = x/s (the VE-equivalent level).
    pub sigma: f64,
    /// The factor c = ½(1 + β) g²(t) h that multiplies the score ∇ₓ log p_t(x) in the step: an
    /// extra drift term ∇ₓ log Φ enters the same way, as c·∇ₓ log Φ.
    pub drift: f64,
}

/// Euler–Maruyama on `steps` equal steps in t from t_start down to t_end for the family of
/// reverse processes dx = [f x − ½(1 + β) g² ∇ₓ log p_t(x)] dt + √β g dw̄ (Song et al. 2021:
/// β = 1 the reverse SDE, β = 0 the probability-flow ODE), in x = s(t)x̂, the last step without
/// noise. After the drift, `extra(new, step)` may move the new state (scaled coordinates) by a
/// further term of the same step: a guidance drift c·∇ₓ log Φ (particle guidance in VP
/// coordinates, DPS's measurement gradient). With a hook that does nothing the result does not
/// depend on it. Particles are in x̂ on entry and return.
#[allow(clippy::too_many_arguments)]
pub fn sample_scheduled_em(
    den: &dyn Denoiser,
    schedule: &dyn Schedule,
    p: &mut Particles,
    t_start: f64,
    t_end: f64,
    steps: usize,
    beta: f64,
    mut extra: impl FnMut(&mut [f64], &ScheduledStep) -> Result<()>,
) -> Result<()> {
    ensure!(
        t_start > t_end && t_end > 0.0 && steps > 0 && beta >= 0.0,
        "the scheduled SDE runs from t_start > t_end > 0 in steps > 0 with β ≥ 0 (got {t_start}, {t_end}, {steps}, β = {beta})"
    );
    let h = (t_start - t_end) / steps as f64;
    let mut x: Vec<f64> = p.x.iter().map(|v| v * schedule.scale(t_start)).collect();
    for i in 0..steps {
        let t = t_start - h * i as f64;
        let (s, sigma) = (schedule.scale(t), schedule.sigma(t));
        let f = schedule.scale_deriv(t) / s;
        let g2 = 2.0 * s * s * schedule.sigma_deriv(t) * sigma;
        // ½(1 + β)g²: exactly g² at β = 1, so the SDE's arithmetic is the same as without β.
        let c2 = 0.5 * (1.0 + beta) * g2;
        let unscaled: Vec<f64> = x.iter().map(|v| v / s).collect();
        let d = p.denoise(den, &unscaled, sigma)?;
        // x ← x − h [f x − ½(1 + β) g² ∇log p_t(x)] (+ √β g √h z): one step backwards in t.
        let mut new: Vec<f64> = x
            .iter()
            .zip(&unscaled)
            .zip(&d)
            .map(|((xi, ui), di)| xi - h * (f * xi - c2 * (di - ui) / (s * sigma * sigma)))
            .collect();
        let step = ScheduledStep {
            x: &x,
            denoised: &d,
            t,
            scale: s,
            sigma,
            drift: c2 * h,
        };
        extra(&mut new, &step)?;
        x = new;
        let t_next = t - h;
        let s_next = schedule.scale(t_next);
        if i + 1 < steps && beta > 0.0 {
            // The noise is added in x̂ = x/s at the next time, so scale it by 1/s there.
            p.x = x.iter().map(|v| v / s_next).collect();
            p.add_noise((beta * g2 * h).sqrt() / s_next);
            x = p.x.iter().map(|v| v * s_next).collect();
        } else {
            p.x = x.iter().map(|v| v / s_next).collect();
        }
        p.check("scheduled sde", i, schedule.sigma(t_next))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use diffusion::{VeGeometric, VpLinear};
    use seeding::Stream;

    /// Gaussian data N(0, c² I): D(x̂; σ) = c²/(c² + σ²) x̂, and p(x̂; σ) = N(0, (c² + σ²) I).
    struct Gaussian(f64);

    impl Denoiser for Gaussian {
        fn dim(&self) -> usize {
            1
        }
        fn denoise(&self, x: &[f64], sigma: f64, out: &mut [f64]) -> Result<()> {
            let k = self.0 * self.0 / (self.0 * self.0 + sigma * sigma);
            out.iter_mut().zip(x).for_each(|(o, v)| *o = k * v);
            Ok(())
        }
    }

    fn schedules() -> [(&'static str, Box<dyn Schedule>, f64, f64); 2] {
        [
            (
                "VE",
                Box::new(VeGeometric {
                    sigma_min: 0.01,
                    sigma_max: 50.0,
                }),
                1.0,
                1e-5,
            ),
            ("VP", Box::new(VpLinear::default()), 1.0, 1e-3),
        ]
    }

    #[test]
    fn the_flow_maps_each_gaussian_marginal_onto_the_next() {
        // The flow of Gaussian data is linear: x̂(t) = √((c² + σ(t)²)/(c² + σ(T)²)) x̂(T).
        let c = 0.7;
        for (name, sch, t0, t1) in schedules() {
            let (a, b) = (sch.sigma(t0), sch.sigma(t1));
            let start = vec![1.3, -0.4, 2.2];
            let mut p = Particles::from_states(1, start.clone(), Stream::new(0));
            let opts = Rk45 {
                rtol: 1e-9,
                atol: 1e-9,
                max_steps: 100_000,
            };
            sample_scheduled_ode(&Gaussian(c), sch.as_ref(), &mut p, t0, t1, &opts).unwrap();
            let k = ((c * c + b * b) / (c * c + a * a)).sqrt();
            for (got, x) in p.x.iter().zip(&start) {
                assert!((got - k * x).abs() < 1e-6, "{name}: {got} vs {}", k * x);
            }
            assert!(p.nfe > 0);
        }
    }

    #[test]
    fn euler_on_the_probability_flow_ode_converges_at_order_one() {
        // β = 0 is Euler on the ODE, whose exact flow for Gaussian data is x̂(t) = k(t) x̂(T) (above):
        // the error at t_end must halve with the step (first order) and be small on the finer grid.
        let c = 0.7;
        for (name, sch, t0, t1) in schedules() {
            let t1 = t1.max(1e-2);
            let start = vec![1.3, -0.4, 2.2];
            let k = ((c * c + sch.sigma(t1).powi(2)) / (c * c + sch.sigma(t0).powi(2))).sqrt();
            let err = |steps: usize| {
                let mut p = Particles::from_states(1, start.clone(), Stream::new(0));
                sample_scheduled_em(&Gaussian(c), sch.as_ref(), &mut p, t0, t1, steps, 0.0, |_, _| Ok(())).unwrap();
                assert_eq!(p.nfe, steps);
                p.x.iter().zip(&start).map(|(got, x)| (got - k * x).abs()).fold(0.0, f64::max)
            };
            let (coarse, fine) = (err(400), err(800));
            let order = (coarse / fine).log2();
            assert!((0.8..1.2).contains(&order) && fine < 1e-2, "{name}: errors {coarse:e}, {fine:e}, order {order}");
        }
    }

    #[test]
    fn the_reverse_sde_reaches_the_data_variance() {
        // From the exact marginal at T, the reverse SDE's samples have variance ≈ c² + σ(t_end)².
        let (c, n) = (0.7, 20_000);
        for (name, sch, t0, t1) in schedules() {
            let mut p = Particles::from_prior(n, 1, (c * c + sch.sigma(t0).powi(2)).sqrt(), Stream::new(5));
            sample_scheduled_sde(&Gaussian(c), sch.as_ref(), &mut p, t0, t1, 1000).unwrap();
            let var = p.x.iter().map(|v| v * v).sum::<f64>() / n as f64;
            let want = c * c + sch.sigma(t1).powi(2);
            // s.e. of a variance estimate is ≈ want·√(2/n) ≈ 1%; the EM bias at 1000 steps is smaller.
            assert!((var - want).abs() < 0.05 * want, "{name}: variance {var} vs {want}");
            assert_eq!(p.nfe, 1000);
        }
    }
}

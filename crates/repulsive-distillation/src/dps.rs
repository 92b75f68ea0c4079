//! A DPS-style baseline for the latent inverse problems of Alg. 2 (Chung et al. 2023, "Diffusion
//! posterior sampling"; RSD App. D.1: p(y | z_t) ≈ p(y | ẑ₀(z_t))): the reverse VP SDE on the latent
//! prior, and after each step the authors' `PosteriorSampling` correction
//!
//!   z_{t−1} ← z_{t−1} − ζ ∇_{z_t} ‖y − A W ẑ₀(z_t)‖,   ẑ₀ the Tweedie estimate,
//!
//! the gradient of the residual's norm (DPS's step ζ/‖y − A x̂₀‖ on the squared norm, up to a
//! factor 2), taken through the denoiser. With the exact mixture prior the Jacobian is exact:
//! ẑ₀ = D(z_t/s; σ) and ∂D/∂x̂ = I + σ²∇²log p_σ ([`GaussianMixture::score_jacobian`]), so
//! ∇_{z_t} = (1/s)(I + σ²H) ∇_{ẑ₀}. The stepper is `samplers::scheduled::sample_scheduled_em` (β = 1).

use crate::hqs::LinearProblem;
use anyhow::{ensure, Result};
use diffusion::Schedule;
use exact_denoisers::GaussianMixture;
use samplers::scheduled::sample_scheduled_em;
use samplers::Particles;
use seeding::Stream;

/// DPS's step and the reverse process it rides on.
pub struct Dps<'a> {
    /// ζ, the step on ∇‖y − A W ẑ₀‖ (the DPS code's `scale`; 0.5 for its FFHQ inpainting).
    pub scale: f64,
    /// The VP schedule of the reverse SDE.
    pub schedule: &'a dyn Schedule,
    /// Start time (the prior N(0, I) in VP coordinates).
    pub t_start: f64,
    /// End time.
    pub t_end: f64,
    /// Equal steps in t (one denoiser call and one Jacobian each).
    pub steps: usize,
}

/// ∇_{x} ‖y − A W D(x/s; σ)‖ for one VP latent x (dim_z values) with its Tweedie estimate `d`
/// = D(x/s; σ), or zeros where the residual vanishes.
pub fn measurement_gradient(prior: &GaussianMixture, problem: &LinearProblem, x: &[f64], d: &[f64], scale: f64, sigma: f64) -> Vec<f64> {
    let (dz, dx) = (problem.dim_z, problem.dim_x);
    let r: Vec<f64> = problem
        .y
        .iter()
        .zip(LinearProblem::apply(&problem.a, dx, &problem.decode(d)))
        .map(|(y, ax)| y - ax)
        .collect();
    let norm = r.iter().map(|v| v * v).sum::<f64>().sqrt();
    if norm == 0.0 {
        return vec![0.0; dz];
    }
    // ∇_{ẑ₀}‖r‖ = −(AW)ᵀ r/‖r‖.
    let g0: Vec<f64> = LinearProblem::apply_t(&problem.decoder, dz, &LinearProblem::apply_t(&problem.a, dx, &r))
        .iter()
        .map(|v| -v / norm)
        .collect();
    // Through the denoiser (J = I + σ²H, symmetric) and the scaling x̂ = x/s.
    let unscaled: Vec<f64> = x.iter().map(|v| v / scale).collect();
    let h = prior.score_jacobian(&unscaled, sigma);
    (0..dz)
        .map(|i| (g0[i] + sigma * sigma * (0..dz).map(|j| h[i * dz + j] * g0[j]).sum::<f64>()) / scale)
        .collect()
}

/// DPS for `n` independent particles from the prior N(0, σ(t_start)²I) in x̂ (N(0, I) in VP
/// coordinates), all draws from `stream`; returns the latents at t_end (row-major n × dim_z).
pub fn sample_dps(prior: &GaussianMixture, problem: &LinearProblem, dps: &Dps, n: usize, stream: Stream) -> Result<Vec<f64>> {
    let dz = problem.dim_z;
    ensure!(prior.dim() == dz, "dps: prior of dimension {} for latents of dimension {dz}", prior.dim());
    let mut p = Particles::from_prior(n, dz, dps.schedule.sigma(dps.t_start), stream);
    sample_scheduled_em(prior, dps.schedule, &mut p, dps.t_start, dps.t_end, dps.steps, 1.0, |new, step| {
        if dps.scale != 0.0 {
            for ((row, x), d) in new.chunks_mut(dz).zip(step.x.chunks(dz)).zip(step.denoised.chunks(dz)) {
                let g = measurement_gradient(prior, problem, x, d, step.scale, step.sigma);
                row.iter_mut().zip(&g).for_each(|(v, g)| *v -= dps.scale * g);
            }
        }
        Ok(())
    })?;
    Ok(p.x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use diffusion::{Denoiser, VpLinear};
    use samplers::scheduled::sample_scheduled_sde;

    fn setup() -> (GaussianMixture, LinearProblem) {
        let prior = GaussianMixture::new(2, vec![0.4, 0.6], vec![1.0, 1.0, -1.0, 0.5], vec![0.2, 0.3]);
        let problem = LinearProblem {
            a: vec![1.0, 0.0, 0.0],
            decoder: vec![0.8, -0.3, 0.2, 1.1, 0.5, 0.5],
            y: vec![0.7],
            dim_x: 3,
            dim_z: 2,
        };
        (prior, problem)
    }

    #[test]
    fn the_measurement_gradient_matches_finite_differences() {
        let (prior, problem) = setup();
        let (scale, sigma) = (0.6, 0.9);
        let norm_at = |x: &[f64]| {
            let mut d = [0.0; 2];
            prior.denoise(&x.iter().map(|v| v / scale).collect::<Vec<_>>(), sigma, &mut d).unwrap();
            let ax = LinearProblem::apply(&problem.a, 3, &problem.decode(&d));
            (problem.y[0] - ax[0]).abs()
        };
        let x = [0.3, -0.4];
        let mut d = [0.0; 2];
        prior.denoise(&x.iter().map(|v| v / scale).collect::<Vec<_>>(), sigma, &mut d).unwrap();
        let g = measurement_gradient(&prior, &problem, &x, &d, scale, sigma);
        for c in 0..2 {
            let e = 1e-6;
            let (mut a, mut b) = (x, x);
            a[c] += e;
            b[c] -= e;
            let fd = (norm_at(&a) - norm_at(&b)) / (2.0 * e);
            assert!((g[c] - fd).abs() < 1e-6 * (1.0 + fd.abs()), "coordinate {c}: {} vs {fd}", g[c]);
        }
    }

    #[test]
    fn with_zero_step_dps_is_the_plain_reverse_sde() {
        let (prior, problem) = setup();
        let vp = VpLinear::default();
        let dps = Dps {
            scale: 0.0,
            schedule: &vp,
            t_start: 1.0,
            t_end: 1e-3,
            steps: 50,
        };
        let z = sample_dps(&prior, &problem, &dps, 8, Stream::new(2)).unwrap();
        let mut p = Particles::from_prior(8, 2, vp.sigma(1.0), Stream::new(2));
        sample_scheduled_sde(&prior, &vp, &mut p, 1.0, 1e-3, 50).unwrap();
        assert_eq!(z, p.x);
    }

    #[test]
    fn the_correction_pulls_samples_toward_the_measurement() {
        // y = 0.7 on the first pixel: the guided samples' residuals must be far smaller than the prior's.
        let (prior, problem) = setup();
        let vp = VpLinear::default();
        let residual = |scale: f64| {
            let dps = Dps {
                scale,
                schedule: &vp,
                t_start: 1.0,
                t_end: 1e-3,
                steps: 200,
            };
            let z = sample_dps(&prior, &problem, &dps, 200, Stream::new(4)).unwrap();
            z.chunks(2)
                .map(|zi| (problem.y[0] - LinearProblem::apply(&problem.a, 3, &problem.decode(zi))[0]).abs())
                .sum::<f64>()
                / 200.0
        };
        let (free, guided) = (residual(0.0), residual(0.05));
        assert!(guided < 0.2 * free, "mean |residual| {guided} guided vs {free} unguided");
    }
}

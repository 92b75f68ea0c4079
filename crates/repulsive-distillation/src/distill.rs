//! Particle score distillation with repulsion, Eq. 8 in the RSD code's noise-prediction form
//! (`sds_vsd_grad_diffuser`, spec pg-rsd §2.3):
//!
//!   gradᵢ = ω(t) [ ε̂_p(x̃ᵢ) − ε̂_q(x̃ᵢ) + γ σ̃ ∇_{x̃ᵢ} log Σⱼ k(x̃ᵢ, x̃ⱼ) ],  x̃ᵢ = xᵢ + σ̃ εᵢ,
//!
//! then xᵢ ← Adam(xᵢ, gradᵢ). ε̂_p is the target's noise prediction (x̃ − D_p(x̃; σ̃))/σ̃. For VSD
//! (ProlificDreamer) ε̂_q is the noise prediction of the particles' own diffused measure
//! q_t = (1/N) Σⱼ N(xⱼ, σ̃²I) — exact here, by the point-set denoiser, where ProlificDreamer fits a
//! LoRA to it. SDS (DreamFusion) uses the drawn noise εᵢ, which is the same formula with each
//! particle's measure a point mass at itself: mode-seeking, no particle sees the others.

use crate::repulsion::{grad_log_kde, FeatureMap, Repulsion};
use crate::schedule::{Ddpm, Weighting};
use crate::{Adam, AdamParams};
use anyhow::{ensure, Result};
use diffusion::Denoiser;
use exact_denoisers::PointSet;
use rand::Rng as _;
use seeding::{fill_normal, Stream};

/// The variational score ε̂_q of Eq. 7/8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variational {
    /// SDS: ε̂_q = ε (the zero-mean control variate).
    Sds,
    /// VSD: the exact noise prediction of the particles' empirical measure diffused to σ̃.
    Vsd,
}

/// One configuration of the particle update.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Distill {
    /// SDS or VSD.
    pub variational: Variational,
    /// The repulsion weight γ (0: independent particles up to VSD's own coupling).
    pub gamma: f64,
    /// The kernel density estimate of the repulsion.
    pub repulsion: Repulsion,
    /// ω(t).
    pub weighting: Weighting,
}

impl Distill {
    /// The variational noise prediction ε̂_q at the noisy copies `xt` of the set `set`.
    pub fn variational_noise(&self, set: &[f64], dim: usize, xt: &[f64], sigma: f64, eps: &[f64]) -> Result<Vec<f64>> {
        Ok(match self.variational {
            Variational::Sds => eps.to_vec(),
            Variational::Vsd => {
                let q = PointSet::new(dim, set.to_vec());
                let mut d = vec![0.0; xt.len()];
                q.denoise(xt, sigma, &mut d)?;
                xt.iter().zip(&d).map(|(x, d)| (x - d) / sigma).collect()
            }
        })
    }

    /// gradᵢ of Eq. 8 for every particle of one set at VE level σ̃ with weight ω and noise ε.
    pub fn gradient(&self, target: &dyn Denoiser, set: &[f64], sigma: f64, omega: f64, eps: &[f64], features: Option<&dyn FeatureMap>) -> Result<Vec<f64>> {
        let dim = target.dim();
        let xt: Vec<f64> = set.iter().zip(eps).map(|(x, e)| x + sigma * e).collect();
        let mut dp = vec![0.0; xt.len()];
        target.denoise(&xt, sigma, &mut dp)?;
        let eq = self.variational_noise(set, dim, &xt, sigma, eps)?;
        // The kernel acts on the noisy copies, as the code's DINO(D(z_t)) does.
        let rep = if self.gamma != 0.0 {
            grad_log_kde(&xt, dim, sigma, &self.repulsion, features)
        } else {
            vec![0.0; xt.len()]
        };
        Ok((0..xt.len())
            .map(|k| omega * ((xt[k] - dp[k]) / sigma - eq[k] + self.gamma * sigma * rep[k]))
            .collect())
    }
}

/// How the distillation loop draws its timesteps and steps.
#[derive(Clone, Debug)]
pub struct Loop {
    /// The DDPM schedule.
    pub schedule: Ddpm,
    /// Smallest timestep drawn (20 in the ProlificDreamer code's "random" schedule).
    pub t_min: usize,
    /// Largest timestep drawn (980).
    pub t_max: usize,
    /// Optimisation steps (500 in §6.1, 1000 in the Table 2 ablation).
    pub steps: usize,
    /// Adam on the particles (lr 0.03 in §6.1).
    pub adam: AdamParams,
}

/// Runs the particle update on one set (row-major n × dim, changed in place): each step draws one
/// t ~ U{t_min, …, t_max} for the whole set (the kernel compares particles at one noise level)
/// and fresh ε for every particle, all from `stream`.
pub fn distill(target: &dyn Denoiser, set: &mut [f64], cfg: &Distill, lp: &Loop, stream: Stream, features: Option<&dyn FeatureMap>) -> Result<()> {
    ensure!(
        lp.t_min <= lp.t_max && lp.t_max < lp.schedule.len(),
        "distill: timesteps [{}, {}] outside the schedule's 0..{}",
        lp.t_min,
        lp.t_max,
        lp.schedule.len()
    );
    let mut rng = stream.rng();
    let mut adam = Adam::new(lp.adam, set.len());
    let mut eps = vec![0.0; set.len()];
    for step in 0..lp.steps {
        let t = rng.random_range(lp.t_min..=lp.t_max);
        fill_normal(&mut rng, &mut eps);
        let g = cfg.gradient(target, set, lp.schedule.sigma(t), lp.schedule.weight(t, cfg.weighting), &eps, features)?;
        adam.step(set, &g);
        ensure!(
            set.iter().all(|v| v.is_finite()),
            "distill: a particle diverged at step {step} (t = {t}, γ = {})",
            cfg.gamma
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use exact_denoisers::GaussianMixture;

    #[test]
    fn variational_score_is_the_analytic_score_of_the_particle_mixture() {
        // ε̂_q = −σ ∇log q_σ with q_σ = (1/N) Σⱼ N(xⱼ, σ²I), written out by hand.
        let set = [0.3, -0.2, 1.1, 0.4, -0.7, 0.9];
        let xt = [0.5, 0.1, 0.9, 0.0, -1.0, 1.2];
        let cfg = Distill {
            variational: Variational::Vsd,
            gamma: 0.0,
            repulsion: Repulsion::code(),
            weighting: Weighting::Unit,
        };
        for &sigma in &[0.05, 0.7, 12.0] {
            let eq = cfg.variational_noise(&set, 2, &xt, sigma, &[0.0; 6]).unwrap();
            for i in 0..3 {
                let x = &xt[2 * i..2 * i + 2];
                let w: Vec<f64> = (0..3)
                    .map(|j| (-((x[0] - set[2 * j]).powi(2) + (x[1] - set[2 * j + 1]).powi(2)) / (2.0 * sigma * sigma)).exp())
                    .collect();
                let z: f64 = w.iter().sum();
                for c in 0..2 {
                    let score: f64 = (0..3).map(|j| w[j] * (set[2 * j + c] - x[c]) / (sigma * sigma)).sum::<f64>() / z;
                    let want = -sigma * score;
                    assert!(
                        (eq[2 * i + c] - want).abs() < 1e-10 * (1.0 + want.abs()),
                        "σ {sigma}: {} vs {want}",
                        eq[2 * i + c]
                    );
                }
            }
        }
    }

    #[test]
    fn vsd_with_one_particle_is_sds() {
        // q of a single particle is a point mass at it: (x̃ − x)/σ = ε.
        let cfg = |v| Distill {
            variational: v,
            gamma: 0.0,
            repulsion: Repulsion::code(),
            weighting: Weighting::Variance,
        };
        let g = GaussianMixture::new(2, vec![1.0, 1.0], vec![1.0, 0.0, -1.0, 0.5], vec![0.1, 0.2]);
        let (set, eps) = ([0.3, -0.4], [0.7, -1.2]);
        let a = cfg(Variational::Sds).gradient(&g, &set, 0.8, 0.4, &eps, None).unwrap();
        let b = cfg(Variational::Vsd).gradient(&g, &set, 0.8, 0.4, &eps, None).unwrap();
        for (a, b) in a.iter().zip(&b) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }

    #[test]
    fn sds_with_one_particle_on_a_gaussian_converges_to_its_mean() {
        // E[ε̂_p − ε] = σ̃(x − μ)/(s² + σ̃²): the expected SDS gradient vanishes only at μ.
        let mu = [1.5, -0.5];
        let g = GaussianMixture::new(2, vec![1.0], mu.to_vec(), vec![0.5]);
        let cfg = Distill {
            variational: Variational::Sds,
            gamma: 0.0,
            repulsion: Repulsion::code(),
            weighting: Weighting::Variance,
        };
        let lp = Loop {
            schedule: Ddpm::stable_diffusion(1000),
            t_min: 20,
            t_max: 980,
            steps: 4000,
            adam: AdamParams::rsd(0.003),
        };
        let mut x = [-3.0, 4.0];
        distill(&g, &mut x, &cfg, &lp, Stream::new(1), None).unwrap();
        let err = ((x[0] - mu[0]).powi(2) + (x[1] - mu[1]).powi(2)).sqrt();
        assert!(err < 0.1, "SDS ended at {x:?}, {err} from the mean");
    }

    #[test]
    fn repulsion_pushes_two_close_particles_apart() {
        // Three particles, two close together: with γ > 0 their gradients differ from γ = 0 by
        // γσω∇log Σk, which points from each toward the other, so descent separates them.
        let g = GaussianMixture::new(1, vec![1.0], vec![0.0], vec![1.0]);
        let mk = |gamma| Distill {
            variational: Variational::Vsd,
            gamma,
            repulsion: Repulsion::code(),
            weighting: Weighting::Unit,
        };
        let (set, eps) = ([0.0, 0.1, 3.0], [0.0; 3]);
        let a = mk(0.0).gradient(&g, &set, 0.5, 1.0, &eps, None).unwrap();
        let b = mk(2.0).gradient(&g, &set, 0.5, 1.0, &eps, None).unwrap();
        assert!(b[0] - a[0] > 0.0 && b[1] - a[1] < 0.0, "{a:?} {b:?}");
    }
}

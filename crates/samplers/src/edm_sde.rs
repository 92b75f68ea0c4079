//! EDM's stochastic sampler, the thesis's "Improved SDE" (EDM Alg. 2).

use crate::{
    steps::{churn, heun_step},
    Particles,
};
use anyhow::Result;
use diffusion::Denoiser;

/// The churn settings of EDM Alg. 2.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Churn {
    /// S_churn: total extra noise, spread as γ = min(S_churn/N, √2 − 1) per step.
    pub s_churn: f64,
    /// Lowest σ that gets noise.
    pub s_tmin: f64,
    /// Highest σ that gets noise.
    pub s_tmax: f64,
    /// S_noise: noise inflation.
    pub s_noise: f64,
}

impl Churn {
    /// γ_i of EDM Alg. 2 line 4 for a grid of `steps` steps.
    pub fn gamma(&self, sigma: f64, steps: usize) -> f64 {
        if (self.s_tmin..=self.s_tmax).contains(&sigma) {
            (self.s_churn / steps as f64).min(2f64.sqrt() - 1.0)
        } else {
            0.0
        }
    }
}

/// EDM Alg. 2 along `grid`: at each step raise σ to σ̂ = σ(1 + γ) with fresh noise, then Heun σ̂ → σ_next.
pub fn sample_edm_sde(den: &dyn Denoiser, p: &mut Particles, grid: &[f64], c: &Churn) -> Result<()> {
    let steps = grid.len() - 1;
    for (i, w) in grid.windows(2).enumerate() {
        let sigma_hat = churn(p, w[0], c.gamma(w[0], steps), c.s_noise); // Alg. 2, lines 4–6
        heun_step(p, den, sigma_hat, w[1])?; // lines 7–10
        p.check("edm-sde", i, w[1])?;
    }
    Ok(())
}

//! DDIM (deterministic, η = 0) in VP coordinates x̂ = α x with α = 1/√(1 + σ²), σ̂ = ασ:
//! x̂' = α' x̂₀ + σ̂' ε̂ with x̂₀ = D(x; σ) and ε̂ = (x̂ − α x̂₀)/σ̂. App. A.2.3: this is EDM's Euler
//! step in σ up to the scaling, which the `solver-identities` experiment checks.

use crate::Particles;
use anyhow::Result;
use diffusion::Denoiser;

fn alpha(sigma: f64) -> f64 {
    1.0 / (1.0 + sigma * sigma).sqrt()
}

/// DDIM along `grid`, carrying the VP-scaled state internally and returning EDM-scaled samples.
pub fn sample_ddim(den: &dyn Denoiser, p: &mut Particles, grid: &[f64]) -> Result<()> {
    let mut xh: Vec<f64> = p.x.iter().map(|v| v * alpha(grid[0])).collect();
    for (i, w) in grid.windows(2).enumerate() {
        let (a, a_next) = (alpha(w[0]), alpha(w[1]));
        let (sh, sh_next) = (a * w[0], a_next * w[1]);
        let x: Vec<f64> = xh.iter().map(|v| v / a).collect();
        let x0 = p.denoise(den, &x, w[0])?;
        xh = xh.iter().zip(&x0).map(|(v, d)| a_next * d + sh_next * (v - a * d) / sh).collect();
        p.x = xh.iter().map(|v| v / a_next).collect();
        p.check("ddim", i, w[1])?;
    }
    Ok(())
}

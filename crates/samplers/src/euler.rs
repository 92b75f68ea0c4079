//! Euler for the probability-flow ODE on a σ-grid (EDM Alg. 1 without the correction).

use crate::{steps::euler_step, Particles};
use anyhow::Result;
use diffusion::Denoiser;

/// Euler steps along `grid` (decreasing σ); N steps cost N NFE.
pub fn sample_euler(den: &dyn Denoiser, p: &mut Particles, grid: &[f64]) -> Result<()> {
    for (i, w) in grid.windows(2).enumerate() {
        euler_step(p, den, w[0], w[1])?;
        p.check("euler", i, w[1])?;
    }
    Ok(())
}

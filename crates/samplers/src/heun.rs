//! Heun's method for the probability-flow ODE (EDM Alg. 1; thesis Alg. 10 applied along the grid).

use crate::{steps::heun_step, Particles};
use anyhow::Result;
use diffusion::Denoiser;

/// Heun steps along `grid`; with the final σ = 0 an N-step grid costs 2N − 1 NFE.
pub fn sample_heun(den: &dyn Denoiser, p: &mut Particles, grid: &[f64]) -> Result<()> {
    for (i, w) in grid.windows(2).enumerate() {
        heun_step(p, den, w[0], w[1])?;
        p.check("heun", i, w[1])?;
    }
    Ok(())
}

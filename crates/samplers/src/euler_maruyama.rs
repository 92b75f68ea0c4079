//! Euler–Maruyama for the reverse SDE with a noise multiplier β (thesis B.3.2, l.4303; EDM Eq. 6
//! with σ(t) = t): x_{i+1} = x_i + (1 + β) t_i h s(x_i, t_i) + √(2β t_i h) z, h = t_i − t_{i+1}.
//! β = 0 is the Euler ODE, β = 1 the vanilla reverse SDE (SDE_θ of Theorem 9).

use crate::Particles;
use anyhow::Result;
use diffusion::Denoiser;

/// Euler–Maruyama steps along `grid` (1 NFE each).
pub fn sample_euler_maruyama(den: &dyn Denoiser, p: &mut Particles, grid: &[f64], beta: f64) -> Result<()> {
    for (i, w) in grid.windows(2).enumerate() {
        let (t, h) = (w[0], w[0] - w[1]);
        let x = std::mem::take(&mut p.x);
        let d = p.denoise(den, &x, t)?;
        // t·h·s(x, t) = h(D − x)/t.
        p.x = x.iter().zip(&d).map(|(xi, di)| xi + (1.0 + beta) * h * (di - xi) / t).collect();
        if beta > 0.0 && w[1] > 0.0 {
            p.add_noise((2.0 * beta * t * h).sqrt());
        }
        p.check("euler-maruyama", i, w[1])?;
    }
    Ok(())
}

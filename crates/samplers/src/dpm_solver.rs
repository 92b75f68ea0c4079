//! Singlestep DPM-Solver-2 and -3 (Lu et al. 2022, Alg. 1 and 2) and the multistep
//! DPM-Solver++(2M) (Lu et al. 2022b, Alg. 2) in EDM coordinates, where α = 1, λ = −ln σ and the
//! noise prediction is ε(x, σ) = (x − D(x; σ))/σ. A step to σ = 0 (λ = ∞) is the denoiser itself
//! (1 NFE), as EDM's last Euler step.

use crate::{steps::derivative, Particles};
use anyhow::Result;
use diffusion::Denoiser;

fn to_zero(p: &mut Particles, den: &dyn Denoiser, sigma: f64) -> Result<()> {
    let x = std::mem::take(&mut p.x);
    p.x = p.denoise(den, &x, sigma)?;
    Ok(())
}

/// DPM-Solver-2 with intermediate ratio r₁ (2 NFE per step). With r₁ = 1 it is Heun (App. A.2.3).
pub fn sample_dpm_solver2(den: &dyn Denoiser, p: &mut Particles, grid: &[f64], r1: f64) -> Result<()> {
    for (i, w) in grid.windows(2).enumerate() {
        let (s, t) = (w[0], w[1]);
        if t == 0.0 {
            to_zero(p, den, s)?;
        } else {
            let h = (s / t).ln();
            let s1 = s * (-r1 * h).exp();
            let x = std::mem::take(&mut p.x);
            let e0 = derivative(p, den, &x, s)?;
            let u: Vec<f64> = x.iter().zip(&e0).map(|(xi, e)| xi - s1 * (r1 * h).exp_m1() * e).collect();
            let e1 = derivative(p, den, &u, s1)?;
            let (c0, c1) = (t * h.exp_m1(), t * h.exp_m1() / (2.0 * r1));
            p.x = x.iter().zip(e0.iter().zip(&e1)).map(|(xi, (a, b))| xi - c0 * a - c1 * (b - a)).collect();
        }
        p.check("dpm-solver-2", i, t)?;
    }
    Ok(())
}

/// DPM-Solver-3 with r₁ = 1/3, r₂ = 2/3 (3 NFE per step).
pub fn sample_dpm_solver3(den: &dyn Denoiser, p: &mut Particles, grid: &[f64]) -> Result<()> {
    let (r1, r2) = (1.0 / 3.0, 2.0 / 3.0);
    for (i, w) in grid.windows(2).enumerate() {
        let (s, t) = (w[0], w[1]);
        if t == 0.0 {
            to_zero(p, den, s)?;
        } else {
            let h = (s / t).ln();
            let (s1, s2) = (s * (-r1 * h).exp(), s * (-r2 * h).exp());
            let x = std::mem::take(&mut p.x);
            let e0 = derivative(p, den, &x, s)?;
            let u1: Vec<f64> = x.iter().zip(&e0).map(|(xi, e)| xi - s1 * (r1 * h).exp_m1() * e).collect();
            let d1: Vec<f64> = derivative(p, den, &u1, s1)?.iter().zip(&e0).map(|(a, b)| a - b).collect();
            let k2 = s2 * r2 / r1 * ((r2 * h).exp_m1() / (r2 * h) - 1.0);
            let u2: Vec<f64> = x
                .iter()
                .zip(e0.iter().zip(&d1))
                .map(|(xi, (e, d))| xi - s2 * (r2 * h).exp_m1() * e - k2 * d)
                .collect();
            let d2: Vec<f64> = derivative(p, den, &u2, s2)?.iter().zip(&e0).map(|(a, b)| a - b).collect();
            let k3 = t / r2 * (h.exp_m1() / h - 1.0);
            p.x = x.iter().zip(e0.iter().zip(&d2)).map(|(xi, (e, d))| xi - t * h.exp_m1() * e - k3 * d).collect();
        }
        p.check("dpm-solver-3", i, t)?;
    }
    Ok(())
}

/// Multistep DPM-Solver++(2M) in data prediction (Lu et al. 2022b, Alg. 2), 1 NFE per step: with
/// α = 1, x_i = (σ_i/σ_{i−1}) x_{i−1} + (1 − σ_i/σ_{i−1}) D̂_i, where D̂_i extrapolates the last two
/// denoiser outputs, D̂_i = (1 + 1/(2r_i)) D_{i−1} − D_{i−2}/(2r_i), r_i = h_{i−1}/h_i, h_i = λ_i − λ_{i−1}.
/// The first step (no history) and the step to σ = 0 (h = ∞) are first order, as in the paper.
pub fn sample_dpm_solver_pp_2m(den: &dyn Denoiser, p: &mut Particles, grid: &[f64]) -> Result<()> {
    let mut previous: Option<(Vec<f64>, f64)> = None; // (D_{i−2}, h_{i−1})
    for (i, w) in grid.windows(2).enumerate() {
        let (s, t) = (w[0], w[1]);
        let x = std::mem::take(&mut p.x);
        let d = p.denoise(den, &x, s)?;
        if t == 0.0 {
            p.x = d;
        } else {
            let h = (s / t).ln();
            let dhat: Vec<f64> = match &previous {
                Some((d_old, h_old)) => {
                    let r = h_old / h;
                    d.iter().zip(d_old).map(|(a, b)| (1.0 + 0.5 / r) * a - 0.5 / r * b).collect()
                }
                None => d.clone(),
            };
            let ratio = t / s;
            p.x = x.iter().zip(&dhat).map(|(xi, di)| ratio * xi + (1.0 - ratio) * di).collect();
            previous = Some((d, h));
        }
        p.check("dpm-solver++(2m)", i, t)?;
    }
    Ok(())
}

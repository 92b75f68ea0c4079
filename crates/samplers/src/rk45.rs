//! Adaptive Dormand–Prince RK5(4) for the probability-flow ODE dx/dσ = (x − D(x; σ))/σ over the
//! whole batch as one system, as the thesis's RK45 baselines do (scipy `solve_ivp`, B.1.1), with
//! scipy's error norm and step control. Counts NFE (6 per accepted or rejected step after the first, FSAL).

use crate::{steps::derivative, Particles};
use anyhow::{bail, Result};
use diffusion::Denoiser;

/// Tolerances and limits of the adaptive solver.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rk45 {
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Give up after this many steps.
    pub max_steps: usize,
}

const C: [f64; 7] = [0.0, 1.0 / 5.0, 3.0 / 10.0, 4.0 / 5.0, 8.0 / 9.0, 1.0, 1.0];
const A: [[f64; 6]; 7] = [
    [0.0; 6],
    [1.0 / 5.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [3.0 / 40.0, 9.0 / 40.0, 0.0, 0.0, 0.0, 0.0],
    [44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0, 0.0, 0.0, 0.0],
    [19372.0 / 6561.0, -25360.0 / 2187.0, 64448.0 / 6561.0, -212.0 / 729.0, 0.0, 0.0],
    [9017.0 / 3168.0, -355.0 / 33.0, 46732.0 / 5247.0, 49.0 / 176.0, -5103.0 / 18656.0, 0.0],
    [35.0 / 384.0, 0.0, 500.0 / 1113.0, 125.0 / 192.0, -2187.0 / 6784.0, 11.0 / 84.0],
];
/// Fifth-order weights minus the embedded fourth-order ones.
const E: [f64; 7] = [
    35.0 / 384.0 - 5179.0 / 57600.0,
    0.0,
    500.0 / 1113.0 - 7571.0 / 16695.0,
    125.0 / 192.0 - 393.0 / 640.0,
    -2187.0 / 6784.0 + 92097.0 / 339200.0,
    11.0 / 84.0 - 187.0 / 2100.0,
    -1.0 / 40.0,
];

/// Integrates from `sigma_start` down to `sigma_end` > 0; returns the number of accepted steps.
pub fn sample_rk45(den: &dyn Denoiser, p: &mut Particles, sigma_start: f64, sigma_end: f64, opts: &Rk45) -> Result<usize> {
    let n = p.x.len();
    let mut s = sigma_start;
    let mut x = std::mem::take(&mut p.x);
    let mut k0 = derivative(p, den, &x, s)?;
    let norm = |v: &[f64], scale: &[f64]| (v.iter().zip(scale).map(|(a, b)| (a / b).powi(2)).sum::<f64>() / n as f64).sqrt();
    // Initial step as scipy's `select_initial_step`, simplified to its first-order estimate.
    let scale: Vec<f64> = x.iter().map(|v| opts.atol + opts.rtol * v.abs()).collect();
    let (d0, d1) = (norm(&x, &scale), norm(&k0, &scale));
    let mut h = -(if d0 < 1e-5 || d1 < 1e-5 { 1e-6 } else { 0.01 * d0 / d1 }).min(sigma_start - sigma_end);
    let mut accepted = 0;
    for step in 0..opts.max_steps {
        if s <= sigma_end {
            p.x = x;
            return Ok(accepted);
        }
        if s + h < sigma_end {
            h = sigma_end - s;
        }
        let mut ks = vec![k0.clone()];
        for stage in 1..7 {
            let xs: Vec<f64> = (0..n).map(|j| x[j] + h * (0..stage).map(|m| A[stage][m] * ks[m][j]).sum::<f64>()).collect();
            ks.push(derivative(p, den, &xs, s + C[stage] * h)?);
        }
        let x_new: Vec<f64> = (0..n).map(|j| x[j] + h * (0..6).map(|m| A[6][m] * ks[m][j]).sum::<f64>()).collect();
        let err: Vec<f64> = (0..n).map(|j| h * (0..7).map(|m| E[m] * ks[m][j]).sum::<f64>()).collect();
        let scale: Vec<f64> = (0..n).map(|j| opts.atol + opts.rtol * x[j].abs().max(x_new[j].abs())).collect();
        let e = norm(&err, &scale);
        if !e.is_finite() {
            bail!("rk45: non-finite error estimate at step {step}, σ = {s}");
        }
        if e <= 1.0 {
            s += h;
            x = x_new;
            k0 = ks.pop().expect("seven stages");
            accepted += 1;
            p.x = x.clone();
            p.check("rk45", step, s)?;
            x = std::mem::take(&mut p.x);
        }
        let factor = if e == 0.0 { 10.0 } else { (0.9 * e.powf(-0.2)).clamp(0.2, 10.0) };
        h *= factor;
    }
    bail!("rk45: no convergence in {} steps (σ = {s})", opts.max_steps)
}

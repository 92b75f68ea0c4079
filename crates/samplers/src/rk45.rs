//! Adaptive Dormand–Prince RK5(4) for the probability-flow ODE dx/dσ = (x − D(x; σ))/σ over the
//! whole batch as one system, as the thesis's RK45 baselines do (scipy `solve_ivp`, B.1.1), with
//! scipy's error norm and step control. Counts NFE (6 per accepted or rejected step after the first, FSAL).
//! The same solver integrates any vector field ([`solve_rk45`]), e.g. PFGM's ODEs anchored by z.

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

/// A right-hand side dx/dt = f(x, t) for [`solve_rk45`].
pub trait VectorField {
    /// f(x, t): one evaluation (one NFE).
    fn eval(&mut self, x: &[f64], t: f64) -> Result<Vec<f64>>;

    /// Called after each accepted step with the step's index, the new time and the new state; an
    /// error stops the solve (e.g. a divergence check).
    fn accepted(&mut self, _step: usize, _t: f64, _x: &[f64]) -> Result<()> {
        Ok(())
    }
}

impl<F: FnMut(&[f64], f64) -> Result<Vec<f64>>> VectorField for F {
    fn eval(&mut self, x: &[f64], t: f64) -> Result<Vec<f64>> {
        self(x, t)
    }
}

/// The end state of [`solve_rk45`] and what it cost.
#[derive(Clone, Debug, PartialEq)]
pub struct Rk45Solution {
    /// The state at `t_end`.
    pub x: Vec<f64>,
    /// Accepted steps.
    pub accepted: usize,
    /// Evaluations of the vector field (6 per accepted or rejected step, plus the first).
    pub nfe: usize,
}

/// Integrates dx/dt = f(x, t) from `t_start` down to `t_end` < `t_start`, the whole vector as one
/// system, by the adaptive Dormand–Prince steps of this file (the same arithmetic as
/// [`sample_rk45`], which is this solver on the probability-flow ODE).
pub fn solve_rk45(f: &mut dyn VectorField, x0: Vec<f64>, t_start: f64, t_end: f64, opts: &Rk45) -> Result<Rk45Solution> {
    let n = x0.len();
    let mut s = t_start;
    let mut x = x0;
    let mut k0 = f.eval(&x, s)?;
    let mut nfe = 1;
    let norm = |v: &[f64], scale: &[f64]| (v.iter().zip(scale).map(|(a, b)| (a / b).powi(2)).sum::<f64>() / n as f64).sqrt();
    // Initial step as scipy's `select_initial_step`, simplified to its first-order estimate.
    let scale: Vec<f64> = x.iter().map(|v| opts.atol + opts.rtol * v.abs()).collect();
    let (d0, d1) = (norm(&x, &scale), norm(&k0, &scale));
    let mut h = -(if d0 < 1e-5 || d1 < 1e-5 { 1e-6 } else { 0.01 * d0 / d1 }).min(t_start - t_end);
    let mut accepted = 0;
    for step in 0..opts.max_steps {
        if s <= t_end {
            return Ok(Rk45Solution { x, accepted, nfe });
        }
        if s + h < t_end {
            h = t_end - s;
        }
        let mut ks = vec![k0.clone()];
        for stage in 1..7 {
            let xs: Vec<f64> = (0..n).map(|j| x[j] + h * (0..stage).map(|m| A[stage][m] * ks[m][j]).sum::<f64>()).collect();
            ks.push(f.eval(&xs, s + C[stage] * h)?);
            nfe += 1;
        }
        let x_new: Vec<f64> = (0..n).map(|j| x[j] + h * (0..6).map(|m| A[6][m] * ks[m][j]).sum::<f64>()).collect();
        let err: Vec<f64> = (0..n).map(|j| h * (0..7).map(|m| E[m] * ks[m][j]).sum::<f64>()).collect();
        let scale: Vec<f64> = (0..n).map(|j| opts.atol + opts.rtol * x[j].abs().max(x_new[j].abs())).collect();
        let e = norm(&err, &scale);
        if !e.is_finite() {
            bail!("rk45: non-finite error estimate at step {step}, t = {s}");
        }
        if e <= 1.0 {
            s += h;
            x = x_new;
            k0 = ks.pop().expect("seven stages");
            accepted += 1;
            f.accepted(step, s, &x)?;
        }
        let factor = if e == 0.0 { 10.0 } else { (0.9 * e.powf(-0.2)).clamp(0.2, 10.0) };
        h *= factor;
    }
    bail!("rk45: no convergence in {} steps (t = {s})", opts.max_steps)
}

/// The probability-flow ODE dx/dσ = (x − D(x; σ))/σ on a batch of particles, checked for
/// divergence after every accepted step.
struct FlowOde<'a> {
    p: &'a mut Particles,
    den: &'a dyn Denoiser,
}

impl VectorField for FlowOde<'_> {
    fn eval(&mut self, x: &[f64], sigma: f64) -> Result<Vec<f64>> {
        derivative(self.p, self.den, x, sigma)
    }

    fn accepted(&mut self, step: usize, sigma: f64, x: &[f64]) -> Result<()> {
        self.p.x.clear();
        self.p.x.extend_from_slice(x);
        self.p.check("rk45", step, sigma)
    }
}

/// Integrates from `sigma_start` down to `sigma_end` > 0; returns the number of accepted steps.
pub fn sample_rk45(den: &dyn Denoiser, p: &mut Particles, sigma_start: f64, sigma_end: f64, opts: &Rk45) -> Result<usize> {
    let x = std::mem::take(&mut p.x);
    let mut ode = FlowOde { p, den };
    let solution = solve_rk45(&mut ode, x, sigma_start, sigma_end, opts)?;
    p.x = solution.x;
    Ok(solution.accepted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_exponential_decay_and_counts_evaluations() {
        // dx/dt = x backwards from t = 2 to t = 0: x(0) = x(2)·e^{−2}, for two components at once.
        let mut calls = 0;
        let mut f = |x: &[f64], _t: f64| -> Result<Vec<f64>> {
            calls += 1;
            Ok(x.to_vec())
        };
        let opts = Rk45 {
            rtol: 1e-8,
            atol: 1e-10,
            max_steps: 10_000,
        };
        let sol = solve_rk45(&mut f, vec![1.0, -3.0], 2.0, 0.0, &opts).unwrap();
        let want = (-2f64).exp();
        assert!((sol.x[0] - want).abs() < 1e-7 && (sol.x[1] + 3.0 * want).abs() < 1e-7, "{:?}", sol.x);
        assert_eq!(sol.nfe, calls);
        assert!(sol.accepted > 0 && sol.nfe > 6 * sol.accepted);
    }
}

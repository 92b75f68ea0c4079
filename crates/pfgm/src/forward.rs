//! The forward Poisson flow (thesis Theorem 6 = Theorem 11, l.1585, A.63–A.67): from a point just
//! above the data plane, dx̃/dt = E(x̃) carries it out to infinity; Theorem 6 says that data
//! distributed as p leave through large hemispheres uniformly. Anchored by z as the backward ODE
//! (Eq. 7.6, exponential form): d(x, z)/dt' = (z·E_x/E_z, z) with t' = ln z, now upward. E_z > 0
//! above the plane, so z is monotone along every field line and t' parameterises it.

use crate::PoissonField;
use anyhow::Result;
use samplers::rk45::{solve_rk45, Rk45};

/// States (x, z) of one forward field line at t' = ln z₀ + j·`segment`, j = 0, 1, … up to the first
/// t' ≥ ln `z_end`, each segment solved by RK45 from the previous end (so the record does not
/// depend on the solver's step choice).
pub fn trace_forward(field: &PoissonField, x0: &[f64], z0: f64, z_end: f64, segment: f64, rk45: &Rk45) -> Result<Vec<Vec<f64>>> {
    let n = field.dim();
    assert!(
        x0.len() == n && z0 > 0.0 && z_end > z0 && segment > 0.0,
        "trace_forward: x0 must have N = {n} coordinates, 0 < z0 < z_end and segment > 0 (z0 = {z0}, z_end = {z_end}, segment = {segment})"
    );
    // The solver integrates downward in its time, so it runs in u = −t' = −ln z with the sign flipped.
    let mut rhs = |s: &[f64], _u: f64| -> Result<Vec<f64>> {
        let z = s[n];
        let mut out = vec![0.0; n + 1];
        field.dx_dz(&s[..n], z, &mut out[..n]);
        out.iter_mut().take(n).for_each(|v| *v *= -z);
        out[n] = -z;
        Ok(out)
    };
    let mut state: Vec<f64> = x0.iter().copied().chain([z0]).collect();
    let mut path = vec![state.clone()];
    let (mut t, end) = (z0.ln(), z_end.ln());
    while t < end {
        let next = t + segment;
        state = solve_rk45(&mut rhs, state, -t, -next, rk45)?.x;
        path.push(state.clone());
        t = next;
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use exact_denoisers::PointSet;

    #[test]
    fn one_charge_sends_every_start_along_a_straight_ray() {
        // dx/dz = (x − y)/z: x − y grows in proportion to z, the ray through the charge.
        let y = [0.3, -0.2];
        let field = PoissonField::new(PointSet::new(2, y.to_vec()));
        let rk45 = Rk45 {
            rtol: 1e-9,
            atol: 1e-12,
            max_steps: 100_000,
        };
        let (x0, z0) = ([0.3 + 1e-3, -0.2 - 2e-3], 5e-4);
        let path = trace_forward(&field, &x0, z0, 100.0, 0.5, &rk45).unwrap();
        for s in &path {
            let f = s[2] / z0;
            assert!((s[0] - y[0] - 1e-3 * f).abs() < 1e-7 * f && (s[1] - y[1] + 2e-3 * f).abs() < 1e-7 * f, "{s:?}");
        }
        assert!(path.last().unwrap()[2] >= 100.0 * (1.0 - 1e-6) && path.len() > 2);
    }
}

//! Composite Gauss–Legendre quadrature (the `gauss-quad` crate's rule), for the 1-D integrals over
//! the radius law.

use gauss_quad::GaussLegendre;
use std::num::NonZeroUsize;

/// Nodes per panel: exact for polynomials of degree 31 on each panel.
const ORDER: usize = 16;

/// ∫_a^b f by `panels` equal panels of the 16-point Gauss–Legendre rule, summed in order.
pub fn integrate(f: impl Fn(f64) -> f64, a: f64, b: f64, panels: usize) -> f64 {
    let rule = GaussLegendre::new(NonZeroUsize::new(ORDER).expect("16 > 0"));
    let h = (b - a) / panels as f64;
    (0..panels).map(|p| rule.integrate(a + p as f64 * h, a + (p + 1) as f64 * h, &f)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panels_are_exact_for_polynomials_and_smooth_functions() {
        // ∫ x^30 over [−1, 1] = 2/31 with one panel (degree 30 ≤ 31).
        assert!((integrate(|x| x.powi(30), -1.0, 1.0, 1) - 2.0 / 31.0).abs() < 1e-14);
        assert!((integrate(f64::sin, 0.0, std::f64::consts::PI, 8) - 2.0).abs() < 1e-14);
        assert!((integrate(|x| (-x * x).exp(), -10.0, 10.0, 40) - std::f64::consts::PI.sqrt()).abs() < 1e-14);
    }
}

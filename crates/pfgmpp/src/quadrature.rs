//! Composite Gauss–Legendre quadrature, for the 1-D integrals over the radius law.

/// Nodes per panel: exact for polynomials of degree 31 on each panel.
const ORDER: usize = 16;

/// The nodes and weights of the `n`-point Gauss–Legendre rule on [−1, 1], by Newton's method on
/// the Legendre polynomial Pₙ from the Chebyshev-like initial guesses cos(π(i − ¼)/(n + ½)).
pub fn gauss_legendre(n: usize) -> (Vec<f64>, Vec<f64>) {
    assert!(n >= 2, "Gauss–Legendre rule with {n} < 2 nodes");
    let (mut nodes, mut weights) = (vec![0.0; n], vec![0.0; n]);
    for i in 0..n {
        let mut x = (std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
        let mut dp = 1.0;
        for _ in 0..100 {
            // P_n(x) (p1) and P_{n−1}(x) (p0) by the three-term recurrence, then P_n'(x).
            let (mut p0, mut p1) = (1.0, x);
            for k in 2..=n {
                let p2 = ((2 * k - 1) as f64 * x * p1 - (k - 1) as f64 * p0) / k as f64;
                p0 = p1;
                p1 = p2;
            }
            dp = n as f64 * (x * p1 - p0) / (x * x - 1.0);
            let step = p1 / dp;
            x -= step;
            if step.abs() < 1e-16 {
                break;
            }
        }
        nodes[i] = x;
        weights[i] = 2.0 / ((1.0 - x * x) * dp * dp);
    }
    (nodes, weights)
}

/// ∫_a^b f by `panels` equal panels of the 16-point Gauss–Legendre rule, summed in order.
pub fn integrate(f: impl Fn(f64) -> f64, a: f64, b: f64, panels: usize) -> f64 {
    let (nodes, weights) = gauss_legendre(ORDER);
    let h = (b - a) / panels as f64;
    (0..panels)
        .map(|p| {
            let mid = a + (p as f64 + 0.5) * h;
            nodes.iter().zip(&weights).map(|(x, w)| w * f(mid + 0.5 * h * x)).sum::<f64>() * 0.5 * h
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_exact_for_polynomials_and_smooth_functions() {
        let (x, w) = gauss_legendre(16);
        assert!((w.iter().sum::<f64>() - 2.0).abs() < 1e-14);
        // ∫ x^30 over [−1, 1] = 2/31.
        assert!((x.iter().zip(&w).map(|(x, w)| w * x.powi(30)).sum::<f64>() - 2.0 / 31.0).abs() < 1e-14);
        assert!((integrate(f64::sin, 0.0, std::f64::consts::PI, 8) - 2.0).abs() < 1e-14);
        assert!((integrate(|x| (-x * x).exp(), -10.0, 10.0, 40) - std::f64::consts::PI.sqrt()).abs() < 1e-14);
    }
}

//! One-dimensional Gaussians N(m, v) and the distances between them.

use crate::{phi, q};

/// A one-dimensional Gaussian N(mean, var).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gauss {
    /// Mean.
    pub mean: f64,
    /// Variance.
    pub var: f64,
}

impl Gauss {
    /// Density at x.
    pub fn pdf(&self, x: f64) -> f64 {
        phi((x - self.mean) / self.var.sqrt()) / self.var.sqrt()
    }
}

impl Gauss {
    /// P(X ≤ x).
    pub fn cdf(&self, x: f64) -> f64 {
        1.0 - q((x - self.mean) / self.var.sqrt())
    }
}

/// TV(P, Q) = ½∫|p − q| exactly: the densities cross where a quadratic in x vanishes, and between
/// crossings the integral of p − q is a difference of CDFs. TV = Σ over intervals with p > q of P(I) − Q(I).
pub fn tv(p: Gauss, qd: Gauss) -> f64 {
    // ln p − ln q = A x² + B x + C.
    let a = -0.5 / p.var + 0.5 / qd.var;
    let b = p.mean / p.var - qd.mean / qd.var;
    let c = -0.5 * p.mean * p.mean / p.var + 0.5 * qd.mean * qd.mean / qd.var - 0.5 * p.var.ln() + 0.5 * qd.var.ln();
    let mut roots: Vec<f64> = if a.abs() < 1e-14 * (1.0 / p.var + 1.0 / qd.var) {
        if b == 0.0 {
            vec![]
        } else {
            vec![-c / b]
        }
    } else {
        let disc = b * b - 4.0 * a * c;
        if disc <= 0.0 {
            vec![]
        } else {
            let r = disc.sqrt();
            vec![(-b - r) / (2.0 * a), (-b + r) / (2.0 * a)]
        }
    };
    roots.sort_by(f64::total_cmp);
    let mut edges = vec![f64::NEG_INFINITY];
    edges.extend(roots);
    edges.push(f64::INFINITY);
    let mass = |g: &Gauss, lo: f64, hi: f64| {
        let f = |x: f64| {
            if x == f64::INFINITY {
                1.0
            } else if x == f64::NEG_INFINITY {
                0.0
            } else {
                g.cdf(x)
            }
        };
        f(hi) - f(lo)
    };
    edges
        .windows(2)
        .map(|w| {
            let mid = if w[0].is_infinite() && w[1].is_infinite() {
                0.0
            } else if w[0].is_infinite() {
                w[1] - 1.0
            } else if w[1].is_infinite() {
                w[0] + 1.0
            } else {
                0.5 * (w[0] + w[1])
            };
            let d = mass(&p, w[0], w[1]) - mass(&qd, w[0], w[1]);
            if p.pdf(mid) > qd.pdf(mid) {
                d.max(0.0)
            } else {
                0.0
            }
        })
        .sum()
}

/// W1(P, Q) = E|F⁻¹(U) − G⁻¹(U)| = E|a + bZ| with a = Δmean, b = Δstd (monotone coupling),
/// in closed form |b|√(2/π)e^{−a²/2b²} + a(1 − 2Q(a/|b|)).
pub fn w1(p: Gauss, qd: Gauss) -> f64 {
    let a = p.mean - qd.mean;
    let b = (p.var.sqrt() - qd.var.sqrt()).abs();
    if b == 0.0 {
        return a.abs();
    }
    2.0 * b * phi(a / b) + a * (1.0 - 2.0 * q(a / b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tv_of_shifted_equal_variances_is_one_minus_two_q() {
        for &r in &[0.1, 0.7, 2.0] {
            let t = tv(Gauss { mean: 0.0, var: 1.0 }, Gauss { mean: 2.0 * r, var: 1.0 });
            assert!((t - (1.0 - 2.0 * q(r))).abs() < 1e-9, "r={r}: {t}");
        }
        assert!(tv(Gauss { mean: 0.3, var: 2.0 }, Gauss { mean: 0.3, var: 2.0 }) < 1e-15);
        // Different variances: compare with a fine trapezoid rule on ½∫|p − q|.
        let (p, qd) = (Gauss { mean: 0.2, var: 0.5 }, Gauss { mean: -0.4, var: 2.0 });
        let h = 1e-4;
        let num: f64 = (0..200_000).map(|i| -10.0 + i as f64 * h).map(|x| (p.pdf(x) - qd.pdf(x)).abs()).sum::<f64>() * h * 0.5;
        assert!((tv(p, qd) - num).abs() < 1e-6, "{} vs {num}", tv(p, qd));
    }

    #[test]
    fn w1_limits() {
        assert!((w1(Gauss { mean: 1.0, var: 4.0 }, Gauss { mean: -0.5, var: 4.0 }) - 1.5).abs() < 1e-15);
        // Same mean: E|b Z| = |b|√(2/π).
        let w = w1(Gauss { mean: 0.0, var: 9.0 }, Gauss { mean: 0.0, var: 1.0 });
        assert!((w - 2.0 * (2.0 / std::f64::consts::PI).sqrt()).abs() < 1e-12);
    }
}

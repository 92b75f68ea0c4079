//! The RBF on angles about the origin — the "radial" kernel of thesis B.4.2, the notebook's
//! "cyclical" kernel: θ = atan2(x₂, x₁) of the first two coordinates, k = exp(−Δθ²/h) with Δθ
//! wrapped to [−π, π). Its repulsion is either a rotation about the origin by the angular force
//! (the authors' notebook) or that force mapped to a Cartesian gradient (Eq. 6.4 read literally).

use std::f64::consts::PI;

/// The angle of a point about the origin in the plane of its first two coordinates (numpy's `np.angle(x + iy)`).
pub fn angle(point: &[f64]) -> f64 {
    point[1].atan2(point[0])
}

/// θ wrapped to [−π, π): the notebook's `np.mod(d + 3π, 2π) − π`.
pub fn wrap(d: f64) -> f64 {
    let (y, tau) = (d + 3.0 * PI, 2.0 * PI);
    // For y in [τ/2, 3τ) the subtraction of τ or 2τ is exact (Sterbenz), so these branches give
    // fmod's bits without its cost (the fig-b.20 hot path: one wrap per pair and step).
    let r = if (0.0..tau).contains(&y) {
        y
    } else if (tau..2.0 * tau).contains(&y) {
        y - tau
    } else if (2.0 * tau..3.0 * tau).contains(&y) {
        y - 2.0 * tau
    } else {
        y.rem_euclid(tau)
    };
    r - PI
}

/// The angles of a set (row-major n × dim, dim ≥ 2).
pub fn angles(set: &[f64], dim: usize) -> Vec<f64> {
    assert!(dim >= 2, "the radial kernel needs at least two coordinates");
    set.chunks(dim).map(angle).collect()
}

/// The row-major n × n matrix of squared wrapped angle differences.
pub fn squared_distances(theta: &[f64]) -> Vec<f64> {
    theta.iter().flat_map(|a| theta.iter().map(move |b| wrap(a - b).powi(2))).collect()
}

/// Σⱼ exp(−wrap(θᵢ − θⱼ)²/h) over the whole set (j = i included).
pub fn row_sum(theta: &[f64], i: usize, h: f64) -> f64 {
    theta.iter().map(|t| (-wrap(theta[i] - t).powi(2) / h).exp()).sum()
}

/// The angular repulsion −∂/∂θᵢ Σⱼ exp(−Δθᵢⱼ²/hᵢ) = Σⱼ (2/hᵢ) Δθᵢⱼ kᵢⱼ of every particle (hᵢ held
/// constant; the notebook's `repulsive` is this divided by n). A particle whose hᵢ is not finite
/// and positive gets none.
pub fn angular_repulsion(theta: &[f64], h: &[f64]) -> Vec<f64> {
    let n = theta.len();
    let usable = |i: usize| h[i] > 0.0 && h[i].is_finite();
    // f_ij = (2/hᵢ) Δθᵢⱼ kᵢⱼ. Where hᵢ = hⱼ and Δθⱼᵢ = −Δθᵢⱼ bit for bit, f_ji = −f_ij exactly:
    // one exponential per pair instead of two, with unchanged results.
    let mut f = vec![0.0; n * n];
    let term = |i: usize, d: f64| 2.0 / h[i] * d * (-d * d / h[i]).exp();
    for i in (0..n).filter(|&i| usable(i)) {
        for j in i + 1..n {
            let d = wrap(theta[i] - theta[j]);
            f[i * n + j] = term(i, d);
            if !usable(j) {
                continue;
            }
            let back = wrap(theta[j] - theta[i]);
            f[j * n + i] = if h[i].to_bits() == h[j].to_bits() && back.to_bits() == (-d).to_bits() {
                -f[i * n + j]
            } else {
                term(j, back)
            };
        }
        for j in (0..i).filter(|&j| !usable(j)) {
            f[i * n + j] = term(i, wrap(theta[i] - theta[j]));
        }
    }
    (0..n)
        .map(|i| {
            if usable(i) {
                (0..n).filter(|&j| j != i).map(|j| f[i * n + j]).sum()
            } else {
                0.0
            }
        })
        .collect()
}

/// The Cartesian repulsion −∇_{xᵢ} Σⱼ k = (angular repulsion)·∇θᵢ, ∇θ = (−x₂, x₁)/(x₁² + x₂²),
/// zero in the other coordinates (row-major n × dim).
pub fn cartesian(set: &[f64], dim: usize, angular: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; set.len()];
    for ((o, p), f) in out.chunks_mut(dim).zip(set.chunks(dim)).zip(angular) {
        let r2 = p[0] * p[0] + p[1] * p[1];
        o[0] = -f * p[1] / r2;
        o[1] = f * p[0] / r2;
    }
    out
}

/// Rotates a point about the origin by `angle` (counter-clockwise) in the plane of its first two coordinates.
pub fn rotate(point: &mut [f64], angle: f64) {
    [point[0], point[1]] = rotated(point, angle);
}

/// The first two coordinates of `point` rotated about the origin by `angle` (counter-clockwise).
pub fn rotated(point: &[f64], angle: f64) -> [f64; 2] {
    let (s, c) = angle.sin_cos();
    let (x, y) = (point[0], point[1]);
    [c * x - s * y, s * x + c * y]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Angles on both sides of the ±π cut, so wrapping is exercised.
    fn set() -> Vec<f64> {
        vec![-0.98, 0.05, -0.9, -0.12, 0.4, 0.75, 0.95, 0.3, 0.1, -1.2, -0.5, 0.6]
    }

    #[test]
    fn wrapping_matches_the_notebook() {
        assert!((wrap(0.5) - 0.5).abs() < 1e-15);
        assert!((wrap(2.0 * PI - 0.1) + 0.1).abs() < 1e-12);
        assert!((wrap(-2.0 * PI + 0.1) - 0.1).abs() < 1e-12);
        assert!((wrap(PI) + PI).abs() < 1e-12, "π maps to −π as in numpy");
        // The fast branches agree with fmod bit for bit, across and beyond the branch edges.
        for i in -4000..=4000 {
            let d = i as f64 * 0.004_217 + 1e-9 * (i % 7) as f64;
            assert_eq!(wrap(d).to_bits(), ((d + 3.0 * PI).rem_euclid(2.0 * PI) - PI).to_bits(), "{d}");
        }
    }

    #[test]
    fn angular_repulsion_is_minus_the_derivative_in_theta() {
        let theta = angles(&set(), 2);
        // Distinct bandwidths, and one shared bandwidth (the path that reuses each pair's exponential).
        for h in [[0.3, 1.1, 0.05, 2.0, 0.7, 0.4], [0.6; 6]] {
            let rep = angular_repulsion(&theta, &h);
            let eps = 1e-6;
            for i in 0..theta.len() {
                let (mut a, mut b) = (theta.clone(), theta.clone());
                a[i] += eps;
                b[i] -= eps;
                let fd = -(row_sum(&a, i, h[i]) - row_sum(&b, i, h[i])) / (2.0 * eps);
                assert!((rep[i] - fd).abs() < 1e-7 * (1.0 + fd.abs()), "particle {i}: {} vs {fd}", rep[i]);
            }
        }
    }

    #[test]
    fn cartesian_repulsion_is_minus_the_gradient_in_x() {
        let (x, dim) = (set(), 3);
        let h = [0.5, 0.2, 1.3, 0.8];
        let theta = angles(&x, dim);
        let rep = cartesian(&x, dim, &angular_repulsion(&theta, &h));
        let eps = 1e-6;
        for i in 0..theta.len() {
            for k in 0..dim {
                let (mut a, mut b) = (x.clone(), x.clone());
                a[i * dim + k] += eps;
                b[i * dim + k] -= eps;
                let fd = -(row_sum(&angles(&a, dim), i, h[i]) - row_sum(&angles(&b, dim), i, h[i])) / (2.0 * eps);
                assert!(
                    (rep[i * dim + k] - fd).abs() < 1e-6 * (1.0 + fd.abs()),
                    "particle {i}, coordinate {k}: {} vs {fd}",
                    rep[i * dim + k]
                );
            }
        }
    }

    #[test]
    fn rotation_keeps_the_radius_and_moves_the_angle() {
        let mut p = [0.6, -0.8, 2.0];
        let before = angle(&p);
        rotate(&mut p, 0.3);
        assert!(((p[0] * p[0] + p[1] * p[1]).sqrt() - 1.0).abs() < 1e-15 && p[2] == 2.0);
        assert!((wrap(angle(&p) - before) - 0.3).abs() < 1e-14);
    }
}

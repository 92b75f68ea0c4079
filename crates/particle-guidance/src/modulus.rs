//! The RBF on distances from the origin, k(x, y) = exp(−(‖x‖ − ‖y‖)²/h): a kernel that is
//! invariant under rotating any one of its arguments, as Prop. 3 (thesis A.3.4) asks of log Φ.
//! Its repulsion pushes the radii of a set apart and never moves a particle in angle.

/// ‖xᵢ‖ for every particle of a set (row-major n × dim).
pub fn moduli(set: &[f64], dim: usize) -> Vec<f64> {
    set.chunks(dim).map(|x| x.iter().map(|v| v * v).sum::<f64>().sqrt()).collect()
}

/// The row-major n × n matrix (ρᵢ − ρⱼ)² of the moduli ρ.
pub fn squared_distances(rho: &[f64]) -> Vec<f64> {
    rho.iter().flat_map(|a| rho.iter().map(move |b| (a - b) * (a - b))).collect()
}

/// −∇_{xᵢ} Σⱼ exp(−(ρᵢ − ρⱼ)²/hᵢ) = Σⱼ (2/hᵢ)(ρᵢ − ρⱼ) kᵢⱼ · xᵢ/ρᵢ for every particle (row-major n × dim),
/// hᵢ held constant. A particle at the origin, or whose hᵢ is not finite and positive, gets none.
pub fn repulsion(set: &[f64], dim: usize, rho: &[f64], h: &[f64]) -> Vec<f64> {
    let n = rho.len();
    let mut out = vec![0.0; set.len()];
    for i in (0..n).filter(|&i| rho[i] > 0.0 && h[i] > 0.0 && h[i].is_finite()) {
        let f: f64 = (0..n).map(|j| 2.0 / h[i] * (rho[i] - rho[j]) * (-(rho[i] - rho[j]).powi(2) / h[i]).exp()).sum();
        for (o, x) in out[i * dim..(i + 1) * dim].iter_mut().zip(&set[i * dim..(i + 1) * dim]) {
            *o = f * x / rho[i];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn energy(set: &[f64], dim: usize, h: f64) -> f64 {
        let rho = moduli(set, dim);
        0.5 * squared_distances(&rho).iter().map(|d2| (-d2 / h).exp()).sum::<f64>()
    }

    #[test]
    fn repulsion_is_minus_the_gradient_of_the_potential() {
        let (x, dim, h) = (vec![0.3, -0.2, 0.9, 0.1, -0.4, 0.5, 1.2, 0.25], 2, 0.4);
        let rho = moduli(&x, dim);
        let rep = repulsion(&x, dim, &rho, &[h; 4]);
        let eps = 1e-6;
        for c in 0..x.len() {
            let (mut a, mut b) = (x.clone(), x.clone());
            a[c] += eps;
            b[c] -= eps;
            let fd = -(energy(&a, dim, h) - energy(&b, dim, h)) / (2.0 * eps);
            assert!((rep[c] - fd).abs() < 1e-7 * (1.0 + fd.abs()), "coordinate {c}: {} vs {fd}", rep[c]);
        }
    }

    #[test]
    fn rotating_one_particle_rotates_its_force_and_leaves_the_others() {
        let (x, dim, h) = (vec![0.3, -0.2, 0.9, 0.1, -0.4, 0.5], 2, 0.7);
        let (c, s) = (0.6f64.cos(), 0.6f64.sin());
        let mut y = x.clone();
        (y[0], y[1]) = (c * x[0] - s * x[1], s * x[0] + c * x[1]);
        let (rx, ry) = (repulsion(&x, dim, &moduli(&x, dim), &[h; 3]), repulsion(&y, dim, &moduli(&y, dim), &[h; 3]));
        assert!((ry[0] - (c * rx[0] - s * rx[1])).abs() < 1e-15 && (ry[1] - (s * rx[0] + c * rx[1])).abs() < 1e-15);
        assert!(rx[2..].iter().zip(&ry[2..]).all(|(a, b)| (a - b).abs() < 1e-15));
    }
}

//! The Euclidean RBF kernel k(x, y) = exp(−‖x − y‖²/h) of Eq. 6.4 (thesis B.4.2; SVGD): pairwise
//! squared distances, the row sums Σⱼ k(xᵢ, xⱼ) and the repulsion −∇_{xᵢ} Σⱼ k(xᵢ, xⱼ).

use exact_denoisers::squared_distance;

/// The row-major n × n matrix ‖xᵢ − xⱼ‖² of a set (row-major n × dim).
pub fn squared_distances(set: &[f64], dim: usize) -> Vec<f64> {
    let n = set.len() / dim;
    let row = |i: usize| &set[i * dim..(i + 1) * dim];
    (0..n).flat_map(|i| (0..n).map(move |j| squared_distance(row(i), row(j)))).collect()
}

/// Σⱼ exp(−‖xᵢ − xⱼ‖²/h) over the whole set (j = i included, as in Eq. 6.4: that term is 1).
pub fn row_sum(set: &[f64], dim: usize, i: usize, h: f64) -> f64 {
    let n = set.len() / dim;
    let xi = &set[i * dim..(i + 1) * dim];
    (0..n).map(|j| (-squared_distance(xi, &set[j * dim..(j + 1) * dim]) / h).exp()).sum()
}

/// −∇_{xᵢ} Σⱼ exp(−‖xᵢ − xⱼ‖²/hᵢ) = Σⱼ (2/hᵢ)(xᵢ − xⱼ) kᵢⱼ for every particle (row-major n × dim),
/// with hᵢ held constant (as SVGD and the authors' code do). The notebook's `repulsive` is this
/// divided by n. A particle whose hᵢ is not finite and positive gets no repulsion.
pub fn repulsion(set: &[f64], dim: usize, sq_dist: &[f64], h: &[f64]) -> Vec<f64> {
    let n = set.len() / dim;
    let usable = |i: usize| h[i] > 0.0 && h[i].is_finite();
    // c_ij = (2/hᵢ) k_ij. Where hᵢ = hⱼ and the distance matrix is symmetric (bit for bit), c_ji is
    // the same number: one exponential per pair instead of two, with unchanged results.
    let mut c = vec![0.0; n * n];
    for i in (0..n).filter(|&i| usable(i)) {
        for j in i + 1..n {
            c[i * n + j] = 2.0 / h[i] * (-sq_dist[i * n + j] / h[i]).exp();
            if !usable(j) {
                continue;
            }
            c[j * n + i] = if h[i].to_bits() == h[j].to_bits() && sq_dist[i * n + j].to_bits() == sq_dist[j * n + i].to_bits() {
                c[i * n + j]
            } else {
                2.0 / h[j] * (-sq_dist[j * n + i] / h[j]).exp()
            };
        }
        for j in (0..i).filter(|&j| !usable(j)) {
            c[i * n + j] = 2.0 / h[i] * (-sq_dist[i * n + j] / h[i]).exp();
        }
    }
    let mut out = vec![0.0; set.len()];
    for i in (0..n).filter(|&i| usable(i)) {
        let xi = &set[i * dim..(i + 1) * dim];
        let o = &mut out[i * dim..(i + 1) * dim];
        for j in (0..n).filter(|&j| j != i) {
            let cij = c[i * n + j];
            for ((o, a), b) in o.iter_mut().zip(xi).zip(&set[j * dim..(j + 1) * dim]) {
                *o += cij * (a - b);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> Vec<f64> {
        vec![0.3, -0.2, 0.9, 0.1, -0.4, 0.5, 0.2, 0.25, -1.1, -0.6, 0.05, 0.7]
    }

    #[test]
    fn repulsion_is_minus_the_gradient_of_the_row_sum() {
        let (x, dim) = (set(), 3);
        let n = x.len() / dim;
        let h = [0.7, 0.3, 1.9, 0.05];
        let rep = repulsion(&x, dim, &squared_distances(&x, dim), &h);
        let eps = 1e-6;
        for i in 0..n {
            for k in 0..dim {
                let (mut a, mut b) = (x.clone(), x.clone());
                a[i * dim + k] += eps;
                b[i * dim + k] -= eps;
                let fd = -(row_sum(&a, dim, i, h[i]) - row_sum(&b, dim, i, h[i])) / (2.0 * eps);
                assert!(
                    (rep[i * dim + k] - fd).abs() < 1e-7 * (1.0 + fd.abs()),
                    "particle {i}, coordinate {k}: {} vs {fd}",
                    rep[i * dim + k]
                );
            }
        }
    }

    #[test]
    fn with_one_bandwidth_repulsion_is_minus_the_gradient_of_the_potential() {
        // log Φ = −(α/2) Σᵢⱼ k: the ½ cancels the double count, so −∇_{xᵢ}(½ Σᵢⱼ k) = repulsion_i.
        let (x, dim) = (set(), 2);
        let n = x.len() / dim;
        let h = vec![0.4; n];
        let rep = repulsion(&x, dim, &squared_distances(&x, dim), &h);
        let energy = |y: &[f64]| 0.5 * (0..n).map(|i| row_sum(y, dim, i, 0.4)).sum::<f64>();
        let eps = 1e-6;
        for c in 0..x.len() {
            let (mut a, mut b) = (x.clone(), x.clone());
            a[c] += eps;
            b[c] -= eps;
            let fd = -(energy(&a) - energy(&b)) / (2.0 * eps);
            assert!((rep[c] - fd).abs() < 1e-7 * (1.0 + fd.abs()), "coordinate {c}: {} vs {fd}", rep[c]);
        }
    }

    #[test]
    fn degenerate_bandwidths_give_no_repulsion() {
        let (x, dim) = (set(), 2);
        let h = [f64::INFINITY, 0.0, f64::NAN, 1.0, 1.0, 1.0];
        let rep = repulsion(&x, dim, &squared_distances(&x, dim), &h);
        assert!(rep[..6].iter().all(|&v| v == 0.0));
        assert!(rep[6..].iter().all(|v| v.is_finite()));
    }
}

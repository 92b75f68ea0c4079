//! Kernels on the torus of torsion angles (thesis B.4.2, l.4637–4649; PG paper §6.2): the wrapped RBF
//! k = exp(−‖wrap(τᵢ − τⱼ)‖²/h), each difference wrapped to (−π, π], and the permutation-invariant kernel
//! k' = min over symmetries g of k(τᵢ, g τⱼ), g the automorphisms that change the torsion assignment (here any
//! permutation of the angles followed by fixed shifts, e.g. a symmetric rotor's τ → τ + π).

use crate::radial::wrap;

/// A symmetry of the angles: (g τ)_l = τ_{perm[l]} + shift[l].
#[derive(Clone, Debug, PartialEq)]
pub struct Symmetry {
    /// Which angle each coordinate takes.
    pub perm: Vec<usize>,
    /// The shift added after the permutation (radians).
    pub shift: Vec<f64>,
}

impl Symmetry {
    /// The identity on `dim` angles.
    pub fn identity(dim: usize) -> Self {
        Symmetry {
            perm: (0..dim).collect(),
            shift: vec![0.0; dim],
        }
    }

    /// g τ.
    pub fn apply(&self, tau: &[f64]) -> Vec<f64> {
        self.perm.iter().zip(&self.shift).map(|(&p, s)| tau[p] + s).collect()
    }
}

/// ‖wrap(a − b)‖², the squared geodesic distance on the flat torus.
pub fn wrapped_squared_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| wrap(x - y).powi(2)).sum()
}

/// min over `group` of ‖wrap(a − g b)‖² and the minimising element (the first on ties). `group` must hold the
/// identity for the result to be a distance; the identity alone gives the wrapped distance.
pub fn symmetric_squared_distance(a: &[f64], b: &[f64], group: &[Symmetry]) -> (f64, usize) {
    group
        .iter()
        .enumerate()
        .map(|(i, g)| (wrapped_squared_distance(a, &g.apply(b)), i))
        .fold((f64::INFINITY, 0), |best, c| if c.0 < best.0 { c } else { best })
}

/// −∇_{τᵢ} Σⱼ k'(τᵢ, τⱼ) for every particle of a set (row-major n × dim), k' = exp(−min_g ‖wrap(τᵢ − g τⱼ)‖²/h):
/// Σⱼ (2/h) wrap(τᵢ − g* τⱼ) k'ᵢⱼ with g* the minimising symmetry (the gradient wherever the minimum is unique).
/// With `group` = [identity] this is the wrapped RBF kernel.
pub fn torus_repulsion(set: &[f64], dim: usize, h: f64, group: &[Symmetry]) -> Vec<f64> {
    let n = set.len() / dim;
    let mut out = vec![0.0; set.len()];
    for i in 0..n {
        let ti = &set[i * dim..(i + 1) * dim];
        for j in (0..n).filter(|&j| j != i) {
            let (d2, g) = symmetric_squared_distance(ti, &set[j * dim..(j + 1) * dim], group);
            let c = 2.0 / h * (-d2 / h).exp();
            let gj = group[g].apply(&set[j * dim..(j + 1) * dim]);
            for ((o, a), b) in out[i * dim..(i + 1) * dim].iter_mut().zip(ti).zip(&gj) {
                *o += c * wrap(a - b);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    fn group() -> Vec<Symmetry> {
        // Swap the first two angles; shift the third by π; both.
        let swap = Symmetry {
            perm: vec![1, 0, 2],
            shift: vec![0.0; 3],
        };
        let flip = Symmetry {
            perm: vec![0, 1, 2],
            shift: vec![0.0, 0.0, PI],
        };
        let both = Symmetry {
            perm: vec![1, 0, 2],
            shift: vec![0.0, 0.0, PI],
        };
        vec![Symmetry::identity(3), swap, flip, both]
    }

    fn row_sum(set: &[f64], i: usize, h: f64, g: &[Symmetry]) -> f64 {
        let n = set.len() / 3;
        (0..n)
            .filter(|&j| j != i)
            .map(|j| (-symmetric_squared_distance(&set[3 * i..3 * i + 3], &set[3 * j..3 * j + 3], g).0 / h).exp())
            .sum()
    }

    #[test]
    fn repulsion_is_minus_the_gradient_for_both_kernels() {
        // Points chosen away from ties of the minimum and from the wrap discontinuity.
        let x = [0.3, -2.9, 1.1, 2.8, 0.4, -0.5, -1.2, 0.9, 3.0, 0.1, 1.4, -2.2];
        for g in [vec![Symmetry::identity(3)], group()] {
            let rep = torus_repulsion(&x, 3, 1.3, &g);
            let eps = 1e-6;
            for i in 0..4 {
                for c in 0..3 {
                    let (mut a, mut b) = (x.to_vec(), x.to_vec());
                    a[3 * i + c] += eps;
                    b[3 * i + c] -= eps;
                    let fd = -(row_sum(&a, i, 1.3, &g) - row_sum(&b, i, 1.3, &g)) / (2.0 * eps);
                    assert!(
                        (rep[3 * i + c] - fd).abs() < 1e-7,
                        "|G| = {}, particle {i}, angle {c}: {} vs {fd}",
                        g.len(),
                        rep[3 * i + c]
                    );
                }
            }
        }
    }

    #[test]
    fn the_invariant_distance_ignores_symmetric_duplicates() {
        let a = [0.5, -1.0, 2.0];
        let g = group();
        for s in &g {
            let b = s.apply(&a);
            assert!(symmetric_squared_distance(&a, &b, &g).0 < 1e-24);
        }
        // The wrapped distance sees the duplicate: swapping 0.5 and −1.0 moves two angles by 1.5.
        assert!((wrapped_squared_distance(&a, &g[1].apply(&a)) - 4.5).abs() < 1e-12);
        // Wrapping: 3.1 and −3.1 are 2π − 6.2 apart.
        assert!((wrapped_squared_distance(&[3.1], &[-3.1]) - (2.0 * PI - 6.2).powi(2)).abs() < 1e-12);
    }
}

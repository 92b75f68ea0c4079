//! Stein variational gradient descent, the baseline PG is compared with (PG paper Eq. 2; thesis
//! Eq. 6.2, App. A.3.5): x_i ← x_i + ε ψ(x_i) with
//!
//!   ψ(x_i) = 1/(n−1) Σ_j [ k(x_j, x_i) ∇log p(x_j) + ∇_{x_j} k(x_j, x_i) ],
//!
//! the paper's 1/(n−1) normalisation (standard SVGD uses 1/n). Unlike PG, the driving term is a
//! kernel-weighted average of the scores of nearby particles, not the particle's own score.

use crate::{rbf, Bandwidth};
use anyhow::{ensure, Result};
use diffusion::Denoiser;

/// ψ(x_i) for every particle of a set (row-major n × dim), given the score at each particle and
/// the RBF bandwidth rule (evaluated at noise level `sigma`, which only σ-dependent rules read).
pub fn svgd_direction(set: &[f64], dim: usize, scores: &[f64], bandwidth: &Bandwidth, sigma: f64) -> Vec<f64> {
    let n = set.len() / dim;
    assert!(n >= 2, "SVGD needs at least two particles");
    let sq = rbf::squared_distances(set, dim);
    let h = bandwidth.per_particle(&sq, n, sigma);
    // Σ_j ∇_{x_j} k(x_j, x_i) = Σ_j (2/h)(x_i − x_j) k_ij: the repulsion of the RBF kernel.
    let mut psi = rbf::repulsion(set, dim, &sq, &h);
    for i in 0..n {
        for j in 0..n {
            let k = if h[i] > 0.0 && h[i].is_finite() {
                (-sq[i * n + j] / h[i]).exp()
            } else {
                f64::from(i == j)
            };
            for c in 0..dim {
                psi[i * dim + c] += k * scores[j * dim + c];
            }
        }
    }
    psi.iter_mut().for_each(|v| *v /= (n - 1) as f64);
    psi
}

/// `iterations` SVGD steps of size `step` on `set`, with the score of `den` at noise level
/// `sigma` (a small σ targets the clean distribution).
pub fn svgd(den: &dyn Denoiser, set: &mut [f64], sigma: f64, step: f64, iterations: usize, bandwidth: &Bandwidth) -> Result<()> {
    let dim = den.dim();
    let mut scores = vec![0.0; set.len()];
    for it in 0..iterations {
        den.score(set, sigma, &mut scores)?;
        let psi = svgd_direction(set, dim, &scores, bandwidth, sigma);
        set.iter_mut().zip(&psi).for_each(|(x, p)| *x += step * p);
        ensure!(set.iter().all(|v| v.is_finite()), "svgd: a particle diverged at iteration {it} (step {step})");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use exact_denoisers::GaussianMixture;

    #[test]
    fn two_particles_by_hand() {
        // 1-D, h = 1: k = e^{−d²}, ψ_1 = k·s_2 + s_1 + 2(x_1 − x_2)k (n − 1 = 1).
        let set = [0.0, 0.5];
        let scores = [1.0, -2.0];
        let psi = svgd_direction(&set, 1, &scores, &Bandwidth::Fixed(1.0), 1.0);
        let k = (-0.25f64).exp();
        assert!((psi[0] - (1.0 + k * -2.0 + 2.0 * (0.0 - 0.5) * k)).abs() < 1e-15);
        assert!((psi[1] - (-2.0 + k * 1.0 + 2.0 * (0.5 - 0.0) * k)).abs() < 1e-15);
    }

    #[test]
    fn particles_settle_on_a_gaussian_target() {
        // N(2, 0.5²): SVGD's fixed point with the median bandwidth has the target's mean and
        // nearly its variance (the finite-n kernel bias shrinks it a little).
        let target = GaussianMixture::new(1, vec![1.0], vec![2.0], vec![0.25]);
        let mut set: Vec<f64> = (0..100).map(|i| -1.0 + 2.0 * i as f64 / 99.0).collect();
        svgd(&target, &mut set, 1e-3, 0.05, 3000, &Bandwidth::MedianPaper).unwrap();
        let mean = set.iter().sum::<f64>() / 100.0;
        let var = set.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / 100.0;
        assert!((mean - 2.0).abs() < 0.01, "mean {mean}");
        assert!((var / 0.25 - 1.0).abs() < 0.2, "variance {var}");
    }
}

//! The Fréchet distance between Gaussians fitted to two feature sets (the statistic behind FID;
//! in this workspace it is reported under the name of its feature extractor, e.g. FD-digits):
//!
//!   FD = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2},
//!
//! the squared 2-Wasserstein distance between N(μ₁, Σ₁) and N(μ₂, Σ₂) (Dowson & Landau 1982).
//! The cross term uses the symmetric form Σ₁^{1/2} Σ₂ Σ₁^{1/2}, whose square root needs only its
//! eigenvalues; both decompositions are faer's self-adjoint eigensolver, in f64.

use faer::{Mat, Side};

/// Mean and covariance (unbiased, n − 1) of a set of feature vectors.
#[derive(Clone, Debug, PartialEq)]
pub struct GaussianMoments {
    /// Feature dimension.
    pub dim: usize,
    /// The mean vector.
    pub mean: Vec<f64>,
    /// The covariance, row-major dim × dim.
    pub cov: Vec<f64>,
}

impl GaussianMoments {
    /// Moments of the rows of `features` (row-major, `dim` per row, at least two rows).
    pub fn of(features: &[f64], dim: usize) -> Self {
        let n = features.len() / dim;
        assert!(n >= 2 && features.len() == n * dim, "moments need at least two rows of {dim} values");
        let mut mean = vec![0.0; dim];
        for row in features.chunks_exact(dim) {
            mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let mut cov = vec![0.0; dim * dim];
        for row in features.chunks_exact(dim) {
            for i in 0..dim {
                let di = row[i] - mean[i];
                for j in 0..dim {
                    cov[i * dim + j] += di * (row[j] - mean[j]);
                }
            }
        }
        cov.iter_mut().for_each(|c| *c /= (n - 1) as f64);
        GaussianMoments { dim, mean, cov }
    }

    fn matrix(&self) -> Mat<f64> {
        Mat::from_fn(self.dim, self.dim, |i, j| self.cov[i * self.dim + j])
    }
}

/// Σ^{1/2} of a symmetric positive semi-definite matrix (negative rounding eigenvalues clipped to 0).
fn psd_sqrt(m: &Mat<f64>) -> Mat<f64> {
    let evd = m.self_adjoint_eigen(Side::Lower).expect("the self-adjoint eigensolver converges");
    let (u, s) = (evd.U(), evd.S());
    let n = m.nrows();
    let root: Vec<f64> = (0..n).map(|k| s[k].max(0.0).sqrt()).collect();
    Mat::from_fn(n, n, |i, j| (0..n).map(|k| u[(i, k)] * root[k] * u[(j, k)]).sum())
}

/// The Fréchet distance between the Gaussians with moments `a` and `b`.
pub fn frechet_distance(a: &GaussianMoments, b: &GaussianMoments) -> f64 {
    assert_eq!(a.dim, b.dim, "Fréchet distance between feature sets of different dimension");
    let mean_term: f64 = a.mean.iter().zip(&b.mean).map(|(x, y)| (x - y) * (x - y)).sum();
    let (s1, s2) = (a.matrix(), b.matrix());
    let r = psd_sqrt(&s1);
    let m = &r * &s2 * &r;
    // Symmetrise away rounding before the eigensolver, which reads one triangle.
    let m = Mat::from_fn(a.dim, a.dim, |i, j| 0.5 * (m[(i, j)] + m[(j, i)]));
    let cross: f64 = m
        .self_adjoint_eigenvalues(Side::Lower)
        .expect("the self-adjoint eigensolver converges")
        .iter()
        .map(|l| l.max(0.0).sqrt())
        .sum();
    let trace = |s: &Mat<f64>| (0..a.dim).map(|i| s[(i, i)]).sum::<f64>();
    mean_term + trace(&s1) + trace(&s2) - 2.0 * cross
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gaussian(mean: &[f64], cov: &[f64]) -> GaussianMoments {
        GaussianMoments {
            dim: mean.len(),
            mean: mean.to_vec(),
            cov: cov.to_vec(),
        }
    }

    #[test]
    fn equal_gaussians_are_at_distance_zero() {
        let g = gaussian(&[1.0, -2.0, 0.5], &[2.0, 0.3, 0.1, 0.3, 1.0, -0.2, 0.1, -0.2, 0.5]);
        assert!(frechet_distance(&g, &g).abs() < 1e-12);
    }

    #[test]
    fn commuting_covariances_match_the_closed_form() {
        // Diagonal Σ: FD = ‖Δμ‖² + Σ_i (√a_i − √b_i)².
        let a = gaussian(&[0.0, 1.0], &[4.0, 0.0, 0.0, 1.0]);
        let b = gaussian(&[1.0, 1.0], &[1.0, 0.0, 0.0, 9.0]);
        let want = 1.0 + (2.0f64 - 1.0).powi(2) + (1.0f64 - 3.0).powi(2);
        assert!((frechet_distance(&a, &b) - want).abs() < 1e-12);
    }

    #[test]
    fn non_commuting_two_by_two_matches_the_closed_form() {
        // For 2 × 2, tr √(Σ₁Σ₂) = √(tr(Σ₁Σ₂) + 2√det(Σ₁Σ₂)) (the eigenvalues of Σ₁Σ₂ are real, positive).
        let (s1, s2): ([f64; 4], [f64; 4]) = ([2.0, 0.8, 0.8, 1.0], [1.0, -0.4, -0.4, 3.0]);
        let tr12 = s1[0] * s2[0] + s1[1] * s2[2] + s1[2] * s2[1] + s1[3] * s2[3];
        let det = (s1[0] * s1[3] - s1[1] * s1[2]) * (s2[0] * s2[3] - s2[1] * s2[2]);
        let cross = (tr12 + 2.0 * det.sqrt()).sqrt();
        let want = 0.25 + (s1[0] + s1[3]) + (s2[0] + s2[3]) - 2.0 * cross;
        let got = frechet_distance(&gaussian(&[0.5, 0.0], &s1), &gaussian(&[0.0, 0.0], &s2));
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }

    #[test]
    fn moments_of_a_small_set() {
        let m = GaussianMoments::of(&[0.0, 0.0, 2.0, 2.0, 4.0, 1.0], 2);
        assert_eq!(m.mean, vec![2.0, 1.0]);
        assert_eq!(m.cov, vec![4.0, 1.0, 1.0, 1.0]);
    }
}

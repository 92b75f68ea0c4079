//! Squared maximum mean discrepancy (MMD²) between two point sets, with the sum of Gaussian kernels
//! used for the PFGM++ 1000-dimensional experiment (thesis App. B.6.3, Table B.26).
//!
//! The kernel, as in the experiment's code (spec `seeds-ch6-9.md` §3.2): k(x, y) = Σ_k exp(−‖x − y‖²/h_k)
//! over five scales h_k = h̄·2^{k−2}, k = 0..4, where h̄ is the mean squared distance between
//! distinct points of the pooled sample x ∪ y. Note the scales are in squared-distance units and
//! carry no factor 2: h_k plays the role of 2b² in the exp(−d²/(2b²)) convention. The experiment
//! reports the biased estimate.
//!
//! Estimators (Gretton, Borgwardt, Rasch, Schölkopf & Smola 2012, *A kernel two-sample test*,
//! JMLR 13, Sec. 2.2: Lemma 6 gives MMD²_u, and MMD²_b is the plug-in estimate), with K⁰ = k(x, x) = number of scales:
//!
//!   unbiased  MMD²_u = Σ_{i≠j} k(x_i, x_j)/(n(n−1)) + Σ_{i≠j} k(y_i, y_j)/(m(m−1)) − 2 Σ_{i,j} k(x_i, y_j)/(nm)
//!   biased    MMD²_b = (Σ_{i≠j} k(x_i, x_j) + nK⁰)/n² + (Σ_{i≠j} k(y_i, y_j) + mK⁰)/m² − 2 Σ_{i,j} k(x_i, y_j)/(nm)
//!
//! For n = m the biased one is the code's mean(K_XX + K_YY − K_XY − K_YX).

use crate::euclidean::{point_count, squared_distance};
use rayon::prelude::*;

/// The multipliers 2^{k−2}, k = 0..4, of the PFGM++ experiment's kernel scales.
pub const PFGMPP_SCALE_MULTIPLIERS: [f64; 5] = [0.25, 0.5, 1.0, 2.0, 4.0];

/// A sum of Gaussian kernels k(x, y) = Σ_k exp(−‖x − y‖²/h_k), with scales h_k in squared-distance units.
#[derive(Clone, Debug, PartialEq)]
pub struct GaussianMixtureKernel {
    scales: Vec<f64>,
}

impl GaussianMixtureKernel {
    /// The kernel with the given scales h_k (each finite and positive; at least one).
    pub fn new(scales: Vec<f64>) -> Self {
        assert!(!scales.is_empty(), "a kernel needs at least one scale");
        assert!(
            scales.iter().all(|h| h.is_finite() && *h > 0.0),
            "kernel scales must be finite and positive: {scales:?}"
        );
        GaussianMixtureKernel { scales }
    }

    /// The PFGM++ experiment's kernel for comparing `x` and `y`: scales h̄·[1/4, 1/2, 1, 2, 4] with
    /// h̄ the mean squared distance between distinct points of the pooled sample.
    pub fn pfgmpp(x: &[f64], y: &[f64], dim: usize) -> Self {
        let mean = mean_pairwise_squared_distance(x, y, dim);
        GaussianMixtureKernel::new(PFGMPP_SCALE_MULTIPLIERS.iter().map(|c| c * mean).collect())
    }

    /// The scales h_k.
    pub fn scales(&self) -> &[f64] {
        &self.scales
    }

    /// k as a function of the squared distance ‖x − y‖².
    pub fn at_squared_distance(&self, d2: f64) -> f64 {
        self.scales.iter().map(|h| (-d2 / h).exp()).sum()
    }

    /// k(x, y).
    pub fn eval(&self, x: &[f64], y: &[f64]) -> f64 {
        self.at_squared_distance(squared_distance(x, y))
    }
}

/// Mean of ‖z_i − z_j‖² over ordered pairs i ≠ j of the pooled rows z of `x` and `y`.
///
/// Uses Σ_{i,j} ‖z_i − z_j‖² = 2N Σ_i ‖z_i − z̄‖² (expand the square around the mean z̄), so
/// the mean over the N(N − 1) off-diagonal pairs is 2 Σ_i ‖z_i − z̄‖²/(N − 1): O(N·dim) instead
/// of O(N²·dim), and centred first so that a large common offset does not cancel digits.
pub fn mean_pairwise_squared_distance(x: &[f64], y: &[f64], dim: usize) -> f64 {
    let total = point_count(x, dim) + point_count(y, dim);
    assert!(total >= 2, "a mean pairwise distance needs at least two points");
    let pooled = || x.chunks_exact(dim).chain(y.chunks_exact(dim));
    let mut centre = vec![0.0; dim];
    for z in pooled() {
        centre.iter_mut().zip(z).for_each(|(c, v)| *c += v);
    }
    centre.iter_mut().for_each(|c| *c /= total as f64);
    let spread: f64 = pooled().map(|z| squared_distance(z, &centre)).sum();
    2.0 * spread / (total - 1) as f64
}

/// Both estimates of MMD² from one pass over the kernel matrices.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MmdSquared {
    /// The unbiased U-statistic MMD²_u: zero mean when the two distributions agree, may be negative.
    pub unbiased: f64,
    /// The biased V-statistic MMD²_b ≥ 0, the value the PFGM++ experiment reports.
    pub biased: f64,
}

/// MMD² between the rows of `x` (n points) and of `y` (m points), row-major with `dim` coordinates
/// per point, under `kernel`; n, m ≥ 2.
///
/// Computed in f64 with rayon over rows; each row's sum runs in order and the row sums are added in
/// order, so the result is the same whatever the number of threads.
pub fn mmd_squared(x: &[f64], y: &[f64], dim: usize, kernel: &GaussianMixtureKernel) -> MmdSquared {
    let (n, m) = (point_count(x, dim), point_count(y, dim));
    assert!(n >= 2 && m >= 2, "MMD² needs at least two points in each set (got {n} and {m})");
    let (n_f, m_f) = (n as f64, m as f64);
    let self_kernel = kernel.scales.len() as f64;
    let xx = off_diagonal_sum(x, dim, kernel);
    let yy = off_diagonal_sum(y, dim, kernel);
    let xy = cross_sum(x, y, dim, kernel);
    let cross = 2.0 * xy / (n_f * m_f);
    MmdSquared {
        unbiased: xx / (n_f * (n_f - 1.0)) + yy / (m_f * (m_f - 1.0)) - cross,
        biased: (xx + n_f * self_kernel) / (n_f * n_f) + (yy + m_f * self_kernel) / (m_f * m_f) - cross,
    }
}

/// Σ_{i≠j} k(z_i, z_j) = 2 Σ_{i<j} k(z_i, z_j), by symmetry of k.
fn off_diagonal_sum(z: &[f64], dim: usize, kernel: &GaussianMixtureKernel) -> f64 {
    let rows: Vec<f64> = z
        .par_chunks_exact(dim)
        .enumerate()
        .map(|(i, zi)| z[(i + 1) * dim..].chunks_exact(dim).map(|zj| kernel.eval(zi, zj)).sum())
        .collect();
    2.0 * rows.iter().sum::<f64>()
}

/// Σ_{i,j} k(x_i, y_j).
fn cross_sum(x: &[f64], y: &[f64], dim: usize, kernel: &GaussianMixtureKernel) -> f64 {
    let rows: Vec<f64> = x
        .par_chunks_exact(dim)
        .map(|xi| y.chunks_exact(dim).map(|yj| kernel.eval(xi, yj)).sum())
        .collect();
    rows.iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Estimate;
    use seeding::Stream;

    #[test]
    fn mean_pairwise_squared_distance_matches_the_double_sum() {
        let dim = 3;
        let mut rng = Stream::new(31).rng();
        let x: Vec<f64> = seeding::normals(&mut rng, 7 * dim).iter().map(|v| v + 100.0).collect();
        let y: Vec<f64> = seeding::normals(&mut rng, 4 * dim).iter().map(|v| 3.0 * v + 100.0).collect();
        let pooled: Vec<&[f64]> = x.chunks(dim).chain(y.chunks(dim)).collect();
        let mut sum = 0.0;
        for (i, a) in pooled.iter().enumerate() {
            for (j, b) in pooled.iter().enumerate() {
                if i != j {
                    sum += squared_distance(a, b);
                }
            }
        }
        let direct = sum / (11.0 * 10.0);
        let fast = mean_pairwise_squared_distance(&x, &y, dim);
        assert!((fast - direct).abs() < 1e-12 * direct, "{fast} vs {direct}");
    }

    #[test]
    fn pfgmpp_kernel_scales_are_powers_of_two_around_the_mean() {
        // Two points at distance 2 in 1-D: the only off-diagonal squared distance is 4.
        let k = GaussianMixtureKernel::pfgmpp(&[0.0], &[2.0], 1);
        assert_eq!(k.scales(), &[1.0, 2.0, 4.0, 8.0, 16.0]);
        let expected: f64 = [1.0, 2.0, 4.0, 8.0, 16.0].iter().map(|h: &f64| (-4.0 / h).exp()).sum();
        assert!((k.eval(&[0.0], &[2.0]) - expected).abs() < 1e-15);
    }

    #[test]
    fn biased_mmd_of_a_set_with_itself_is_zero() {
        let dim = 6;
        let mut rng = Stream::new(32).rng();
        let x = seeding::normals(&mut rng, 150 * dim);
        let kernel = GaussianMixtureKernel::pfgmpp(&x, &x, dim);
        let mmd = mmd_squared(&x, &x, dim, &kernel);
        assert!(mmd.biased.abs() < 1e-13, "{}", mmd.biased);
        // The U-statistic drops the diagonal, so for a set against itself it is negative.
        assert!(mmd.unbiased < 0.0);
    }

    #[test]
    fn biased_estimate_equals_the_mean_of_the_kernel_matrix_blocks() {
        // The experiment's code: mean(K_XX + K_YY − K_XY − K_YX) for equal sizes, diagonals included.
        let dim = 2;
        let mut rng = Stream::new(33).rng();
        let x = seeding::normals(&mut rng, 20 * dim);
        let y: Vec<f64> = seeding::normals(&mut rng, 20 * dim).iter().map(|v| v + 0.7).collect();
        let kernel = GaussianMixtureKernel::pfgmpp(&x, &y, dim);
        let block_mean = |a: &[f64], b: &[f64]| -> f64 {
            a.chunks(dim)
                .flat_map(|ai| b.chunks(dim).map(move |bj| (ai, bj)))
                .map(|(ai, bj)| kernel.eval(ai, bj))
                .sum::<f64>()
                / 400.0
        };
        let expected = block_mean(&x, &x) + block_mean(&y, &y) - block_mean(&x, &y) - block_mean(&y, &x);
        let mmd = mmd_squared(&x, &y, dim, &kernel);
        assert!((mmd.biased - expected).abs() < 1e-13, "{} vs {expected}", mmd.biased);
    }

    #[test]
    fn unbiased_estimate_between_samples_of_one_gaussian_is_centred_on_zero() {
        // Independent replicates of MMD²_u for two samples of N(0, I₄): their mean must be within
        // a few standard errors of 0, the population value.
        let (dim, n, reps) = (4, 100, 40);
        let root = Stream::new(34);
        let kernel = GaussianMixtureKernel::new(PFGMPP_SCALE_MULTIPLIERS.iter().map(|c| c * 2.0 * dim as f64).collect());
        let values: Vec<f64> = (0..reps)
            .map(|r| {
                let mut rng = root.child(r).rng();
                let x = seeding::normals(&mut rng, n * dim);
                let y = seeding::normals(&mut rng, n * dim);
                mmd_squared(&x, &y, dim, &kernel).unbiased
            })
            .collect();
        let e = Estimate::of(&values);
        assert!(e.z_score(0.0) < 4.0, "mean {} se {}", e.mean, e.se);
    }

    #[test]
    fn unbiased_estimate_matches_the_closed_form_for_shifted_one_dimensional_gaussians() {
        // X, X' ~ N(0, 1), Y ~ N(μ, 1), k(x, y) = exp(−(x − y)²/h). For Z ~ N(a, s²),
        // E exp(−Z²/h) = √(h/(h + 2s²))·exp(−a²/(h + 2s²)) (a Gaussian integral). X − X' ~ N(0, 2) and X − Y ~ N(−μ, 2), so
        // E k(X, X') = E k(Y, Y') = √(h/(h + 4)) =: c and E k(X, Y) = c·exp(−μ²/(h + 4)), giving
        // MMD² = 2c(1 − exp(−μ²/(h + 4))). In the exp(−d²/(2b²)) convention h = 2b²:
        // c = b/√(b² + 2) and the exponent is −μ²/(2(b² + 2)).
        let (h, mu, n): (f64, f64, usize) = (2.0, 1.0, 2000);
        let c = (h / (h + 4.0)).sqrt();
        let population = 2.0 * c * (1.0 - (-mu * mu / (h + 4.0)).exp());
        let kernel = GaussianMixtureKernel::new(vec![h]);
        let root = Stream::new(35);
        let values: Vec<f64> = (0..16)
            .map(|r| {
                let mut rng = root.child(r).rng();
                let x = seeding::normals(&mut rng, n);
                let y: Vec<f64> = seeding::normals(&mut rng, n).iter().map(|v| v + mu).collect();
                mmd_squared(&x, &y, 1, &kernel).unbiased
            })
            .collect();
        let e = Estimate::of(&values);
        // population ≈ 0.177; one estimate at n = 2000 has s.d. ≈ 0.013, so the mean of 16 has se ≈ 0.003.
        assert!(e.se < 0.05 * population, "se {} too large for a meaningful check", e.se);
        assert!(e.z_score(population) < 4.0, "estimate {} ± {} vs population {population}", e.mean, e.se);
    }

    #[test]
    fn result_does_not_depend_on_the_thread_count() {
        let dim = 5;
        let mut rng = Stream::new(36).rng();
        let x = seeding::normals(&mut rng, 120 * dim);
        let y = seeding::normals(&mut rng, 90 * dim);
        let kernel = GaussianMixtureKernel::pfgmpp(&x, &y, dim);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| mmd_squared(&x, &y, dim, &kernel))
        };
        let one = run(1);
        assert_eq!(one, run(2));
        assert_eq!(one, run(3));
    }
}

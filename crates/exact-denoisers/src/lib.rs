//! Exact denoisers and scores for Gaussian mixtures and uniform finite point sets, computed in log-space.
//!
//! Both distributions have closed-form noisy marginals p_σ = p₀ ∗ N(0, σ²I), so D(x; σ) = E[x₀ | x]
//! is a posterior-weighted average. The posterior weights are computed from log-probabilities with
//! log-sum-exp ([`logspace`]), so σ → 0 and 3072-dimensional points neither overflow nor underflow.
//! [`linear_posterior`] is the closed-form posterior of a mixture prior under a linear Gaussian
//! measurement (the reference of the inverse-problem toys).

pub mod gaussian_mixture;
pub mod linear_posterior;
pub mod logspace;
pub mod perturbed;
pub mod point_set;

pub use gaussian_mixture::GaussianMixture;
pub use linear_posterior::LinearGaussianPosterior;
pub use logspace::{log_mean_exp, logsumexp, softmax_in_place};
pub use perturbed::Perturbed;
pub use point_set::PointSet;

/// Fixed parallel split for faer's matrix products: the same blocking whatever the size of the
/// rayon pool, so products (and everything downstream) are bit-identical for any thread count.
pub fn fixed_par() -> faer::Par {
    faer::Par::Rayon(std::num::NonZeroUsize::new(4).expect("4 > 0"))
}

/// Clears the upper halves of the AVX registers on the calling thread. faer's AVX-512 kernels
/// leave them dirty, and glibc's `exp` then runs about 15× slower (measured: a 256 × 2000 softmax
/// after a faer product takes 88 ms instead of 5.5 ms) until a `vzeroupper`. Call it at the start
/// of each parallel task that evaluates `exp` after a matrix product.
pub fn clear_avx_upper_state() {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx")]
        unsafe fn zero_upper() {
            std::arch::x86_64::_mm256_zeroupper();
        }
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: the instruction exists, as just checked; it only zeroes register halves
            // that no live Rust value occupies between two function calls.
            unsafe { zero_upper() }
        }
    }
}

/// ‖a − b‖², summed in order (no cancellation, unlike ‖a‖² − 2⟨a,b⟩ + ‖b‖²).
#[inline]
pub fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

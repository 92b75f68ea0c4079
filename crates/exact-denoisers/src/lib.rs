//! Exact denoisers and scores for Gaussian mixtures and uniform finite point sets, computed in log-space.
//!
//! Both distributions have closed-form noisy marginals p_σ = p₀ ∗ N(0, σ²I), so D(x; σ) = E[x₀ | x]
//! is a posterior-weighted average. The posterior weights are computed from log-probabilities with
//! log-sum-exp ([`logspace`]), so σ → 0 and 3072-dimensional points neither overflow nor underflow.

pub mod gaussian_mixture;
pub mod logspace;
pub mod point_set;

pub use gaussian_mixture::GaussianMixture;
pub use logspace::{log_mean_exp, logsumexp, softmax_in_place};
pub use point_set::PointSet;

/// ‖a − b‖², summed in order (no cancellation, unlike ‖a‖² − 2⟨a,b⟩ + ‖b‖²).
#[inline]
pub fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

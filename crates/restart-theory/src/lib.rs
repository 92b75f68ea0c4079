//! The Restart theory of thesis Chapter 5 made computable: Lemma 7, contraction factors, local error orders and the Theorem 9/10 bounds on a 1-D Gaussian toy.
//!
//! The toy is data p₀ = N(0, s²) with σ(t) = t, so p_t = N(0, s² + t²), the score is
//! −x/(s² + t²), and the exact ODE, the exact reverse SDE and a Restart iteration all map
//! Gaussians to Gaussians: every distance (TV, W1) is a one-dimensional integral, and every
//! constant of Theorems 9–10 (L₀, L₁, L₂, ε_approx) has a closed form on |x| ≤ B/2.

pub mod gaussian1d;
pub mod lemma7;
pub mod local_error;
pub mod toy;

/// Q(r) = P(N(0,1) ≥ r) (Definition 1, l.2695).
pub fn q(r: f64) -> f64 {
    0.5 * statrs::function::erf::erfc(r / std::f64::consts::SQRT_2)
}

/// The standard normal density φ(r).
pub fn phi(r: f64) -> f64 {
    (-0.5 * r * r).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

//! Repulsive score distillation (RSD paper, arXiv 2406.16683 v1): particle VSD with the exact variational score, RBF repulsion, SDS and the augmented HQS inverse solver.
//!
//! Everything works in the EDM/VE coordinates of [`diffusion::Denoiser`]: the paper's VP latent
//! z_t = α_t z + σ_t ε is x̃ = z_t/α_t = z + σ̃ε with σ̃ = σ_t/α_t, its noise prediction
//! ε̂(z_t) = −σ_t∇log p_t(z_t) is (x̃ − D(x̃; σ̃))/σ̃, and σ_t∇_{z_t} = σ̃∇_{x̃}; a kernel with a
//! median bandwidth is invariant under the rescaling by α_t. So the paper's updates (Eqs. 8, 15)
//! are written here without approximation in σ̃.
//!
//! - [`schedule`]: the DDPM timesteps, ᾱ_t and the weightings ω(t).
//! - [`repulsion`]: γ∇log Σⱼ k(xᵢ, xⱼ) (Eq. 3) with the `particle_guidance` RBF and bandwidths,
//!   on the coordinates or on a differentiable feature map.
//! - [`distill`]: the particle update of Eq. 8: VSD with the exact score of the particles'
//!   empirical measure (no LoRA needed), SDS as the mode-seeking baseline, Adam on the particles.
//! - [`hqs`]: Alg. 2, augmented half-quadratic splitting for linear inverse problems, and latent
//!   RED-diff, its non-augmented baseline.
//! - [`dps`]: a DPS-style baseline (reverse VP SDE with the measurement gradient through Tweedie).
//! - [`mean_fit`]: the Gaussian-mean gradient flow of the App. C.3.1 toy (Fig. 9).

pub mod adam;
pub mod distill;
pub mod dps;
pub mod hqs;
pub mod mean_fit;
pub mod repulsion;
pub mod schedule;

pub use adam::{Adam, AdamParams};
pub use distill::{distill, Distill, Variational};
pub use repulsion::{grad_log_kde, FeatureMap, Repulsion, Responsibilities};
pub use schedule::{Ddpm, Weighting};

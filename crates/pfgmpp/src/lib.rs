//! PFGM++ (thesis Ch. 8): the perturbation kernel in N + D dimensions, its radius sampler and prior, its D → ∞ limit, and the exact empirical field of a point set as a denoiser.

pub mod alignment;
pub mod denoiser;
pub mod gamma_ratio;
pub mod gaussian_limit;
pub mod kernel;
pub mod quadrature;
pub mod radius;

pub use alignment::{radius_of_sigma, sigma_of_radius};
pub use denoiser::{posterior_logit, PfgmppPointSet};
pub use kernel::Kernel;
pub use radius::{perturb, sample_prior, sample_radius};

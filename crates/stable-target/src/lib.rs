//! Stable Target Field: the self-normalised STF target and the estimators of V_DSM, V_STF, D_f and Theorems 1-2.
//!
//! Thesis Chapter 3. The STF target for a reference batch {x_k} is the score of the uniform mixture
//! on that batch (Eq. 3.4), so it is computed by [`exact_denoisers::PointSet`]. This crate holds the
//! variance study of §3.2–3.5.1 (Eq. 3.3, Theorem 2, Figures 3.2b/3.3) on two kinds of data:
//! isotropic Gaussian mixtures such as the Two Gaussians ([`mixture_study`]) and uniform finite
//! point sets such as CIFAR-10-4096 or its stand-in ([`discrete_study`]); and the asymptotics of
//! Theorem 1 ([`theorem1`]).

pub mod discrete_study;
pub mod divergence;
pub mod mixture_study;
pub mod quadrature;
pub mod span;
pub mod summary;
pub mod theorem1;
pub mod training_target;
pub mod two_gaussians;

pub use summary::{PerXtilde, TPoint};
pub use training_target::{StfKernel, StfTarget};

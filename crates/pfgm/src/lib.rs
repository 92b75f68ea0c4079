//! PFGM (thesis Ch. 7): the exact empirical Poisson field of a point set in N + 1 dimensions, the hemisphere prior, the backward ODE anchored by z, and the training perturbation (Alg. 3).

pub mod disk;
pub mod field;
pub mod forward;
pub mod ode;
pub mod perturb;
pub mod prior;

pub use disk::uniform_disk_field;
pub use field::{FieldValue, PoissonField};
pub use forward::trace_forward;
pub use ode::{sample_backward, sample_in_plane, Anchor, Backward, Sampled};
pub use perturb::{Perturbation, Perturbed};
pub use prior::{sample_prior, HemispherePrior};

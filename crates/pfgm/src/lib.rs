//! PFGM (thesis Ch. 7): the exact empirical Poisson field of a point set in N + 1 dimensions, the hemisphere prior, and the backward ODE anchored by z.

pub mod disk;
pub mod field;
pub mod ode;
pub mod prior;

pub use disk::uniform_disk_field;
pub use field::{FieldValue, PoissonField};
pub use ode::{sample_backward, sample_in_plane, Anchor, Backward, Sampled};
pub use prior::{sample_prior, HemispherePrior};

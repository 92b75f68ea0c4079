//! PFGM (thesis Ch. 7): the exact empirical Poisson field of a point set in N + 1 dimensions, the hemisphere prior, the backward ODE anchored by z (RK45 and Euler), and the learned field: Alg. 3's perturbation, Alg. 2's target and training, the near-field z-substitution.

pub mod disk;
pub mod field;
pub mod forward;
pub mod near_field;
pub mod network;
pub mod ode;
pub mod perturb;
pub mod prior;
pub mod target;
pub mod train;

pub use disk::uniform_disk_field;
pub use field::{FieldValue, PoissonField};
pub use forward::trace_forward;
pub use near_field::NearField;
pub use network::PfgmNet;
pub use ode::{sample_backward, sample_euler, sample_in_plane, Anchor, Backward, Sampled, ZField};
pub use perturb::{Perturbation, Perturbed};
pub use prior::{sample_prior, HemispherePrior};
pub use target::normalized_target;
pub use train::{train_pfgm, PfgmTraining};

//! GenPhys (thesis Ch. 9): dispersion relations of linear PDEs, the smoothness criterion Im ω(k) < Im ω(0), the positivity of the induced densities, and each equation's verdict as a generative model.
//!
//! A linear PDE, symmetric in space and time, turns into a generative model when its solution
//! from the data is a density flow (Eq. 9.2, p ≥ 0) that forgets the data (the smooth condition,
//! Sec. 9.3). Plane waves exp(−iωt + ik·x) turn the PDE into a polynomial in ω whose roots, the
//! dispersion relation ω(k), decide smoothness (Eq. 9.8 = A.143); the Green's functions of
//! App. A.6.1 decide positivity. [`dispersion`] holds the equations of Tables 9.1–9.2,
//! [`smoothness`] the criterion and the overlap F(T) (A.138), [`density`] the induced densities,
//! and [`verdict`] the combination into can / conditionally / cannot.

pub mod density;
pub mod dispersion;
pub mod smoothness;
pub mod verdict;

pub use dispersion::{Equation, C64};
pub use smoothness::{criterion, overlap, plateau, Criterion};
pub use verdict::{Positivity, Verdict};

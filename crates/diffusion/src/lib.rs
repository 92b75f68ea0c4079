//! The diffusion math shared by everything: noise schedules, the EDM denoiser convention D(x; σ), score conversions.
//!
//! Numerical representation: the exact fields, estimators and samplers work on plain `f64`
//! slices holding a batch of points row-major (`n × dim`). Exact scores are per-point loops
//! with log-sum-exp inside, which are simpler and faster in `f64` than as tensor graphs, and
//! `f64` keeps σ → 0 and 3072-dimensional distances accurate. Networks (candle, `f32`) convert
//! at their boundary; batched linear algebra on large dense matrices goes through `faer`.

pub mod denoiser;
pub mod schedule;

pub use denoiser::{score_from_denoiser, Denoiser};
pub use schedule::{Edm, Schedule, VeGeometric, VpLinear};

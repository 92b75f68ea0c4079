//! Samplers on the shared denoiser trait: EDM grids, Euler, Heun, EDM's stochastic sampler, Euler-Maruyama, DDIM, DPM-Solver, RK45, Restart, and Song et al.'s VE/VP ODE, SDE and predictor–corrector samplers.
//!
//! Every sampler is `sample_x(denoiser, particles, grid, …) -> Result<()>` in the EDM convention
//! σ(t) = t, x_σ = x₀ + σn: it moves a [`Particles`] batch along a decreasing σ-grid and counts
//! the network function evaluations (NFE, one per batched denoiser call). Noise for sample i
//! comes from its own stream, so a sample does not depend on its batch or on the thread count.

pub mod ddim;
pub mod dpm_solver;
pub mod edm_sde;
pub mod euler;
pub mod euler_maruyama;
pub mod grid;
pub mod heun;
pub mod jump;
pub mod particles;
pub mod pc;
pub mod restart;
pub mod rk45;
pub mod scheduled;
pub mod spec;
pub mod steps;

pub use particles::Particles;

//! Fixed-potential particle guidance (thesis Ch. 6, Eq. 6.4): sets of particles sampled jointly under a repulsive kernel.
//!
//! A set x₁…xₙ follows the reverse diffusion with the extra drift −α(σ) ∇_{xᵢ} Σⱼ k(xᵢ, xⱼ)
//! (the gradient of log Φ = −(α/2) Σᵢⱼ k), in the EDM/VE convention σ(t) = t of the samplers
//! crate and on the shared [`diffusion::Denoiser`] trait; [`vp`] runs the same guidance in VP coordinates
//! x_t = α_t x₀ + σ_t n on any [`diffusion::Schedule`]. Kernels: the Euclidean RBF ([`rbf`])
//! the RBF on angles about the origin ([`radial`]) and on distances from it ([`modulus`]), with the bandwidths of [`bandwidth`]
//! (the notebook's h ∝ σ, and the median heuristic as the paper prints it and as the authors'
//! code computes it). [`Scheme`] holds the two discretisations: Euler–Maruyama in σ (the
//! samplers crate's, SDE and probability-flow ODE) and in σ² (the authors' synthetic notebook).
//! [`torus`] holds the wrapped and the symmetry-invariant kernels on torsion angles. [`feature`] is the RBF kernel on a feature map (the PG paper's DINO kernel), pulled back through the map's Jacobian. [`svgd`] holds the SVGD baseline of Eq. 6.2 and SVGD-guidance (Eq. 6.3 / Fig. B.26), the same sampler as PG with the SVGD direction as its guidance. [`coverage`] holds the combinatorics of Props. 4–5 (App. A.3.6) and the mode count of Fig. B.20.

pub mod bandwidth;
pub mod coverage;
pub mod feature;
pub mod guidance;
pub mod kernel;
pub mod modulus;
pub mod radial;
pub mod rbf;
pub mod sampler;
pub mod schedule;
pub mod scheme;
pub mod svgd;
pub mod torus;
pub mod vp;

pub use bandwidth::Bandwidth;
pub use guidance::ParticleGuidance;
pub use kernel::{Angular, Kernel, Repulsion};
pub use sampler::{sample_guided, sample_pg};
pub use schedule::geometric_variance_grid;
pub use scheme::Scheme;
pub use svgd::{sample_svgd_guidance, svgd, svgd_direction};
pub use vp::sample_pg_vp;

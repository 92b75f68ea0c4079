//! DisCo-Diff (thesis Ch. 4): diffusion models with auxiliary discrete latents, trained end to end
//! with an encoder through the Gumbel-softmax relaxation, a post-hoc prior over the latents, latent
//! classifier-free guidance, and the continuous-latent ablation of Table 4.3.
//!
//! The networks live here rather than in `training` because they are DisCo-Diff's concept; they are
//! built from `training`'s pieces ([`training::Mlp`] with a conditioning input, the parameter
//! helpers of [`training::params`]) and implement [`training::Network`], so the shared trainer fits
//! them (stage 1, Alg. 5) with the encoder in the graph through [`training::Network::denoise_training`].
//!
//! | file | holds |
//! |---|---|
//! | [`gumbel`] | the Gumbel-softmax relaxation at temperature τ |
//! | [`latent`] | discrete / continuous latents and ∅ |
//! | [`layers`] | the plain MLP of the encoder and of the prior |
//! | [`network`] | D_θ(x; σ, z) (MLP-conditioned, or the 2-D ring reparameterisation), the encoder, Alg. 5's training forward |
//! | [`guidance`] | a model conditioned row by row, with latent CFG, as a `Denoiser` |
//! | [`prior`] | the categorical / autoregressive prior (Eq. 4.2, Alg. 6) |
//! | [`latent_diffusion`] | the continuous latents' generative prior, a small diffusion model |
//! | [`geometry`] | ODE-path curvature and score-Jacobian norms (App. B.2.2) |

pub mod geometry;
pub mod guidance;
pub mod gumbel;
pub mod latent;
pub mod latent_diffusion;
pub mod layers;
pub mod network;
pub mod prior;

pub use guidance::{guide, Guided};
pub use latent::{Latent, LatentConfig};
pub use network::{DecoderConfig, DiscoConfig, DiscoDiff, EXTRACTION_TEMPERATURE};
pub use prior::{LatentPrior, PriorConfig, PriorTraining};

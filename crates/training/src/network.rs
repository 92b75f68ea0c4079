//! What the shared trainer needs of a denoiser network: a serialisable architecture, seeded
//! initial weights, named f32 parameters, and D_θ(x; σ) as a differentiable tensor.
//!
//! The [`Mlp`](crate::Mlp) and the [`UNet`](crate::UNet) implement it, so [`crate::train`], the
//! checkpoints and the cache keys work the same for both; an experiment swaps the network by
//! swapping its configuration.

use crate::precond::Precond;
use anyhow::{bail, ensure, Result};
use candle_core::{Tensor, Var};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// An architecture: what `config.json` stores under `model`, and what builds the network.
pub trait NetworkConfig: Clone + std::fmt::Debug + PartialEq + Serialize + DeserializeOwned + Send + Sync {
    /// The network this configuration describes.
    type Net: Network<Config = Self>;

    /// Dimension of one (flattened) data point.
    fn dim(&self) -> usize;

    /// Checks the sizes and constants, naming the offending field.
    fn validate(&self) -> Result<()>;

    /// Every parameter's name and shape, in the network's fixed order.
    fn parameter_layout(&self) -> Vec<(String, Vec<usize>)>;
}

/// A denoiser network D_θ(x; σ) = c_skip x + c_out F_θ(c_in x; c_noise) with f32 parameters.
pub trait Network: diffusion::Denoiser + Sized {
    /// Its architecture.
    type Config: NetworkConfig<Net = Self>;

    /// Fresh weights; parameter `name` is drawn from `stream.named(name)` only.
    fn init(config: &Self::Config, stream: seeding::Stream) -> Result<Self>;

    /// A network holding `values`, one flat row-major vector per parameter in layout order.
    fn from_values(config: &Self::Config, values: Vec<Vec<f32>>) -> Result<Self>;

    /// The architecture.
    fn config(&self) -> &Self::Config;

    /// The preconditioning wrapped around F_θ (it also gives the loss weight λ(σ)).
    fn precond(&self) -> Precond;

    /// The parameter names, in layout order.
    fn names(&self) -> &[String];

    /// The trainable variables, in layout order.
    fn vars(&self) -> Vec<Var>;

    /// The current parameter values, flat row-major, in layout order.
    fn values(&self) -> Result<Vec<Vec<f32>>> {
        self.vars().iter().map(|v| Ok(v.as_tensor().flatten_all()?.to_vec1::<f32>()?)).collect()
    }

    /// D_θ(x; σ) as a differentiable f32 tensor (rows × dim), one σ per row; used by training.
    fn denoise_tensor(&self, x: &[f64], sigma: &[f64]) -> Result<Tensor>;

    /// D_θ for a training batch: the noisy rows `x` of the clean rows `clean`, one σ per row, with
    /// `stream` private to this step. A network whose conditioning is computed from the clean
    /// image — DisCo-Diff's encoder and Gumbel-softmax latent (thesis Alg. 5) — overrides this,
    /// so that its encoder is trained end to end by the same loss; by default it is
    /// [`Network::denoise_tensor`] with no penalty.
    fn denoise_training(&self, x: &[f64], sigma: &[f64], clean: &[f64], stream: seeding::Stream) -> Result<TrainingOutput> {
        let _ = (clean, stream);
        Ok(TrainingOutput {
            denoised: self.denoise_tensor(x, sigma)?,
            penalty: None,
        })
    }
}

/// What a network gives the trainer for one batch.
pub struct TrainingOutput {
    /// D_θ(x; σ), rows × dim.
    pub denoised: Tensor,
    /// A scalar added to the batch loss (e.g. the KL term of a continuous latent), if any.
    pub penalty: Option<Tensor>,
}

/// The checks every network's `Denoiser::denoise` starts with: whole rows of `dim` values, an
/// output as long as the input, σ a noise level. At σ = 0 (c_skip = 1, c_out = 0) or for no rows
/// it writes D(x; 0) = x and returns false: nothing is left to compute.
pub(crate) fn begin_denoise(what: &str, dim: usize, x: &[f64], sigma: f64, out: &mut [f64]) -> Result<bool> {
    ensure!(
        x.len().is_multiple_of(dim) && out.len() == x.len(),
        "{what} denoiser: input of {} and output of {} values for rows of {dim}",
        x.len(),
        out.len()
    );
    if sigma == 0.0 || x.is_empty() {
        out.copy_from_slice(x);
        return Ok(false);
    }
    if !(sigma.is_finite() && sigma > 0.0) {
        bail!("{what} denoiser: σ = {sigma} is not a noise level");
    }
    Ok(true)
}

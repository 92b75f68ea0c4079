//! DisCo-Diff's latent z (thesis Sec. 4.2.1): m discrete latents with a codebook of k values each,
//! or — for Table 4.3's ablation — a continuous vector of d_z coordinates; and ∅, the learned
//! non-informative null embedding that replaces z with probability 0.1 in training (l.843–845)
//! and gives the unconditional branch of classifier-free guidance.

use anyhow::{bail, ensure, Result};
use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// What the latent is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum LatentConfig {
    /// m = `count` categorical latents, each with codebook size k = `values` (l.835).
    Discrete {
        /// m, the number of latents.
        count: usize,
        /// k, the codebook size of each.
        values: usize,
    },
    /// A Gaussian latent of `dims` coordinates with the VAE's KL term weighted by β = `kl_weight`
    /// (Table 4.3, "KLD weight").
    Continuous {
        /// d_z.
        dims: usize,
        /// β.
        kl_weight: f64,
    },
}

impl LatentConfig {
    /// Checks the sizes and the weight, naming the offending field.
    pub fn validate(&self) -> Result<()> {
        match *self {
            LatentConfig::Discrete { count, values } => ensure!(
                count > 0 && values >= 2,
                "DisCo-Diff latent: count (m = {count}) must be positive and values (k = {values}) at least 2"
            ),
            LatentConfig::Continuous { dims, kl_weight } => ensure!(
                dims > 0 && kl_weight.is_finite() && kl_weight >= 0.0,
                "DisCo-Diff latent: dims ({dims}) must be positive and kl_weight (β = {kl_weight}) non-negative"
            ),
        }
        Ok(())
    }

    /// The encoder's output width: m·k logits, or the d_z means and d_z log-variances.
    pub fn encoder_outputs(&self) -> usize {
        match *self {
            LatentConfig::Discrete { count, values } => count * values,
            LatentConfig::Continuous { dims, .. } => 2 * dims,
        }
    }
}

/// One row's latent.
#[derive(Clone, Debug, PartialEq)]
pub enum Latent {
    /// ∅, the null embedding.
    Null,
    /// m values, each in 0..k.
    Discrete(Vec<usize>),
    /// d_z coordinates.
    Continuous(Vec<f64>),
}

impl Latent {
    /// Whether this is ∅.
    pub fn is_null(&self) -> bool {
        matches!(self, Latent::Null)
    }
}

/// A batch of latents as the decoder's input.
pub(crate) enum Code {
    /// rows × m × (k + 1) weights over the k values and ∅ (last slot): one-hot for given latents,
    /// the Gumbel-softmax relaxation (or ∅) in training.
    Weights(Tensor),
    /// rows × d_z values and a rows × 1 mask that is 0 where the row is ∅.
    Values { z: Tensor, keep: Tensor },
}

impl Code {
    /// The code of given latents (one per row).
    pub(crate) fn of(config: &LatentConfig, latents: &[Latent]) -> Result<Code> {
        let n = latents.len();
        let dev = &Device::Cpu;
        match *config {
            LatentConfig::Discrete { count, values } => {
                let mut w = vec![0.0f32; n * count * (values + 1)];
                for (r, latent) in latents.iter().enumerate() {
                    let row = &mut w[r * count * (values + 1)..(r + 1) * count * (values + 1)];
                    match latent {
                        Latent::Null => (0..count).for_each(|i| row[i * (values + 1) + values] = 1.0),
                        Latent::Discrete(z) => {
                            ensure!(z.len() == count, "DisCo-Diff: row {r} has {} discrete latents, the model {count}", z.len());
                            for (i, &v) in z.iter().enumerate() {
                                ensure!(v < values, "DisCo-Diff: row {r}, latent {i} has value {v}, the codebook has k = {values}");
                                row[i * (values + 1) + v] = 1.0;
                            }
                        }
                        Latent::Continuous(_) => bail!("DisCo-Diff: row {r} has a continuous latent, the model discrete ones"),
                    }
                }
                Ok(Code::Weights(Tensor::from_vec(w, (n, count, values + 1), dev)?))
            }
            LatentConfig::Continuous { dims, .. } => {
                let (mut z, mut keep) = (vec![0.0f32; n * dims], vec![0.0f32; n]);
                for (r, latent) in latents.iter().enumerate() {
                    match latent {
                        Latent::Null => {}
                        Latent::Continuous(v) => {
                            ensure!(v.len() == dims, "DisCo-Diff: row {r} has a latent of {} coordinates, the model {dims}", v.len());
                            z[r * dims..(r + 1) * dims].iter_mut().zip(v).for_each(|(a, b)| *a = *b as f32);
                            keep[r] = 1.0;
                        }
                        Latent::Discrete(_) => bail!("DisCo-Diff: row {r} has a discrete latent, the model a continuous one"),
                    }
                }
                Ok(Code::Values {
                    z: Tensor::from_vec(z, (n, dims), dev)?,
                    keep: Tensor::from_vec(keep, (n, 1), dev)?,
                })
            }
        }
    }
}

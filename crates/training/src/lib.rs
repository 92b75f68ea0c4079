//! Denoiser networks trained on CPU with candle: an EDM-preconditioned MLP and a small convolutional
//! U-Net, EDM's loss, Adam with EMA, resumable safetensors checkpoints.
//!
//! [`train`] fits an [`Mlp`] (D_θ in EDM's preconditioning, Karras et al. 2022 Eq. 7 and Table 1)
//! to any [`CleanData`] source with EDM's loss (Eq. 8) and returns the EMA network, which
//! implements [`diffusion::Denoiser`] and so plugs into every sampler. Networks compute in f32;
//! the denoiser converts the workspace's f64 batches at its boundary.
//!
//! Determinism: a seed gives bit-identical weights on a given machine, whatever the number of
//! threads. All randomness (initial weights, batch indices, σ, noise) comes from `seeding`
//! streams keyed by step, never from candle's unseedable CPU generator. No thread setting needs
//! forcing, because no candle 0.11 CPU op used here splits a sum between threads:
//! * matmul is `gemm` 0.19 with `Parallelism::Rayon(n)` (n = `candle_core::utils::get_num_threads()`,
//!   read from `RAYON_NUM_THREADS` at every call, not from the installed pool) or `None` when
//!   n = 1. Threads share out blocks of the output; the reduction dimension is walked in blocks
//!   whose size depends only on the matrix shape, in the same order;
//! * element-wise ops on ≥ 64 Ki elements run on candle's own barrier pool (`CANDLE_NUM_THREADS`,
//!   else `RAYON_NUM_THREADS`), and each element is computed independently;
//! * reductions (`sum_keepdim`, `mean_all`, bias gradients) run on one thread.
//!
//! `tests/determinism.rs` checks this bit for bit: 1- and 2-thread rayon pools, and child
//! processes with `RAYON_NUM_THREADS` = 1 and 2. (faer's `private-gemm-x86` does split the
//! reduction dimension between threads; it is not on candle's path.)
//!
//! Speed: the networks here are small, so candle's per-op overhead and allocation dominate.
//! On a 2-core machine one thread (`RAYON_NUM_THREADS=1`) trains them faster than two. Candle's
//! barrier pool spins while it waits, and it slows down several-fold when the cores are also busy
//! with other work.
//!
//! | file | holds |
//! |---|---|
//! | [`precond`] | c_skip, c_out, c_in, c_noise and λ(σ) (EDM Table 1) |
//! | [`embedding`] | sinusoidal features of c_noise |
//! | [`network`] | what the trainer needs of a network (MLP or U-Net) |
//! | [`params`] | named parameter tensors, their seeded initialisation and `VarMap` |
//! | [`mlp`] | the MLP F_θ and D_θ |
//! | [`unet`], [`image_layers`] | the convolutional U-Net and its channels-last layers |
//! | [`data`] | sources of clean batches |
//! | [`loss`] | σ draws, EDM's loss, the regression-target hook |
//! | [`perturbation`] | the noisy batch: Gaussian, or the PFGM++ kernel at r = σ√D |
//! | [`adam`], [`ema`] | the optimiser and the weight average |
//! | [`loss_log`] | windowed mean losses |
//! | [`trainer`] | the training loop and its configuration |
//! | [`checkpoint`] | `model.safetensors` + `config.json`, atomic and resumable |

pub mod adam;
pub mod checkpoint;
pub mod data;
pub mod ema;
pub mod embedding;
pub mod image_layers;
pub mod loss;
pub mod loss_log;
pub mod mlp;
pub mod network;
pub mod params;
pub mod perturbation;
pub mod precond;
pub mod stf;
pub mod trainer;
pub mod unet;

pub use checkpoint::RunConfig;
pub use data::{CleanData, TrainingSet};
pub use loss::{TargetBatch, TargetFn};
pub use loss_log::{LossLog, LossPoint};
pub use mlp::{Mlp, MlpConfig};
pub use network::{Network, NetworkConfig, TrainingOutput};
pub use perturbation::Perturbation;
pub use precond::{EdmPrecond, Precond};
pub use stf::stf_target;
pub use trainer::{train, TrainConfig, TrainOptions, Trained, Trainer};
pub use unet::{UNet, UNetConfig};

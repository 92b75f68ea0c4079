//! The small tier's image models (thesis Chs. 3 and 5 on real images): the U-Net of
//! [`training::unet`] trained on the UCI digits (8×8, the CIFAR-10 stand-in) or the LFW faces
//! (25×25, the CelebA stand-in) with EDM's loss, by DSM or by the Stable Target Field, in EDM's or
//! Song et al.'s VE setting, cached under `results/.checkpoints/` by the sha256 of everything that
//! shapes the weights; and the FD-digits score of generated digits.
//!
//! Parameters every declaration using it has: `unet_base`, `unet_multipliers`, `unet_blocks`,
//! `time_embedding`, `sigma_data`, `train_steps`, `train_batch`, `lr`, `ema_decay`, and for VE
//! training `ve_sigma_min`, `ve_sigma_max`.

use crate::Run;
use anyhow::{Context, Result};
use registry::Params;
use stable_target::StfTarget;
use training::{TrainConfig, TrainOptions, TrainingSet, UNet, UNetConfig};

/// An image set as flat rows of (C, H, W) values in [−1, 1].
pub struct Images {
    /// The rows.
    pub rows: Vec<f64>,
    /// Channels, height, width.
    pub shape: (usize, usize, usize),
}

impl Images {
    /// Values per image.
    pub fn dim(&self) -> usize {
        self.shape.0 * self.shape.1 * self.shape.2
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.rows.len() / self.dim()
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// The data set named by `name`: `digits` (1797 UCI digits) or `lfw` (the 200 LFW faces).
pub fn images(name: &str) -> Result<Images> {
    let set = match name {
        "digits" => datasets::digits(&datasets::root())?,
        "lfw" => datasets::lfw(&datasets::root())?,
        other => anyhow::bail!("unknown image set `{other}`: the sets are `digits` and `lfw`"),
    };
    let (_, c, h, w) = set.images.dims4()?;
    Ok(Images {
        rows: set.rows_f64()?,
        shape: (c, h, w),
    })
}

/// How a model is trained: which preconditioning and σ law, and with which target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Objective {
    /// DSM (n = 1) or STF with a reference batch of n images.
    Stf {
        /// Reference batch size n (1: DSM).
        reference: usize,
    },
}

/// Song et al.'s VE setting (VE preconditioning, ln σ uniform on [ln σ_min, ln σ_max]) or EDM's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setting {
    /// EDM's preconditioning and log-normal σ.
    Edm,
    /// VE: c_skip = 1, c_out = σ, log-uniform σ.
    Ve,
}

/// The U-Net and training configurations from the parameters, for `setting` and training seed `seed`.
pub fn configs(p: &Params, images: &Images, setting: Setting, seed: u64) -> Result<(UNetConfig, TrainConfig)> {
    Ok((unet_config(p, images, setting)?, train_config(p, setting, seed)?))
}

/// The U-Net for `images` from `unet_base`, `unet_multipliers`, `unet_blocks`, `time_embedding`, `sigma_data`.
pub fn unet_config(p: &Params, images: &Images, setting: Setting) -> Result<UNetConfig> {
    let (c, h, w) = images.shape;
    Ok(UNetConfig {
        channels: c,
        height: h,
        width: w,
        base: p.usize("unet_base")?,
        multipliers: p.usize_list("unet_multipliers")?,
        blocks: p.usize("unet_blocks")?,
        time_embedding: p.usize("time_embedding")?,
        sigma_data: p.f64("sigma_data")?,
        ve: setting == Setting::Ve,
    })
}

/// The training run from `train_steps`, `train_batch`, `train_parts`, `lr`, `ema_decay` (and
/// `ve_sigma_min`, `ve_sigma_max` for VE), with training seed `seed`. Two parts put the batch's
/// halves on the two cores (1.5× faster steps for the digits U-Net); the weights do not depend
/// on the thread count either way.
pub fn train_config(p: &Params, setting: Setting, seed: u64) -> Result<TrainConfig> {
    Ok(TrainConfig {
        steps: p.u64("train_steps")?,
        batch: p.usize("train_batch")?,
        parts: p.usize("train_parts")?,
        lr: p.f64("lr")?,
        ema_decay: p.f64("ema_decay")?,
        seed,
        log_every: 50,
        log_uniform_sigma: match setting {
            Setting::Edm => None,
            Setting::Ve => Some([p.f64("ve_sigma_min")?, p.f64("ve_sigma_max")?]),
        },
        ..TrainConfig::default()
    })
}

/// The cache folder name of a model: the sha256 of its configurations, objective and data.
pub fn cache_key(model: &UNetConfig, train: &TrainConfig, reference: usize, data: &str) -> Result<String> {
    let key = artifacts::sha256_hex(serde_json::to_string(&("unet", model, train, reference, data))?.as_bytes());
    Ok(format!("unet-{}", &key[..16]))
}

/// The U-Net trained (or loaded) with `objective` on `images` (named `data` in the cache key), saved
/// every 500 steps so an interrupted run resumes: its EMA weights, to sample from, and its raw
/// weights θ (the EMA's lag diagnosed in table-3.2's notes).
pub fn trained(run: &Run, images: &Images, data: &str, model: &UNetConfig, train: &TrainConfig, objective: Objective) -> Result<training::Trained<UNet>> {
    let Objective::Stf { reference } = objective;
    let set = TrainingSet::new(images.dim(), images.rows.clone())?;
    let dir = run.checkpoint_dir(&cache_key(model, train, reference, data)?)?;
    let target = StfTarget::new(images.dim(), images.rows.clone(), reference)?;
    let stf = training::stf_target(target);
    let options = TrainOptions {
        checkpoint: Some(&dir),
        checkpoint_every: 500,
        progress: true,
        // n = 1 is DSM: the clean batch itself, without the hook (bit-identical, and no overhead).
        target: (reference > 1).then_some(&stf as &training::TargetFn),
    };
    training::train(model, train, &set, &options).with_context(|| format!("training the {data} U-Net (n = {reference})"))
}

/// FD-digits of generated 8×8 digits against the 1797 UCI digits, with the committed classifier.
pub struct FdDigits {
    classifier: digit_features::Classifier,
    reference: metrics::GaussianMoments,
}

impl FdDigits {
    /// Loads the committed classifier and the data's feature moments.
    pub fn new() -> Result<Self> {
        let classifier = digit_features::committed::load(&datasets::root())?;
        let data = images("digits")?;
        let reference = metrics::GaussianMoments::of(&classifier.features(&data.rows)?, digit_features::classifier::FEATURES);
        Ok(FdDigits { classifier, reference })
    }

    /// FD-digits of `samples` (rows of 64 values); pixels are clamped to [−1, 1] first, as images are.
    pub fn score(&self, samples: &[f64]) -> Result<f64> {
        let clamped: Vec<f64> = samples.iter().map(|v| v.clamp(-1.0, 1.0)).collect();
        let features = self.classifier.features(&clamped)?;
        Ok(metrics::frechet_distance(
            &metrics::GaussianMoments::of(&features, digit_features::classifier::FEATURES),
            &self.reference,
        ))
    }
}

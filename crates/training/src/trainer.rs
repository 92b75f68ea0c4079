//! Denoising score matching with EDM's loss (Eq. 8), Adam and an EMA of the weights.
//!
//! One step (EDM `training/training_loop.py` with `EDMLoss`): draw a clean batch y, one
//! ln σ ~ N(P_mean, P_std²) per row and n ~ N(0, I); form x = y + σn (or, with
//! [`Perturbation::Pfgmpp`], x = y + R·u from the PFGM++ kernel at r = σ√D); take the gradient of the batch
//! mean of λ(σ)‖D_θ(x; σ) − target‖² (target = y unless a [`TargetFn`] replaces it); apply Adam; move
//! the EMA towards the new weights. Step s draws only from `Stream::new(seed).named("step").child(s)`,
//! so a run resumed at step s continues exactly where an uninterrupted one would.

use crate::adam::{Adam, AdamParams};
use crate::checkpoint::{self, RunConfig, TrainState};
use crate::data::CleanData;
use crate::ema::Ema;
use crate::loss::{draw_log_uniform_sigmas, draw_sigmas, edm_loss, TargetBatch, TargetFn};
use crate::loss_log::LossLog;
use crate::mlp::MlpConfig;
use crate::network::{Network, NetworkConfig};
use crate::perturbation::Perturbation;
use anyhow::{ensure, Result};
use candle_core::{Device, Tensor};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The optimisation settings; stored beside every checkpoint as part of `config.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Total number of optimiser steps.
    pub steps: u64,
    /// Rows per batch.
    pub batch: usize,
    /// Adam's learning rate.
    pub lr: f64,
    /// Adam's β₁.
    pub beta1: f64,
    /// Adam's β₂.
    pub beta2: f64,
    /// Adam's ε.
    pub eps: f64,
    /// EMA decay per step (the EMA weights are the ones sampled from).
    pub ema_decay: f64,
    /// Mean of ln σ (EDM Table 1: −1.2).
    pub p_mean: f64,
    /// Standard deviation of ln σ (EDM Table 1: 1.2).
    pub p_std: f64,
    /// Master seed of initialisation and of every batch, σ and noise draw.
    pub seed: u64,
    /// Steps per logged loss window; the only field that may differ when resuming.
    pub log_every: u64,
    /// How the clean batch is perturbed (default: EDM's Gaussian, left out of `config.json`).
    #[serde(default, skip_serializing_if = "Perturbation::is_gaussian")]
    pub perturbation: Perturbation,
    /// Draw ln σ uniformly between the logs of these two levels (Song et al.'s VE training,
    /// σ_min to σ_max) instead of EDM's log-normal; left out of `config.json` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_uniform_sigma: Option<[f64; 2]>,
    /// Split each batch into this many contiguous parts of rows whose gradients are computed in
    /// parallel and summed in part order (1, the default, left out of `config.json`: one pass).
    /// The same draws and the same loss; only the order of floating-point sums changes, so a
    /// given value gives the same weights whatever the thread count. A network penalty must be a
    /// mean over its rows, as the loss is: each part's loss and penalty are weighted by its share.
    #[serde(default = "one_part", skip_serializing_if = "is_one_part")]
    pub parts: usize,
}

fn one_part() -> usize {
    1
}

fn is_one_part(parts: &usize) -> bool {
    *parts == 1
}

impl Default for TrainConfig {
    /// 10 000 steps of batch 256, Adam(1e-3, 0.9, 0.999, 1e-8), EMA 0.999, EDM's σ distribution.
    fn default() -> Self {
        TrainConfig {
            steps: 10_000,
            batch: 256,
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            ema_decay: 0.999,
            p_mean: -1.2,
            p_std: 1.2,
            seed: 0,
            log_every: 100,
            perturbation: Perturbation::Gaussian,
            log_uniform_sigma: None,
            parts: 1,
        }
    }
}

impl TrainConfig {
    /// Checks sizes, rates and decays.
    pub fn validate(&self) -> Result<()> {
        ensure!(self.batch > 0 && self.log_every > 0, "train config: batch and log_every must be positive");
        ensure!(
            (1..=self.batch).contains(&self.parts),
            "train config: parts = {} must lie between 1 and the batch ({})",
            self.parts,
            self.batch
        );
        ensure!(
            self.lr > 0.0 && self.eps > 0.0 && self.p_std >= 0.0,
            "train config: lr and eps must be positive, p_std non-negative"
        );
        for (name, v) in [("beta1", self.beta1), ("beta2", self.beta2), ("ema_decay", self.ema_decay)] {
            ensure!((0.0..1.0).contains(&v), "train config: {name} = {v} must lie in [0, 1)");
        }
        if let Some([lo, hi]) = self.log_uniform_sigma {
            ensure!(
                lo > 0.0 && hi > lo && hi.is_finite(),
                "train config: log_uniform_sigma = [{lo}, {hi}] must satisfy 0 < σ_min < σ_max < ∞"
            );
        }
        self.perturbation.validate()
    }

    /// Adam's hyperparameters from this configuration.
    pub fn adam(&self) -> AdamParams {
        AdamParams {
            lr: self.lr,
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.eps,
        }
    }
}

/// A training run in progress: the network, Adam's moments, the EMA and the step counter.
pub struct Trainer<'a, C: NetworkConfig = MlpConfig> {
    config: RunConfig<C>,
    data: &'a dyn CleanData,
    target: Option<&'a TargetFn>,
    net: C::Net,
    adam: Adam,
    ema: Ema,
    step: u64,
    losses: LossLog,
}

impl<'a, C: NetworkConfig> Trainer<'a, C> {
    /// A fresh run: weights drawn from `Stream::new(seed).named("init")`, zero moments, EMA = weights.
    pub fn new(model: &C, train: &TrainConfig, data: &'a dyn CleanData) -> Result<Self> {
        let config = Self::checked(model, train, data)?;
        let net = C::Net::init(model, seeding::Stream::new(train.seed).named("init"))?;
        let values = net.values()?;
        let lengths: Vec<usize> = values.iter().map(Vec::len).collect();
        Ok(Trainer {
            adam: Adam::new(train.adam(), &lengths),
            ema: Ema::new(train.ema_decay, values),
            config,
            data,
            target: None,
            net,
            step: 0,
            losses: LossLog::default(),
        })
    }

    /// Continues the run saved in `dir` (see [`checkpoint`]); its configuration must equal this one.
    pub fn resume(dir: &Path, model: &C, train: &TrainConfig, data: &'a dyn CleanData) -> Result<Self> {
        let config = Self::checked(model, train, data)?;
        let state = checkpoint::load(dir, &config)?;
        Ok(Trainer {
            net: C::Net::from_values(model, state.net)?,
            adam: Adam::from_moments(train.adam(), state.adam_m, state.adam_v),
            ema: Ema::new(train.ema_decay, state.ema),
            config,
            data,
            target: None,
            step: state.step,
            losses: state.losses,
        })
    }

    /// [`Trainer::resume`] if `dir` holds a checkpoint, else [`Trainer::new`].
    pub fn open(dir: &Path, model: &C, train: &TrainConfig, data: &'a dyn CleanData) -> Result<Self> {
        if checkpoint::is_present(dir) {
            Self::resume(dir, model, train, data)
        } else {
            Self::new(model, train, data)
        }
    }

    fn checked(model: &C, train: &TrainConfig, data: &dyn CleanData) -> Result<RunConfig<C>> {
        model.validate()?;
        train.validate()?;
        ensure!(
            data.dim() == model.dim(),
            "training data has dimension {}, the model {}",
            data.dim(),
            model.dim()
        );
        Ok(RunConfig {
            model: model.clone(),
            train: train.clone(),
        })
    }

    /// Regresses on `target` instead of the clean batch (e.g. the Stable Target Field).
    pub fn with_target(mut self, target: &'a TargetFn) -> Self {
        self.target = Some(target);
        self
    }

    /// Number of completed steps.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// The network being optimised (raw weights θ).
    pub fn net(&self) -> &C::Net {
        &self.net
    }

    /// A network holding the EMA weights, the one to sample from.
    pub fn ema(&self) -> Result<C::Net> {
        C::Net::from_values(&self.config.model, self.ema.values().to_vec())
    }

    /// The loss record so far.
    pub fn losses(&self) -> &LossLog {
        &self.losses
    }

    /// One optimiser step; returns its batch loss.
    pub fn train_step(&mut self) -> Result<f64> {
        let (value, grads) = self.next_gradients()?;
        ensure!(value.is_finite(), "training diverged at step {}: batch loss {value}", self.step + 1);
        let vars = self.net.vars();
        let mut theta = self.net.values()?;
        self.step += 1;
        self.adam.update(self.step, &mut theta, &grads);
        for (var, v) in vars.iter().zip(&theta) {
            var.set(&Tensor::from_slice(v, var.shape(), &Device::Cpu)?)?;
        }
        self.ema.update(&theta);
        self.losses.record(self.step, value, self.config.train.log_every);
        Ok(value)
    }

    /// The batch loss of the next step and its gradient for every parameter (flat, in layout
    /// order), without applying it: the step's draws, perturbation and target, then one
    /// backward pass per part of the batch.
    pub fn next_gradients(&self) -> Result<(f64, Vec<Vec<f32>>)> {
        let train = &self.config.train;
        let (b, d) = (train.batch, self.config.model.dim());
        let stream = seeding::Stream::new(train.seed).named("step").child(self.step);
        let clean = self.data.batch(&mut stream.named("batch").rng(), b);
        ensure!(
            clean.len() == b * d,
            "the data source gave {} values for a batch of {b} points of dimension {d}",
            clean.len()
        );
        // ln σ ~ N(P_mean, P_std²), then x = y + σn (EDM Eq. 8, `EDMLoss`) or the PFGM++ kernel
        // at r = σ√D (Alg. 12); the network sees σ either way.
        let sigma = match train.log_uniform_sigma {
            None => draw_sigmas(&mut stream.named("sigma").rng(), b, train.p_mean, train.p_std),
            Some([lo, hi]) => draw_log_uniform_sigmas(&mut stream.named("sigma").rng(), b, lo, hi),
        };
        let noisy = train.perturbation.perturb(stream.named("noise"), &clean, &sigma, d);
        let target = match self.target {
            Some(f) => {
                let t = f(&TargetBatch {
                    dim: d,
                    clean: &clean,
                    noisy: &noisy,
                    sigma: &sigma,
                    stream: stream.named("target"),
                })?;
                ensure!(t.len() == b * d, "the target function gave {} values for a batch of {b} × {d}", t.len());
                t
            }
            None => clean.iter().map(|&v| v as f32).collect(),
        };
        let precond = self.net.precond();
        let weight: Vec<f64> = sigma.iter().map(|&s| precond.loss_weight(s)).collect();
        let batch = Batch {
            dim: d,
            noisy: &noisy,
            sigma: &sigma,
            clean: &clean,
            target: &target,
            weight: &weight,
        };
        // Each part's loss is its share of the batch mean, so the parts' gradients sum to the whole
        // batch's; parts run in parallel and are summed in order. One part is the batch itself,
        // with the step's own conditioning stream and no rescaling.
        let parts: Vec<(f64, Vec<Vec<f32>>)> = (0..train.parts)
            .into_par_iter()
            .map(|p| {
                let rows = p * b / train.parts..(p + 1) * b / train.parts;
                if train.parts == 1 {
                    return batch_gradients(&self.net, &batch, rows, None, stream.named("conditioning"));
                }
                let share = rows.len() as f64 / b as f64;
                batch_gradients(&self.net, &batch, rows, Some(share), stream.named("conditioning").child(p as u64))
            })
            .collect::<Result<_>>()?;
        let mut parts = parts.into_iter();
        let (mut value, mut grads) = parts.next().expect("validate() keeps parts ≥ 1");
        for (v, g) in parts {
            value += v;
            grads.iter_mut().flatten().zip(g.iter().flatten()).for_each(|(a, b)| *a += b);
        }
        Ok((value, grads))
    }

    /// Steps until `step` steps are complete (nothing if already there).
    pub fn run_until(&mut self, step: u64) -> Result<()> {
        while self.step < step {
            self.train_step()?;
        }
        Ok(())
    }

    /// Writes the run to `dir` (see [`checkpoint::save`]).
    pub fn save(&self, dir: &Path) -> Result<()> {
        let state = TrainState {
            step: self.step,
            net: self.net.values()?,
            ema: self.ema.values().to_vec(),
            adam_m: self.adam.first_moments().to_vec(),
            adam_v: self.adam.second_moments().to_vec(),
            losses: self.losses.clone(),
        };
        checkpoint::save(dir, &self.config, &state)
    }
}

/// One step's perturbed batch, its regression target and the per-row loss weights λ(σ).
struct Batch<'b> {
    dim: usize,
    noisy: &'b [f64],
    sigma: &'b [f64],
    clean: &'b [f64],
    target: &'b [f32],
    weight: &'b [f64],
}

/// The loss of `rows` of `batch` (times `share`, when given) and its gradient for every
/// parameter, flat and in layout order.
fn batch_gradients<N: Network>(
    net: &N,
    batch: &Batch,
    rows: std::ops::Range<usize>,
    share: Option<f64>,
    stream: seeding::Stream,
) -> Result<(f64, Vec<Vec<f32>>)> {
    let d = batch.dim;
    let values = rows.start * d..rows.end * d;
    let out = net.denoise_training(&batch.noisy[values.clone()], &batch.sigma[rows.clone()], &batch.clean[values.clone()], stream)?;
    let target = Tensor::from_slice(&batch.target[values], (rows.len(), d), &Device::Cpu)?;
    let mut loss = edm_loss(&out.denoised, &target, &batch.weight[rows])?;
    if let Some(penalty) = out.penalty {
        loss = (loss + penalty)?;
    }
    if let Some(share) = share {
        loss = (loss * share)?;
    }
    let value = loss.to_scalar::<f32>()? as f64;
    let grads = loss.backward()?;
    Ok((value, crate::params::flat_gradients(&grads, &net.vars(), net.names())?))
}

/// How [`train`] runs: where and how often to checkpoint, whether to draw progress, which target.
#[derive(Clone, Copy, Default)]
pub struct TrainOptions<'a> {
    /// Folder to resume from and to save into; `None` trains in memory only.
    pub checkpoint: Option<&'a Path>,
    /// Save every this many steps (0: only at the end).
    pub checkpoint_every: u64,
    /// Draw a progress bar on stderr (steps/s and the last logged loss).
    pub progress: bool,
    /// Replacement regression target (default: the clean batch).
    pub target: Option<&'a TargetFn>,
}

/// The result of [`train`].
pub struct Trained<N> {
    /// The EMA weights, to sample from.
    pub ema: N,
    /// The raw weights θ at the last step.
    pub net: N,
    /// The loss record.
    pub losses: LossLog,
}

/// Trains to `train.steps` steps, resuming from and saving to `options.checkpoint` when given.
pub fn train<C: NetworkConfig>(model: &C, train: &TrainConfig, data: &dyn CleanData, options: &TrainOptions) -> Result<Trained<C::Net>> {
    let mut trainer: Trainer<C> = match options.checkpoint {
        Some(dir) => Trainer::open(dir, model, train, data)?,
        None => Trainer::new(model, train, data)?,
    };
    if let Some(target) = options.target {
        trainer = trainer.with_target(target);
    }
    let bar = if options.progress {
        ProgressBar::new(train.steps)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("training [{bar:30}] {pos}/{len} steps  {per_sec}  eta {eta}  loss {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_position(trainer.step());
    bar.reset_eta();
    while trainer.step() < train.steps {
        trainer.train_step()?;
        let step = trainer.step();
        bar.set_position(step);
        if step.is_multiple_of(train.log_every) {
            if let Some(p) = trainer.losses().points().last() {
                bar.set_message(format!("{:.4}", p.loss));
            }
        }
        if let Some(dir) = options.checkpoint {
            if options.checkpoint_every > 0 && step.is_multiple_of(options.checkpoint_every) {
                trainer.save(dir)?;
            }
        }
    }
    bar.finish_and_clear();
    if let Some(dir) = options.checkpoint {
        trainer.save(dir)?;
    }
    Ok(Trained {
        ema: trainer.ema()?,
        losses: trainer.losses().clone(),
        net: trainer.net,
    })
}

//! PFGM's training (thesis Alg. 2, l.1615–1633): each step draws a large batch B_L from the data
//! and a batch B ⊂ B_L, perturbs B by Alg. 3, and regresses f_θ(ỹ) on the normalised field of B_L,
//! L(θ) = (1/|B|) Σ_i ‖f_θ(ỹ_i) − v_{B_L}(ỹ_i)‖². The field of B_L is a biased estimate of the
//! data's field (the thesis's choice; B_L = 4096 for CIFAR-10).
//!
//! The optimiser, EMA, loss record and resumable checkpoint are the shared trainer's
//! ([`training::checkpoint`]): the run's [`TrainConfig`] carries the steps, |B|, Adam's step size,
//! the EMA decay and the seed (its σ-sampling fields are unused here), and the PFGM settings are
//! written beside it as `pfgm.json`, checked on resume.

use crate::{normalized_target, Perturbation, PfgmNet, PoissonField};
use anyhow::{ensure, Context, Result};
use artifacts::write_atomic;
use candle_core::{Device, Tensor};
use exact_denoisers::PointSet;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;
use training::adam::Adam;
use training::checkpoint::{self, TrainState};
use training::ema::Ema;
use training::{LossLog, Mlp, MlpConfig, RunConfig, TrainConfig};

/// What Alg. 2 adds to the shared optimiser settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PfgmTraining {
    /// |B_L|, the points whose field is the target (≥ |B|).
    pub large_batch: usize,
    /// γ in the target's denominator (5 in the thesis).
    pub gamma: f64,
    /// Alg. 3's perturbation.
    pub perturbation: Perturbation,
    /// The data's per-coordinate scale, for the network's input scaling.
    pub sigma_data: f64,
}

const PFGM_FILE: &str = "pfgm.json";

/// Trains a PFGM network of `model.dim` = N + 1 inputs on `data` (rows of N) and returns the EMA
/// network. With `checkpoint`, resumes from and saves to that folder every `checkpoint_every` steps.
pub fn train_pfgm(
    model: &MlpConfig,
    train: &TrainConfig,
    pfgm: &PfgmTraining,
    data: &[f64],
    checkpoint: Option<&Path>,
    checkpoint_every: u64,
    progress: bool,
) -> Result<PfgmNet> {
    let n = model.dim - 1;
    ensure!(
        n >= 1 && data.len().is_multiple_of(n) && !data.is_empty(),
        "PFGM training: {} data values are not rows of N = {n}",
        data.len()
    );
    let points = data.len() / n;
    ensure!(
        train.batch <= pfgm.large_batch && pfgm.large_batch <= points,
        "PFGM training needs |B| ≤ |B_L| ≤ the data size (got {}, {}, {points})",
        train.batch,
        pfgm.large_batch
    );
    model.validate()?;
    train.validate()?;
    let config = RunConfig {
        model: model.clone(),
        train: train.clone(),
    };
    let mut state = match checkpoint {
        Some(dir) if checkpoint::is_present(dir) => {
            let path = dir.join(PFGM_FILE);
            let saved: PfgmTraining = serde_json::from_str(&std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?)
                .with_context(|| format!("{} is not a PFGM training configuration", path.display()))?;
            ensure!(
                &saved == pfgm,
                "the checkpoint {} was trained with other PFGM settings ({saved:?}, requested {pfgm:?})",
                dir.display()
            );
            checkpoint::load(dir, &config)?
        }
        _ => {
            let values = Mlp::new(model, seeding::Stream::new(train.seed).named("init"))?.values()?;
            let zeros: Vec<Vec<f32>> = values.iter().map(|v| vec![0.0; v.len()]).collect();
            TrainState {
                step: 0,
                net: values.clone(),
                ema: values,
                adam_m: zeros.clone(),
                adam_v: zeros,
                losses: LossLog::default(),
            }
        }
    };
    let net = PfgmNet::new(Mlp::from_values(model, state.net.clone())?, pfgm.sigma_data, pfgm.gamma)?;
    let mut adam = Adam::from_moments(train.adam(), state.adam_m.clone(), state.adam_v.clone());
    let mut ema = Ema::new(train.ema_decay, state.ema.clone());
    let bar = if progress { ProgressBar::new(train.steps) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("PFGM training [{bar:30}] {pos}/{len} steps  {per_sec}  eta {eta}  loss {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_position(state.step);
    let save = |state: &TrainState| -> Result<()> {
        if let Some(dir) = checkpoint {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            write_atomic(&dir.join(PFGM_FILE), serde_json::to_string_pretty(pfgm)?.as_bytes())?;
            checkpoint::save(dir, &config, state)?;
        }
        Ok(())
    };
    let mut fresh = false;
    while state.step < train.steps {
        let stream = seeding::Stream::new(train.seed).named("step").child(state.step);
        // Alg. 2, lines 2–3: B_L uniformly without replacement, B its first |B| members.
        let large = rand::seq::index::sample(&mut stream.named("batch").rng(), points, pfgm.large_batch).into_vec();
        let large_points: Vec<f64> = large.iter().flat_map(|&i| data[i * n..(i + 1) * n].iter().copied()).collect();
        let field = PoissonField::new(PointSet::new(n, large_points));
        let perturbed: Vec<(Vec<f64>, Vec<f64>)> = (0..train.batch)
            .into_par_iter()
            .map(|i| {
                let p = pfgm
                    .perturbation
                    .perturb(&mut stream.named("perturb").child(i as u64).rng(), field.points().point(i));
                // Alg. 2, line 5: the target is the field of the whole large batch at the perturbed point.
                let target = normalized_target(&field, &p.y, p.z, pfgm.gamma);
                (p.y.into_iter().chain([p.z]).collect(), target)
            })
            .collect();
        let states: Vec<f64> = perturbed.iter().flat_map(|(s, _)| s.iter().copied()).collect();
        let target: Vec<f32> = perturbed.iter().flat_map(|(_, t)| t.iter().map(|&v| v as f32)).collect();
        let predicted = net.predict_tensor(&states)?;
        let target = Tensor::from_vec(target, (train.batch, n + 1), &Device::Cpu)?;
        let loss = (predicted - target)?.sqr()?.sum_keepdim(1)?.mean_all()?;
        let value = loss.to_scalar::<f32>()? as f64;
        ensure!(value.is_finite(), "PFGM training diverged at step {}: batch loss {value}", state.step + 1);
        let grads = loss.backward()?;
        let grads = training::params::flat_gradients(&grads, &net.mlp().vars(), net.mlp().names())?;
        let mut theta = net.mlp().values()?;
        state.step += 1;
        adam.update(state.step, &mut theta, &grads);
        for (var, v) in net.mlp().vars().iter().zip(&theta) {
            var.set(&Tensor::from_slice(v, var.shape(), &Device::Cpu)?)?;
        }
        ema.update(&theta);
        state.losses.record(state.step, value, train.log_every);
        bar.inc(1);
        if let Some(last) = state.losses.points().last() {
            bar.set_message(format!("{:.4}", last.loss));
        }
        fresh = true;
        if checkpoint_every > 0 && state.step.is_multiple_of(checkpoint_every) && state.step < train.steps {
            state.net = theta;
            state.ema = ema.values().to_vec();
            state.adam_m = adam.first_moments().to_vec();
            state.adam_v = adam.second_moments().to_vec();
            save(&state)?;
        }
    }
    bar.finish_and_clear();
    if fresh {
        state.net = net.mlp().values()?;
        state.ema = ema.values().to_vec();
        state.adam_m = adam.first_moments().to_vec();
        state.adam_v = adam.second_moments().to_vec();
        save(&state)?;
    }
    PfgmNet::new(Mlp::from_values(model, state.ema)?, pfgm.sigma_data, pfgm.gamma)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(steps: u64) -> (MlpConfig, TrainConfig, PfgmTraining, Vec<f64>) {
        let model = MlpConfig {
            hidden: 16,
            layers: 2,
            time_embedding: 8,
            ..MlpConfig::new(4)
        };
        let train = TrainConfig {
            steps,
            batch: 8,
            lr: 1e-3,
            seed: 3,
            log_every: 1,
            ..TrainConfig::default()
        };
        let pfgm = PfgmTraining {
            large_batch: 32,
            gamma: 5.0,
            perturbation: Perturbation {
                sigma: 0.01,
                tau: 0.03,
                m_max: 200.0,
                restrict: None,
            },
            sigma_data: 1.0,
        };
        let data: Vec<f64> = (0..3 * 64).map(|i| ((i * 37 % 23) as f64 - 11.0) / 6.0).collect();
        (model, train, pfgm, data)
    }

    #[test]
    fn a_cached_run_returns_the_same_network_and_other_settings_are_refused() {
        let (model, train, pfgm, data) = setup(12);
        let whole = train_pfgm(&model, &train, &pfgm, &data, None, 0, false).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let saved = train_pfgm(&model, &train, &pfgm, &data, Some(dir.path()), 5, false).unwrap();
        let loaded = train_pfgm(&model, &train, &pfgm, &data, Some(dir.path()), 5, false).unwrap();
        // Checkpointing every 5 steps changes no bit, and loading returns the EMA weights saved.
        assert_eq!(whole.mlp().values().unwrap(), saved.mlp().values().unwrap());
        assert_eq!(saved.mlp().values().unwrap(), loaded.mlp().values().unwrap());
        let other = PfgmTraining { gamma: 1.0, ..pfgm };
        let err = train_pfgm(&model, &train, &other, &data, Some(dir.path()), 5, false)
            .err()
            .expect("other settings must be refused");
        assert!(err.to_string().contains("other PFGM settings"), "{err}");
    }

    #[test]
    fn training_lowers_the_loss() {
        let (model, train, pfgm, data) = setup(300);
        let dir = tempfile::tempdir().unwrap();
        train_pfgm(
            &model,
            &TrainConfig {
                log_every: 50,
                ..train.clone()
            },
            &pfgm,
            &data,
            Some(dir.path()),
            0,
            false,
        )
        .unwrap();
        let losses = checkpoint::load(
            dir.path(),
            &RunConfig {
                model,
                train: TrainConfig { log_every: 50, ..train },
            },
        )
        .unwrap()
        .losses;
        let points = losses.points();
        let (first, last) = (points[0].loss, points[points.len() - 1].loss);
        assert!(last < 0.7 * first, "loss {first} → {last}");
    }
}

//! The model of the thesis's Restart experiments on synthetic data (§5.4.1, App. B.3.2
//! l.4282–4299): the 20-D, 2000-point set and the four-layer MLP of latent width 64 trained with
//! EDM's preconditioning and loss. Shared by `fig-5.2`, the Restart sweeps and `table-5.1`, which
//! declare the same parameters and so reuse one cached checkpoint under `results/.checkpoints/`.

use crate::Run;
use anyhow::Result;
use registry::Params;
use training::{Mlp, MlpConfig, Perturbation, TrainConfig, TrainOptions, TrainingSet};

/// The data set S (row-major, 20-D) from the parameters `data_points` and `data_seed`.
pub fn data(p: &Params) -> Result<Vec<f64>> {
    Ok(datasets::restart_mixture_20d(p.usize("data_points")?, p.u64("data_seed")?))
}

/// The model and training configurations from the declared parameters.
pub fn configs(p: &Params) -> Result<(MlpConfig, TrainConfig)> {
    let model = MlpConfig {
        dim: 20,
        hidden: p.usize("hidden")?,
        layers: p.usize("layers")?,
        time_embedding: p.usize("time_embedding")?,
        residual: false,
        sigma_data: p.f64("sigma_data")?,
        pfgmpp_toy: false,
        condition: 0,
    };
    let train = TrainConfig {
        steps: p.u64("train_steps")?,
        batch: p.usize("train_batch")?,
        lr: p.f64("lr")?,
        ema_decay: p.f64("ema_decay")?,
        seed: p.u64("train_seed")?,
        ..TrainConfig::default()
    };
    Ok((model, train))
}

/// The EMA model trained on `data`, resumed from or cached in `results/.checkpoints/<key>/`,
/// where the key hashes the model, training and data configuration.
pub fn trained(run: &Run, data: &[f64]) -> Result<Mlp> {
    trained_with(run, data, Perturbation::Gaussian)
}

/// The same model trained with another perturbation (PFGM++'s kernel for `table-5.1-pfgmpp`);
/// with the Gaussian one it is [`trained`] (the default is left out of the cache key's JSON).
pub fn trained_with(run: &Run, data: &[f64], perturbation: Perturbation) -> Result<Mlp> {
    let (model, mut train) = configs(run.params)?;
    train.perturbation = perturbation;
    trained_as(run, data, &model, &train)
}

/// The EMA model of the given configurations trained on `data` (this module's data set, from the
/// parameters `data_points` and `data_seed`), cached under the hash of everything that shapes it.
pub fn trained_as(run: &Run, data: &[f64], model: &MlpConfig, train: &TrainConfig) -> Result<Mlp> {
    trained_stf(run, data, model, train, 1)
}

/// The same trained on the Stable Target Field with reference batches of `reference` points
/// (Alg. 1; with the PFGM++ kernel's weights when `train` perturbs by PFGM++, B.6.3); n = 1 is
/// [`trained_as`], bit for bit and under the same cache key.
pub fn trained_stf(run: &Run, data: &[f64], model: &MlpConfig, train: &TrainConfig, reference: usize) -> Result<Mlp> {
    let p = run.params;
    let (points, seed) = (p.usize("data_points")?, p.u64("data_seed")?);
    let json = if reference == 1 {
        serde_json::to_string(&(model, train, points, seed))?
    } else {
        serde_json::to_string(&(model, train, points, seed, "stf", reference))?
    };
    let key = artifacts::sha256_hex(json.as_bytes());
    let set = TrainingSet::new(20, data.to_vec())?;
    let dir = run.checkpoint_dir(&key[..16])?;
    let mut stf = stable_target::StfTarget::new(20, data.to_vec(), reference)?;
    if let Perturbation::Pfgmpp { augment } = train.perturbation {
        stf = stf.with_pfgmpp(augment)?;
    }
    let target = training::stf_target(stf);
    let options = TrainOptions {
        checkpoint: Some(&dir),
        checkpoint_every: 2000,
        progress: true,
        target: (reference > 1).then_some(&target as &training::TargetFn),
    };
    Ok(training::train(model, train, &set, &options)?.ema)
}

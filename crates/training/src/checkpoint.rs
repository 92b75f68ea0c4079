//! Resumable checkpoints: `<dir>/model.safetensors` and `<dir>/config.json`, each written atomically
//! (a temporary file renamed over the old one, `artifacts::write_atomic`).
//!
//! `model.safetensors` holds f32 tensors `net.<p>` (weights θ), `ema.<p>` (EMA weights), `adam_m.<p>`
//! and `adam_v.<p>` (Adam's moments) for every parameter `p` of the network's layout ([`crate::Network::names`]), and one metadata
//! entry `training` (JSON: format version, completed steps, loss record). `config.json` holds the
//! [`RunConfig`]. Because step s draws only from its own stream, restoring these is all a run
//! needs to continue bit for bit. The training data are not stored: resume with the same source.

use crate::loss_log::LossLog;
use crate::mlp::MlpConfig;
use crate::network::{Network, NetworkConfig};
use crate::trainer::TrainConfig;
use anyhow::{bail, ensure, Context, Result};
use artifacts::write_atomic;
use candle_core::{Device, Tensor};
use safetensors::{Dtype, SafeTensors};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// File name of the tensors.
pub const MODEL_FILE: &str = "model.safetensors";
/// File name of the configuration.
pub const CONFIG_FILE: &str = "config.json";
/// Version of the layout above, checked on load.
const FORMAT: u32 = 1;
/// The tensor-name prefixes, in [`TrainState`] field order.
const PREFIXES: [&str; 4] = ["net", "ema", "adam_m", "adam_v"];

/// Everything a checkpoint's `config.json` holds: the architecture and the optimisation settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, bound = "C: NetworkConfig")]
pub struct RunConfig<C = MlpConfig> {
    /// The network.
    pub model: C,
    /// The training run.
    pub train: TrainConfig,
}

/// The state of a run after `step` steps, every tensor flat in the network's layout order.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainState {
    /// Completed optimiser steps.
    pub step: u64,
    /// Weights θ.
    pub net: Vec<Vec<f32>>,
    /// EMA weights.
    pub ema: Vec<Vec<f32>>,
    /// Adam's first moments.
    pub adam_m: Vec<Vec<f32>>,
    /// Adam's second moments.
    pub adam_v: Vec<Vec<f32>>,
    /// The loss record.
    pub losses: LossLog,
}

/// The safetensors metadata entry.
#[derive(Serialize, Deserialize)]
struct Meta {
    format: u32,
    step: u64,
    losses: LossLog,
}

/// Whether `dir` holds either checkpoint file (a half-present checkpoint is reported by [`load`]).
pub fn is_present(dir: &Path) -> bool {
    dir.join(MODEL_FILE).exists() || dir.join(CONFIG_FILE).exists()
}

/// Writes `config.json`, then `model.safetensors`, each atomically.
pub fn save<C: NetworkConfig>(dir: &Path, config: &RunConfig<C>, state: &TrainState) -> Result<()> {
    let layout = config.model.parameter_layout();
    let mut tensors = Vec::with_capacity(4 * layout.len());
    for (prefix, values) in PREFIXES.iter().zip([&state.net, &state.ema, &state.adam_m, &state.adam_v]) {
        ensure!(
            values.len() == layout.len(),
            "checkpoint: {} {prefix} tensors for {} parameters",
            values.len(),
            layout.len()
        );
        for ((name, shape), v) in layout.iter().zip(values) {
            tensors.push((format!("{prefix}.{name}"), Tensor::from_slice(v, shape.as_slice(), &Device::Cpu)?));
        }
    }
    let meta = Meta {
        format: FORMAT,
        step: state.step,
        losses: state.losses.clone(),
    };
    // A single metadata entry keeps the header bytes independent of hash-map order.
    let metadata = HashMap::from([("training".to_string(), serde_json::to_string(&meta)?)]);
    let bytes = safetensors::serialize(tensors, Some(metadata)).context("serialising the checkpoint")?;
    write_atomic(&dir.join(CONFIG_FILE), serde_json::to_string_pretty(config)?.as_bytes())?;
    write_atomic(&dir.join(MODEL_FILE), &bytes)
}

/// How to produce a missing checkpoint, for error messages.
fn missing(path: &Path) -> String {
    format!(
        "no checkpoint file {}: it is written by training::train with `TrainOptions::checkpoint` set to {} \
         (or by Trainer::save); train the model first",
        path.display(),
        path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf).display()
    )
}

/// Reads `<dir>/config.json`.
pub fn read_config<C: NetworkConfig>(dir: &Path) -> Result<RunConfig<C>> {
    let path = dir.join(CONFIG_FILE);
    ensure!(path.exists(), "{}", missing(&path));
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a training configuration", path.display()))
}

/// Flattens a JSON value into `path → value` pairs ("model.hidden" → "64").
fn flatten(prefix: &str, v: &serde_json::Value, out: &mut BTreeMap<String, String>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&key, v, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

/// Errors unless `saved` equals `wanted` in every field but `train.log_every`, listing the differences.
fn check_config<C: NetworkConfig>(path: &Path, saved: &RunConfig<C>, wanted: &RunConfig<C>) -> Result<()> {
    let flat = |c: &RunConfig<C>| -> Result<BTreeMap<String, String>> {
        let mut c = c.clone();
        c.train.log_every = 0;
        let mut out = BTreeMap::new();
        flatten("", &serde_json::to_value(&c)?, &mut out);
        Ok(out)
    };
    let (a, b) = (flat(saved)?, flat(wanted)?);
    let diffs: Vec<String> = b
        .iter()
        .filter(|(k, v)| a.get(*k) != Some(*v))
        .map(|(k, v)| format!("{k}: saved {}, requested {v}", a.get(k).map_or("nothing", String::as_str)))
        .collect();
    if !diffs.is_empty() {
        bail!(
            "the checkpoint {} was trained with a different configuration ({}); request its configuration, \
             or give a fresh checkpoint folder (or delete this one) to train anew",
            path.display(),
            diffs.join("; ")
        );
    }
    Ok(())
}

/// Reads the run saved in `dir`, which must have been trained with `wanted` (up to `log_every`).
pub fn load<C: NetworkConfig>(dir: &Path, wanted: &RunConfig<C>) -> Result<TrainState> {
    let saved = read_config(dir)?;
    check_config(&dir.join(CONFIG_FILE), &saved, wanted)?;
    let path = dir.join(MODEL_FILE);
    ensure!(path.exists(), "{}", missing(&path));
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let bad = || format!("{} is not a training checkpoint", path.display());
    let (_, header) = SafeTensors::read_metadata(&bytes).with_context(bad)?;
    let meta: Meta = header
        .metadata()
        .as_ref()
        .and_then(|m| m.get("training"))
        .with_context(|| format!("{}: no `training` metadata", bad()))
        .and_then(|json| serde_json::from_str(json).with_context(bad))?;
    ensure!(
        meta.format == FORMAT,
        "{} has checkpoint format {}, this code reads {FORMAT}",
        path.display(),
        meta.format
    );
    let st = SafeTensors::deserialize(&bytes).with_context(bad)?;
    let layout = wanted.model.parameter_layout();
    let read = |prefix: &str| read_set(&st, &path, prefix, &layout);
    Ok(TrainState {
        step: meta.step,
        net: read(PREFIXES[0])?,
        ema: read(PREFIXES[1])?,
        adam_m: read(PREFIXES[2])?,
        adam_v: read(PREFIXES[3])?,
        losses: meta.losses,
    })
}

/// The tensors `<prefix>.<name>` of every parameter in `layout`, checked to be f32 of the right shape.
fn read_set(st: &SafeTensors, path: &Path, prefix: &str, layout: &[(String, Vec<usize>)]) -> Result<Vec<Vec<f32>>> {
    layout
        .iter()
        .map(|(name, shape)| {
            let key = format!("{prefix}.{name}");
            let view = st.tensor(&key).with_context(|| format!("{} has no tensor {key}", path.display()))?;
            ensure!(
                view.dtype() == Dtype::F32 && view.shape() == shape.as_slice(),
                "{}: tensor {key} is {:?} {:?}, expected F32 {shape:?}",
                path.display(),
                view.dtype(),
                view.shape()
            );
            Ok(view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
        })
        .collect()
}

/// The EMA network saved in `dir` (trained with `wanted`), ready to sample from.
pub fn load_ema<C: NetworkConfig>(dir: &Path, wanted: &RunConfig<C>) -> Result<C::Net> {
    C::Net::from_values(&wanted.model, load(dir, wanted)?.ema)
}

//! The committed FD-digits classifier: the one recipe every FD-digits number uses, its weights in
//! `datasets/fd-digits-classifier.safetensors`, and a record of their sha256 and held-out accuracy.
//! `cargo xtask train-fd-classifier` writes both from the recipe; [`load`] refuses weights whose
//! hash differs from the record, so every table's FD-digits is computed with the same features.

use crate::classifier::PIXELS;
use crate::{Classifier, TrainConfig};
use anyhow::{bail, ensure, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Digits (of 1797, in file order) the classifier trains on; the rest are held out.
pub const TRAIN_DIGITS: usize = 1500;

/// The recipe: Adam on cross-entropy, 30 epochs of batches of 64, learning rate 10⁻³, seed 0.
pub const RECIPE: TrainConfig = TrainConfig {
    epochs: 30,
    batch: 64,
    lr: 1e-3,
    seed: 0,
};

/// The command that (re)writes the committed weights and record.
pub const COMMAND: &str = "cargo xtask train-fd-classifier";

/// What is recorded beside the weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// sha256 of the safetensors file.
    pub sha256: String,
    /// Accuracy on the held-out digits (those after the first [`TRAIN_DIGITS`]).
    pub held_out_accuracy: f64,
    /// Number of held-out digits.
    pub held_out: usize,
    /// The recipe, in words.
    pub recipe: String,
    /// The command that produced the weights.
    pub command: String,
}

/// Path of the weights under a datasets root.
pub fn weights_path(root: &Path) -> PathBuf {
    root.join("fd-digits-classifier.safetensors")
}

/// Path of the record under a datasets root.
pub fn record_path(root: &Path) -> PathBuf {
    root.join("fd-digits-classifier.json")
}

/// Trains the classifier by [`RECIPE`] on the first [`TRAIN_DIGITS`] digits and returns it with
/// its held-out accuracy and the number of held-out digits.
pub fn train(root: &Path) -> Result<(Classifier, f64, usize)> {
    let set = datasets::images::digits(root)?;
    let x = set.rows_f64()?;
    let labels = set.labels.clone().context("the digits set has no labels")?;
    ensure!(
        labels.len() > TRAIN_DIGITS,
        "FD-digits: only {} digits, {TRAIN_DIGITS} are needed to train",
        labels.len()
    );
    let c = Classifier::train(&x[..TRAIN_DIGITS * PIXELS], &labels[..TRAIN_DIGITS], &RECIPE)?;
    let accuracy = c.accuracy(&x[TRAIN_DIGITS * PIXELS..], &labels[TRAIN_DIGITS..])?;
    Ok((c, accuracy, labels.len() - TRAIN_DIGITS))
}

/// Trains by the recipe and writes the weights and the record (each atomically) under `root`.
pub fn write(root: &Path) -> Result<Record> {
    let (c, held_out_accuracy, held_out) = train(root)?;
    let weights = weights_path(root);
    let tmp = weights.with_extension("safetensors.tmp");
    c.save(&tmp)?;
    let bytes = std::fs::read(&tmp)?;
    std::fs::rename(&tmp, &weights)?;
    let record = Record {
        sha256: artifacts::sha256_hex(&bytes),
        held_out_accuracy,
        held_out,
        recipe: format!(
            "MLP 64 → 128 → 64 → 10 (SiLU), Adam lr {}, {} epochs, batch {}, seed {}, trained on the first {TRAIN_DIGITS} UCI digits",
            RECIPE.lr, RECIPE.epochs, RECIPE.batch, RECIPE.seed
        ),
        command: COMMAND.to_string(),
    };
    artifacts::write_atomic(&record_path(root), (serde_json::to_string_pretty(&record)? + "\n").as_bytes())?;
    Ok(record)
}

/// The record of the committed weights.
pub fn record(root: &Path) -> Result<Record> {
    let path = record_path(root);
    let text = std::fs::read_to_string(&path).with_context(|| format!("the FD-digits record {} is missing: run `{COMMAND}`", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))
}

/// The committed classifier, after checking its weights' sha256 against the record.
pub fn load(root: &Path) -> Result<Classifier> {
    let rec = record(root)?;
    let path = weights_path(root);
    let bytes = std::fs::read(&path).with_context(|| format!("the FD-digits classifier {} is missing: run `{COMMAND}`", path.display()))?;
    let found = artifacts::sha256_hex(&bytes);
    if found != rec.sha256 {
        bail!(
            "the FD-digits classifier {} has sha256 {found}, the record says {}: run `{COMMAND}` to rewrite both",
            path.display(),
            rec.sha256
        );
    }
    Classifier::load(&path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recipe_reproduces_the_committed_weights_and_accuracy() {
        let root = datasets::root();
        let committed = load(&root).unwrap();
        let rec = record(&root).unwrap();
        let (fresh, accuracy, held_out) = train(&root).unwrap();
        assert_eq!((accuracy, held_out), (rec.held_out_accuracy, rec.held_out));
        let x = datasets::images::digits(&root).unwrap().rows_f64().unwrap();
        assert_eq!(fresh.features(&x).unwrap(), committed.features(&x).unwrap());
        // And the bytes: the same recipe writes the same file.
        let dir = std::env::temp_dir().join(format!("fd-digits-committed-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        fresh.save(&dir.join("w.safetensors")).unwrap();
        assert_eq!(artifacts::sha256_hex(&std::fs::read(dir.join("w.safetensors")).unwrap()), rec.sha256);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn altered_weights_are_refused_with_the_command_to_fix_them() {
        let dir = std::env::temp_dir().join(format!("fd-digits-altered-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let root = datasets::root();
        std::fs::copy(record_path(&root), record_path(&dir)).unwrap();
        let mut bytes = std::fs::read(weights_path(&root)).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(weights_path(&dir), bytes).unwrap();
        let err = format!("{:#}", load(&dir).err().unwrap());
        assert!(err.contains("sha256") && err.contains(COMMAND), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

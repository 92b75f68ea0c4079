//! `results/<id>/manifest.json`: what was run, with what, and the sha256 of each output.

use crate::atomic::write_atomic;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// The record of one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Experiment id.
    pub id: String,
    /// Tier that ran.
    pub tier: String,
    /// Master seed.
    pub seed: u64,
    /// Final parameters (file, environment, `--set`).
    pub params: serde_json::Value,
    /// `git describe --always --dirty` of the workspace, or "unknown".
    pub git_revision: String,
    /// Wall time of the run in seconds.
    pub wall_time_s: f64,
    /// Number of rayon threads.
    pub threads: usize,
    /// sha256 of every output file, by path relative to the workspace root.
    pub outputs: BTreeMap<String, String>,
}

/// Lower-case hex sha256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

impl Manifest {
    /// Writes the manifest as pretty JSON, atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        write_atomic(path, serde_json::to_string_pretty(self)?.as_bytes())
    }

    /// Reads a manifest.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is not a manifest", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_known_input() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}

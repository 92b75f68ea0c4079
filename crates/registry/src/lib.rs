//! Experiment declarations: parameters, tiers, sources and the paper's reference values, read from experiments/<id>.toml.
//!
//! A declaration is read with figment: the TOML file, then environment variables
//! `REPRO_PARAMS__<KEY>=value`, then `--set key=value` overrides. Only keys the file declares
//! may be overridden, with a value of the declared type inside the declared range.

pub mod declaration;
pub mod params;
pub mod reference;

pub use declaration::{CheckTolerance, Declaration, Tier};
pub use params::Params;
pub use reference::{Kind, Reference, Verdict};

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// The folder of declarations, `experiments/` at the workspace root.
pub fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments")
}

/// The ids of every declaration in `dir`, sorted.
pub fn ids(dir: &Path) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading the experiment folder {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "toml") {
            if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
                ids.push(stem.to_string());
            }
        }
    }
    ids.sort();
    Ok(ids)
}

/// Loads the declaration of `id` with `--set` overrides, or says which ids exist and which are close.
pub fn load(dir: &Path, id: &str, sets: &[String]) -> Result<Declaration> {
    let known = ids(dir)?;
    if !known.iter().any(|k| k == id) {
        let mut close: Vec<(f64, &String)> = known.iter().map(|k| (strsim::jaro_winkler(id, k), k)).filter(|(s, _)| *s > 0.8).collect();
        close.sort_by(|a, b| b.0.total_cmp(&a.0));
        let hint = if close.is_empty() {
            String::new()
        } else {
            format!(
                "did you mean {}? ",
                close.iter().take(3).map(|(_, k)| format!("`{k}`")).collect::<Vec<_>>().join(", ")
            )
        };
        bail!("unknown experiment id `{id}`: {hint}valid ids are: {}", known.join(", "));
    }
    Declaration::load(&dir.join(format!("{id}.toml")), sets)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, id: &str, body: &str) {
        std::fs::write(dir.join(format!("{id}.toml")), body).unwrap();
    }

    const BODY: &str = r#"
id = "fig-1"
title = "A test"
runner = "noop"
tiers = ["exact"]
source = "nowhere"
runtime_s = 1
[params]
seed = 0
steps = 10
scale = 0.5
name = "a"
ns = [1, 2]
[ranges]
steps = [1, 100]
"#;

    #[test]
    fn unknown_id_lists_close_matches_and_all_ids() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "fig-1", BODY);
        write(dir.path(), "fig-2", &BODY.replace("fig-1", "fig-2"));
        let err = load(dir.path(), "fig-3", &[]).unwrap_err().to_string();
        assert!(
            err.contains("unknown experiment id `fig-3`") && err.contains("did you mean") && err.contains("fig-1, fig-2"),
            "{err}"
        );
    }

    #[test]
    fn sets_override_and_bad_sets_are_named() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "fig-1", BODY);
        let d = load(dir.path(), "fig-1", &["steps=20".into(), "scale=2".into(), "ns=[4,8]".into()]).unwrap();
        assert_eq!(d.params().usize("steps").unwrap(), 20);
        assert_eq!(d.params().f64("scale").unwrap(), 2.0);
        assert_eq!(d.params().usize_list("ns").unwrap(), vec![4, 8]);

        let e = load(dir.path(), "fig-1", &["stepz=3".into()]).unwrap_err().to_string();
        assert!(e.contains("unknown parameter `stepz`") && e.contains("steps"), "{e}");
        let e = load(dir.path(), "fig-1", &["steps=abc".into()]).unwrap_err().to_string();
        assert!(e.contains("`steps`") && e.contains("integer"), "{e}");
        let e = load(dir.path(), "fig-1", &["steps=1000".into()]).unwrap_err().to_string();
        assert!(e.contains("`steps`") && e.contains("[1, 100]"), "{e}");
        let e = load(dir.path(), "fig-1", &["steps".into()]).unwrap_err().to_string();
        assert!(e.contains("key=value"), "{e}");
        let e = load(dir.path(), "fig-1", &["scale=true".into()]).unwrap_err().to_string();
        assert!(e.contains("`scale`") && e.contains("number"), "{e}");
    }
}

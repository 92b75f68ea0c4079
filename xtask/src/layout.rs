//! Where things live: the workspace root, the declarations, baselines, runs, caches and figures.

use std::path::{Path, PathBuf};

/// Paths of one workspace.
#[derive(Clone, Debug)]
pub struct Layout {
    /// The workspace root.
    pub root: PathBuf,
}

impl Layout {
    /// The workspace this xtask was built in.
    pub fn workspace() -> Self {
        Layout {
            root: Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .canonicalize()
                .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("..")),
        }
    }

    /// `experiments/`.
    pub fn experiments(&self) -> PathBuf {
        self.root.join("experiments")
    }

    /// `results/`.
    pub fn results(&self) -> PathBuf {
        self.root.join("results")
    }

    /// `results/<id>/`: the committed baseline.
    pub fn baseline(&self, id: &str) -> PathBuf {
        self.results().join(id)
    }

    /// `figures/`.
    pub fn figures(&self) -> PathBuf {
        self.root.join("figures")
    }

    /// `git describe --always --dirty`, or "unknown" outside a checkout.
    pub fn git_revision(&self) -> String {
        std::process::Command::new("git")
            .args(["describe", "--always", "--dirty"])
            .current_dir(&self.root)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|| "unknown".into())
    }
}

/// Where one run writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destination {
    /// Folder of the CSVs, summary and manifest.
    pub run_dir: PathBuf,
    /// Folder of the figures.
    pub figure_dir: PathBuf,
    /// Folder of the per-cell cache (resume and shards).
    pub cache_dir: PathBuf,
}

impl Destination {
    /// A normal run: `results/<id>/latest/` and `figures/`, or under `--out DIR`.
    pub fn run(layout: &Layout, id: &str, out: Option<&Path>) -> Self {
        match out {
            Some(o) => Destination {
                run_dir: o.join(id),
                figure_dir: o.join("figures"),
                cache_dir: o.join(id).join(".cells"),
            },
            None => Destination {
                run_dir: layout.baseline(id).join("latest"),
                figure_dir: layout.figures(),
                cache_dir: layout.baseline(id).join(".cells"),
            },
        }
    }

    /// A blessed run: straight into the baseline `results/<id>/`.
    pub fn baseline(layout: &Layout, id: &str) -> Self {
        Destination {
            run_dir: layout.baseline(id),
            figure_dir: layout.figures(),
            cache_dir: layout.baseline(id).join(".cells"),
        }
    }
}

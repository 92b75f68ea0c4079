//! One experiment's declaration (`experiments/<id>.toml`).

use crate::params::{type_name, Params};
use crate::reference::Reference;
use anyhow::{anyhow, bail, Context, Result};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where an experiment can run: analytic (exact), a small CPU analog (small), or the paper's own setting (paper).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Analytic scores/fields or Monte Carlo on CPU.
    Exact,
    /// A faithful small-scale analog trained on CPU.
    Small,
    /// The paper's setting: CUDA and user-supplied checkpoints.
    Paper,
}

impl Tier {
    /// The lower-case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Tier::Exact => "exact",
            Tier::Small => "small",
            Tier::Paper => "paper",
        }
    }
}

impl std::str::FromStr for Tier {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "exact" => Ok(Tier::Exact),
            "small" => Ok(Tier::Small),
            "paper" => Ok(Tier::Paper),
            _ => bail!("unknown tier `{s}`: use exact, small or paper"),
        }
    }
}

/// What the `paper` tier needs before it can run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperNeeds {
    /// Whether a CUDA device is needed.
    #[serde(default)]
    pub cuda: bool,
    /// Files (checkpoints, statistics) that must exist, relative to the workspace root.
    #[serde(default)]
    pub files: Vec<String>,
    /// How to obtain them.
    #[serde(default)]
    pub how: String,
}

/// Tolerances of the regression check against the committed baseline.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckTolerance {
    /// Relative tolerance on every number.
    pub rtol: f64,
    /// Absolute tolerance on every number.
    pub atol: f64,
}

impl Default for CheckTolerance {
    fn default() -> Self {
        // Runs are bit-reproducible on one machine; this allows libm differences across machines.
        CheckTolerance { rtol: 1e-9, atol: 1e-12 }
    }
}

/// An experiment declaration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Declaration {
    /// The id (file stem), e.g. `fig-3.3`.
    pub id: String,
    /// A one-line title.
    pub title: String,
    /// The experiment function that runs it.
    pub runner: String,
    /// Tiers this experiment has.
    pub tiers: Vec<Tier>,
    /// Where it comes from in the sources (section, figure, lines).
    pub source: String,
    /// Expected wall time of the default tier on 2 cores, in seconds.
    pub runtime_s: f64,
    /// Which reading of the sources' errata the experiment uses, and other notes.
    #[serde(default)]
    pub notes: String,
    /// Parameters with their default values; their TOML types are their declared types.
    #[serde(default)]
    pub params: BTreeMap<String, toml::Value>,
    /// Allowed [min, max] of numeric parameters.
    #[serde(default)]
    pub ranges: BTreeMap<String, [f64; 2]>,
    /// The paper's values and claims.
    #[serde(default)]
    pub references: Vec<Reference>,
    /// Needs of the paper tier.
    #[serde(default)]
    pub paper: Option<PaperNeeds>,
    /// Regression-check tolerances.
    #[serde(default)]
    pub check: CheckTolerance,
}

/// Experiments whose declared runtime is at most this many seconds form the quick set of `check`.
pub const QUICK_SECONDS: f64 = 120.0;

/// Parses a `--set` value: TOML syntax (numbers, booleans, lists, quoted strings), else a bare string.
fn parse_value(text: &str) -> toml::Value {
    toml::from_str::<BTreeMap<String, toml::Value>>(&format!("v = {text}"))
        .ok()
        .and_then(|mut m| m.remove("v"))
        .unwrap_or_else(|| toml::Value::String(text.to_string()))
}

fn same_type(declared: &toml::Value, given: &toml::Value) -> bool {
    use toml::Value::*;
    match (declared, given) {
        (Float(_), Integer(_)) => true,
        (Array(d), Array(g)) => g.iter().all(|gi| d.first().is_none_or(|d0| same_type(d0, gi))),
        _ => std::mem::discriminant(declared) == std::mem::discriminant(given),
    }
}

impl Declaration {
    /// Reads a declaration file, then `REPRO_PARAMS__<KEY>` variables, then `key=value` sets.
    pub fn load(path: &Path, sets: &[String]) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let base: Declaration = toml::from_str(&text).with_context(|| format!("{} is not a valid declaration", path.display()))?;
        let mut fig = Figment::from(Toml::string(&text)).merge(Env::prefixed("REPRO_PARAMS__").map(|k| format!("params.{}", k.as_str().to_lowercase()).into()));
        for s in sets {
            let (k, v) = s.split_once('=').ok_or_else(|| anyhow!("--set `{s}` must have the form key=value"))?;
            let k = k.trim();
            if !base.params.contains_key(k) {
                bail!(
                    "unknown parameter `{k}` for {}: declared parameters are {}",
                    base.id,
                    base.params.keys().cloned().collect::<Vec<_>>().join(", ")
                );
            }
            fig = fig.merge(Serialized::default(&format!("params.{k}"), parse_value(v.trim())));
        }
        let mut decl: Declaration = fig.extract().map_err(|e| anyhow!("{}: {e}", path.display()))?;
        for (k, v) in &decl.params {
            let declared = base.params.get(k).ok_or_else(|| {
                anyhow!(
                    "unknown parameter `{k}` (from the environment) for {}: declared parameters are {}",
                    base.id,
                    base.params.keys().cloned().collect::<Vec<_>>().join(", ")
                )
            })?;
            if !same_type(declared, v) {
                bail!("parameter `{k}` of {} must be a {} like {declared}, got {v}", base.id, type_name(declared));
            }
            if let Some([lo, hi]) = decl.ranges.get(k) {
                let nums: Vec<f64> = match v {
                    toml::Value::Array(a) => a.iter().filter_map(|x| x.as_float().or(x.as_integer().map(|i| i as f64))).collect(),
                    x => x.as_float().or(x.as_integer().map(|i| i as f64)).into_iter().collect(),
                };
                if let Some(bad) = nums.iter().find(|x| x.is_nan() || **x < *lo || **x > *hi) {
                    bail!("parameter `{k}` of {} is {bad}, outside its range [{lo}, {hi}]", base.id);
                }
            }
        }
        for r in &decl.references {
            r.validate().map_err(|e| anyhow!("{}: {e}", path.display()))?;
        }
        if decl.tiers.is_empty() {
            bail!("{}: `tiers` must name at least one of exact, small, paper", path.display());
        }
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        if decl.id != stem {
            bail!("{}: id `{}` does not match the file name", path.display(), decl.id);
        }
        decl.tiers.sort();
        Ok(decl)
    }

    /// The run parameters.
    pub fn params(&self) -> Params {
        Params(self.params.clone())
    }

    /// Whether `cargo xtask check` reruns it.
    pub fn quick(&self) -> bool {
        self.runtime_s <= QUICK_SECONDS
    }

    /// The paper-tier files that are missing under `root`.
    pub fn missing_paper_files(&self, root: &Path) -> Vec<PathBuf> {
        self.paper
            .as_ref()
            .map(|p| p.files.iter().map(|f| root.join(f)).filter(|f| !f.exists()).collect())
            .unwrap_or_default()
    }
}

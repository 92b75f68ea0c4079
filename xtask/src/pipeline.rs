//! `reproduce` and `bless`: declaration → tier → cells (cached, sharded) → finish → CSVs,
//! summary with verdicts, figures and manifest, all written atomically.

use crate::layout::{Destination, Layout};
use anyhow::{anyhow, bail, Context, Result};
use artifacts::{manifest::Manifest, table::concat, write_atomic, Table, Tables};
use experiments::{Outcome, Run};
use indicatif::{ProgressBar, ProgressStyle};
use registry::{Declaration, Tier};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

/// One request to run an experiment.
#[derive(Clone, Debug)]
pub struct Request {
    /// Experiment id.
    pub id: String,
    /// Tier asked for; `None` picks the best that can run here.
    pub tier: Option<Tier>,
    /// `key=value` overrides (the seed included).
    pub sets: Vec<String>,
    /// `(i, N)`: run only cells c with c mod N = i.
    pub shard: Option<(usize, usize)>,
    /// Ignore cached cells.
    pub fresh: bool,
    /// Train models again instead of loading cached checkpoints (implies `fresh`).
    pub retrain: bool,
    /// Where to write.
    pub dest: Destination,
    /// No progress bar.
    pub quiet: bool,
}

/// One row of `summary.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryRow {
    /// Quantity key.
    pub key: String,
    /// What it is.
    pub quantity: String,
    /// Our value.
    pub ours: f64,
    /// Its standard error (NaN when exact).
    pub se: f64,
    /// The paper's value or claim.
    pub paper: String,
    /// The tolerance or accepted range.
    pub tolerance: String,
    /// The verdict, or "no reference".
    pub verdict: String,
    /// Where the reference comes from.
    pub source: String,
}

/// What a finished run produced.
#[derive(Debug)]
pub struct Finished {
    /// The declaration as run.
    pub decl: Declaration,
    /// The tier that ran.
    pub tier: Tier,
    /// Summary rows.
    pub rows: Vec<SummaryRow>,
    /// The experiment's notes.
    pub notes: Vec<String>,
    /// Files written.
    pub outputs: Vec<PathBuf>,
    /// Wall time in seconds.
    pub wall_s: f64,
}

/// A run either finishes or, when sharded, leaves cells for other shards.
#[derive(Debug)]
pub enum RunOutcome {
    /// All cells were available: outputs written.
    Finished(Box<Finished>),
    /// A shard finished its cells; others are missing.
    Partial {
        /// Cells cached so far.
        cached: usize,
        /// Cells in all.
        total: usize,
    },
}

/// Parses `i/N` with 0 ≤ i < N.
pub fn parse_shard(s: &str) -> Result<(usize, usize)> {
    let (i, n) = s.split_once('/').ok_or_else(|| anyhow!("--shard `{s}` must be i/N, e.g. 0/4"))?;
    let (i, n): (usize, usize) = (
        i.trim().parse().map_err(|_| anyhow!("--shard `{s}`: `{i}` is not a number"))?,
        n.trim().parse().map_err(|_| anyhow!("--shard `{s}`: `{n}` is not a number"))?,
    );
    if n == 0 || i >= n {
        bail!("--shard `{s}`: need 0 ≤ i < N (shards are numbered from 0)");
    }
    Ok((i, n))
}

/// The tier to run: the one asked for if it can run here, else the best that can.
pub fn choose_tier(decl: &Declaration, asked: Option<Tier>, layout: &Layout) -> Result<Tier> {
    let listed = decl.tiers.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ");
    let paper_blocker = || -> Option<String> {
        let needs = decl.paper.as_ref()?;
        let missing = decl.missing_paper_files(&layout.root);
        let mut why = Vec::new();
        if needs.cuda {
            why.push("a CUDA device and a build with candle's `cuda` feature (this build is CPU-only)".to_string());
        }
        if !missing.is_empty() {
            why.push(format!(
                "the files {}",
                missing.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
            ));
        }
        (!why.is_empty()).then(|| format!("{} needs {}; {}", decl.id, why.join(" and "), needs.how))
    };
    match asked {
        Some(t) if !decl.tiers.contains(&t) => bail!("{} has no `{}` tier (it has: {listed})", decl.id, t.as_str()),
        Some(Tier::Paper) => match paper_blocker() {
            Some(why) => bail!("the paper tier cannot run here: {why}"),
            None => Ok(Tier::Paper),
        },
        Some(t) => Ok(t),
        None => {
            let best = decl.tiers.iter().rev().find(|t| **t != Tier::Paper || paper_blocker().is_none());
            best.copied()
                .ok_or_else(|| anyhow!("no tier of {} can run here: {}", decl.id, paper_blocker().unwrap_or_default()))
        }
    }
}

#[derive(Serialize, Deserialize)]
struct CachedCell {
    label: String,
    tables: Tables,
}

fn cache_key(decl: &Declaration, tier: Tier) -> Result<String> {
    // The binary's own hash ties cached cells to the exact code that computed them.
    let exe = std::env::current_exe().ok().and_then(|p| std::fs::read(p).ok()).unwrap_or_default();
    let text = serde_json::to_string(&(&decl.id, tier.as_str(), &decl.params, artifacts::sha256_hex(&exe)))?;
    Ok(artifacts::sha256_hex(text.as_bytes())[..16].to_string())
}

fn check_writable(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create the output folder {}", dir.display()))?;
    let probe = dir.join(format!(".write-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").with_context(|| format!("the output folder {} is not writable", dir.display()))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

fn relative(layout: &Layout, p: &Path) -> String {
    p.strip_prefix(&layout.root).unwrap_or(p).display().to_string()
}

/// Runs (or resumes, or shards) one experiment.
pub fn reproduce(layout: &Layout, req: &Request) -> Result<RunOutcome> {
    let start = Instant::now();
    let decl = registry::load(&layout.experiments(), &req.id, &req.sets)?;
    let tier = choose_tier(&decl, req.tier, layout)?;
    let exp = experiments::runner(&decl.runner).ok_or_else(|| {
        anyhow!(
            "{}: runner `{}` is not implemented (known: {})",
            decl.id,
            decl.runner,
            experiments::runners().iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        )
    })?;
    let params = decl.params();
    let seed = params.u64("seed").with_context(|| format!("{} must declare a `seed` parameter", decl.id))?;
    let labels = exp.cells(&params)?;
    check_writable(&req.dest.run_dir)?;
    check_writable(&req.dest.figure_dir)?;
    let cache = req.dest.cache_dir.join(cache_key(&decl, tier)?);
    std::fs::create_dir_all(&cache).with_context(|| format!("cannot create the cell cache {}", cache.display()))?;
    let cell_path = |c: usize| cache.join(format!("{c}.json"));

    let mine: Vec<usize> = (0..labels.len()).filter(|c| req.shard.is_none_or(|(i, n)| c % n == i)).collect();
    let todo: Vec<usize> = mine.iter().copied().filter(|&c| req.fresh || req.retrain || !cell_path(c).exists()).collect();
    let bar = if req.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(mine.len() as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} cells  {elapsed_precise} (eta {eta})  {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(decl.id.clone());
    bar.set_position((mine.len() - todo.len()) as u64);
    let fresh_results: Mutex<BTreeMap<usize, Tables>> = Mutex::new(BTreeMap::new());
    if !todo.is_empty() {
        let run = Run {
            params: &params,
            tier,
            stream: seeding::Stream::new(seed),
            checkpoints: layout.results().join(".checkpoints"),
            retrain: req.retrain,
        };
        let done = |c: usize, tables: Tables| -> Result<()> {
            let cell = CachedCell {
                label: labels[c].clone(),
                tables,
            };
            write_atomic(&cell_path(c), serde_json::to_string(&cell)?.as_bytes())?;
            fresh_results.lock().expect("no panics while holding the lock").insert(c, cell.tables);
            bar.set_message(labels[c].clone());
            bar.inc(1);
            Ok(())
        };
        exp.run_cells(&run, &todo, &done).with_context(|| format!("{}: running cells", decl.id))?;
    }
    bar.finish_and_clear();

    let cached = (0..labels.len()).filter(|&c| cell_path(c).exists()).count();
    if cached < labels.len() {
        return Ok(RunOutcome::Partial { cached, total: labels.len() });
    }
    let fresh = fresh_results.into_inner().expect("lock not poisoned");
    let mut parts = Vec::with_capacity(labels.len());
    for c in 0..labels.len() {
        parts.push(match fresh.get(&c) {
            Some(t) => t.clone(),
            None => {
                let text = std::fs::read_to_string(cell_path(c))?;
                serde_json::from_str::<CachedCell>(&text)
                    .with_context(|| format!("corrupt cell cache {} (rerun with --fresh)", cell_path(c).display()))?
                    .tables
            }
        });
    }
    let tables = concat(&parts).map_err(|e| anyhow!("{}: {e}", decl.id))?;
    let outcome = exp.finish(&params, tables).with_context(|| format!("{}: finishing", decl.id))?;
    let finished = write_outputs(layout, &decl, tier, seed, &req.dest, outcome, start)?;
    Ok(RunOutcome::Finished(Box::new(finished)))
}

/// Pairs computed quantities with the declaration's references.
pub fn summarise(decl: &Declaration, outcome: &Outcome) -> Vec<SummaryRow> {
    let mut rows = Vec::new();
    for r in &decl.references {
        let q = outcome.quantities.iter().find(|q| q.key == r.key);
        rows.push(SummaryRow {
            key: r.key.clone(),
            quantity: r.quantity.clone(),
            ours: q.map_or(f64::NAN, |q| q.value),
            se: q.and_then(|q| q.se).unwrap_or(f64::NAN),
            paper: r.paper_text(),
            tolerance: r.tolerance_text(),
            verdict: q.map_or("not computed".to_string(), |q| r.verdict(q.value).as_str().to_string()),
            source: r.source.clone(),
        });
    }
    for q in &outcome.quantities {
        if !decl.references.iter().any(|r| r.key == q.key) {
            rows.push(SummaryRow {
                key: q.key.clone(),
                quantity: String::new(),
                ours: q.value,
                se: q.se.unwrap_or(f64::NAN),
                paper: String::new(),
                tolerance: String::new(),
                verdict: "no reference".into(),
                source: String::new(),
            });
        }
    }
    rows
}

fn summary_table(rows: &[SummaryRow]) -> Table {
    let s = |f: fn(&SummaryRow) -> &String| rows.iter().map(|r| f(r).clone()).collect::<Vec<_>>();
    Table::new()
        .str("key", s(|r| &r.key))
        .str("quantity", s(|r| &r.quantity))
        .f64("ours", rows.iter().map(|r| r.ours).collect())
        .f64("standard_error", rows.iter().map(|r| r.se).collect())
        .str("paper", s(|r| &r.paper))
        .str("tolerance", s(|r| &r.tolerance))
        .str("verdict", s(|r| &r.verdict))
        .str("source", s(|r| &r.source))
}

fn write_outputs(layout: &Layout, decl: &Declaration, tier: Tier, seed: u64, dest: &Destination, outcome: Outcome, start: Instant) -> Result<Finished> {
    let rows = summarise(decl, &outcome);
    if let Some((name, _)) = outcome.tables.iter().find(|(n, _)| n == "summary" || n == "manifest") {
        bail!(
            "{}: the experiment named a table {name:?}, which the runner reserves for its own output",
            decl.id
        );
    }
    let mut outputs = Vec::new();
    for (name, table) in &outcome.tables {
        let p = dest.run_dir.join(format!("{name}.csv"));
        artifacts::csv::write_csv(table, &p)?;
        outputs.push(p);
    }
    let p = dest.run_dir.join("summary.csv");
    artifacts::csv::write_csv(&summary_table(&rows), &p)?;
    outputs.push(p);
    let stem = |name: &str| if name.is_empty() { decl.id.clone() } else { format!("{}-{name}", decl.id) };
    for (name, fig) in &outcome.figures {
        outputs.extend(figures::write_figure(fig, &dest.figure_dir.join(stem(name)))?);
    }
    for (name, fig) in &outcome.heatmaps {
        outputs.extend(figures::write_heatmaps(fig, &dest.figure_dir.join(stem(name)))?);
    }
    for (name, grid) in &outcome.images {
        outputs.push(figures::write_image_grid(grid, &dest.figure_dir.join(format!("{}-{name}", decl.id)))?);
    }
    let mut hashes = BTreeMap::new();
    for p in &outputs {
        hashes.insert(relative(layout, p), artifacts::sha256_hex(&std::fs::read(p)?));
    }
    let wall_s = start.elapsed().as_secs_f64();
    let manifest = Manifest {
        id: decl.id.clone(),
        tier: tier.as_str().into(),
        seed,
        params: serde_json::to_value(&decl.params)?,
        git_revision: layout.git_revision(),
        wall_time_s: wall_s,
        threads: rayon::current_num_threads(),
        outputs: hashes,
    };
    // The manifest goes last: its presence marks a complete set of outputs.
    let mp = dest.run_dir.join("manifest.json");
    manifest.write(&mp)?;
    outputs.push(mp);
    Ok(Finished {
        decl: decl.clone(),
        tier,
        rows,
        notes: outcome.notes,
        outputs,
        wall_s,
    })
}

//! `cargo xtask`: list, reproduce, check, bless, report and datasets for the experiment workspace.

use anyhow::{bail, Result};
use clap::{Parser, Subcommand};
use registry::Tier;
use std::path::PathBuf;
use xtask::layout::{Destination, Layout};
use xtask::pipeline::{parse_shard, reproduce, Request, RunOutcome};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Reproduce the tables and figures of the thesis and papers as declared, checked experiments."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Every declared experiment: id, tiers, run time, title, source.
    List,
    /// Run experiments: CSVs under results/<id>/latest/ (or --out), figures under figures/, a side-by-side table.
    Reproduce {
        /// Experiment ids (see `cargo xtask list`).
        ids: Vec<String>,
        /// Run every declared experiment (with --tier: those that have it).
        #[arg(long)]
        all: bool,
        /// exact, small or paper (default: the best tier that can run here).
        #[arg(long)]
        tier: Option<Tier>,
        /// Master seed (same as --set seed=S).
        #[arg(long)]
        seed: Option<u64>,
        /// Override a declared parameter: --set key=value (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Write to DIR/<id>/ and DIR/figures/ instead of results/<id>/latest/ and figures/.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Run only cells c with c mod N = i (0 ≤ i < N); rerun without --shard to merge.
        #[arg(long, value_name = "i/N")]
        shard: Option<String>,
        /// Recompute cells even if cached.
        #[arg(long)]
        fresh: bool,
        /// Train the experiment's models again instead of loading cached checkpoints (implies --fresh).
        #[arg(long)]
        retrain: bool,
        /// Run the declared variant `<id>-<VARIANT>` of each id (e.g. `table-5.1 --variant digits`).
        #[arg(long)]
        variant: Option<String>,
    },
    /// Rerun the quick experiments and compare with the committed baselines.
    Check {
        /// Only these ids.
        ids: Vec<String>,
    },
    /// Replace the baseline of experiments with a run at their declared defaults.
    Bless {
        /// Experiment ids.
        ids: Vec<String>,
    },
    /// Write results/REPORT.md from the baselines.
    Report,
    /// Fetch and verify the datasets under datasets/.
    Datasets,
    /// Train the FD-digits classifier by its recipe and write its weights and record under datasets/.
    TrainFdClassifier,
    /// Time the samplers and metrics (numbers for the notes; not part of the tests).
    Bench {
        /// Only the group of benchmarks with this name: `samplers` or `particle-guidance`.
        #[arg(long)]
        only: Option<String>,
    },
}

/// The id of `id`'s variant `variant` (`table-5.1` + `digits` → `table-5.1-digits`), or an error
/// listing the variants `id` has.
fn variant_id(layout: &Layout, id: &str, variant: &str) -> Result<String> {
    let all = registry::ids(&layout.experiments())?;
    let wanted = format!("{id}-{variant}");
    if all.contains(&wanted) {
        return Ok(wanted);
    }
    let prefix = format!("{id}-");
    let known: Vec<&str> = all.iter().filter_map(|other| other.strip_prefix(&prefix)).collect();
    if known.is_empty() {
        bail!("{id} has no variants (no experiments/{id}-<variant>.toml is declared)");
    }
    bail!("{id} has no variant `{variant}`; its variants: {}", known.join(", "))
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    let layout = Layout::workspace();
    match cli.command {
        Command::List => xtask::list::list(&layout),
        Command::Reproduce {
            ids,
            all,
            tier,
            seed,
            mut sets,
            out,
            shard,
            fresh,
            retrain,
            variant,
        } => {
            let ids = if all {
                let mut v = Vec::new();
                for id in registry::ids(&layout.experiments())? {
                    let d = registry::load(&layout.experiments(), &id, &[])?;
                    if tier.is_none_or(|t| d.tiers.contains(&t)) {
                        v.push(id);
                    }
                }
                v
            } else {
                ids
            };
            if ids.is_empty() {
                bail!("name at least one experiment id or --all (see `cargo xtask list`)");
            }
            let ids = match variant {
                Some(v) => ids.iter().map(|id| variant_id(&layout, id, &v)).collect::<Result<Vec<_>>>()?,
                None => ids,
            };
            if let Some(s) = seed {
                sets.push(format!("seed={s}"));
            }
            let shard = shard.as_deref().map(parse_shard).transpose()?;
            for id in ids {
                let req = Request {
                    id: id.clone(),
                    tier,
                    sets: sets.clone(),
                    shard,
                    fresh,
                    retrain,
                    dest: Destination::run(&layout, &id, out.as_deref()),
                    quiet: false,
                };
                match reproduce(&layout, &req)? {
                    RunOutcome::Finished(f) => print!("{}", xtask::side_by_side::render(&f)),
                    RunOutcome::Partial { cached, total } => println!("{id}: shard done; {cached} of {total} cells cached. When every shard has run, rerun `cargo xtask reproduce {id}` with the same --seed/--set (no --shard) to merge."),
                }
            }
            Ok(())
        }
        Command::Check { ids } => xtask::check::check(&layout, &ids),
        Command::Bless { ids } => {
            if ids.is_empty() {
                bail!("name the experiment ids to bless");
            }
            for id in ids {
                let req = Request {
                    id: id.clone(),
                    tier: None,
                    sets: vec![],
                    shard: None,
                    fresh: false,
                    retrain: false,
                    dest: Destination::baseline(&layout, &id),
                    quiet: false,
                };
                match reproduce(&layout, &req)? {
                    RunOutcome::Finished(f) => {
                        print!("{}", xtask::side_by_side::render(&f));
                        println!("blessed {id}: results/{id}/ is the new baseline; commit it with the reason for the change");
                    }
                    RunOutcome::Partial { .. } => bail!("{id}: an unsharded run left cells undone"),
                }
            }
            Ok(())
        }
        Command::Report => {
            let p = xtask::report::report(&layout)?;
            println!("wrote {}", p.display());
            Ok(())
        }
        Command::TrainFdClassifier => {
            let rec = digit_features::committed::write(&datasets::root())?;
            println!(
                "wrote {} (sha256 {}) and its record; held-out accuracy {:.4} on {} digits",
                digit_features::committed::weights_path(&datasets::root()).display(),
                rec.sha256,
                rec.held_out_accuracy,
                rec.held_out
            );
            Ok(())
        }
        Command::Bench { only } => xtask::bench::bench(only.as_deref()),
        Command::Datasets => {
            let root = datasets::root();
            for f in datasets::fetch::ALL {
                let p = f.obtain(&root)?;
                println!("{:<10} {} (sha256 {} verified)", f.name, p.display(), f.sha256);
            }
            Ok(())
        }
    }
}

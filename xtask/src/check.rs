//! `cargo xtask check`: rerun the quick experiments and compare every number with the committed
//! baseline in `results/<id>/` within the declaration's `[check]` tolerances.

use crate::layout::{Destination, Layout};
use crate::pipeline::{reproduce, Request, RunOutcome};
use anyhow::{bail, Context, Result};
use artifacts::{csv::read_csv, Column, Table};
use registry::CheckTolerance;
use std::path::Path;

/// Differences between a baseline table and a new one, as printable lines.
pub fn compare_tables(name: &str, base: &Table, new: &Table, tol: &CheckTolerance) -> Vec<String> {
    let mut diffs = Vec::new();
    let names = |t: &Table| t.columns.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    if names(base) != names(new) || base.rows() != new.rows() {
        diffs.push(format!(
            "{name}: shape changed: columns {:?} × {} rows → {:?} × {} rows",
            names(base),
            base.rows(),
            names(new),
            new.rows()
        ));
        return diffs;
    }
    for ((col, a), (_, b)) in base.columns.iter().zip(&new.columns) {
        let as_f64 = |c: &Column| -> Option<Vec<f64>> {
            match c {
                Column::F64(v) => Some(v.clone()),
                Column::I64(v) => Some(v.iter().map(|&x| x as f64).collect()),
                Column::Str(_) => None,
            }
        };
        match (as_f64(a), as_f64(b), a, b) {
            (Some(x), Some(y), _, _) => {
                for (i, (p, q)) in x.iter().zip(&y).enumerate() {
                    let same = (p.is_nan() && q.is_nan()) || p == q || (p - q).abs() <= tol.atol + tol.rtol * p.abs().max(q.abs());
                    if !same {
                        diffs.push(format!("{name}: {col}[{i}] baseline {p} → now {q} (rtol {}, atol {})", tol.rtol, tol.atol));
                    }
                }
            }
            (_, _, Column::Str(x), Column::Str(y)) => {
                for (i, (p, q)) in x.iter().zip(y).enumerate() {
                    if p != q {
                        diffs.push(format!("{name}: {col}[{i}] baseline `{p}` → now `{q}`"));
                    }
                }
            }
            _ => diffs.push(format!("{name}: column {col} changed type")),
        }
    }
    diffs
}

fn csvs(dir: &Path) -> Result<Vec<String>> {
    let mut v: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".csv"))
        .collect();
    v.sort();
    Ok(v)
}

/// Compares a finished run in `new_dir` with the baseline of `id`; returns the differences.
pub fn compare_run(layout: &Layout, id: &str, new_dir: &Path, tol: &CheckTolerance) -> Result<Vec<String>> {
    let base_dir = layout.baseline(id);
    if !base_dir.join("manifest.json").exists() {
        bail!(
            "no baseline for {id} in {}: run `cargo xtask bless {id}` and commit results/{id}/",
            base_dir.display()
        );
    }
    let (base_files, new_files) = (csvs(&base_dir)?, csvs(new_dir)?);
    let mut diffs = Vec::new();
    if base_files != new_files {
        diffs.push(format!("{id}: CSV files changed: {base_files:?} → {new_files:?}"));
    }
    for f in base_files.iter().filter(|f| new_files.contains(f)) {
        let base = read_csv(&base_dir.join(f)).with_context(|| format!("baseline {id}/{f}"))?;
        let new = read_csv(&new_dir.join(f))?;
        diffs.extend(compare_tables(&format!("{id}/{f}"), &base, &new, tol));
    }
    Ok(diffs)
}

/// Reruns every quick experiment into a temporary folder and compares it with its baseline.
pub fn check(layout: &Layout, only: &[String]) -> Result<()> {
    let dir = layout.experiments();
    let tmp = std::env::temp_dir().join(format!("repro-check-{}", std::process::id()));
    let mut failures = 0;
    let mut ran = 0;
    for id in registry::ids(&dir)? {
        let decl = registry::load(&dir, &id, &[])?;
        if !(decl.quick() && (only.is_empty() || only.contains(&id))) {
            continue;
        }
        let req = Request {
            id: id.clone(),
            tier: None,
            sets: vec![],
            shard: None,
            fresh: true,
            retrain: false,
            dest: Destination::run(layout, &id, Some(&tmp)),
            quiet: false,
        };
        let t0 = std::time::Instant::now();
        match reproduce(layout, &req)? {
            RunOutcome::Finished(_) => {}
            RunOutcome::Partial { .. } => bail!("{id}: an unsharded run left cells undone"),
        }
        let diffs = compare_run(layout, &id, &tmp.join(&id), &decl.check)?;
        ran += 1;
        if diffs.is_empty() {
            println!("check {id}: ok ({:.1} s)", t0.elapsed().as_secs_f64());
        } else {
            failures += 1;
            println!("check {id}: REGRESSION ({} differences)", diffs.len());
            for d in diffs.iter().take(20) {
                println!("  {d}");
            }
            if diffs.len() > 20 {
                println!("  … and {} more", diffs.len() - 20);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    println!("{} passed, {} failed", ran - failures, failures);
    if failures > 0 {
        bail!("{failures} experiment(s) differ from their baselines; if the change is intended, `cargo xtask bless <id>` and say why in the commit");
    }
    Ok(())
}

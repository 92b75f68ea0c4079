//! Monte Carlo steps shared by the i.i.d. coverage experiments (Fig. B.18, Props. 4–5): independent
//! integer-valued draws, their histograms per cell, and the estimate from the merged histogram.

use anyhow::{anyhow, Result};
use artifacts::Table;
use metrics::Estimate;
use rayon::prelude::*;
use seeding::{Rng, Stream};
use std::collections::BTreeMap;

/// `reps` independent draws of `f`, draw r from `stream.child(r)` (so any thread count gives the same values).
pub fn draws(stream: Stream, reps: usize, f: impl Fn(&mut Rng) -> usize + Sync) -> Vec<usize> {
    (0..reps).into_par_iter().map(|r| f(&mut stream.child(r as u64).rng())).collect()
}

/// The histogram of `values` as a table (`column`, `count`), by increasing value.
pub fn histogram(values: &[usize], column: &str) -> Table {
    let mut h = BTreeMap::new();
    for &v in values {
        *h.entry(v as i64).or_insert(0i64) += 1;
    }
    Table::new()
        .i64(column, h.keys().copied().collect())
        .i64("count", h.values().copied().collect())
}

/// Merges the per-cell histograms (concatenated rows) into one, with the probability of each value,
/// and the Monte Carlo estimate of the mean.
pub fn merged(t: &Table, column: &str) -> Result<(Estimate, Table)> {
    let (v, c) = (
        t.f64_column(column).ok_or_else(|| anyhow!("histogram lacks `{column}`"))?,
        t.f64_column("count").ok_or_else(|| anyhow!("histogram lacks `count`"))?,
    );
    let mut h = BTreeMap::new();
    for (v, c) in v.iter().zip(&c) {
        *h.entry(*v as i64).or_insert(0i64) += *c as i64;
    }
    let total: i64 = h.values().sum();
    let samples: Vec<f64> = h.iter().flat_map(|(v, c)| std::iter::repeat_n(*v as f64, *c as usize)).collect();
    let table = Table::new()
        .i64(column, h.keys().copied().collect())
        .i64("count", h.values().copied().collect())
        .f64("probability", h.values().map(|&c| c as f64 / total as f64).collect());
    Ok((Estimate::of(&samples), table))
}

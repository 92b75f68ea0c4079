//! Proposition 4 (thesis App. A.3.6, l.3054–3070): with N equiprobable modes, N i.i.d. samples find
//! N(1 − ((N − 1)/N)^N) of them on average, a fraction tending to 1 − 1/e; "for N = 10 we would expect
//! 10·(1 − 0.9^10) ≈ 6.51". By the formula and by Monte Carlo; one cell per chunk of repetitions.

use crate::coverage_mc::{draws, histogram, merged};
use crate::{CellDone, Experiment, Outcome, Quantity, Run};
use anyhow::{anyhow, Result};
use artifacts::{Table, Tables};
use particle_guidance::coverage::{expected_distinct, sample_distinct};
use registry::Params;

/// The runner `iid-expected-modes`.
pub struct Prop64;

impl Experiment for Prop64 {
    fn cells(&self, params: &Params) -> Result<Vec<String>> {
        Ok((0..params.usize("chunks")?).map(|c| format!("chunk {c}")).collect())
    }

    fn run_cells(&self, run: &Run, cells: &[usize], done: &CellDone) -> Result<()> {
        let (bins, n, reps) = (run.params.usize("bins")?, run.params.usize("draws")?, run.params.usize("reps_per_chunk")?);
        for &c in cells {
            let found = draws(run.stream.child(c as u64), reps, |rng| sample_distinct(rng, bins, n));
            done(c, vec![("histogram".into(), histogram(&found, "modes_found"))])?;
        }
        Ok(())
    }

    fn finish(&self, params: &Params, tables: Tables) -> Result<Outcome> {
        let (bins, n) = (params.usize("bins")?, params.usize("draws")?);
        let t = &tables
            .iter()
            .find(|(name, _)| name == "histogram")
            .ok_or_else(|| anyhow!("no histogram table"))?
            .1;
        let (mc, hist) = merged(t, "modes_found")?;
        let formula = expected_distinct(bins, n as f64);
        let limit = 1.0 - (-1f64).exp();
        let big = params.usize("limit_bins")?;
        let formula_bins = params.usize_list("formula_bins")?;
        let table = Table::new()
            .i64("bins", formula_bins.iter().map(|&b| b as i64).collect())
            .f64(
                "expected_modes_with_n_samples",
                formula_bins.iter().map(|&b| expected_distinct(b, b as f64)).collect(),
            )
            .f64("fraction", formula_bins.iter().map(|&b| expected_distinct(b, b as f64) / b as f64).collect())
            .f64("limit_1_minus_1_over_e", vec![limit; formula_bins.len()]);
        let mut out = Outcome {
            tables: vec![("histogram".into(), hist), ("formula".into(), table)],
            ..Default::default()
        };
        out.quantities = vec![
            Quantity::exact("expected_modes.formula", formula),
            Quantity::mc("expected_modes.monte_carlo", mc.mean, mc.se),
            Quantity::exact("expected_modes.mc_z", mc.z_score(formula)),
            Quantity::exact("fraction.formula", formula / bins as f64),
            Quantity::exact(
                "fraction.gap_to_limit_at_limit_bins",
                (expected_distinct(big, big as f64) / big as f64 - limit).abs(),
            ),
        ];
        out.notes.push(format!(
            "N = {bins}, {n} samples: formula {formula:.6}, Monte Carlo {:.4} ± {:.4} over {} repetitions ({:.2} s.e. apart).",
            mc.mean,
            mc.se,
            mc.n,
            mc.z_score(formula)
        ));
        Ok(out)
    }
}

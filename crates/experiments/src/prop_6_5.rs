//! Proposition 5 (thesis App. A.3.6, l.3072–3084; coupon collector): the expected number of i.i.d.
//! samples until all N equiprobable modes are found is N·H_N = Θ(N log N); "for N = 10,
//! E[L_{10|0}] ≈ 29.29". By the formula and by Monte Carlo; one cell per chunk of repetitions.

use crate::coverage_mc::{draws, histogram, merged};
use crate::{CellDone, Experiment, Outcome, Quantity, Run};
use anyhow::{anyhow, Result};
use artifacts::{Table, Tables};
use particle_guidance::coverage::{coupon_collector_mean, sample_cover_time};
use registry::Params;

/// The runner `coupon-collector`.
pub struct Prop65;

/// The Euler–Mascheroni constant.
const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

impl Experiment for Prop65 {
    fn cells(&self, params: &Params) -> Result<Vec<String>> {
        Ok((0..params.usize("chunks")?).map(|c| format!("chunk {c}")).collect())
    }

    fn run_cells(&self, run: &Run, cells: &[usize], done: &CellDone) -> Result<()> {
        let (bins, reps) = (run.params.usize("bins")?, run.params.usize("reps_per_chunk")?);
        for &c in cells {
            let times = draws(run.stream.child(c as u64), reps, |rng| sample_cover_time(rng, bins));
            done(c, vec![("histogram".into(), histogram(&times, "samples_to_all"))])?;
        }
        Ok(())
    }

    fn finish(&self, params: &Params, tables: Tables) -> Result<Outcome> {
        let bins = params.usize("bins")?;
        let t = &tables
            .iter()
            .find(|(name, _)| name == "histogram")
            .ok_or_else(|| anyhow!("no histogram table"))?
            .1;
        let (mc, hist) = merged(t, "samples_to_all")?;
        let formula = coupon_collector_mean(bins);
        let nb = params.usize_list("formula_bins")?;
        let ln = |b: usize| b as f64 * (b as f64).ln();
        let table = Table::new()
            .i64("bins", nb.iter().map(|&b| b as i64).collect())
            .f64("n_harmonic", nb.iter().map(|&b| coupon_collector_mean(b)).collect())
            .f64("n_ln_n", nb.iter().map(|&b| ln(b)).collect())
            .f64(
                "n_ln_n_plus_gamma_n_plus_half",
                nb.iter().map(|&b| ln(b) + EULER_GAMMA * b as f64 + 0.5).collect(),
            );
        let mut out = Outcome {
            tables: vec![("histogram".into(), hist), ("formula".into(), table)],
            ..Default::default()
        };
        out.quantities = vec![
            Quantity::exact("samples_to_all.formula", formula),
            Quantity::mc("samples_to_all.monte_carlo", mc.mean, mc.se),
            Quantity::exact("samples_to_all.mc_z", mc.z_score(formula)),
        ];
        out.notes.push(format!(
            "N = {bins}: N·H_N = {formula:.6}, Monte Carlo {:.4} ± {:.4} over {} repetitions ({:.2} s.e. apart).",
            mc.mean,
            mc.se,
            mc.n,
            mc.z_score(formula)
        ));
        Ok(out)
    }
}

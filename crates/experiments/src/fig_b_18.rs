//! Fig. B.18 (thesis B.4.1, l.4571; PG paper App. B.1): the modes that x i.i.d. samples capture out
//! of N = 1000 equiprobable ones, y = N(1 − ((N − 1)/N)^x), against the optimum min(x, N). The curve
//! is a formula; one cell per sample size checked by Monte Carlo.

use crate::coverage_mc::draws;
use crate::{CellDone, Experiment, Outcome, Quantity, Run};
use anyhow::{anyhow, Result};
use artifacts::{Table, Tables};
use figures::{Figure, Panel, Series, Style};
use metrics::Estimate;
use particle_guidance::coverage::{expected_distinct, sample_distinct};
use registry::Params;

/// The runner `iid-coverage-curve`.
pub struct FigB18;

impl Experiment for FigB18 {
    fn cells(&self, params: &Params) -> Result<Vec<String>> {
        Ok(params.usize_list("mc_samples")?.iter().map(|x| format!("x={x}")).collect())
    }

    fn run_cells(&self, run: &Run, cells: &[usize], done: &CellDone) -> Result<()> {
        let (bins, reps, xs) = (run.params.usize("bins")?, run.params.usize("mc_reps")?, run.params.usize_list("mc_samples")?);
        for &c in cells {
            let found: Vec<f64> = draws(run.stream.child(c as u64), reps, |rng| sample_distinct(rng, bins, xs[c]))
                .into_iter()
                .map(|v| v as f64)
                .collect();
            let e = Estimate::of(&found);
            let formula = expected_distinct(bins, xs[c] as f64);
            let t = Table::new()
                .i64("samples", vec![xs[c] as i64])
                .f64("formula", vec![formula])
                .f64("monte_carlo", vec![e.mean])
                .f64("standard_error", vec![e.se])
                .f64("z", vec![e.z_score(formula)])
                .i64("repetitions", vec![reps as i64]);
            done(c, vec![("monte_carlo".into(), t)])?;
        }
        Ok(())
    }

    fn finish(&self, params: &Params, tables: Tables) -> Result<Outcome> {
        let (bins, x_max, step) = (params.usize("bins")?, params.usize("curve_max")?, params.usize("curve_step")?);
        let n = bins as f64;
        let mc = &tables
            .iter()
            .find(|(name, _)| name == "monte_carlo")
            .ok_or_else(|| anyhow!("no monte_carlo table"))?
            .1;
        let optimal = |x: f64| x.min(n);
        let xs: Vec<f64> = (0..=x_max).step_by(step).map(|x| x as f64).collect();
        let iid: Vec<f64> = xs.iter().map(|&x| expected_distinct(bins, x)).collect();
        let opt: Vec<f64> = xs.iter().map(|&x| optimal(x)).collect();
        let ratio: Vec<f64> = iid.iter().zip(&opt).map(|(a, b)| a / b).collect();
        let curve = Table::new()
            .f64("samples", xs.clone())
            .f64("iid_expected_modes", iid.clone())
            .f64("optimal_modes", opt.clone())
            .f64("iid_over_optimal", ratio.clone());
        // Where i.i.d. sampling falls furthest behind the optimum, over every integer sample size.
        let gap = |x: usize| optimal(x as f64) - expected_distinct(bins, x as f64);
        let argmax = (0..=x_max).max_by(|&a, &b| gap(a).total_cmp(&gap(b))).unwrap_or(0);
        let argmin_ratio = (1..=x_max)
            .min_by(|&a, &b| (expected_distinct(bins, a as f64) / optimal(a as f64)).total_cmp(&(expected_distinct(bins, b as f64) / optimal(b as f64))))
            .unwrap_or(1);
        let z = mc.f64_column("z").ok_or_else(|| anyhow!("monte_carlo table lacks z"))?;
        let (mx, mm) = (mc.f64_column("samples").unwrap_or_default(), mc.f64_column("monte_carlo").unwrap_or_default());

        let mut out = Outcome {
            tables: vec![("curve".into(), curve), ("monte_carlo".into(), mc.clone())],
            ..Default::default()
        };
        out.quantities = vec![
            Quantity::exact("gap.argmax_samples", argmax as f64),
            Quantity::exact("gap.max_modes", gap(argmax)),
            Quantity::exact("ratio.argmin_samples", argmin_ratio as f64),
            Quantity::exact("ratio.at_n_samples", expected_distinct(bins, n) / n),
            Quantity::exact("monte_carlo.max_abs_z", z.iter().fold(0.0f64, |m, v| m.max(v.abs()))),
        ];
        out.notes.push(format!(
            "N = {bins}: i.i.d. sampling falls furthest behind min(x, N) at x = {argmax} samples ({:.1} modes, {:.1}% of N), where it \
             covers {:.4} of the optimum (1 − 1/e = {:.4}).",
            gap(argmax),
            100.0 * gap(argmax) / n,
            expected_distinct(bins, n) / n,
            1.0 - (-1f64).exp()
        ));
        let limit = vec![1.0 - (-1f64).exp(); xs.len()];
        out.figures.push((
            String::new(),
            Figure {
                title: format!("Fig. B.18: modes captured by x samples out of N = {bins}"),
                panels: vec![
                    Panel {
                        title: "expected modes captured".into(),
                        x_label: "samples x".into(),
                        y_label: "modes".into(),
                        series: vec![
                            Series::new("i.i.d.: N(1 − ((N−1)/N)^x)", &xs, &iid, Style::Line, 0),
                            Series::new("optimal: min(x, N)", &xs, &opt, Style::Dashed, 1),
                            Series::new("i.i.d., Monte Carlo", &mx, &mm, Style::Markers, 2),
                        ],
                        ..Default::default()
                    },
                    Panel {
                        title: "i.i.d. relative to the optimum".into(),
                        x_label: "samples x".into(),
                        y_label: "i.i.d. / optimal".into(),
                        series: vec![
                            Series::new("N(1 − ((N−1)/N)^x) / min(x, N)", &xs, &ratio, Style::Line, 0),
                            Series::new("1 − 1/e", &xs, &limit, Style::Dashed, 3),
                        ],
                        ..Default::default()
                    },
                ],
                columns: 2,
            },
        ));
        Ok(out)
    }
}

//! RSD App. C.3.1, Fig. 9: the bimodal toy. Two Gaussians of fixed width fit the two-mode 1-D
//! mixture by the KL gradient flow of their means, independently (setting 1, γ = 0) or coupled by
//! the repulsion of Eq. 3 (setting 2); over 200 realisations (the same initial means for every γ),
//! how many end with both means in one mode (mode collapse), and how far the means end from the
//! modes (the "quality"). The paper's constants are stripped; ours are in the declaration.

use crate::{CellDone, Experiment, Outcome, Quantity, Run};
use anyhow::{anyhow, bail, Result};
use artifacts::{Table, Tables};
use exact_denoisers::GaussianMixture;
use figures::{Figure, Panel, Series, Style};
use metrics::Estimate;
use particle_guidance::Bandwidth;
use rayon::prelude::*;
use registry::Params;
use repulsive_distillation::mean_fit::MeanFlow;
use repulsive_distillation::Repulsion;
use seeding::normals;

/// The runner `rsd-bimodal-collapse`.
pub struct RsdFig9;

struct Setup {
    mu: f64,
    variance: f64,
    gammas: Vec<f64>,
    realizations: usize,
    chunks: usize,
    repulsion: Repulsion,
}

impl Setup {
    fn new(p: &Params) -> Result<Self> {
        let (realizations, chunks) = (p.usize("realizations")?, p.usize("chunks")?);
        if realizations % chunks != 0 {
            bail!("realizations = {realizations} must be a multiple of chunks = {chunks}");
        }
        let bandwidth = match p.str("bandwidth")? {
            "median-paper" => Bandwidth::MedianPaper,
            "fixed" => Bandwidth::Fixed(p.f64("fixed_bandwidth")?),
            other => bail!("bandwidth = `{other}`: use median-paper (h = m²/ln N; the code's m²/ln(N − 1) is undefined for N = 2) or fixed"),
        };
        let gammas = p.f64_list("gammas")?;
        if gammas.first() != Some(&0.0) || gammas.windows(2).any(|w| w[1] <= w[0]) {
            bail!("gammas must start at 0 (setting 1) and increase, got {gammas:?}");
        }
        Ok(Setup {
            mu: p.f64("mode_mean")?,
            variance: p.f64("mode_variance")?,
            gammas,
            realizations,
            chunks,
            repulsion: Repulsion { bandwidth, include_self: true },
        })
    }

    fn mixture(&self) -> GaussianMixture {
        GaussianMixture::new(1, vec![1.0, 1.0], vec![-self.mu, self.mu], vec![self.variance; 2])
    }
}

impl Experiment for RsdFig9 {
    fn cells(&self, params: &Params) -> Result<Vec<String>> {
        let s = Setup::new(params)?;
        Ok((0..s.chunks).map(|c| format!("realizations chunk {c}")).collect())
    }

    fn run_cells(&self, run: &Run, cells: &[usize], done: &CellDone) -> Result<()> {
        let p = run.params;
        let s = Setup::new(p)?;
        let flow = MeanFlow::new(s.mixture(), p.f64("fit_width")?, p.usize("quadrature_nodes")?)?;
        let (dt, steps, init_std) = (p.f64("dt")?, p.usize("steps")?, p.f64("init_std")?);
        let per = s.realizations / s.chunks;
        cells.par_iter().try_for_each(|&c| -> Result<()> {
            let stream = run.stream.child(c as u64);
            let mut cols: [Vec<f64>; 6] = Default::default();
            let mut realization = Vec::new();
            for r in 0..per {
                // One initial pair per realisation, shared by every γ ("200 realizations with the same seed").
                let init: Vec<f64> = normals(&mut stream.child(r as u64).rng(), 2).iter().map(|z| init_std * z).collect();
                for &g in &s.gammas {
                    let mut m = init.clone();
                    flow.run(&mut m, g, &s.repulsion, dt, steps)?;
                    let err = m.iter().map(|x| (x.abs() - s.mu).abs()).sum::<f64>() / 2.0;
                    realization.push((c * per + r) as i64);
                    for (col, v) in cols.iter_mut().zip([g, init[0], init[1], m[0], m[1], err]) {
                        col.push(v);
                    }
                }
            }
            let collapsed: Vec<i64> = cols[3].iter().zip(&cols[4]).map(|(a, b)| i64::from((*a > 0.0) == (*b > 0.0))).collect();
            let [g, i0, i1, m0, m1, err] = cols;
            let t = Table::new()
                .i64("realization", realization)
                .f64("gamma", g)
                .f64("init_0", i0)
                .f64("init_1", i1)
                .f64("final_0", m0)
                .f64("final_1", m1)
                .i64("collapsed", collapsed)
                .f64("mean_distance_to_mode", err);
            done(c, vec![("realizations".into(), t)])
        })
    }

    fn finish(&self, params: &Params, tables: Tables) -> Result<Outcome> {
        let s = Setup::new(params)?;
        let t = &tables
            .iter()
            .find(|(n, _)| n == "realizations")
            .ok_or_else(|| anyhow!("no realizations table"))?
            .1;
        let col = |c: &str| t.f64_column(c).ok_or_else(|| anyhow!("realizations table lacks `{c}`"));
        let (gamma, collapsed, err, real) = (col("gamma")?, col("collapsed")?, col("mean_distance_to_mode")?, col("realization")?);
        let (f0, f1) = (col("final_0")?, col("final_1")?);
        let mut counts = Vec::new();
        let mut errs = Vec::new();
        let mut err_se = Vec::new();
        let mut err_kept = Vec::new();
        for &g in &s.gammas {
            let idx: Vec<usize> = (0..gamma.len()).filter(|&k| gamma[k] == g).collect();
            counts.push(idx.iter().map(|&k| collapsed[k]).sum::<f64>());
            let e = Estimate::of(&idx.iter().map(|&k| err[k]).collect::<Vec<_>>());
            errs.push(e.mean);
            err_se.push(e.se);
            // The fit error of the realisations that do not collapse: the quality of a two-mode fit.
            let kept: Vec<f64> = idx.iter().filter(|&&k| collapsed[k] == 0.0).map(|&k| err[k]).collect();
            err_kept.push(if kept.is_empty() {
                f64::NAN
            } else {
                kept.iter().sum::<f64>() / kept.len() as f64
            });
        }
        let n = s.realizations as f64;
        let mut out = Outcome::default();
        out.tables.push((
            "by_gamma".into(),
            Table::new()
                .f64("gamma", s.gammas.clone())
                .f64("collapses", counts.clone())
                .f64("collapse_fraction", counts.iter().map(|c| c / n).collect())
                .f64("mean_distance_to_mode", errs.clone())
                .f64("standard_error", err_se.clone())
                .f64("mean_distance_to_mode_not_collapsed", err_kept.clone()),
        ));
        out.tables.push(("realizations".into(), t.clone()));
        // Setting 1 by symmetry: each mean goes to the mode on its side of 0, so it collapses exactly
        // when the two i.i.d. initial means share a sign: probability 1/2.
        let z = (counts[0] - n / 2.0) / (n / 4.0).sqrt();
        let last = s.gammas.len() - 1;
        let increases = counts.windows(2).filter(|w| w[1] > w[0]).count();
        out.quantities = vec![
            Quantity::mc("independent.collapses", counts[0], (n / 4.0).sqrt()),
            Quantity::exact("independent.collapse_abs_z", z.abs()),
            Quantity::exact("coupled.collapses_at_max_gamma", counts[last]),
            Quantity::exact("collapse_drop_from_gamma_0_to_max", counts[0] - counts[last]),
            Quantity::exact("collapse_increases_along_gamma", increases as f64),
            Quantity::mc("independent.mean_distance_to_mode", errs[0], err_se[0]),
            Quantity::mc("coupled.mean_distance_to_mode_at_max_gamma", errs[last], err_se[last]),
            Quantity::exact("distance_increase_from_gamma_0_to_max", errs[last] - errs[0]),
        ];
        for (k, &g) in s.gammas.iter().enumerate() {
            out.quantities.push(Quantity::exact(format!("gamma={g}.collapses"), counts[k]));
        }
        out.notes.push(format!(
            "Collapses out of {} by γ: {}. Setting 1 (γ = 0): {} (the symmetry value is {}; z = {z:.2}).",
            s.realizations,
            s.gammas.iter().zip(&counts).map(|(g, c)| format!("{g}: {c}")).collect::<Vec<_>>().join(", "),
            counts[0],
            n / 2.0
        ));
        out.notes.push(format!(
            "Mean distance of the fitted means to the nearest mode: γ = 0 {:.4}, γ = {} {:.4}; among realisations that do not collapse {:.4} → {:.4}.",
            errs[0], s.gammas[last], errs[last], err_kept[0], err_kept[last]
        ));

        // Panel (c): realisation 0's fitted mixture at a small and the largest γ, against the target.
        let small = params.f64("example_small_gamma")?;
        let xs: Vec<f64> = (0..=400).map(|i| -6.0 + 12.0 * i as f64 / 400.0).collect();
        let pdf = |x: f64, m: f64, v: f64| (-(x - m) * (x - m) / (2.0 * v)).exp() / (2.0 * std::f64::consts::PI * v).sqrt();
        let target: Vec<f64> = xs.iter().map(|&x| 0.5 * pdf(x, -s.mu, s.variance) + 0.5 * pdf(x, s.mu, s.variance)).collect();
        let w2 = params.f64("fit_width")?.powi(2);
        let mut example = vec![Series::new("target p", &xs, &target, Style::Line, 0)];
        for (ci, g) in [small, s.gammas[last]].into_iter().enumerate() {
            let k = (0..gamma.len())
                .find(|&k| real[k] == 0.0 && gamma[k] == g)
                .ok_or_else(|| anyhow!("example_small_gamma = {g} is not one of gammas"))?;
            let fit: Vec<f64> = xs.iter().map(|&x| 0.5 * pdf(x, f0[k], w2) + 0.5 * pdf(x, f1[k], w2)).collect();
            example.push(Series::new(format!("fit, γ = {g}"), &xs, &fit, Style::Dashed, ci + 1));
        }
        let pos: Vec<f64> = s.gammas[1..].to_vec();
        let flat = |v: f64| vec![v; pos.len()];
        out.figures.push((
            String::new(),
            Figure {
                title: format!("RSD Fig. 9 analog: two Gaussians fitted to a two-mode mixture, {} realisations", s.realizations),
                panels: vec![
                    Panel {
                        title: "(a) realisations with both means in one mode".into(),
                        x_label: "repulsion γ".into(),
                        y_label: "mode collapses".into(),
                        x_log: true,
                        y_log: false,
                        series: vec![
                            Series::new("coupled (RBF, γ > 0)", &pos, &counts[1..], Style::LineMarkers, 1),
                            Series::new("independent (γ = 0)", &pos, &flat(counts[0]), Style::Dashed, 0),
                        ],
                    },
                    Panel {
                        title: "quality: mean distance of the means to their nearest mode".into(),
                        x_label: "repulsion γ".into(),
                        y_label: "mean ||m| − μ|".into(),
                        x_log: true,
                        y_log: false,
                        series: vec![
                            Series::new("coupled", &pos, &errs[1..], Style::LineMarkers, 1),
                            Series::new("independent (γ = 0)", &pos, &flat(errs[0]), Style::Dashed, 0),
                        ],
                    },
                    Panel {
                        title: "(b, c) realisation 0: the fitted mixture at a small and the largest γ".into(),
                        x_label: "x".into(),
                        y_label: "density".into(),
                        x_log: false,
                        y_log: false,
                        series: example,
                    },
                ],
                columns: 3,
            },
        ));
        Ok(out)
    }
}

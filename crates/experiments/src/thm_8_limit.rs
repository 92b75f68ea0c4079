//! Theorem 8 (thesis Sec. 8.3, l.1912, proof A.5.3; Eq. 8.5): as D → ∞ at fixed σ = r/√D the PFGM++
//! kernel tends to N(y, σ²I), the prior p_{r_max} to N(0, σ_max²I), and the empirical PFGM++ field to
//! the diffusion one. Measured as curves over D = 2^k with their log-log rates: (a) the kernel's total
//! variation to the Gaussian, (b) the gap E‖D_D(x; σ) − D_∞(x; σ)‖/σ of the exact empirical denoisers
//! of a 20-D point set (the Theorem-8 quantity √D E_x/E_r + σ∇log p_σ), (c) the prior's KL divergence
//! from the Gaussian. (a) and (c) are quadratures; (b) has one cell per σ.

use crate::{CellDone, Experiment, Outcome, Quantity, Run};
use anyhow::{anyhow, Result};
use artifacts::{Table, Tables};
use exact_denoisers::PointSet;
use figures::{Figure, Panel, Series, Style};
use metrics::loglog_slope;
use pfgmpp::gaussian_limit::{kl_gaussian_to_kernel, kl_leading_order, total_variation, total_variation_first_order_bound};
use pfgmpp::{Kernel, PfgmppPointSet};
use rand::Rng as _;
use rayon::prelude::*;
use registry::Params;

/// The runner `pfgmpp-gaussian-limit`.
pub struct Thm8Limit;

/// The data dimension of `datasets::restart_mixture_20d`.
const DIM: usize = 20;

/// D = 2^k for k = 0…`log2_aug_dim_max`.
fn aug_dims(p: &Params) -> Result<Vec<f64>> {
    Ok((0..=p.usize("log2_aug_dim_max")?).map(|k| 2f64.powi(k as i32)).collect())
}

/// The log-log slope of y over the points with x ≥ `from`.
fn slope_from(x: &[f64], y: &[f64], from: f64) -> f64 {
    let (xs, ys): (Vec<f64>, Vec<f64>) = x.iter().zip(y).filter(|(a, _)| **a >= from).map(|(a, b)| (*a, *b)).unzip();
    loglog_slope(&xs, &ys)
}

impl Experiment for Thm8Limit {
    fn cells(&self, params: &Params) -> Result<Vec<String>> {
        Ok(params.f64_list("sigmas")?.iter().map(|s| format!("sigma={s}")).collect())
    }

    fn run_cells(&self, run: &Run, cells: &[usize], done: &CellDone) -> Result<()> {
        let p = run.params;
        let points = PointSet::new(DIM, datasets::restart_mixture_20d(p.usize("data_points")?, p.u64("data_seed")?));
        let (sigmas, dims, m) = (p.f64_list("sigmas")?, aug_dims(p)?, p.usize("queries")?);
        let gaussian = PfgmppPointSet::new(points.clone(), f64::INFINITY);
        for &c in cells {
            let sigma = sigmas[c];
            // Queries x ~ p_σ: a uniformly chosen point plus N(0, σ²I), each from its own stream.
            let queries: Vec<Vec<f64>> = (0..m)
                .map(|i| {
                    let mut rng = run.stream.child(c as u64).child(i as u64).rng();
                    let k = rng.random_range(0..points.len());
                    let noise = seeding::normals(&mut rng, DIM);
                    points.point(k).iter().zip(&noise).map(|(y, e)| y + sigma * e).collect()
                })
                .collect();
            let reference: Vec<Vec<f64>> = queries
                .par_iter()
                .map(|x| {
                    let mut out = vec![0.0; DIM];
                    gaussian.denoise_one(x, sigma, &mut out);
                    out
                })
                .collect();
            let (mut mean, mut max) = (Vec::new(), Vec::new());
            for &d in &dims {
                let field = PfgmppPointSet::new(points.clone(), d);
                let gaps: Vec<f64> = queries
                    .par_iter()
                    .zip(&reference)
                    .map(|(x, g)| {
                        let mut out = vec![0.0; DIM];
                        field.denoise_one(x, sigma, &mut out);
                        exact_denoisers::squared_distance(&out, g).sqrt() / sigma
                    })
                    .collect();
                mean.push(gaps.iter().sum::<f64>() / m as f64);
                max.push(gaps.iter().copied().fold(0.0, f64::max));
            }
            let t = Table::new()
                .f64("sigma", vec![sigma; dims.len()])
                .f64("aug_dim", dims.clone())
                .f64("gap_mean", mean)
                .f64("gap_max", max);
            done(c, vec![("denoiser_gap".into(), t)])?;
        }
        Ok(())
    }

    fn finish(&self, params: &Params, tables: Tables) -> Result<Outcome> {
        let (dims, sigmas, from) = (aug_dims(params)?, params.f64_list("sigmas")?, params.f64("fit_from")?);
        let d_max = *dims.last().ok_or_else(|| anyhow!("no D"))?;
        let tv: Vec<f64> = dims.iter().map(|&d| total_variation(&Kernel::new(DIM, d))).collect();
        let kl: Vec<f64> = dims.iter().map(|&d| kl_gaussian_to_kernel(&Kernel::new(DIM, d))).collect();
        let tv_bound: Vec<f64> = dims.iter().map(|&d| total_variation_first_order_bound(DIM, d)).collect();
        let kl_lead: Vec<f64> = dims.iter().map(|&d| kl_leading_order(DIM, d)).collect();
        let kernel = Table::new()
            .f64("aug_dim", dims.clone())
            .f64("kernel_tv", tv.clone())
            .f64("tv_first_order_bound", tv_bound.clone())
            .f64("prior_kl", kl.clone())
            .f64("kl_leading_order", kl_lead.clone());

        let gap = artifacts::table::find(&tables, "denoiser_gap")?;
        let col = |name: &str| gap.f64_column(name).ok_or_else(|| anyhow!("denoiser_gap lacks {name}"));
        let (g_sigma, g_dim, g_mean) = (col("sigma")?, col("aug_dim")?, col("gap_mean")?);
        let per_sigma: Vec<(f64, Vec<f64>, Vec<f64>)> = sigmas
            .iter()
            .map(|&s| {
                let rows: Vec<usize> = (0..g_sigma.len()).filter(|&i| g_sigma[i] == s).collect();
                (s, rows.iter().map(|&i| g_dim[i]).collect(), rows.iter().map(|&i| g_mean[i]).collect())
            })
            .collect();
        let gap_slopes: Vec<f64> = per_sigma.iter().map(|(_, x, y)| slope_from(x, y, from)).collect();
        let gap_at_max: Vec<f64> = per_sigma.iter().map(|(_, _, y)| *y.last().unwrap_or(&f64::NAN)).collect();
        let rates = Table::new()
            .str(
                "curve",
                ["kernel_tv".to_string(), "prior_kl".to_string()]
                    .into_iter()
                    .chain(sigmas.iter().map(|s| format!("denoiser_gap sigma={s}")))
                    .collect(),
            )
            .f64(
                "loglog_slope",
                [slope_from(&dims, &tv, from), slope_from(&dims, &kl, from)]
                    .into_iter()
                    .chain(gap_slopes.iter().copied())
                    .collect(),
            )
            .f64(
                "value_at_max_aug_dim",
                [tv[tv.len() - 1], kl[kl.len() - 1]].into_iter().chain(gap_at_max.iter().copied()).collect(),
            );

        let n = DIM as f64;
        let decreasing = |v: &[f64]| v.windows(2).all(|w| w[1] < w[0]) as i32 as f64;
        let mut out = Outcome {
            tables: vec![("kernel".into(), kernel), ("denoiser_gap".into(), gap.clone()), ("rates".into(), rates)],
            ..Default::default()
        };
        let worst = |f: fn(f64, f64) -> f64, init: f64| gap_slopes.iter().copied().fold(init, f);
        let gap_scaled = gap_at_max.iter().map(|g| g * d_max / (n * n)).fold(0.0, f64::max);
        out.quantities = vec![
            Quantity::exact("kernel_tv.slope", slope_from(&dims, &tv, from)),
            Quantity::exact("kernel_tv.decreasing", decreasing(&tv)),
            Quantity::exact("kernel_tv.d_tv_over_n_at_max_d", tv[tv.len() - 1] * d_max / n),
            Quantity::exact("prior_kl.slope", slope_from(&dims, &kl, from)),
            Quantity::exact("prior_kl.decreasing", decreasing(&kl)),
            Quantity::exact("prior_kl.over_leading_order_at_max_d", kl[kl.len() - 1] / kl_lead[kl_lead.len() - 1]),
            Quantity::exact("denoiser_gap.max_slope", worst(f64::max, f64::NEG_INFINITY)),
            Quantity::exact("denoiser_gap.min_slope", worst(f64::min, f64::INFINITY)),
            Quantity::exact("denoiser_gap.d_gap_over_n2_at_max_d", gap_scaled),
        ];
        out.notes.push(format!(
            "N = {DIM}, D = 1 … 2^{}: kernel TV {:.3e} → {:.3e} (slope {:.3} for D ≥ {from}), prior KL {:.3e} → {:.3e} (slope {:.3}); \
             the first-order theory gives TV ≤ N/(2D) = {:.3e} and KL ≈ (N² + 6N)/(4D²) = {:.3e} at D = 2^{}.",
            dims.len() - 1,
            tv[0],
            tv[tv.len() - 1],
            slope_from(&dims, &tv, from),
            kl[0],
            kl[kl.len() - 1],
            slope_from(&dims, &kl, from),
            tv_bound[tv_bound.len() - 1],
            kl_lead[kl_lead.len() - 1],
            dims.len() - 1
        ));
        for ((s, _, y), slope) in per_sigma.iter().zip(&gap_slopes) {
            out.notes.push(format!(
                "denoiser gap E‖D_D − D_∞‖/σ at σ = {s}: {:.3e} at D = 1, {:.3e} at D = 2^{} (slope {slope:.3} for D ≥ {from}).",
                y[0],
                y[y.len() - 1],
                dims.len() - 1
            ));
        }
        out.notes.push(
            "TV and KL are invariant under x ↦ x/σ, so the kernel's distances at any σ and the prior's at any σ_max are the same \
             numbers; (a) is reported as TV and (c) as KL(N(0, σ_max²I) ‖ p_{r_max}) (Pinsker: TV ≤ √(KL/2))."
                .into(),
        );

        let markers = |label: &str, y: &[f64], color: usize| Series::new(label, &dims, y, Style::LineMarkers, color);
        let mut gap_series: Vec<Series> = per_sigma
            .iter()
            .enumerate()
            .map(|(i, (s, x, y))| Series::new(format!("σ = {s}"), x, y, Style::LineMarkers, i))
            .collect();
        let one_over_d: Vec<f64> = dims.iter().map(|d| n * n / d).collect();
        gap_series.push(Series::new("N²/D", &dims, &one_over_d, Style::Dashed, sigmas.len() + 1));
        out.figures.push((
            String::new(),
            Figure {
                title: "Theorem 8: PFGM++ → diffusion as D → ∞ at fixed σ = r/√D (N = 20)".into(),
                panels: vec![
                    Panel {
                        title: "kernel and prior vs their Gaussian limits".into(),
                        x_label: "augmented dimensions D".into(),
                        y_label: "distance".into(),
                        x_log: true,
                        y_log: true,
                        series: vec![
                            markers("(a) kernel TV", &tv, 0),
                            Series::new("N/(2D)", &dims, &tv_bound, Style::Dashed, 0),
                            markers("(c) prior KL", &kl, 1),
                            Series::new("(N² + 6N)/(4D²)", &dims, &kl_lead, Style::Dashed, 1),
                        ],
                    },
                    Panel {
                        title: "(b) empirical denoisers, 1000 points of the 20-D set".into(),
                        x_label: "augmented dimensions D".into(),
                        y_label: "E‖D_D(x; σ) − D_∞(x; σ)‖ / σ".into(),
                        x_log: true,
                        y_log: true,
                        series: gap_series,
                    },
                ],
                columns: 2,
            },
        ));
        Ok(out)
    }
}

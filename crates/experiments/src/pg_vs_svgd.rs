//! PG versus SVGD (thesis §6.3, Eqs. 6.2–6.3, App. A.3.5; PG paper §4.2, Fig. B.26; spec pg-rsd §4 "Eq. 2/3, SVGD
//! comparison" and RSD B.4): SVGD drives each particle by a kernel-weighted average of the scores of the set, PG by the
//! particle's own diffused score. Two exact checks:
//!
//! * the 10-mode ring of Fig. B.20 (10 particles per set): modes found and the distance to the data manifold (mean
//!   distance to the nearest mode centre in mode standard deviations) for i.i.d. diffusion, PG, plain SVGD on the
//!   clean target (from the diffusion prior's N(0, I)), and SVGD-guidance (the diffusion sampler with the SVGD
//!   direction as its guidance term), PG and SVGD-guidance at several weights;
//! * a standard Gaussian N(0, I_d), d growing: the per-coordinate sample variance within a set over the target's 1,
//!   for SVGD started from exact samples, i.i.d. diffusion, PG and SVGD-guidance (SVGD's variance collapse).
//!
//! One cell per (part, method, weight or dimension).

use crate::{CellDone, Experiment, Outcome, Quantity, Run};
use anyhow::{anyhow, bail, Result};
use artifacts::{Table, Tables};
use exact_denoisers::GaussianMixture;
use figures::{Figure, Panel, Series, Style};
use metrics::Estimate;
use particle_guidance::{coverage, geometric_variance_grid, sample_pg, sample_svgd_guidance, svgd, Bandwidth, Kernel, ParticleGuidance, Scheme};
use rayon::prelude::*;
use registry::Params;
use samplers::{grid::edm_main, Particles};
use std::f64::consts::PI;

/// The runner `pg-vs-svgd`.
pub struct PgVsSvgd;

/// A cell: which part, which method, and its weight (ring) or dimension (Gaussian).
#[derive(Clone, Debug)]
enum Cell {
    Ring { method: String, alpha: f64 },
    Gauss { method: String, dim: usize },
}

const METHODS: [&str; 4] = ["iid", "pg", "svgd", "svgd-guidance"];

fn cells(p: &Params) -> Result<Vec<Cell>> {
    let alphas = p.f64_list("ring_alphas")?;
    let mut out = vec![
        Cell::Ring {
            method: "iid".into(),
            alpha: 0.0,
        },
        Cell::Ring {
            method: "svgd".into(),
            alpha: 0.0,
        },
    ];
    for method in ["pg", "svgd-guidance"] {
        out.extend(alphas.iter().map(|&alpha| Cell::Ring { method: method.into(), alpha }));
    }
    for dim in p.usize_list("dims")? {
        out.extend(METHODS.iter().map(|m| Cell::Gauss { method: m.to_string(), dim }));
    }
    Ok(out)
}

fn label(c: &Cell) -> String {
    match c {
        Cell::Ring { method, alpha } if method == "iid" || method == "svgd" => format!("ring.{method}"),
        Cell::Ring { method, alpha } => format!("ring.{method}.alpha={alpha}"),
        Cell::Gauss { method, dim } => format!("gauss.{method}.d={dim}"),
    }
}

/// The ring of Fig. B.20: `modes` Gaussians of variance `mode_variance` equally spaced on the unit circle.
fn ring(p: &Params) -> Result<GaussianMixture> {
    let k = p.usize("modes")?;
    let means = (0..k).flat_map(|j| {
        let a = 2.0 * PI * j as f64 / k as f64;
        [a.cos(), a.sin()]
    });
    Ok(GaussianMixture::new(2, vec![1.0; k], means.collect(), vec![p.f64("mode_variance")?; k]))
}

/// `iterations` SVGD steps of size `step` on each set of `n` consecutive particles (sets in parallel).
fn svgd_sets(target: &GaussianMixture, x: &mut [f64], n: usize, sigma: f64, step: f64, iterations: usize) -> Result<()> {
    let block = n * target.dim();
    x.par_chunks_mut(block)
        .try_for_each(|set| svgd(target, set, sigma, step, iterations, &Bandwidth::MedianPaper))
}

impl PgVsSvgd {
    fn run_ring(&self, run: &Run, c: usize, method: &str, alpha: f64) -> Result<Table> {
        let p = run.params;
        let target = ring(p)?;
        let (n, sets, dim) = (p.usize("ring_particles")?, p.usize("ring_sets")?, 2);
        let v_max = p.f64("ring_max_variance")?;
        let mut parts = Particles::from_prior(sets * n, dim, v_max.sqrt(), run.stream.child(c as u64));
        let start = parts.x.clone();
        let grid = geometric_variance_grid(p.f64("ring_min_variance")?, v_max, p.usize("ring_steps")?);
        // The notebook's Euclidean kernel h = σ; PG and SVGD-guidance share it and the weight α.
        let pg = ParticleGuidance::constant(Kernel::Rbf(Bandwidth::Sigma { scale: 1.0, power: 1.0 }), alpha, n);
        let scheme = Scheme::notebook(1.0);
        match method {
            "iid" | "pg" => sample_pg(&target, &mut parts, &grid, &pg, scheme)?,
            "svgd-guidance" => sample_svgd_guidance(&target, &mut parts, &grid, &pg, scheme)?,
            "svgd" => svgd_sets(
                &target,
                &mut parts.x,
                n,
                p.f64("svgd_sigma")?,
                p.f64("ring_svgd_step")?,
                p.usize("ring_svgd_iterations")?,
            )?,
            _ => bail!("unknown method `{method}`"),
        }
        let sd = p.f64("mode_variance")?.sqrt();
        let centres = &target.means;
        let modes: Vec<f64> = parts.x.chunks(n * dim).map(|set| coverage::modes_recovered(set, dim, centres) as f64).collect();
        let dist: Vec<f64> = parts
            .x
            .chunks(dim)
            .map(|x| {
                let k = coverage::nearest(x, centres, dim);
                exact_denoisers::squared_distance(x, target.mean(k)).sqrt() / sd
            })
            .collect();
        // Per set: the mean distance of its particles (sets are independent, particles within one are not).
        let set_dist: Vec<f64> = dist.chunks(n).map(|d| d.iter().sum::<f64>() / n as f64).collect();
        let stay: Vec<f64> = parts
            .x
            .chunks(n * dim)
            .zip(start.chunks(n * dim))
            .map(|(end, begin)| {
                end.chunks(dim)
                    .zip(begin.chunks(dim))
                    .filter(|(e, b)| coverage::nearest(e, centres, dim) == coverage::nearest(b, centres, dim))
                    .count() as f64
                    / n as f64
            })
            .collect();
        let off = dist.iter().filter(|&&d| d > 3.0).count() as f64 / dist.len() as f64;
        let (m, d, s) = (Estimate::of(&modes), Estimate::of(&set_dist), Estimate::of(&stay));
        Ok(Table::new()
            .str("method", vec![method.into()])
            .f64("alpha", vec![alpha])
            .i64("sets", vec![sets as i64])
            .f64("mean_modes", vec![m.mean])
            .f64("modes_se", vec![m.se])
            .f64("mean_distance_sd", vec![d.mean])
            .f64("distance_se", vec![d.se])
            .f64("off_manifold_fraction", vec![off])
            .f64("initial_mode_kept", vec![s.mean])
            .f64("initial_mode_kept_se", vec![s.se]))
    }

    fn run_gauss(&self, run: &Run, c: usize, method: &str, dim: usize) -> Result<Table> {
        let p = run.params;
        let target = GaussianMixture::new(dim, vec![1.0], vec![0.0; dim], vec![1.0]);
        let (n, sets) = (p.usize("gauss_particles")?, p.usize("gauss_sets")?);
        let sigma_max = p.f64("gauss_sigma_max")?;
        let alpha = p.f64("gauss_alpha")?;
        let stream = run.stream.child(c as u64);
        let pg = ParticleGuidance::constant(Kernel::Rbf(Bandwidth::MedianPaper), if method == "iid" { 0.0 } else { alpha }, n);
        let grid = edm_main(p.f64("gauss_sigma_min")?, sigma_max, p.usize("gauss_steps")?, 7.0);
        let x = match method {
            "svgd" => {
                // From exact samples of the target: any departure from variance 1 is SVGD's own.
                let mut parts = Particles::from_prior(sets * n, dim, 1.0, stream);
                svgd_sets(
                    &target,
                    &mut parts.x,
                    n,
                    p.f64("svgd_sigma")?,
                    p.f64("gauss_svgd_step")?,
                    p.usize("gauss_svgd_iterations")?,
                )?;
                parts.x
            }
            "iid" | "pg" | "svgd-guidance" => {
                let mut parts = Particles::from_prior(sets * n, dim, sigma_max, stream);
                if method == "svgd-guidance" {
                    sample_svgd_guidance(&target, &mut parts, &grid, &pg, Scheme::ode())?;
                } else {
                    sample_pg(&target, &mut parts, &grid, &pg, Scheme::ode())?;
                }
                parts.x
            }
            _ => bail!("unknown method `{method}`"),
        };
        // Per set: the unbiased within-set variance of each coordinate, averaged over the coordinates.
        let ratio: Vec<f64> = x
            .chunks(n * dim)
            .map(|set| {
                (0..dim)
                    .map(|k| {
                        let m = (0..n).map(|i| set[i * dim + k]).sum::<f64>() / n as f64;
                        (0..n).map(|i| (set[i * dim + k] - m).powi(2)).sum::<f64>() / (n - 1) as f64
                    })
                    .sum::<f64>()
                    / dim as f64
            })
            .collect();
        let e = Estimate::of(&ratio);
        Ok(Table::new()
            .str("method", vec![method.into()])
            .i64("dim", vec![dim as i64])
            .i64("sets", vec![sets as i64])
            .f64("variance_ratio", vec![e.mean])
            .f64("variance_ratio_se", vec![e.se]))
    }
}

impl Experiment for PgVsSvgd {
    fn cells(&self, params: &Params) -> Result<Vec<String>> {
        Ok(cells(params)?.iter().map(label).collect())
    }

    fn run_cells(&self, run: &Run, idx: &[usize], done: &CellDone) -> Result<()> {
        let all = cells(run.params)?;
        idx.par_iter().try_for_each(|&c| -> Result<()> {
            match &all[c] {
                Cell::Ring { method, alpha } => done(c, vec![("ring".into(), self.run_ring(run, c, method, *alpha)?)]),
                Cell::Gauss { method, dim } => done(c, vec![("dimension".into(), self.run_gauss(run, c, method, *dim)?)]),
            }
        })
    }

    fn finish(&self, params: &Params, tables: Tables) -> Result<Outcome> {
        let get = |name: &str| {
            tables
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, t)| t.clone())
                .ok_or_else(|| anyhow!("no {name} table"))
        };
        let (ring_t, dim_t) = (get("ring")?, get("dimension")?);
        let rcol = |c: &str| ring_t.f64_column(c).ok_or_else(|| anyhow!("ring table lacks `{c}`"));
        let (modes, modes_se, dist, dist_se, kept, off) = (
            rcol("mean_modes")?,
            rcol("modes_se")?,
            rcol("mean_distance_sd")?,
            rcol("distance_se")?,
            rcol("initial_mode_kept")?,
            rcol("off_manifold_fraction")?,
        );
        let alpha = rcol("alpha")?;
        let method = ring_t.strings("method")?;
        let all = cells(params)?;
        let ring_cells: Vec<&Cell> = all.iter().filter(|c| matches!(c, Cell::Ring { .. })).collect();
        let mut out = Outcome::default();
        for (r, c) in ring_cells.iter().enumerate() {
            let key = label(c);
            out.quantities.push(Quantity::mc(format!("{key}.modes"), modes[r], modes_se[r]));
            out.quantities.push(Quantity::mc(format!("{key}.distance_sd"), dist[r], dist_se[r]));
            out.quantities.push(Quantity::exact(format!("{key}.initial_mode_kept"), kept[r]));
        }
        let row = |m: &str, a: f64| (0..method.len()).find(|&r| method[r] == m && (m == "iid" || m == "svgd" || alpha[r] == a));
        // Paired comparisons at each weight: SVGD-guidance's distance over PG's, PG's modes minus SVGD's.
        let svgd = row("svgd", 0.0).ok_or_else(|| anyhow!("no SVGD ring cell"))?;
        let iid = row("iid", 0.0).ok_or_else(|| anyhow!("no i.i.d. ring cell"))?;
        let alphas = params.f64_list("ring_alphas")?;
        for &a in &alphas {
            if let (Some(pg), Some(sg)) = (row("pg", a), row("svgd-guidance", a)) {
                out.quantities
                    .push(Quantity::exact(format!("ring.alpha={a}.svgd_guidance_over_pg_distance"), dist[sg] / dist[pg]));
                out.quantities
                    .push(Quantity::exact(format!("ring.alpha={a}.pg_minus_svgd_modes"), modes[pg] - modes[svgd]));
            }
        }
        out.notes.push(format!(
            "Ring, {} particles per set: i.i.d. {:.2} ± {:.2} modes at {:.3} s.d. from the nearest centre (2-D exact: √(π/2) = 1.2533); \
             SVGD {:.2} ± {:.2} modes at {:.3} s.d., {:.0}% of its particles end in the mode nearest their start (i.i.d. diffusion {:.0}%), \
             {:.1}% more than 3 s.d. from every mode.",
            params.usize("ring_particles")?,
            modes[iid],
            modes_se[iid],
            dist[iid],
            modes[svgd],
            modes_se[svgd],
            dist[svgd],
            100.0 * kept[svgd],
            100.0 * kept[iid],
            100.0 * off[svgd]
        ));
        for m in ["pg", "svgd-guidance"] {
            let parts: Vec<String> = alphas
                .iter()
                .filter_map(|&a| row(m, a))
                .map(|r| {
                    format!(
                        "α = {}: {:.2} ± {:.2} modes, {:.3} ± {:.3} s.d., {:.1}% beyond 3 s.d.",
                        alpha[r],
                        modes[r],
                        modes_se[r],
                        dist[r],
                        dist_se[r],
                        100.0 * off[r]
                    )
                })
                .collect();
            out.notes.push(format!("{m}: {}.", parts.join("; ")));
        }

        let dm = dim_t.strings("method")?;
        let dd: Vec<usize> = dim_t
            .f64_column("dim")
            .ok_or_else(|| anyhow!("dimension table lacks `dim`"))?
            .iter()
            .map(|&d| d as usize)
            .collect();
        let (vr, vr_se) = (
            dim_t.f64_column("variance_ratio").ok_or_else(|| anyhow!("no variance_ratio"))?,
            dim_t.f64_column("variance_ratio_se").ok_or_else(|| anyhow!("no variance_ratio_se"))?,
        );
        for r in 0..dm.len() {
            out.quantities
                .push(Quantity::mc(format!("gauss.{}.d={}.variance_ratio", dm[r], dd[r]), vr[r], vr_se[r]));
        }
        let dims = params.usize_list("dims")?;
        for m in METHODS {
            let parts: Vec<String> = (0..dm.len())
                .filter(|&r| dm[r] == m)
                .map(|r| format!("d = {}: {:.3} ± {:.3}", dd[r], vr[r], vr_se[r]))
                .collect();
            out.notes
                .push(format!("Standard Gaussian, within-set variance / 1, {m}: {}.", parts.join("; ")));
        }
        if let (Some(lo), Some(hi)) = (dims.iter().min(), dims.iter().max()) {
            let at = |d: usize| (0..dm.len()).find(|&r| dm[r] == "svgd" && dd[r] == d);
            if let (Some(a), Some(b)) = (at(*lo), at(*hi)) {
                out.quantities.push(Quantity::exact("gauss.svgd.collapse_ratio_high_over_low_d", vr[b] / vr[a]));
            }
        }

        // Figure: modes and manifold distance against the weight (i.i.d. and SVGD as flat references), variance against d.
        let flat = |v: f64| vec![v; alphas.len()];
        let by_alpha = |m: &str, v: &[f64]| -> Vec<f64> { alphas.iter().map(|&a| row(m, a).map_or(f64::NAN, |r| v[r])).collect() };
        let ring_panel = |title: &str, y: &str, v: &[f64], log: bool, exact: Option<f64>| Panel {
            title: title.into(),
            x_label: "guidance weight α".into(),
            y_label: y.into(),
            x_log: true,
            y_log: log,
            series: vec![
                Series::new("PG", &alphas, &by_alpha("pg", v), Style::LineMarkers, 0),
                Series::new("SVGD-guidance", &alphas, &by_alpha("svgd-guidance", v), Style::LineMarkers, 1),
                Series::new("i.i.d. diffusion", &alphas, &flat(v[iid]), Style::Dashed, 2),
                Series::new("SVGD (clean target)", &alphas, &flat(v[svgd]), Style::Dashed, 3),
            ]
            .into_iter()
            .chain(exact.map(|e| Series::new("exact i.i.d. √(π/2)", &alphas, &flat(e), Style::Dashed, 4)))
            .collect(),
        };
        let xs: Vec<f64> = dims.iter().map(|&d| d as f64).collect();
        let dim_series = METHODS
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let ys: Vec<f64> = dims
                    .iter()
                    .map(|&d| (0..dm.len()).find(|&r| dm[r] == *m && dd[r] == d).map_or(f64::NAN, |r| vr[r]))
                    .collect();
                Series::new(*m, &xs, &ys, Style::LineMarkers, [2, 0, 3, 1][i])
            })
            .collect();
        out.figures.push((
            String::new(),
            Figure {
                title: "PG keeps each particle's own diffused score; SVGD averages the set's scores".into(),
                columns: 3,
                panels: vec![
                    ring_panel("10-mode ring: modes found by 10 particles", "modes found (of 10)", &modes, false, None),
                    ring_panel(
                        "10-mode ring: distance to the nearest mode",
                        "mean distance (mode s.d.)",
                        &dist,
                        true,
                        Some((PI / 2.0).sqrt()),
                    ),
                    Panel {
                        title: "N(0, I_d): within-set variance".into(),
                        x_label: "dimension d".into(),
                        y_label: "sample variance / target variance".into(),
                        x_log: true,
                        y_log: true,
                        series: dim_series,
                    },
                ],
            },
        ));
        out.tables.push(("ring".into(), ring_t));
        out.tables.push(("dimension".into(), dim_t));
        Ok(out)
    }
}

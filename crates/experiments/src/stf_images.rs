//! Tables 3.1, 3.2 and B.3 (thesis l.712, l.749, l.3888), small tier: DSM against the Stable Target
//! Field on real images with the workspace's U-Net — VE models (Song et al.'s preconditioning and
//! log-uniform σ) sampled by RK45 on the probability-flow ODE and by the predictor–corrector
//! sampler, EDM models sampled by Heun with 35 NFE — with identical budgets over several training
//! seeds. One cell per (setting, objective, training seed): it trains (or loads) its model and
//! scores every sampler of its setting on the same prior draws as the other cells.
//!
//! Scores: FD-digits on the digits, exact W1 (assignment against as many data images) and MMD²
//! (PFGM++ multi-scale kernel) on either set; NFE.

use crate::image_model::{self, FdDigits, Images, Objective, Setting};
use crate::{CellDone, Experiment, Outcome, Quantity, Run};
use anyhow::{bail, Result};
use artifacts::{Column, Table, Tables};
use diffusion::VeGeometric;
use figures::{Figure, Panel, Series, Style};
use rayon::prelude::*;
use registry::Params;
use samplers::pc::{sample_ve_pc, ve_pc_grid};
use samplers::rk45::Rk45;
use samplers::scheduled::sample_scheduled_ode;
use samplers::{grid::edm_default, heun::sample_heun, Particles};

/// The runner `stf-vs-dsm-images`.
pub struct StfImages;

/// (setting, sampler, the thesis's rows: DSM FID, STF FID, DSM NFE, STF NFE) — Table 3.1 on CIFAR-10
/// for the digits (EDM: DDPM++), Table 3.2 on CelebA 64² for the faces (NaN: no such row).
const ROWS: [(&str, &str, [f64; 4], [f64; 4]); 3] = [
    ("ve", "rk45", [8.90, 5.51, 264.0, 200.0], [7.56, 5.34, 260.0, 266.0]),
    ("ve", "pc", [2.75, 2.66, 2000.0, 2000.0], [9.13, 8.28, 2000.0, 2000.0]),
    ("edm", "heun-35", [1.97, 1.92, 35.0, 35.0], [f64::NAN; 4]),
];

fn settings(p: &Params) -> Result<Vec<String>> {
    let s = p.str_list("settings")?;
    for v in &s {
        if v != "ve" && v != "edm" {
            bail!("parameter `settings`: unknown setting `{v}` (the settings are `ve` and `edm`)");
        }
    }
    Ok(s)
}

/// Whether to sample from the raw weights θ (`weights = "net"`) instead of their EMA (`"ema"`, the
/// thesis's choice): a diagnostic of the EMA's lag when the budget is only a few times its window.
fn raw_weights(p: &Params) -> Result<bool> {
    match p.str("weights")? {
        "ema" => Ok(false),
        "net" => Ok(true),
        v => bail!("parameter `weights`: unknown value `{v}` (`ema`: the EMA weights; `net`: the raw weights θ)"),
    }
}

/// (setting, reference batch n, training seed) of every cell, in order.
fn cells_of(p: &Params) -> Result<Vec<(String, usize, u64)>> {
    let seeds = p.usize("train_seeds")?;
    if seeds < 2 {
        bail!("parameter `train_seeds` must be at least 2 for an across-seed standard deviation");
    }
    let n = p.usize("reference")?;
    let mut out = vec![];
    for s in settings(p)? {
        for r in [1, n] {
            for k in 0..seeds as u64 {
                out.push((s.clone(), r, k));
            }
        }
    }
    Ok(out)
}

fn objective_name(reference: usize) -> String {
    if reference == 1 {
        "dsm".into()
    } else {
        format!("stf-{reference}")
    }
}

/// The scores of one set of samples against the data.
struct Scorer {
    data: Images,
    fd: Option<FdDigits>,
    kernel: metrics::GaussianMixtureKernel,
}

impl Scorer {
    fn new(name: &str) -> Result<Self> {
        let data = image_model::images(name)?;
        let fd = if name == "digits" { Some(FdDigits::new()?) } else { None };
        let kernel = metrics::GaussianMixtureKernel::pfgmpp(&data.rows, &data.rows, data.dim());
        Ok(Scorer { data, fd, kernel })
    }

    /// (FD-digits or NaN, W1 on the first |data| samples, MMD²).
    fn score(&self, samples: &[f64]) -> Result<(f64, f64, f64)> {
        let d = self.data.dim();
        let clamped: Vec<f64> = samples.iter().map(|v| v.clamp(-1.0, 1.0)).collect();
        let fd = match &self.fd {
            Some(f) => f.score(&clamped)?,
            None => f64::NAN,
        };
        let m = self.data.len().min(clamped.len() / d);
        let w1 = metrics::w1_exact(&clamped[..m * d], &self.data.rows[..m * d], d).distance;
        let mmd = metrics::mmd_squared(&clamped, &self.data.rows, d, &self.kernel).biased;
        Ok((fd, w1, mmd))
    }
}

impl Experiment for StfImages {
    fn cells(&self, params: &Params) -> Result<Vec<String>> {
        Ok(cells_of(params)?
            .into_iter()
            .map(|(s, r, k)| format!("{s} {} seed {k}", objective_name(r)))
            .collect())
    }

    fn run_cells(&self, run: &Run, cells: &[usize], done: &CellDone) -> Result<()> {
        let p = run.params;
        let name = p.str("dataset")?;
        let scorer = Scorer::new(name)?;
        let all = cells_of(p)?;
        let n = p.usize("samples")?;
        let dim = scorer.data.dim();
        let ve = VeGeometric {
            sigma_min: p.f64("ve_sigma_min")?,
            sigma_max: p.f64("ve_sigma_max")?,
        };
        let tol = p.f64("ode_tol")?;
        let raw = raw_weights(p)?;
        // Two models train at once on two cores; each is deterministic whatever the threads.
        cells.par_iter().try_for_each(|&c| -> Result<()> {
            let (setting, reference, seed) = &all[c];
            let kind = if setting == "ve" { Setting::Ve } else { Setting::Edm };
            let (model, train) = image_model::configs(p, &scorer.data, kind, *seed)?;
            let trained = image_model::trained(run, &scorer.data, name, &model, &train, Objective::Stf { reference: *reference })?;
            let net = if raw { trained.net } else { trained.ema };
            let mut table = Table::new();
            for (row, (s, sampler, _, _)) in ROWS.iter().enumerate().filter(|(_, r)| r.0 == setting) {
                // Every model of a setting starts each sampler from the same prior draws.
                let stream = run.stream.child(row as u64);
                let mut particles = match *sampler {
                    "rk45" => {
                        let mut x = Particles::from_prior(n, dim, ve.sigma_max, stream);
                        let opts = Rk45 {
                            rtol: tol,
                            atol: tol,
                            max_steps: 100_000,
                        };
                        sample_scheduled_ode(&net, &ve, &mut x, 1.0, p.f64("ve_t_end")?, &opts)?;
                        x
                    }
                    "pc" => {
                        let mut x = Particles::from_prior(n, dim, ve.sigma_max, stream);
                        let grid = ve_pc_grid(&ve, p.usize("pc_steps")?, p.f64("ve_t_end")?);
                        sample_ve_pc(&net, &mut x, &grid, p.f64("pc_snr")?, 1)?;
                        x
                    }
                    _ => {
                        let mut x = Particles::from_prior(n, dim, samplers::spec::SIGMA_MAX, stream);
                        sample_heun(&net, &mut x, &edm_default(18))?;
                        x
                    }
                };
                let (fd, w1, mmd) = scorer.score(&particles.x)?;
                particles.x.clear();
                table.append(
                    &Table::new()
                        .str("setting", vec![s.to_string()])
                        .str("sampler", vec![sampler.to_string()])
                        .str("objective", vec![objective_name(*reference)])
                        .i64("train_seed", vec![*seed as i64])
                        .i64("nfe", vec![particles.nfe as i64])
                        .f64("fd_digits", vec![fd])
                        .f64("w1", vec![w1])
                        .f64("mmd2", vec![mmd]),
                );
            }
            done(c, vec![("per_model".into(), table)])
        })
    }

    fn finish(&self, params: &Params, tables: Tables) -> Result<Outcome> {
        let t = artifacts::table::find(&tables, "per_model")?;
        let col = |name: &str| -> Result<Vec<String>> {
            match t.column(name) {
                Some(Column::Str(v)) => Ok(v.clone()),
                _ => bail!("per_model has no {name} column"),
            }
        };
        let (sampler, objective) = (col("sampler")?, col("objective")?);
        let metric = if params.str("dataset")? == "digits" { "fd_digits" } else { "w1" };
        let (score, nfe) = (t.f64_column(metric).unwrap_or_default(), t.f64_column("nfe").unwrap_or_default());
        let pick = |s: &str, o: &str, v: &[f64]| -> Vec<f64> { (0..v.len()).filter(|&i| sampler[i] == s && objective[i] == o).map(|i| v[i]).collect() };
        let stf = objective_name(params.usize("reference")?);
        let mut out = Outcome::default();
        let mut summary = Table::new();
        let (mut rs, mut ro, mut mean, mut sd, mut nfes, mut nfe_sd, mut paper_fid, mut paper_nfe) =
            (vec![], vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
        let faces = params.str("dataset")? != "digits";
        for (setting, s, cifar, celeba) in ROWS {
            let paper = if faces { celeba } else { cifar };
            if !settings(params)?.iter().any(|x| x == setting) {
                continue;
            }
            for (k, o) in ["dsm".to_string(), stf.clone()].iter().enumerate() {
                let e = metrics::Estimate::of(&pick(s, o, &score));
                let en = metrics::Estimate::of(&pick(s, o, &nfe));
                let sdev = |e: &metrics::Estimate| e.se * (e.n as f64).sqrt();
                rs.push(format!("{setting}-{s}"));
                ro.push(o.clone());
                mean.push(e.mean);
                sd.push(sdev(&e));
                nfes.push(en.mean);
                nfe_sd.push(sdev(&en));
                paper_fid.push(paper[k]);
                paper_nfe.push(paper[k + 2]);
                out.quantities.push(Quantity::mc(format!("{setting}-{s}.{o}.{metric}"), e.mean, e.se));
                out.quantities.push(Quantity::mc(format!("{setting}-{s}.{o}.nfe"), en.mean, en.se));
                out.quantities.push(Quantity::exact(format!("{setting}-{s}.{o}.{metric}_sd"), sdev(&e)));
            }
            // The claims: STF − DSM in units of the s.e. of the difference (seeds independent),
            // and the ratio of the across-seed standard deviations.
            let (a, b) = (metrics::Estimate::of(&pick(s, &stf, &score)), metrics::Estimate::of(&pick(s, "dsm", &score)));
            out.quantities.push(Quantity::exact(
                format!("{setting}-{s}.stf_minus_dsm_in_se"),
                (a.mean - b.mean) / (a.se * a.se + b.se * b.se).sqrt(),
            ));
            out.quantities.push(Quantity::exact(format!("{setting}-{s}.stf_over_dsm_sd"), a.se / b.se));
            let ratio = metrics::Estimate::of(&pick(s, &stf, &nfe)).mean / metrics::Estimate::of(&pick(s, "dsm", &nfe)).mean;
            out.quantities.push(Quantity::exact(format!("{setting}-{s}.stf_over_dsm_nfe"), ratio));
        }
        out.figures.push((String::new(), figure(&rs, &ro, &mean, &sd, metric)));
        summary = summary
            .str("row", rs)
            .str("objective", ro)
            .f64(&format!("{metric}_mean"), mean)
            .f64(&format!("{metric}_sd"), sd)
            .f64("nfe_mean", nfes)
            .f64("nfe_sd", nfe_sd)
            .f64("paper_fid", paper_fid)
            .f64("paper_nfe", paper_nfe);
        out.tables = vec![("rows".into(), summary), ("per_model".into(), t.clone())];
        Ok(out)
    }
}

/// The score of each row for DSM and STF with ±1 s.d. over training seeds.
fn figure(rows: &[String], objective: &[String], mean: &[f64], sd: &[f64], metric: &str) -> Figure {
    let mut names: Vec<String> = rows.to_vec();
    names.dedup();
    let series = |o: &str, k: usize, shift: f64| -> Vec<Series> {
        let idx: Vec<usize> = (0..rows.len()).filter(|&i| objective[i] == o).collect();
        let at = |i: usize| names.iter().position(|n| *n == rows[i]).unwrap_or(0) as f64 + shift;
        vec![
            Series {
                label: o.to_string(),
                points: idx.iter().map(|&i| (at(i), mean[i])).collect(),
                style: Style::Markers,
                color: k,
            },
            Series {
                label: format!("{o} ± 1 s.d."),
                points: idx.iter().flat_map(|&i| [(at(i), mean[i] - sd[i]), (at(i), mean[i] + sd[i])]).collect(),
                style: Style::Markers,
                color: k,
            },
        ]
    };
    let objectives: Vec<String> = {
        let mut o: Vec<String> = objective.to_vec();
        o.sort();
        o.dedup();
        o
    };
    Figure {
        title: format!(
            "DSM vs STF: {metric} per sampler row ({}), mean and ±1 s.d. over training seeds",
            names.join(", ")
        ),
        columns: 1,
        panels: vec![Panel {
            title: format!("rows 0…{}: {}", names.len().saturating_sub(1), names.join(" | ")),
            x_label: "row".into(),
            y_label: metric.into(),
            series: objectives.iter().enumerate().flat_map(|(k, o)| series(o, k, 0.1 * k as f64 - 0.05)).collect(),
            ..Default::default()
        }],
    }
}

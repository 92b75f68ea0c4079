//! Tables B.6, B.8 and B.13 (thesis App. B.3): the NFE of every published Restart configuration
//! by the thesis's formula (l.4262) and by counting the denoiser calls of our Restart sampler,
//! beside the NFE (or steps) the tables print. One cell per configuration.

use crate::{CellDone, Experiment, Outcome, Quantity, Run};
use anyhow::{anyhow, bail, Context, Result};
use artifacts::{Table, Tables};
use exact_denoisers::GaussianMixture;
use registry::Params;
use samplers::grid::edm_main;
use samplers::restart::{Interval, MainSolver, Restart};
use samplers::Particles;

/// The runner `restart-nfe`.
pub struct RestartNfe;

/// A configuration `N_main; N,K,t_min,t_max; …` as printed in the tables.
fn parse_config(text: &str) -> Result<(usize, Vec<Interval>)> {
    let mut parts = text.split(';');
    let n_main = parts
        .next()
        .unwrap_or("")
        .trim()
        .parse()
        .with_context(|| format!("configuration `{text}`: N_main is not an integer"))?;
    let intervals = parts
        .map(|iv| {
            let v: Vec<f64> = iv
                .split(',')
                .map(|x| x.trim().parse::<f64>())
                .collect::<Result<_, _>>()
                .with_context(|| format!("configuration `{text}`: interval `{iv}` is not four numbers"))?;
            if v.len() != 4 {
                bail!("configuration `{text}`: interval `{iv}` must be N_Restart,K,t_min,t_max");
            }
            Ok(Interval {
                n_restart: v[0] as usize,
                k: v[1] as usize,
                t_min: v[2],
                t_max: v[3],
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((n_main, intervals))
}

fn parse_main(s: &str) -> Result<MainSolver> {
    match s {
        "heun" => Ok(MainSolver::Heun),
        "euler" => Ok(MainSolver::Euler),
        "dpm-solver-3" => Ok(MainSolver::DpmSolver3),
        _ => bail!("unknown main solver `{s}` (use heun, euler, dpm-solver-3)"),
    }
}

struct Rows {
    labels: Vec<String>,
    configs: Vec<String>,
    mains: Vec<String>,
    paper: Vec<f64>,
}

fn rows(p: &Params) -> Result<Rows> {
    let r = Rows {
        labels: p.str_list("labels")?,
        configs: p.str_list("configs")?,
        mains: p.str_list("mains")?,
        paper: p.f64_list("paper_nfe")?,
    };
    let n = r.labels.len();
    if r.configs.len() != n || r.mains.len() != n || r.paper.len() != n {
        bail!("parameters `labels`, `configs`, `mains` and `paper_nfe` must have the same length");
    }
    Ok(r)
}

impl Experiment for RestartNfe {
    fn cells(&self, params: &Params) -> Result<Vec<String>> {
        Ok(rows(params)?.labels)
    }

    fn run_cells(&self, run: &Run, cells: &[usize], done: &CellDone) -> Result<()> {
        let r = rows(run.params)?;
        let (sigma_min, sigma_max) = (run.params.f64("sigma_min")?, run.params.f64("sigma_max")?);
        // NFE does not depend on the data: a 1-D Gaussian and two samples suffice to count calls.
        let den = GaussianMixture::new(1, vec![1.0], vec![0.0], vec![0.25]);
        for &c in cells {
            let (n_main, intervals) = parse_config(&r.configs[c])?;
            let main = parse_main(&r.mains[c])?;
            let sampler = Restart {
                main_grid: edm_main(sigma_min, sigma_max, n_main, 7.0),
                intervals: intervals.clone(),
                main,
                s_noise: 1.0,
                gamma: 0.0,
                rho: 7.0,
                jump: samplers::jump::Jump::Gaussian,
            };
            let mut p = Particles::from_prior(2, 1, sigma_max, run.stream.child(c as u64));
            sampler.sample(&den, &mut p).with_context(|| format!("configuration {}", r.labels[c]))?;
            let formula = Restart::nfe_formula(n_main, &intervals, main);
            let snapped = sampler.snapped().iter().map(|iv| format!("{:.4}", iv.t_min)).collect::<Vec<_>>().join(" ");
            let t = Table::new()
                .str("row", vec![r.labels[c].clone()])
                .str("configuration", vec![r.configs[c].clone()])
                .str("main_solver", vec![r.mains[c].clone()])
                .f64("paper", vec![r.paper[c]])
                .i64("formula", vec![formula as i64])
                .i64("counted", vec![p.nfe as i64])
                .str("snapped_t_min", vec![snapped]);
            done(c, vec![("nfe".into(), t)])?;
        }
        Ok(())
    }

    fn finish(&self, params: &Params, tables: Tables) -> Result<Outcome> {
        let r = rows(params)?;
        let t = &tables.iter().find(|(n, _)| n == "nfe").ok_or_else(|| anyhow!("no nfe table"))?.1;
        let (paper, formula, counted) = (
            t.f64_column("paper").unwrap_or_default(),
            t.f64_column("formula").unwrap_or_default(),
            t.f64_column("counted").unwrap_or_default(),
        );
        let mut out = Outcome {
            tables: tables.clone(),
            ..Default::default()
        };
        for (i, label) in r.labels.iter().enumerate() {
            out.quantities.push(Quantity::exact(format!("{label}.formula"), formula[i]));
        }
        out.quantities.push(Quantity::exact(
            "counted_vs_formula_mismatches",
            (0..formula.len()).filter(|&i| formula[i] != counted[i]).count() as f64,
        ));
        let off: Vec<String> = (0..paper.len())
            .filter(|&i| paper[i] != formula[i])
            .map(|i| format!("{} (printed {}, configuration gives {})", r.labels[i], paper[i], formula[i]))
            .collect();
        out.quantities
            .push(Quantity::exact("rows_where_printed_differs_from_configuration", off.len() as f64));
        if !off.is_empty() {
            out.notes.push(format!("The thesis's own arithmetic does not add up for: {}.", off.join("; ")));
        }
        Ok(out)
    }
}

//! Table 5.1's PFGM++ rows (thesis l.1219), small tier: the model of `table-5.1` (20-D, 2000 points,
//! four-layer MLP of width 64) trained with the PFGM++ perturbation at D = `augment` (Alg. 12,
//! σ = r/√D, EDM preconditioning), sampled from the PFGM++ prior (Alg. 14) by Heun at NFE 35 and
//! 63 and by Restart {18; (3, 2, 0.14, 0.30)} at NFE 43 with the authors' forward jump in N + D
//! dimensions (`samplers::jump`). Scored like `table-5.1`: exact W1 and MMD against the data,
//! paired by sampling seed.

use crate::{CellDone, Experiment, Outcome, Quantity, Run};
use anyhow::{anyhow, Result};
use artifacts::{Table, Tables};
use figures::{Figure, Panel, Series, Style};
use registry::Params;
use samplers::{jump::Jump, spec::SamplerSpec, Particles};
use training::Perturbation;

/// The runner `table-5-1-pfgmpp`.
pub struct Table51Pfgmpp;

/// (row, sampler spec, paper NFE, paper FID on CIFAR-10 with D = 2048).
const ROWS: [(&str, &str, f64, f64); 3] = [
    ("ode-heun-63", "heun 32", 63.0, 1.91),
    ("ode-heun-35", "heun 18", 35.0, 1.91),
    ("restart-43", "restart 18 3 2 0.14 0.30", 43.0, 1.88),
];

/// EDM's σ_max, as in `table-5.1`; the prior radius is r_max = σ_max√D.
const SIGMA_MAX: f64 = 80.0;

impl Experiment for Table51Pfgmpp {
    fn cells(&self, params: &Params) -> Result<Vec<String>> {
        let s = crate::table_5_1::seeds(params)?;
        Ok(ROWS.iter().flat_map(|r| (0..s).map(move |k| format!("{} seed {k}", r.0))).collect())
    }

    fn run_cells(&self, run: &Run, cells: &[usize], done: &CellDone) -> Result<()> {
        let p = run.params;
        let (s, d) = (crate::table_5_1::seeds(p)?, p.f64("augment")?);
        let data = crate::restart_model::data(p)?;
        let model = crate::restart_model::trained_with(run, &data, Perturbation::Pfgmpp { augment: d })?;
        let kernel = metrics::GaussianMixtureKernel::pfgmpp(&data, &data, 20);
        let n = data.len() / 20;
        for &c in cells {
            let (row, seed) = (c / s, c % s);
            let spec = SamplerSpec::parse(ROWS[row].1)?;
            // Alg. 14: each sample's prior draw from its own stream, the same for every row (paired).
            let stream = run.stream.child(seed as u64);
            let prior: Vec<f64> = (0..n)
                .flat_map(|i| pfgmpp::sample_prior(&mut stream.named("prior").child(i as u64).rng(), 20, d, SIGMA_MAX))
                .collect();
            let mut particles = Particles::from_states(20, prior, stream);
            match spec.restart() {
                Some(mut restart) => {
                    restart.jump = Jump::Pfgmpp { augment: d as usize };
                    restart.sample(&model, &mut particles)?
                }
                None => spec.sample(&model, &mut particles)?,
            }
            let t = crate::table_5_1::score_cell(ROWS[row].0, seed, &particles, &data, &kernel);
            done(c, vec![("per_seed".into(), t)])?;
        }
        Ok(())
    }

    fn finish(&self, _params: &Params, tables: Tables) -> Result<Outcome> {
        let t = artifacts::table::find(&tables, "per_seed")?;
        let rows = t.strings("row")?;
        let col = |c: &str| t.f64_column(c).ok_or_else(|| anyhow!("per_seed lacks `{c}`"));
        let (seed, nfe, w1, mmd) = (col("seed")?, col("nfe")?, col("w1")?, col("mmd2")?);
        let stats = |name: &str, v: &[f64]| crate::table_5_1::row_estimate(&rows, name, v);
        let mut out = Outcome::default();
        let (mut names, mut nfes, mut pf, mut wm, mut ws, mut mm) = (vec![], vec![], vec![], vec![], vec![], vec![]);
        for (name, _, _, paper_fid) in ROWS {
            let (e_w, e_m) = (stats(name, &w1), stats(name, &mmd));
            let mean_nfe = stats(name, &nfe).mean;
            names.push(name.to_string());
            nfes.push(mean_nfe);
            pf.push(paper_fid);
            wm.push(e_w.mean);
            ws.push(e_w.se * (e_w.n as f64).sqrt());
            mm.push(e_m.mean);
            out.quantities.push(Quantity::exact(format!("{name}.nfe"), mean_nfe));
            out.quantities.push(Quantity::mc(format!("{name}.w1"), e_w.mean, e_w.se));
            out.quantities.push(Quantity::mc(format!("{name}.mmd2"), e_m.mean, e_m.se));
        }
        let z = |a: &str, b: &str| crate::table_5_1::paired_difference_in_se(&rows, &seed, &w1, a, b);
        out.quantities
            .push(Quantity::exact("restart43_minus_heun63_w1_in_se", z("restart-43", "ode-heun-63")));
        out.quantities
            .push(Quantity::exact("restart43_minus_heun35_w1_in_se", z("restart-43", "ode-heun-35")));
        let summary = Table::new()
            .str("row", names.clone())
            .f64("nfe", nfes.clone())
            .f64("paper_fid_cifar10_d2048", pf.clone())
            .f64("w1_mean", wm.clone())
            .f64("w1_sd", ws)
            .f64("mmd2_mean", mm.clone());
        out.figures.push((String::new(), figure(&names, &nfes, &wm, &mm, &pf)));
        out.tables = vec![("rows".into(), summary), ("per_seed".into(), t.clone())];
        Ok(out)
    }
}

/// W1 and MMD² against NFE for the Heun rows (a line) and Restart (a point), and the paper's
/// CIFAR-10 FID in a panel of its own (never compared).
fn figure(names: &[String], nfe: &[f64], w1: &[f64], mmd: &[f64], fid: &[f64]) -> Figure {
    let series = |v: &[f64]| -> Vec<Series> {
        [("ode-heun", "ODE (Heun)"), ("restart", "Restart")]
            .iter()
            .enumerate()
            .map(|(c, (prefix, label))| {
                let mut pts: Vec<(f64, f64)> = names
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| n.starts_with(prefix))
                    .map(|(i, _)| (nfe[i], v[i]))
                    .collect();
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                Series {
                    label: label.to_string(),
                    points: pts,
                    style: Style::LineMarkers,
                    color: c,
                }
            })
            .collect()
    };
    let panel = |title: &str, y: &str, v: &[f64]| Panel {
        title: title.into(),
        x_label: "NFE".into(),
        y_label: y.into(),
        series: series(v),
        ..Default::default()
    };
    Figure {
        title: "Table 5.1, PFGM++ rows (D = 2048), small analog on the 20-D model".into(),
        columns: 3,
        panels: vec![
            panel("W1 to the 2000 data points (mean over seeds)", "W1", w1),
            panel("MMD² (PFGM++ kernel)", "MMD²", mmd),
            panel("paper: FID on CIFAR-10 (PFGM++, D = 2048)", "FID", fid),
        ],
    }
}

//! Table 5.1 (thesis l.1219), small tier: the thesis's rows — Heun at NFE 35 and 63, the Improved
//! SDE (EDM Alg. 2) at 35 and 63, Restart {N_main 18; (3, 2, 0.14, 0.30)} at 43 — on the 20-D,
//! 2000-point set of §5.4.1 with the four-layer, width-64 MLP trained by EDM's loss, scored by
//! exact W1 (assignment) and MMD against the data. One cell per (row, sampling seed); the model is
//! trained once and cached under `results/.checkpoints/<sha256 of its config>/`.

use crate::{CellDone, Experiment, Outcome, Quantity, Run};
use anyhow::{bail, Result};
use artifacts::{Table, Tables};
use figures::{Figure, Panel, Series, Style};
use registry::Params;
use samplers::spec::{SamplerSpec, SIGMA_MAX};
use samplers::Particles;

/// The runner `table-5-1`.
pub struct Table51;

/// (row, sampler spec — `{churn}` stands for the declared S_churn S_tmin S_tmax S_noise —,
/// paper NFE, paper FID).
pub(crate) const ROWS: [(&str, &str, f64, f64); 5] = [
    ("ode-heun-63", "heun 32", 63.0, 1.97),
    ("ode-heun-35", "heun 18", 35.0, 1.97),
    ("improved-sde-63", "edm-sde 32 {churn}", 63.0, 2.27),
    ("improved-sde-35", "edm-sde 18 {churn}", 35.0, 2.45),
    ("restart-43", "restart 18 3 2 0.14 0.30", 43.0, 1.90),
];

/// The number of sampling seeds (at least 2, for a standard deviation); also `table-5.1-pfgmpp`'s.
pub(crate) fn seeds(p: &Params) -> Result<usize> {
    let s = p.usize("sampling_seeds")?;
    if s < 2 {
        bail!("parameter `sampling_seeds` must be at least 2 for a standard deviation");
    }
    Ok(s)
}

/// The sampler of each row, with the Improved SDE's churn settings from the parameters.
pub(crate) fn specs(p: &Params) -> Result<Vec<SamplerSpec>> {
    let churn = ["s_churn", "s_tmin", "s_tmax", "s_noise"]
        .iter()
        .map(|k| p.f64(k).map(|v| v.to_string()))
        .collect::<Result<Vec<_>>>()?
        .join(" ");
    ROWS.iter().map(|r| SamplerSpec::parse(&r.1.replace("{churn}", &churn))).collect()
}

impl Experiment for Table51 {
    fn cells(&self, params: &Params) -> Result<Vec<String>> {
        let s = seeds(params)?;
        Ok(ROWS.iter().flat_map(|r| (0..s).map(move |k| format!("{} seed {k}", r.0))).collect())
    }

    fn run_cells(&self, run: &Run, cells: &[usize], done: &CellDone) -> Result<()> {
        let p = run.params;
        let s = seeds(p)?;
        let data = crate::restart_model::data(p)?;
        let model = crate::restart_model::trained(run, &data)?;
        let specs = specs(p)?;
        let kernel = metrics::GaussianMixtureKernel::pfgmpp(&data, &data, 20);
        for &c in cells {
            let (row, seed) = (c / s, c % s);
            let mut particles = Particles::from_prior(data.len() / 20, 20, SIGMA_MAX, run.stream.child(seed as u64));
            specs[row].sample(&model, &mut particles)?;
            done(c, vec![("per_seed".into(), score_cell(ROWS[row].0, seed, &particles, &data, &kernel))])?;
        }
        Ok(())
    }

    fn finish(&self, _params: &Params, tables: Tables) -> Result<Outcome> {
        let t = artifacts::table::find(&tables, "per_seed")?;
        let rows = t.strings("row")?;
        let (nfe, w1, mmd) = (
            t.f64_column("nfe").unwrap_or_default(),
            t.f64_column("w1").unwrap_or_default(),
            t.f64_column("mmd2").unwrap_or_default(),
        );
        let stats = |name: &str, v: &[f64]| row_estimate(&rows, name, v);
        let sd = |e: &metrics::Estimate| e.se * (e.n as f64).sqrt();
        let mut summary = Table::new();
        let (mut names, mut nfes, mut paper_nfe, mut paper_fid, mut wm, mut ws, mut mm, mut ms) =
            (vec![], vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
        let mut out = Outcome::default();
        for (name, _, pn, pf) in ROWS {
            let (e_w, e_m) = (stats(name, &w1), stats(name, &mmd));
            names.push(name.to_string());
            nfes.push(stats(name, &nfe).mean);
            paper_nfe.push(pn);
            paper_fid.push(pf);
            wm.push(e_w.mean);
            ws.push(sd(&e_w));
            mm.push(e_m.mean);
            ms.push(sd(&e_m));
            out.quantities.push(Quantity::exact(format!("{name}.nfe"), stats(name, &nfe).mean));
            out.quantities.push(Quantity::mc(format!("{name}.w1"), e_w.mean, e_w.se));
            out.quantities.push(Quantity::mc(format!("{name}.mmd2"), e_m.mean, e_m.se));
        }
        out.figures.push((String::new(), figure(&names, &nfes, &wm, &ws, &mm, &paper_fid)));
        summary = summary
            .str("row", names)
            .f64("nfe", nfes)
            .f64("paper_nfe", paper_nfe)
            .f64("paper_fid_cifar10", paper_fid)
            .f64("w1_mean", wm)
            .f64("w1_sd", ws)
            .f64("mmd2_mean", mm)
            .f64("mmd2_sd", ms);
        let seed = t.f64_column("seed").unwrap_or_default();
        let z = |a: &str, b: &str| paired_difference_in_se(&rows, &seed, &w1, a, b);
        out.quantities
            .push(Quantity::exact("restart43_minus_heun63_w1_in_se", z("restart-43", "ode-heun-63")));
        out.quantities.push(Quantity::exact(
            "restart43_minus_best_sde_w1_in_se",
            z("restart-43", "improved-sde-63").max(z("restart-43", "improved-sde-35")),
        ));
        out.tables = vec![("rows".into(), summary), ("per_seed".into(), t.clone())];
        Ok(out)
    }
}

/// One cell's `per_seed` row: the row's name, the sampling seed, the NFE spent, and the exact W1
/// (assignment) and biased MMD² of the samples against the data (shared by `table-5.1-pfgmpp`).
pub(crate) fn score_cell(row: &str, seed: usize, particles: &Particles, data: &[f64], kernel: &metrics::GaussianMixtureKernel) -> Table {
    let w1 = metrics::w1_exact(&particles.x, data, 20).distance;
    let mmd = metrics::mmd_squared(&particles.x, data, 20, kernel).biased;
    Table::new()
        .str("row", vec![row.into()])
        .i64("seed", vec![seed as i64])
        .i64("nfe", vec![particles.nfe as i64])
        .f64("w1", vec![w1])
        .f64("mmd2", vec![mmd])
}

/// Mean and s.e. over seeds of the values `v` in the rows whose `row` column is `name`.
pub(crate) fn row_estimate(rows: &[String], name: &str, v: &[f64]) -> metrics::Estimate {
    metrics::Estimate::of(&(0..rows.len()).filter(|&i| rows[i] == name).map(|i| v[i]).collect::<Vec<_>>())
}

/// A score (W1, FD-digits, …) of row `a` minus row `b`, paired by seed (rows share their prior
/// draws seed by seed), as mean/s.e. of the differences.
pub(crate) fn paired_difference_in_se(rows: &[String], seed: &[f64], score: &[f64], a: &str, b: &str) -> f64 {
    let of = |name: &str| -> Vec<(f64, f64)> { (0..rows.len()).filter(|&i| rows[i] == name).map(|i| (seed[i], score[i])).collect() };
    let (x, y) = (of(a), of(b));
    let e = metrics::Estimate::of(
        &x.iter()
            .map(|(s, v)| v - y.iter().find(|(s2, _)| s2 == s).map_or(f64::NAN, |p| p.1))
            .collect::<Vec<_>>(),
    );
    e.mean / e.se
}

/// W1 and MMD² of each row against its NFE, one series per sampler, with ±1 s.d. over the seeds
/// drawn as dashed pairs, and the paper's CIFAR-10 FID in a panel of its own (never compared).
fn figure(names: &[String], nfe: &[f64], w1: &[f64], w1_sd: &[f64], mmd: &[f64], fid: &[f64]) -> Figure {
    let families = [("ode-heun", "ODE (Heun)"), ("improved-sde", "Improved SDE"), ("restart", "Restart")];
    let pick = |prefix: &str, v: &[f64]| -> Vec<(f64, f64)> {
        let mut p: Vec<(f64, f64)> = names
            .iter()
            .enumerate()
            .filter(|(_, n)| n.starts_with(prefix))
            .map(|(i, _)| (nfe[i], v[i]))
            .collect();
        p.sort_by(|a, b| a.0.total_cmp(&b.0));
        p
    };
    let panel = |title: &str, y_label: &str, v: &[f64], spread: Option<&[f64]>| {
        let mut series = vec![];
        for (c, (prefix, label)) in families.iter().enumerate() {
            series.push(Series {
                label: label.to_string(),
                points: pick(prefix, v),
                style: Style::LineMarkers,
                color: c,
            });
            if let Some(sd) = spread {
                let hi: Vec<f64> = v.iter().zip(sd).map(|(a, b)| a + b).collect();
                series.push(Series {
                    label: format!("{label} + 1 s.d."),
                    points: pick(prefix, &hi),
                    style: Style::Dashed,
                    color: c,
                });
            }
        }
        Panel {
            title: title.into(),
            x_label: "NFE".into(),
            y_label: y_label.into(),
            series,
            ..Default::default()
        }
    };
    Figure {
        title: "Table 5.1 small analog: the thesis's rows on the 20-D model (paper's CIFAR-10 FID on the right)".into(),
        columns: 3,
        panels: vec![
            panel("W1 to the 2000 data points (mean over seeds)", "W1", w1, Some(w1_sd)),
            panel("MMD² (PFGM++ kernel)", "MMD²", mmd, None),
            panel("paper: FID on CIFAR-10 (EDM-VP)", "FID", fid, None),
        ],
    }
}

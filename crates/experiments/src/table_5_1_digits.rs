//! Table 5.1 (thesis l.1219) on real images, small tier: the thesis's rows — Heun at NFE 35 and
//! 63, the Improved SDE (EDM Alg. 2) at 35 and 63, Restart {N_main 18; (3, 2, 0.14, 0.30)} at 43
//! — on the U-Net trained by EDM's loss on the 1797 UCI digits (8×8, the CIFAR-10 stand-in),
//! scored by FD-digits against the digits. One cell per (row, sampling seed), each seed's prior
//! draws shared by every row; the model is trained once and cached.

use crate::image_model::{self, FdDigits, Objective, Setting};
use crate::table_5_1::{paired_difference_in_se, row_estimate, seeds, specs, ROWS};
use crate::{CellDone, Experiment, Outcome, Quantity, Run};
use anyhow::Result;
use artifacts::{Table, Tables};
use figures::{Figure, ImageGrid, Panel, Series, Style};
use registry::Params;
use samplers::spec::SIGMA_MAX;
use samplers::Particles;

/// The runner `table-5-1-digits`.
pub struct Table51Digits;

/// The images shown in the sample grid of each row (the first of seed 0).
const GRID: usize = 64;

impl Experiment for Table51Digits {
    fn cells(&self, params: &Params) -> Result<Vec<String>> {
        let s = seeds(params)?;
        Ok(ROWS.iter().flat_map(|r| (0..s).map(move |k| format!("{} seed {k}", r.0))).collect())
    }

    fn run_cells(&self, run: &Run, cells: &[usize], done: &CellDone) -> Result<()> {
        let p = run.params;
        let s = seeds(p)?;
        let digits = image_model::images("digits")?;
        let (model, train) = image_model::configs(p, &digits, Setting::Edm, p.u64("train_seed")?)?;
        let net = image_model::trained(run, &digits, "digits", &model, &train, Objective::Stf { reference: 1 })?.ema;
        let specs = specs(p)?;
        let fd = FdDigits::new()?;
        let n = p.usize("samples")?;
        for &c in cells {
            let (row, seed) = (c / s, c % s);
            let mut particles = Particles::from_prior(n, digits.dim(), SIGMA_MAX, run.stream.child(seed as u64));
            specs[row].sample(&net, &mut particles)?;
            let score = fd.score(&particles.x)?;
            let mut tables = vec![(
                "per_seed".to_string(),
                Table::new()
                    .str("row", vec![ROWS[row].0.into()])
                    .i64("seed", vec![seed as i64])
                    .i64("nfe", vec![particles.nfe as i64])
                    .f64("fd_digits", vec![score]),
            )];
            if seed == 0 {
                tables.push(("grid".into(), grid_table(ROWS[row].0, &particles.x[..GRID.min(n) * digits.dim()])));
            }
            done(c, tables)?;
        }
        Ok(())
    }

    fn finish(&self, _params: &Params, tables: Tables) -> Result<Outcome> {
        let t = artifacts::table::find(&tables, "per_seed")?;
        let rows = t.strings("row")?;
        let (nfe, fd, seed) = (
            t.f64_column("nfe").unwrap_or_default(),
            t.f64_column("fd_digits").unwrap_or_default(),
            t.f64_column("seed").unwrap_or_default(),
        );
        let stats = |name: &str, v: &[f64]| row_estimate(&rows, name, v);
        let mut out = Outcome::default();
        let (mut names, mut nfes, mut paper_nfe, mut paper_fid, mut means, mut sds) = (vec![], vec![], vec![], vec![], vec![], vec![]);
        for (name, _, pn, pf) in ROWS {
            let e = stats(name, &fd);
            names.push(name.to_string());
            nfes.push(stats(name, &nfe).mean);
            paper_nfe.push(pn);
            paper_fid.push(pf);
            means.push(e.mean);
            sds.push(e.se * (e.n as f64).sqrt());
            out.quantities.push(Quantity::exact(format!("{name}.nfe"), stats(name, &nfe).mean));
            out.quantities.push(Quantity::mc(format!("{name}.fd_digits"), e.mean, e.se));
        }
        let z = |a: &str, b: &str| paired_difference_in_se(&rows, &seed, &fd, a, b);
        out.quantities
            .push(Quantity::exact("restart43_minus_heun63_fd_in_se", z("restart-43", "ode-heun-63")));
        out.quantities.push(Quantity::exact(
            "restart43_minus_best_sde_fd_in_se",
            z("restart-43", "improved-sde-63").max(z("restart-43", "improved-sde-35")),
        ));
        out.figures.push((String::new(), figure(&names, &nfes, &means, &sds, &paper_fid)));
        if let Some((_, g)) = tables.iter().find(|(n, _)| n == "grid") {
            out.images.push(("samples".into(), sample_grid(g, 8, 8)?));
        }
        let summary = Table::new()
            .str("row", names)
            .f64("nfe", nfes)
            .f64("paper_nfe", paper_nfe)
            .f64("paper_fid_cifar10", paper_fid)
            .f64("fd_digits_mean", means)
            .f64("fd_digits_sd", sds);
        out.tables = vec![("rows".into(), summary), ("per_seed".into(), t.clone())];
        Ok(out)
    }
}

/// The first images of a cell as a long table (row name, image index, pixel index, value), from
/// which [`sample_grid`] draws.
pub(crate) fn grid_table(row: &str, pixels: &[f64]) -> Table {
    Table::new()
        .str("row", vec![row.to_string(); pixels.len()])
        .i64("pixel", (0..pixels.len() as i64).collect())
        .f64("value", pixels.to_vec())
}

/// One block of sample images per row name of a `grid` table, images of `height` × `width`
/// pixels in [−1, 1].
pub(crate) fn sample_grid(grid: &Table, height: usize, width: usize) -> Result<ImageGrid> {
    let rows = grid.strings("row")?;
    let values = grid.f64_column("value").unwrap_or_default();
    let mut blocks: Vec<(String, Vec<f64>)> = Vec::new();
    for (name, v) in rows.iter().zip(&values) {
        match blocks.last_mut() {
            Some((last, pixels)) if last == name => pixels.push(*v),
            _ => blocks.push((name.clone(), vec![*v])),
        }
    }
    Ok(ImageGrid {
        title: "samples (first 64 of seed 0), one block per sampler".into(),
        height,
        width,
        columns: 8,
        blocks,
    })
}

/// FD-digits against NFE per sampler family, with +1 s.d., and the paper's CIFAR-10 FID beside it.
fn figure(names: &[String], nfe: &[f64], fd: &[f64], sd: &[f64], paper: &[f64]) -> Figure {
    let families = [("ode-heun", "ODE (Heun)"), ("improved-sde", "Improved SDE"), ("restart", "Restart")];
    let pick = |prefix: &str, v: &[f64]| -> Vec<(f64, f64)> {
        let mut p: Vec<(f64, f64)> = (0..names.len()).filter(|&i| names[i].starts_with(prefix)).map(|i| (nfe[i], v[i])).collect();
        p.sort_by(|a, b| a.0.total_cmp(&b.0));
        p
    };
    let hi: Vec<f64> = fd.iter().zip(sd).map(|(a, b)| a + b).collect();
    let panel = |title: &str, y: &str, v: &[f64], spread: bool| Panel {
        title: title.into(),
        x_label: "NFE".into(),
        y_label: y.into(),
        series: families
            .iter()
            .enumerate()
            .flat_map(|(c, (prefix, label))| {
                let mut s = vec![Series {
                    label: label.to_string(),
                    points: pick(prefix, v),
                    style: Style::LineMarkers,
                    color: c,
                }];
                if spread {
                    s.push(Series {
                        label: format!("{label} + 1 s.d."),
                        points: pick(prefix, &hi),
                        style: Style::Dashed,
                        color: c,
                    });
                }
                s
            })
            .collect(),
        ..Default::default()
    };
    Figure {
        title: "Table 5.1 on the digits U-Net: FD-digits per sampler (paper's CIFAR-10 FID on the right)".into(),
        columns: 2,
        panels: vec![
            panel("FD-digits (mean over sampling seeds)", "FD-digits", fd, true),
            panel("paper: FID on CIFAR-10 (EDM-VP)", "FID", paper, false),
        ],
    }
}

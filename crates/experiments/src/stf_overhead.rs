//! Tables B.1 and B.2 (thesis l.3861, l.3866), small tier: the cost of the Stable Target Field per
//! training step beside the network's, for the digits and the LFW U-Nets of `table-3.1` and
//! `table-3.2`, as machine-independent counts: the target's arithmetic (B·n distances and weighted
//! sums of d-dimensional points, Alg. 1) against the network's forward and backward matrix
//! products (3× the forward), and the extra memory of the reference batch and its weights. The
//! wall-clock overhead on this machine is measured by `cargo xtask bench --only training` (timings
//! are not reproducible outputs, so they are not written here).

use crate::image_model::{self, Setting};
use crate::{CellDone, Experiment, Outcome, Quantity, Run};
use anyhow::Result;
use artifacts::{Table, Tables};
use figures::{Figure, Panel, Series, Style};
use registry::Params;

/// The runner `stf-overhead`.
pub struct StfOverhead;

fn cells_of(p: &Params) -> Result<Vec<(String, usize)>> {
    let refs = p.usize_list("references")?;
    Ok(p.str_list("datasets")?
        .into_iter()
        .flat_map(|d| refs.iter().map(move |&n| (d.clone(), n)))
        .collect())
}

impl Experiment for StfOverhead {
    fn cells(&self, params: &Params) -> Result<Vec<String>> {
        Ok(cells_of(params)?.into_iter().map(|(d, n)| format!("{d} n = {n}")).collect())
    }

    fn run_cells(&self, run: &Run, cells: &[usize], done: &CellDone) -> Result<()> {
        let p = run.params;
        let all = cells_of(p)?;
        for &c in cells {
            let (data, n) = &all[c];
            let images = image_model::images(data)?;
            let model = image_model::unet_config(p, &images, Setting::Ve)?;
            let batch = p.usize(&format!("{data}_batch"))?;
            let d = images.dim() as f64;
            let (b, n) = (batch as f64, *n as f64);
            // Alg. 1 per row: n squared distances (3 flops per coordinate), the softmax, and the
            // weighted sum of the n points (2 per coordinate).
            let target = b * n * (5.0 * d + 3.0);
            let network = 3.0 * b * model.forward_flops();
            // The n − 1 extra reference points (f64) and the B × n log-weights.
            let bytes = 8.0 * ((n - 1.0) * d + b * n);
            done(
                c,
                vec![(
                    "costs".into(),
                    Table::new()
                        .str("dataset", vec![data.clone()])
                        .i64("reference", vec![n as i64])
                        .i64("batch", vec![batch as i64])
                        .f64("target_mflop_per_step", vec![target / 1e6])
                        .f64("network_mflop_per_step", vec![network / 1e6])
                        .f64("flop_overhead", vec![target / network])
                        .f64("target_extra_mib", vec![bytes / (1024.0 * 1024.0)]),
                )],
            )?;
        }
        Ok(())
    }

    fn finish(&self, params: &Params, tables: Tables) -> Result<Outcome> {
        let t = artifacts::table::find(&tables, "costs")?;
        let data = t.strings("dataset")?;
        let (refs, overhead) = (t.f64_column("reference").unwrap_or_default(), t.f64_column("flop_overhead").unwrap_or_default());
        let mut out = Outcome::default();
        let mut series = vec![];
        for (k, d) in params.str_list("datasets")?.iter().enumerate() {
            let idx: Vec<usize> = (0..data.len()).filter(|&i| data[i] == *d).collect();
            for &i in &idx {
                out.quantities.push(Quantity::exact(format!("{d}.n{}.flop_overhead", refs[i]), overhead[i]));
            }
            series.push(Series {
                label: d.clone(),
                points: idx.iter().map(|&i| (refs[i], overhead[i])).collect(),
                style: Style::LineMarkers,
                color: k,
            });
        }
        out.figures.push((
            String::new(),
            Figure {
                title: "STF target arithmetic per training step over the U-Net's (forward + backward)".into(),
                columns: 1,
                panels: vec![Panel {
                    title: "flop overhead vs reference batch n".into(),
                    x_label: "reference batch n".into(),
                    y_label: "target flops / network flops".into(),
                    x_log: true,
                    y_log: true,
                    series,
                }],
            },
        ));
        out.notes.push(
            "Wall-clock: `cargo xtask bench --only training` times a DSM and an STF (n = 1024) step of each U-Net and the target alone on this machine.".into(),
        );
        out.tables = vec![("costs".into(), t.clone())];
        Ok(out)
    }
}

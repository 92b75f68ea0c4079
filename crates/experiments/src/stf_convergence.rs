//! Figures 3.4 and 3.5 (thesis l.768, l.777), small tier: FD-digits of the EMA model during
//! training, DSM against STF (Fig. 3.4) and for reference batches n ∈ {1, 16, 128, 1024}
//! (Fig. 3.5), on the digits U-Net in the VE setting. One cell per (n, training seed): the model
//! trains from scratch and, every `eval_every` steps, its EMA weights sample `samples` digits by
//! Heun on EDM's grid over the VE σ range (an ODE sampler, as the thesis's FID-during-training
//! uses) from the same prior draws, scored by FD-digits. The checkpoint and the evaluations so far
//! are saved at each evaluation, so an interrupted cell resumes where it stopped; the final
//! checkpoint is the one `table-3.1` loads for the same configuration.

use crate::image_model::{self, FdDigits, Setting};
use crate::{CellDone, Experiment, Outcome, Quantity, Run};
use anyhow::{bail, Context, Result};
use artifacts::{Table, Tables};
use figures::{Figure, Panel, Series, Style};
use rayon::prelude::*;
use registry::Params;
use samplers::{grid::edm_main, heun::sample_heun, Particles};
use stable_target::StfTarget;
use std::collections::BTreeMap;
use training::{Trainer, TrainingSet};

/// The runner `stf-convergence`.
pub struct StfConvergence;

/// (n, training seed) of every cell.
fn cells_of(p: &Params) -> Result<Vec<(usize, u64)>> {
    let refs = p.usize_list("references")?;
    if refs.is_empty() || refs.contains(&0) {
        bail!("parameter `references` must list reference batch sizes n ≥ 1 (n = 1 is DSM)");
    }
    let seeds = p.usize("train_seeds")? as u64;
    Ok(refs.iter().flat_map(|&r| (0..seeds).map(move |k| (r, k))).collect())
}

/// The evaluation steps: every `eval_every` steps up to `train_steps`.
fn eval_steps(p: &Params) -> Result<Vec<u64>> {
    let (every, total) = (p.u64("eval_every")?, p.u64("train_steps")?);
    if every == 0 || every > total {
        bail!("parameter `eval_every` ({every}) must lie in 1 ..= train_steps ({total})");
    }
    Ok((1..=total / every).map(|k| k * every).collect())
}

const EVALUATIONS: &str = "evaluations.json";

impl Experiment for StfConvergence {
    fn cells(&self, params: &Params) -> Result<Vec<String>> {
        Ok(cells_of(params)?.into_iter().map(|(r, k)| format!("n = {r} seed {k}")).collect())
    }

    fn run_cells(&self, run: &Run, cells: &[usize], done: &CellDone) -> Result<()> {
        let p = run.params;
        let digits = image_model::images("digits")?;
        let fd = FdDigits::new()?;
        let all = cells_of(p)?;
        let steps = eval_steps(p)?;
        let (n, dim) = (p.usize("samples")?, digits.dim());
        let grid = edm_main(p.f64("ve_sigma_min")?, p.f64("ve_sigma_max")?, p.usize("heun_steps")?, 7.0);
        let set = TrainingSet::new(dim, digits.rows.clone())?;
        cells.par_iter().try_for_each(|&c| -> Result<()> {
            let (reference, seed) = all[c];
            let (model, train) = image_model::configs(p, &digits, Setting::Ve, seed)?;
            // The checkpoint is table-3.1's (same key): a curve run leaves exactly the model that
            // a straight run trains (resumption is bit-exact), so table-3.1 reuses it. A model
            // trained past a missing evaluation without its curve is trained again beside it.
            let key = image_model::cache_key(&model, &train, reference, "digits")?;
            let mut dir = run.checkpoint_dir(&key)?;
            if !dir.join(EVALUATIONS).exists() && training::checkpoint::is_present(&dir) {
                dir = run.checkpoint_dir(&format!("{key}-curve"))?;
            }
            let stf = training::stf_target(StfTarget::new(dim, digits.rows.clone(), reference)?);
            let mut trainer = Trainer::open(&dir, &model, &train, &set)?;
            if reference > 1 {
                trainer = trainer.with_target(&stf);
            }
            let path = dir.join(EVALUATIONS);
            let mut scores: BTreeMap<u64, f64> = match std::fs::read_to_string(&path) {
                Ok(text) => serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))?,
                Err(_) => BTreeMap::new(),
            };
            for &s in &steps {
                if scores.contains_key(&s) {
                    continue;
                }
                if trainer.step() > s {
                    bail!(
                        "{}: the checkpoint is at step {} but evaluation {s} is missing; delete the folder (or pass --retrain)",
                        dir.display(),
                        trainer.step()
                    );
                }
                trainer.run_until(s)?;
                trainer.save(&dir)?;
                // The same prior draws at every evaluation and for every model.
                let mut x = Particles::from_prior(n, dim, grid[0], run.stream.child(0));
                sample_heun(&trainer.ema()?, &mut x, &grid)?;
                scores.insert(s, fd.score(&x.x)?);
                artifacts::write_atomic(&path, serde_json::to_string(&scores)?.as_bytes())?;
            }
            let table = Table::new()
                .i64("reference", vec![reference as i64; steps.len()])
                .i64("train_seed", vec![seed as i64; steps.len()])
                .i64("step", steps.iter().map(|&s| s as i64).collect())
                .f64("fd_digits", steps.iter().map(|s| scores[s]).collect());
            done(c, vec![("curves".into(), table)])
        })
    }

    fn finish(&self, params: &Params, tables: Tables) -> Result<Outcome> {
        let t = artifacts::table::find(&tables, "curves")?;
        let (reference, step, fd) = (
            t.f64_column("reference").unwrap_or_default(),
            t.f64_column("step").unwrap_or_default(),
            t.f64_column("fd_digits").unwrap_or_default(),
        );
        let steps = eval_steps(params)?;
        let refs = params.usize_list("references")?;
        let mean_at = |r: usize, s: u64| -> metrics::Estimate {
            metrics::Estimate::of(
                &(0..fd.len())
                    .filter(|&i| reference[i] == r as f64 && step[i] == s as f64)
                    .map(|i| fd[i])
                    .collect::<Vec<_>>(),
            )
        };
        let mut out = Outcome::default();
        let (mut cr, mut cs, mut cm, mut csd) = (vec![], vec![], vec![], vec![]);
        let mut series = vec![];
        for (k, &r) in refs.iter().enumerate() {
            let mut pts = vec![];
            for &s in &steps {
                let e = mean_at(r, s);
                cr.push(r as i64);
                cs.push(s as i64);
                cm.push(e.mean);
                csd.push(e.se * (e.n as f64).sqrt());
                pts.push((s as f64, e.mean));
            }
            series.push(Series {
                label: if r == 1 { "DSM (n = 1)".into() } else { format!("STF, n = {r}") },
                points: pts,
                style: Style::LineMarkers,
                color: k,
            });
            // Area under the FD curve per evaluation (lower: faster convergence), and the final value.
            let auc = steps.iter().map(|&s| mean_at(r, s).mean).sum::<f64>() / steps.len() as f64;
            out.quantities.push(Quantity::exact(format!("n{r}.mean_fd_over_training"), auc));
            let last = mean_at(r, *steps.last().expect("at least one evaluation"));
            out.quantities.push(Quantity::mc(format!("n{r}.final_fd"), last.mean, last.se));
        }
        // The claims against DSM: the largest n's curve below DSM's, and the ordering in n.
        let auc = |r: usize| steps.iter().map(|&s| mean_at(r, s).mean).sum::<f64>() / steps.len() as f64;
        let largest = *refs.iter().max().expect("non-empty");
        if refs.contains(&1) && largest > 1 {
            out.quantities.push(Quantity::exact("largest_n_over_dsm_mean_fd", auc(largest) / auc(1)));
            let below = steps.iter().filter(|&&s| mean_at(largest, s).mean < mean_at(1, s).mean).count();
            out.quantities.push(Quantity::exact(
                "fraction_of_evaluations_largest_n_below_dsm",
                below as f64 / steps.len() as f64,
            ));
        }
        let mut sorted = refs.clone();
        sorted.sort();
        let monotone = sorted.windows(2).filter(|w| auc(w[1]) <= auc(w[0])).count();
        if sorted.len() > 1 {
            out.quantities.push(Quantity::exact(
                "fraction_of_n_steps_that_lower_the_curve",
                monotone as f64 / (sorted.len() - 1) as f64,
            ));
        }
        out.figures.push((
            String::new(),
            Figure {
                title: "FD-digits of the EMA model during training (VE, digits U-Net), mean over training seeds".into(),
                columns: 1,
                panels: vec![Panel {
                    title: "FD-digits vs training steps".into(),
                    x_label: "training steps".into(),
                    y_label: "FD-digits".into(),
                    y_log: true,
                    series,
                    ..Default::default()
                }],
            },
        ));
        let summary = Table::new()
            .i64("reference", cr)
            .i64("step", cs)
            .f64("fd_digits_mean", cm)
            .f64("fd_digits_sd", csd);
        out.tables = vec![("curves_mean".into(), summary), ("curves".into(), t.clone())];
        Ok(out)
    }
}

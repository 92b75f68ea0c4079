//! Table B.26 and Fig. B.36 (thesis B.6.3, l.5221–5265): PFGM++ with D ∈ {100, 1000, 10000, ∞} on
//! 1000-dimensional two-cluster data, trained with the authors' four-layer toy network of latent
//! width 4, 8 or 32; MMD between 2000 generated and the 2000 true points, and the (x₀, x₁) scatter.
//!
//! Protocol (`pfgmpp_toy.ipynb`, spec seeds-ch6-9 §3.2): the data are divided by √(0.2² + 1²) before
//! training and the samples multiplied back; σ_data = 1; ln σ ~ N(−1.2, 1.2²); the PFGM++ kernel at
//! r = σ√D (Alg. 12) through the shared trainer's [`Perturbation`] switch, D = ∞ being EDM's Gaussian;
//! loss weight (σ² + 1)/σ²; Adam lr 1e−3, batch 128, 200 epochs; sampling from the prior at
//! r_max = σ_max√D (Alg. 14) with Heun's method on EDM's grid (ρ = 7, σ 50 → 0.001, 50 steps, then 0);
//! the biased MMD with five Gaussian kernels around the pooled mean squared distance.
//! One cell per (latent, D, seed); each cell trains its own model, cached in
//! `results/.checkpoints/` under a hash of its configuration.

use crate::{CellDone, Experiment, Outcome, Quantity, Run};
use anyhow::{anyhow, bail, ensure, Result};
use artifacts::{Column, Table, Tables};
use datasets::{pfgmpp_two_clusters, PFGMPP_TOY_DIM as DIM};
use figures::{Figure, Panel, Series, Style};
use metrics::{mmd_squared, Estimate, GaussianMixtureKernel};
use rand::Rng as _;
use rayon::prelude::*;
use registry::Params;
use samplers::grid::edm_main;
use samplers::heun::sample_heun;
use samplers::steps::heun_step;
use samplers::Particles;
use training::{Mlp, MlpConfig, Perturbation, TrainConfig, TrainOptions, TrainingSet};

/// The runner `pfgmpp-1000d`.
pub struct TableB26;

/// The notebook's normaliser √(0.2² + 1²): the per-coordinate scale of the 10-D latent mixture.
fn data_scale() -> f64 {
    (0.2f64 * 0.2 + 1.0).sqrt()
}

/// "∞" or the number, for tables and titles.
pub fn d_label(d: f64) -> String {
    if d.is_infinite() {
        "∞".into()
    } else {
        format!("{d}")
    }
}

/// The key fragment of D: "inf" or the number.
pub fn d_key(d: f64) -> String {
    if d.is_infinite() {
        "inf".into()
    } else {
        format!("{d}")
    }
}

/// The sweep: latent widths and augmented dimensions, checked.
pub fn sweep(p: &Params) -> Result<(Vec<usize>, Vec<f64>, usize)> {
    let latents = p.usize_list("latents")?;
    if let Some(l) = latents.iter().find(|&&l| l == 0 || l % 2 == 1) {
        bail!("parameter `latents`: {l} is not an even positive width (the positional embedding has cos/sin pairs)");
    }
    let augments = p.f64_list("augments")?;
    if let Some(d) = augments.iter().find(|&&d| d.is_nan() || d <= 0.0) {
        bail!("parameter `augments`: D = {d} must be positive (inf for the Gaussian case)");
    }
    let seeds = p.usize("seeds")?;
    ensure!(seeds >= 1, "parameter `seeds` must be at least 1");
    Ok((latents, augments, seeds))
}

/// (latent index, D index, seed index) of cell c.
pub fn split(c: usize, n_aug: usize, seeds: usize) -> (usize, usize, usize) {
    (c / (n_aug * seeds), (c / seeds) % n_aug, c % seeds)
}

/// The true data on the original scale (row-major 2·per_cluster × 1000) and the normalised
/// training set.
pub fn data(p: &Params) -> Result<(Vec<f64>, TrainingSet)> {
    let truth = pfgmpp_two_clusters(p.usize("per_cluster")?, p.u64("data_seed")?);
    let scale = data_scale();
    let set = TrainingSet::new(DIM, truth.iter().map(|v| v / scale).collect())?;
    Ok((truth, set))
}

/// The perturbation of D (D = ∞: EDM's Gaussian).
fn perturbation(d: f64) -> Perturbation {
    if d.is_infinite() {
        Perturbation::Gaussian
    } else {
        Perturbation::Pfgmpp { augment: d }
    }
}

/// The model of this experiment's cell `cell` (latent width `latent`, D = `d`), trained on `set`
/// or loaded from `results/.checkpoints/`, and its last epoch's mean loss. Its seed comes from
/// `Stream::new(seed).child(cell)`, which other experiments reuse to load the same checkpoints.
pub fn trained(run: &Run, set: &TrainingSet, latent: usize, d: f64, cell: usize) -> Result<(Mlp, f64)> {
    let p = run.params;
    let batch = p.usize("batch")?;
    let steps_per_epoch = set.len().div_ceil(batch) as u64;
    let model = MlpConfig::pfgmpp_toy(DIM, latent);
    let train = TrainConfig {
        // The notebook's epochs of ⌈2000/128⌉ = 16 shuffled batches, drawn here with replacement.
        steps: p.u64("epochs")? * steps_per_epoch,
        batch,
        lr: p.f64("lr")?,
        // The notebook samples from the raw weights: an EMA with decay 0 is the raw weights, bit for bit.
        ema_decay: 0.0,
        p_mean: p.f64("p_mean")?,
        p_std: p.f64("p_std")?,
        seed: seeding::Stream::new(p.u64("seed")?).child(cell as u64).named("train").rng().random::<u64>(),
        log_every: steps_per_epoch,
        perturbation: perturbation(d),
        ..TrainConfig::default()
    };
    let key = artifacts::sha256_hex(serde_json::to_string(&(&model, &train, p.usize("per_cluster")?, p.u64("data_seed")?))?.as_bytes());
    let dir = run.checkpoint_dir(&format!("pfgmpp-toy-{}", &key[..16]))?;
    let options = TrainOptions {
        checkpoint: Some(&dir),
        checkpoint_every: 0,
        progress: false,
        target: None,
    };
    let trained = training::train(&model, &train, set, &options)?;
    let loss = trained.losses.points().last().map_or(f64::NAN, |l| l.loss);
    Ok((trained.ema, loss))
}

/// `samples` draws from `net` on the data's scale: x_T from the kernel around 0 at r_max = σ_max√D
/// (Alg. 14; D = ∞: N(0, σ_max² I)), then Heun on EDM's grid with `steps` steps. With α > 0 every
/// step first adds α·σ_i·N(0, I) (the authors' `generate_alpha.py`: `x_cur += randn * t_cur * alpha`).
pub fn generate(p: &Params, net: &Mlp, d: f64, steps: usize, alpha: f64, stream: seeding::Stream) -> Result<Vec<f64>> {
    let (n, sigma_max) = (p.usize("samples")?, p.f64("sigma_max")?);
    let prior = stream.named("prior");
    let x0: Vec<f64> = (0..n)
        .flat_map(|i| pfgmpp::sample_prior(&mut prior.child(i as u64).rng(), DIM, d, sigma_max))
        .collect();
    let mut particles = Particles::from_states(DIM, x0, stream.named("heun"));
    let grid = edm_main(p.f64("sigma_min")?, sigma_max, steps, p.f64("rho")?);
    let where_ = || format!("latent {}, D = {}, {steps} steps, α = {alpha}", net.config().hidden, d_label(d));
    if alpha == 0.0 {
        sample_heun(net, &mut particles, &grid).map_err(|e| anyhow!("{}: {e:#}", where_()))?;
    } else {
        for (i, w) in grid.windows(2).enumerate() {
            particles.add_noise(alpha * w[0]);
            heun_step(&mut particles, net, w[0], w[1])?;
            particles
                .check("heun with noise injection", i, w[1])
                .map_err(|e| anyhow!("{}: {e:#}", where_()))?;
        }
    }
    let scale = data_scale();
    Ok(particles.x.iter().map(|v| v * scale).collect())
}

/// The biased MMD² of the notebook between generated points and the truth.
pub fn mmd(generated: &[f64], truth: &[f64]) -> f64 {
    let kernel = GaussianMixtureKernel::pfgmpp(generated, truth, DIM);
    mmd_squared(generated, truth, DIM, &kernel).biased
}

impl Experiment for TableB26 {
    fn cells(&self, params: &Params) -> Result<Vec<String>> {
        let (latents, augments, seeds) = sweep(params)?;
        let mut out = vec![];
        for l in &latents {
            for d in &augments {
                for s in 0..seeds {
                    out.push(format!("latent={l},D={},seed={s}", d_label(*d)));
                }
            }
        }
        Ok(out)
    }

    fn run_cells(&self, run: &Run, cells: &[usize], done: &CellDone) -> Result<()> {
        let p = run.params;
        let (latents, augments, seeds) = sweep(p)?;
        let (truth, set) = data(p)?;
        let scatter = p.usize("scatter_points")?;
        cells.par_iter().try_for_each(|&c| -> Result<()> {
            let (li, di, s) = split(c, augments.len(), seeds);
            let (latent, d) = (latents[li], augments[di]);
            let (net, loss) = trained(run, &set, latent, d, c)?;
            let generated = generate(p, &net, d, p.usize("steps")?, 0.0, run.stream.child(c as u64).named("sample"))?;
            let mmd = mmd(&generated, &truth);
            let mut tables = vec![(
                "mmd".to_string(),
                Table::new()
                    .f64("latent", vec![latent as f64])
                    .str("D", vec![d_label(d)])
                    .f64("seed", vec![s as f64])
                    .f64("mmd", vec![mmd])
                    .f64("final_epoch_loss", vec![loss]),
            )];
            // Fig. B.36 shows one run per panel: the first seed's first `scatter_points` samples.
            if s == 0 {
                let k = scatter.min(generated.len() / DIM);
                tables.push((
                    "scatter".to_string(),
                    Table::new()
                        .f64("latent", vec![latent as f64; k])
                        .str("D", vec![d_label(d); k])
                        .f64("x0", generated.chunks_exact(DIM).take(k).map(|r| r[0]).collect())
                        .f64("x1", generated.chunks_exact(DIM).take(k).map(|r| r[1]).collect()),
                ));
            }
            done(c, tables)
        })
    }

    fn finish(&self, params: &Params, tables: Tables) -> Result<Outcome> {
        let (latents, augments, seeds) = sweep(params)?;
        let get = |name: &str| tables.iter().find(|(n, _)| n == name).map(|(_, t)| t).ok_or_else(|| anyhow!("no {name} table"));
        let mmd_t = get("mmd")?;
        let col = |t: &Table, name: &str| t.f64_column(name).ok_or_else(|| anyhow!("table lacks {name}"));
        let strs = |t: &Table, name: &str| -> Result<Vec<String>> {
            match t.column(name) {
                Some(Column::Str(v)) => Ok(v.clone()),
                _ => bail!("table lacks the text column {name}"),
            }
        };
        let (lat, dl, mmd) = (col(mmd_t, "latent")?, strs(mmd_t, "D")?, col(mmd_t, "mmd")?);

        // Mean ± s.d. over seeds per (latent, D), beside Table B.26.
        let (mut rl, mut rd, mut rm, mut rs, mut rn, mut rp) = (vec![], vec![], vec![], vec![], vec![], vec![]);
        let mut stats = std::collections::BTreeMap::new();
        let mut out = Outcome::default();
        for &l in &latents {
            for &d in &augments {
                let v: Vec<f64> = (0..mmd.len()).filter(|&i| lat[i] == l as f64 && dl[i] == d_label(d)).map(|i| mmd[i]).collect();
                ensure!(!v.is_empty(), "no MMD for latent {l}, D = {}", d_label(d));
                let e = Estimate::of(&v);
                stats.insert((l, d_key(d)), (e.mean, e.se));
                let key = format!("mmd.latent{l}.D{}", d_key(d));
                out.quantities.push(if e.se.is_finite() {
                    Quantity::mc(key, e.mean, e.se)
                } else {
                    Quantity::exact(key, e.mean)
                });
                rl.push(l as f64);
                rd.push(d_label(d));
                rm.push(e.mean);
                rs.push(e.se * (e.n as f64).sqrt());
                rn.push(e.n as f64);
                rp.push(paper(l, d).unwrap_or(f64::NAN));
            }
        }
        out.tables.push((
            "mmd_by_config".into(),
            Table::new()
                .f64("latent", rl)
                .str("D", rd)
                .f64("mmd_mean", rm)
                .f64("mmd_sd", rs)
                .f64("runs", rn)
                .f64("thesis_mmd", rp),
        ));
        out.tables.push(("mmd".into(), mmd_t.clone()));
        out.tables.push(("scatter".into(), get("scatter")?.clone()));

        // Claims: for latent 4 and 8, D = 1000 beats both D = 100 and D = ∞; for latent 32 all are small.
        for l in [4usize, 8] {
            let (Some(mid), Some(lo), Some(inf)) = (stats.get(&(l, "1000".into())), stats.get(&(l, "100".into())), stats.get(&(l, "inf".into()))) else {
                continue;
            };
            let rival = if lo.0 < inf.0 { lo } else { inf };
            out.quantities.push(Quantity::mc(
                format!("sweet_spot.latent{l}"),
                rival.0 - mid.0,
                (rival.1 * rival.1 + mid.1 * mid.1).sqrt(),
            ));
        }
        let l32: Vec<f64> = stats.iter().filter(|((l, _), _)| *l == 32).map(|(_, s)| s.0).collect();
        if !l32.is_empty() {
            out.quantities
                .push(Quantity::exact("latent32.max_mmd", l32.iter().copied().fold(f64::NEG_INFINITY, f64::max)));
        }
        out.notes.push(format!(
            "{} seeds per configuration, {} epochs of batch {}, {} Heun steps, {} samples; MMD is the biased estimate (the notebook's \
             mean(K_XX + K_YY − K_XY − K_YX)), ± is the s.e. over seeds.",
            seeds,
            params.usize("epochs")?,
            params.usize("batch")?,
            params.usize("steps")?,
            params.usize("samples")?
        ));

        // Fig. B.36: rows latent, columns D; generated points over the true ones.
        let (truth, _) = data(params)?;
        let sc = get("scatter")?;
        let (slat, sd, sx, sy) = (col(sc, "latent")?, strs(sc, "D")?, col(sc, "x0")?, col(sc, "x1")?);
        let k = params.usize("scatter_points")?.min(truth.len() / DIM);
        let (tx, ty): (Vec<f64>, Vec<f64>) = truth
            .chunks_exact(DIM)
            .step_by((truth.len() / DIM / k.max(1)).max(1))
            .take(k)
            .map(|r| (r[0], r[1]))
            .unzip();
        let mut panels = vec![];
        for &l in &latents {
            for &d in &augments {
                let idx: Vec<usize> = (0..sx.len()).filter(|&i| slat[i] == l as f64 && sd[i] == d_label(d)).collect();
                let gx: Vec<f64> = idx.iter().map(|&i| sx[i]).collect();
                let gy: Vec<f64> = idx.iter().map(|&i| sy[i]).collect();
                let m = stats.get(&(l, d_key(d))).map_or(f64::NAN, |s| s.0);
                panels.push(Panel {
                    title: format!("latent {l}, D = {} (MMD {m:.3})", d_label(d)),
                    x_label: "x₀".into(),
                    y_label: "x₁".into(),
                    series: vec![
                        Series::new("true data", &tx, &ty, Style::Markers, 1),
                        Series::new("generated", &gx, &gy, Style::Markers, 0),
                    ],
                    ..Default::default()
                });
            }
        }
        out.figures.push((
            String::new(),
            Figure {
                title: "Fig. B.36: first two coordinates of PFGM++ samples on 1000-D two-cluster data (rows: latent width; columns: D)".into(),
                panels,
                columns: augments.len(),
            },
        ));
        Ok(out)
    }
}

/// Table B.26's MMD for (latent, D) (l.5237).
fn paper(latent: usize, d: f64) -> Option<f64> {
    let col = [100.0, 1000.0, 10000.0, f64::INFINITY].iter().position(|&x| x == d)?;
    let row = [4, 8, 32].iter().position(|&x| x == latent)?;
    Some([[1.75, 0.17, 0.79, 1.82], [0.33, 0.16, 0.43, 1.46], [0.12, 0.01, 0.14, 0.07]][row][col])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared() -> Params {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments");
        registry::load(&dir, "table-b.26", &[]).unwrap().params()
    }

    #[test]
    fn finish_averages_seeds_and_measures_the_sweet_spot() {
        let p = declared();
        let (latents, augments, seeds) = sweep(&p).unwrap();
        assert_eq!(TableB26.cells(&p).unwrap().len(), latents.len() * augments.len() * seeds);
        // Synthetic MMDs: per (latent, D) a base value, plus 0.1·seed.
        let base = |l: usize, d: f64| match (l, d_key(d).as_str()) {
            (4, "100") => 1.0,
            (4, "1000") => 0.2,
            (4, "inf") => 0.7,
            (8, "1000") => 0.9,
            (32, "10000") => 0.15,
            _ => 0.5,
        };
        let mut mmd = Table::new();
        let mut scatter = Table::new();
        for c in 0..latents.len() * augments.len() * seeds {
            let (li, di, s) = split(c, augments.len(), seeds);
            let (l, d) = (latents[li], augments[di]);
            mmd.append(
                &Table::new()
                    .f64("latent", vec![l as f64])
                    .str("D", vec![d_label(d)])
                    .f64("seed", vec![s as f64])
                    .f64("mmd", vec![base(l, d) + 0.1 * s as f64])
                    .f64("final_epoch_loss", vec![1.0]),
            );
            if s == 0 {
                scatter.append(
                    &Table::new()
                        .f64("latent", vec![l as f64])
                        .str("D", vec![d_label(d)])
                        .f64("x0", vec![0.0])
                        .f64("x1", vec![0.0]),
                );
            }
        }
        let out = TableB26.finish(&p, vec![("mmd".into(), mmd), ("scatter".into(), scatter)]).unwrap();
        let q = |k: &str| out.quantities.iter().find(|q| q.key == k).unwrap_or_else(|| panic!("no {k}")).clone();
        // Seeds 0…4 add 0, 0.1, …, 0.4: mean +0.2, s.d. √(0.025) = 0.1581, s.e. 0.0707.
        let m = q("mmd.latent4.D1000");
        assert!((m.value - 0.4).abs() < 1e-12 && (m.se.unwrap() - 0.025f64.sqrt() / 5f64.sqrt()).abs() < 1e-12);
        // Latent 4: min(1.2, 0.9) − 0.4 = 0.5 > 0; latent 8: min(0.7, 0.7) − 1.1 = −0.4 (the claim would fail).
        assert!((q("sweet_spot.latent4").value - 0.5).abs() < 1e-12);
        assert!((q("sweet_spot.latent8").value + 0.4).abs() < 1e-12);
        assert!((q("latent32.max_mmd").value - 0.7).abs() < 1e-12);
        let by = &out.tables.iter().find(|(n, _)| n == "mmd_by_config").unwrap().1;
        let sd = by.f64_column("mmd_sd").unwrap();
        assert!(sd.iter().all(|s| (s - 0.025f64.sqrt()).abs() < 1e-12));
        assert_eq!(by.f64_column("thesis_mmd").unwrap()[0], 1.75);
    }
}

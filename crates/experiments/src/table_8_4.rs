//! Table 8.4 and Fig. 8.5 analogs (thesis Sec. 8.4, l.2010–2030; B.6.2 l.5195–5197) on the
//! latent-32 models of `table-b.26`: the robustness of PFGM++ with small D to three kinds of error,
//! measured by the 1000-D MMD instead of CIFAR-10 FID:
//! * post-training quantization of every weight matrix to b bits (the authors' `generate_quant.py`:
//!   per-tensor asymmetric min–max uniform quantization; biases kept);
//! * noise injection x ← x + α·σ_i·N(0, I) before each Heun step (`generate_alpha.py`);
//! * fewer sampling steps (`generate_steps.py`).
//!
//! One cell per (D, seed); each loads the checkpoint `table-b.26` trained for the same (latent, D,
//! seed) (or trains it, if that experiment has not run), so the declarations share their training
//! parameters and seed.

use crate::table_b_26::{d_key, d_label, data, generate, mmd, split, trained};
use crate::{CellDone, Experiment, Outcome, Quantity, Run};
use anyhow::{anyhow, bail, ensure, Result};
use artifacts::{Column, Table, Tables};
use figures::{Figure, Panel, Series, Style};
use metrics::Estimate;
use rayon::prelude::*;
use registry::Params;
use training::Mlp;

/// The runner `pfgmpp-1000d-robustness`.
pub struct Table84;

/// Per-tensor asymmetric min–max uniform quantization to `bits` bits, then dequantization (the
/// authors' `generate_quant.py`): scale = (max − min)/(2^b − 1), zero point z = ⌊−min/scale⌋
/// clamped to [0, 2^b − 1], q = clamp(round(z + w/scale), 0, 2^b − 1), w ← scale·(q − z).
pub fn quantize_min_max(w: &[f32], bits: u32) -> Vec<f32> {
    let levels = ((1u64 << bits) - 1) as f64;
    let (lo, hi) = w
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v as f64), b.max(v as f64)));
    let scale = (hi - lo) / levels;
    if scale.is_nan() || scale <= 0.0 {
        // A constant tensor has nothing to quantize.
        return w.to_vec();
    }
    let zero = (-lo / scale).trunc().clamp(0.0, levels);
    w.iter()
        .map(|&v| {
            let q = (zero + v as f64 / scale).round().clamp(0.0, levels);
            (scale * (q - zero)) as f32
        })
        .collect()
}

/// `net` with every weight matrix quantized to `bits` bits (biases untouched: the authors quantize
/// parameters named "weight").
fn quantized(net: &Mlp, bits: u32) -> Result<Mlp> {
    let values = net
        .values()?
        .into_iter()
        .zip(net.names())
        .map(|(v, name)| if name.ends_with(".weight") { quantize_min_max(&v, bits) } else { v })
        .collect();
    Mlp::from_values(net.config(), values)
}

/// The sweep of this experiment: D list, seeds, and the latent width's index in `latents`.
fn sweep(p: &Params) -> Result<(Vec<f64>, usize, usize)> {
    let (latents, augments, seeds) = crate::table_b_26::sweep(p)?;
    let latent = p.usize("latent")?;
    let li = latents
        .iter()
        .position(|&l| l == latent)
        .ok_or_else(|| anyhow!("parameter `latent` = {latent} must be one of `latents` {latents:?} (table-b.26's sweep)"))?;
    Ok((augments, seeds, li))
}

impl Experiment for Table84 {
    fn cells(&self, params: &Params) -> Result<Vec<String>> {
        let (augments, seeds, _) = sweep(params)?;
        Ok(augments
            .iter()
            .flat_map(|d| (0..seeds).map(move |s| format!("D={},seed={s}", d_label(*d))))
            .collect())
    }

    fn run_cells(&self, run: &Run, cells: &[usize], done: &CellDone) -> Result<()> {
        let p = run.params;
        let (augments, seeds, li) = sweep(p)?;
        let latent = p.usize("latent")?;
        let (truth, set) = data(p)?;
        let base_steps = p.usize("steps")?;
        let bits = p.usize_list("bits")?;
        if let Some(b) = bits.iter().find(|&&b| !(2..=16).contains(&b)) {
            bail!("parameter `bits`: {b} bits is outside 2…16");
        }
        let alphas = p.f64_list("alphas")?;
        let step_list = p.usize_list("step_list")?;
        cells.par_iter().try_for_each(|&c| -> Result<()> {
            let (di, s) = (c / seeds, c % seeds);
            let d = augments[di];
            // The same model as table-b.26's cell (latent, D, seed).
            let b26_cell = (li * augments.len() + di) * seeds + s;
            debug_assert_eq!(split(b26_cell, augments.len(), seeds), (li, di, s));
            let (net, _) = trained(run, &set, latent, d, b26_cell)?;
            let stream = run.stream.child(c as u64);
            let (mut kind, mut level, mut nfe, mut value) = (vec![], vec![], vec![], vec![]);
            let mut record = |k: &str, l: f64, steps: usize, m: f64| {
                kind.push(k.to_string());
                level.push(l);
                nfe.push((2 * steps - 1) as f64);
                value.push(m);
            };
            // Every variant samples from the same prior draws and noise (common random numbers).
            let sample = |net: &Mlp, steps: usize, alpha: f64| -> Result<f64> { Ok(mmd(&generate(p, net, d, steps, alpha, stream.named("sample"))?, &truth)) };
            record("baseline", 0.0, base_steps, sample(&net, base_steps, 0.0)?);
            for &b in &bits {
                record("quantization_bits", b as f64, base_steps, sample(&quantized(&net, b as u32)?, base_steps, 0.0)?);
            }
            for &a in &alphas {
                record("noise_alpha", a, base_steps, sample(&net, base_steps, a)?);
            }
            for &st in &step_list {
                ensure!(st >= 1, "parameter `step_list`: a sampler needs at least one step");
                record("steps", st as f64, st, sample(&net, st, 0.0)?);
            }
            let rows = kind.len();
            let t = Table::new()
                .str("D", vec![d_label(d); rows])
                .f64("seed", vec![s as f64; rows])
                .str("kind", kind)
                .f64("level", level)
                .f64("nfe", nfe)
                .f64("mmd", value);
            done(c, vec![("robustness".into(), t)])
        })
    }

    fn finish(&self, params: &Params, tables: Tables) -> Result<Outcome> {
        let (augments, _, _) = sweep(params)?;
        let t = tables
            .iter()
            .find(|(n, _)| n == "robustness")
            .map(|(_, t)| t)
            .ok_or_else(|| anyhow!("no robustness table"))?;
        let strs = |name: &str| -> Result<Vec<String>> {
            match t.column(name) {
                Some(Column::Str(v)) => Ok(v.clone()),
                _ => bail!("robustness table lacks the text column {name}"),
            }
        };
        let col = |name: &str| t.f64_column(name).ok_or_else(|| anyhow!("robustness table lacks {name}"));
        let (dl, kind, level, nfe, value) = (strs("D")?, strs("kind")?, col("level")?, col("nfe")?, col("mmd")?);
        // Mean over seeds per (D, kind, level).
        let est = |d: f64, k: &str, l: f64| -> Option<Estimate> {
            let v: Vec<f64> = (0..value.len())
                .filter(|&i| dl[i] == d_label(d) && kind[i] == k && level[i] == l)
                .map(|i| value[i])
                .collect();
            (!v.is_empty()).then(|| Estimate::of(&v))
        };
        let levels = |k: &str| -> Vec<f64> {
            let mut v: Vec<f64> = (0..kind.len()).filter(|&i| kind[i] == k).map(|i| level[i]).collect();
            v.sort_by(f64::total_cmp);
            v.dedup();
            v
        };
        let (bits, alphas, steps) = (levels("quantization_bits"), levels("noise_alpha"), levels("steps"));
        let mut out = Outcome::default();
        let (mut sd, mut sk, mut sl, mut sn, mut sm, mut ss) = (vec![], vec![], vec![], vec![], vec![], vec![]);
        let mut panels = vec![];
        for (k, ls, x_label, x_log) in [
            ("quantization_bits", &bits, "bits per weight", false),
            ("noise_alpha", &alphas, "noise injection α (std α·σ_i per step)", false),
            ("steps", &steps, "NFE (Heun, 2·steps − 1)", true),
        ] {
            let mut series = vec![];
            for (ci, &d) in augments.iter().enumerate() {
                let (mut xs, mut ys) = (vec![], vec![]);
                let mut all: Vec<f64> = ls.clone();
                if k == "noise_alpha" {
                    all.insert(0, 0.0);
                }
                for &l in &all {
                    // α = 0 is the unperturbed baseline run.
                    let (k_used, l_used) = if k == "noise_alpha" && l == 0.0 { ("baseline", 0.0) } else { (k, l) };
                    let e = est(d, k_used, l_used);
                    let Some(e) = e else { continue };
                    let x = if k == "steps" { 2.0 * l - 1.0 } else { l };
                    xs.push(x);
                    ys.push(e.mean);
                    sd.push(d_label(d));
                    sk.push(k.to_string());
                    sl.push(l);
                    sn.push((0..kind.len()).find(|&i| kind[i] == k_used && level[i] == l_used).map_or(f64::NAN, |i| nfe[i]));
                    sm.push(e.mean);
                    ss.push(e.se);
                }
                series.push(Series::new(format!("D = {}", d_label(d)), &xs, &ys, Style::LineMarkers, ci));
            }
            panels.push(Panel {
                title: format!("MMD vs {}", x_label),
                x_label: x_label.into(),
                y_label: "MMD (biased, 5 kernels)".into(),
                x_log,
                y_log: true,
                series,
            });
        }
        out.tables.push((
            "robustness_by_config".into(),
            Table::new()
                .str("D", sd)
                .str("kind", sk)
                .f64("level", sl)
                .f64("nfe", sn)
                .f64("mmd_mean", sm)
                .f64("mmd_se", ss),
        ));
        out.tables.push(("robustness".into(), t.clone()));

        // Claim: smaller D is more robust. Degradation = MMD at the harshest level − baseline MMD;
        // the quantity is degradation(largest D in the sweep, usually ∞) − degradation(smallest D).
        let (small, large) = (
            augments.iter().copied().fold(f64::INFINITY, f64::min),
            augments.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        );
        for (k, harsh, key) in [
            ("quantization_bits", bits.first(), "robust.quantization"),
            ("noise_alpha", alphas.last(), "robust.noise"),
            ("steps", steps.first(), "robust.few_steps"),
        ] {
            let Some(&h) = harsh else { continue };
            let deg = |d: f64| -> Option<(f64, f64)> {
                let (a, b) = (est(d, k, h)?, est(d, "baseline", 0.0)?);
                Some((a.mean - b.mean, (a.se * a.se + b.se * b.se).sqrt()))
            };
            if let (Some(lo), Some(hi)) = (deg(small), deg(large)) {
                let q = if (lo.1 * lo.1 + hi.1 * hi.1).sqrt().is_finite() {
                    Quantity::mc(key, hi.0 - lo.0, (lo.1 * lo.1 + hi.1 * hi.1).sqrt())
                } else {
                    Quantity::exact(key, hi.0 - lo.0)
                };
                out.quantities.push(q);
            }
            for &d in &augments {
                if let Some(e) = est(d, k, h) {
                    out.quantities.push(Quantity::mc(format!("{key}.mmd.D{}", d_key(d)), e.mean, e.se));
                }
            }
        }
        out.notes.push(format!(
            "Latent {} models of table-b.26; harshest levels: {} bits, α = {}, {} steps; robust.* = degradation at D = {} minus \
             degradation at D = {} (degradation = MMD at that level − MMD of the same model with {} steps, full precision, α = 0).",
            params.usize("latent")?,
            bits.first().map_or(f64::NAN, |v| *v),
            alphas.last().map_or(f64::NAN, |v| *v),
            steps.first().map_or(f64::NAN, |v| *v),
            d_label(large),
            d_label(small),
            params.usize("steps")?
        ));
        out.figures.push((
            String::new(),
            Figure {
                title: "Table 8.4 / Fig. 8.5 analogs on the 1000-D toy (latent 32): MMD under weight quantization, noise injection and fewer steps".into(),
                panels,
                columns: 3,
            },
        ));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_max_quantization_matches_hand_computation() {
        // min −1, max 2, 2 bits: scale 1, zero point 1; −1 → q 0 → −1; 0.4 → q 1 → 0; 1.6 → q 3 → 2; 2 → q 3 → 2.
        assert_eq!(quantize_min_max(&[-1.0, 0.4, 1.6, 2.0], 2), vec![-1.0, 0.0, 2.0, 2.0]);
        // Rounding errs by at most half a step, except that the truncated zero point can clip values
        // within one step of the minimum by up to one step (the authors' `int(−min/scale)`).
        let w: Vec<f32> = (0..100).map(|i| ((i * 37 % 100) as f32 / 50.0 - 1.0) * 0.3).collect();
        let q = quantize_min_max(&w, 8);
        let (lo, hi) = (-0.3f64, 0.294f64);
        let step = (hi - lo) / 255.0;
        for (a, b) in w.iter().zip(&q) {
            let err = (*a as f64 - *b as f64).abs();
            let bound = if (*a as f64) < lo + step { step } else { 0.5 * step };
            assert!(err <= bound + 1e-6, "{a} → {b}: error {err} > {bound}");
        }
        // A constant tensor is left alone.
        assert_eq!(quantize_min_max(&[0.5; 3], 4), vec![0.5; 3]);
    }
}

//! Figure 7.3 (thesis Sec. 7.4, l.1709, l.1761; B.5.1 l.4759; spec seeds-ch6-9 §2.2, §6 item 19):
//! training-sample norms under VE perturbations at fixed σ, ‖x + σε‖ ≈ √(‖x‖² + Nσ²) (tight), and
//! under PFGM's perturbation (Eq. 7.5, Alg. 3) binned by z, which "allocates high mass across a
//! wide spectrum of the training sample norms". Data: a CIFAR-10-sized surrogate, N = `dim`
//! coordinates with E‖x‖² = `mean_sq_norm` (the spec's 900). Cell 0 draws the VE norms, cells
//! 1.. the PFGM perturbations in chunks.

use crate::{CellDone, Experiment, Outcome, Quantity, Run};
use anyhow::{anyhow, bail, Result};
use artifacts::{Table, Tables};
use figures::{Figure, Panel, Series, Style};
use pfgm::Perturbation;
use rand::Rng as _;
use registry::Params;
use seeding::{fill_normal, Stream};

/// The runner `pfgm-norm-spread`.
pub struct Fig73;

/// `count` surrogate data points: N(0, (mean_sq_norm/N) I_N), point i from its own stream.
fn data(p: &Params) -> Result<Vec<Vec<f64>>> {
    let (n, count, msq) = (p.usize("dim")?, p.usize("data_points")?, p.f64("mean_sq_norm")?);
    let root = Stream::new(p.u64("data_seed")?).named("fig-7.3-surrogate");
    Ok((0..count)
        .map(|i| {
            let mut x = vec![0.0; n];
            fill_normal(&mut root.child(i as u64).rng(), &mut x);
            let s = (msq / n as f64).sqrt();
            x.iter_mut().for_each(|v| *v *= s);
            x
        })
        .collect())
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|a| a * a).sum::<f64>().sqrt()
}

/// The q-quantile of sorted values (nearest rank).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((q * sorted.len() as f64) as usize).min(sorted.len() - 1)]
}

impl Experiment for Fig73 {
    fn cells(&self, params: &Params) -> Result<Vec<String>> {
        Ok(std::iter::once("VE".to_string())
            .chain((0..params.usize("chunks")?).map(|c| format!("PFGM chunk {c}")))
            .collect())
    }

    fn run_cells(&self, run: &Run, cells: &[usize], done: &CellDone) -> Result<()> {
        let p = run.params;
        let xs = data(p)?;
        let n = p.usize("dim")?;
        for &c in cells {
            let stream = run.stream.child(c as u64);
            if c == 0 {
                let (sigmas, count) = (p.f64_list("ve_sigmas")?, p.usize("ve_samples")?);
                let (mut s_col, mut n_col) = (vec![], vec![]);
                let mut eps = vec![0.0; n];
                for (si, &sigma) in sigmas.iter().enumerate() {
                    for i in 0..count {
                        let mut rng = stream.child(si as u64).child(i as u64).rng();
                        let x = &xs[rng.random_range(0..xs.len())];
                        fill_normal(&mut rng, &mut eps);
                        s_col.push(sigma);
                        n_col.push(x.iter().zip(&eps).map(|(a, e)| (a + sigma * e).powi(2)).sum::<f64>().sqrt());
                    }
                }
                done(c, vec![("ve".into(), Table::new().f64("sigma", s_col).f64("norm", n_col))])?;
            } else {
                let cfg = Perturbation {
                    sigma: p.f64("sigma")?,
                    tau: p.f64("tau")?,
                    m_max: p.f64("m_max")?,
                    restrict: if p.bool("restrict_m")? { Some((0.005, 0.7)) } else { None },
                };
                let count = p.usize("pfgm_samples_per_chunk")?;
                let (mut z, mut nm, mut off, mut m) = (vec![], vec![], vec![], vec![]);
                for i in 0..count {
                    let mut rng = stream.child(i as u64).rng();
                    let x = &xs[rng.random_range(0..xs.len())];
                    let out = cfg.perturb(&mut rng, x);
                    z.push(out.z);
                    nm.push(norm(&out.y));
                    off.push(out.y.iter().zip(x).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt());
                    m.push(out.m);
                }
                done(
                    c,
                    vec![("pfgm".into(), Table::new().f64("z", z).f64("norm", nm).f64("offset", off).f64("m", m))],
                )?;
            }
        }
        Ok(())
    }

    fn finish(&self, params: &Params, tables: Tables) -> Result<Outcome> {
        let get = |name: &str| tables.iter().find(|(n, _)| n == name).map(|(_, t)| t).ok_or_else(|| anyhow!("no {name} table"));
        let (ve, pf) = (get("ve")?, get("pfgm")?);
        let col = |t: &Table, n: &str| t.f64_column(n).ok_or_else(|| anyhow!("no column {n}"));
        let n = params.usize("dim")? as f64;
        let xs = data(params)?;
        let msq = xs.iter().map(|x| norm(x).powi(2)).sum::<f64>() / xs.len() as f64;

        // VE: quantiles per σ against √(E‖x‖² + Nσ²).
        let (vs, vn) = (col(ve, "sigma")?, col(ve, "norm")?);
        let sigmas = params.f64_list("ve_sigmas")?;
        let mut vt = (vec![], vec![], vec![], vec![], vec![]);
        for &s in &sigmas {
            let mut v: Vec<f64> = vs.iter().zip(&vn).filter(|(a, _)| **a == s).map(|(_, b)| *b).collect();
            v.sort_by(f64::total_cmp);
            vt.0.push(s);
            vt.1.push(quantile(&v, 0.05));
            vt.2.push(quantile(&v, 0.5));
            vt.3.push(quantile(&v, 0.95));
            vt.4.push((msq + n * s * s).sqrt());
        }
        let ve_ratio = vt.1.iter().zip(&vt.3).map(|(a, b)| b / a).fold(0.0, f64::max);
        let ve_gap = vt.2.iter().zip(&vt.4).map(|(a, b)| (a / b - 1.0).abs()).fold(0.0, f64::max);

        // PFGM: quantiles per log-spaced z bin.
        let (pz, pn) = (col(pf, "z")?, col(pf, "norm")?);
        let (lo, hi, bins, min_count) = (
            params.f64("z_bin_min")?,
            params.f64("z_bin_max")?,
            params.usize("z_bins")?,
            params.usize("min_bin_count")?,
        );
        if !(lo > 0.0 && hi > lo) {
            bail!("parameters `z_bin_min` = {lo}, `z_bin_max` = {hi}: need 0 < z_bin_min < z_bin_max");
        }
        let edge = |i: usize| lo * (hi / lo).powf(i as f64 / bins as f64);
        let mut pt = (vec![], vec![], vec![], vec![], vec![], vec![]);
        let mut per_bin: Vec<Vec<f64>> = vec![vec![]; bins];
        for (z, v) in pz.iter().zip(&pn) {
            if *z >= lo && *z < hi {
                per_bin[(((z / lo).ln() / (hi / lo).ln() * bins as f64) as usize).min(bins - 1)].push(*v);
            }
        }
        for (b, v) in per_bin.iter_mut().enumerate() {
            if v.len() < min_count {
                continue;
            }
            v.sort_by(f64::total_cmp);
            pt.0.push((edge(b) * edge(b + 1)).sqrt());
            pt.1.push(v.len() as f64);
            pt.2.push(quantile(v, 0.05));
            pt.3.push(quantile(v, 0.5));
            pt.4.push(quantile(v, 0.95));
            pt.5.push(quantile(v, 0.95) / quantile(v, 0.05));
        }
        if pt.0.is_empty() {
            bail!("no z bin holds min_bin_count = {min_count} PFGM samples");
        }
        let mut ratios = pt.5.clone();
        ratios.sort_by(f64::total_cmp);
        let median_ratio = ratios[ratios.len() / 2];
        // At z inside the range where neither end of m ∈ [0, M] truncates |ε_z|, (1+τ)^m is
        // log-uniform, so given z, ε_z keeps its law and ‖y − x‖/z = ‖ε_x‖/|ε_z| follows Prop. 6's
        // radius law at z_max = 1 (A.68); B.5.1's variant is the same law with N − 1 (spec §7 item 3).
        let (law_lo, law_hi) = (params.f64("law_z_min")?, params.f64("law_z_max")?);
        let po = col(pf, "offset")?;
        let ratio: Vec<f64> = pz.iter().zip(&po).filter(|(z, _)| **z >= law_lo && **z <= law_hi).map(|(z, o)| o / z).collect();
        if ratio.len() < 2 {
            bail!("parameters `law_z_min`, `law_z_max`: only {} PFGM samples in [{law_lo}, {law_hi}]", ratio.len());
        }
        let dim = params.usize("dim")?;
        let a68 = pfgm::HemispherePrior::new(dim, 1.0);
        let b51 = pfgm::HemispherePrior::new(dim - 1, 1.0);
        let root_n = (ratio.len() as f64).sqrt();
        let ks_a68 = root_n * metrics::ks_distance(&ratio, |r| a68.radius_cdf(r));
        let ks_b51 = root_n * metrics::ks_distance(&ratio, |r| b51.radius_cdf(r));
        let mut all = pn.clone();
        all.sort_by(f64::total_cmp);

        let mut out = Outcome {
            tables: vec![
                (
                    "ve_norms".into(),
                    Table::new()
                        .f64("sigma", vt.0.clone())
                        .f64("q05", vt.1.clone())
                        .f64("median", vt.2.clone())
                        .f64("q95", vt.3.clone())
                        .f64("sqrt_mean_sq_norm_plus_n_sigma2", vt.4.clone()),
                ),
                (
                    "pfgm_norms_by_z".into(),
                    Table::new()
                        .f64("z_bin_centre", pt.0.clone())
                        .f64("count", pt.1.clone())
                        .f64("q05", pt.2.clone())
                        .f64("median", pt.3.clone())
                        .f64("q95", pt.4.clone())
                        .f64("q95_over_q05", pt.5.clone()),
                ),
            ],
            ..Default::default()
        };
        out.quantities = vec![
            Quantity::exact("ve.max_q95_over_q05", ve_ratio),
            Quantity::exact("ve.max_median_gap_to_formula", ve_gap),
            Quantity::exact("pfgm.median_bin_q95_over_q05", median_ratio),
            Quantity::exact("pfgm.min_bin_q95_over_q05", ratios[0]),
            Quantity::exact("pfgm.all_q95_over_q05", quantile(&all, 0.95) / quantile(&all, 0.05)),
            Quantity::exact("pfgm.bins_used", pt.0.len() as f64),
            Quantity::exact("pfgm.offset_over_z.sqrt_n_ks_to_a68", ks_a68),
            Quantity::exact("pfgm.offset_over_z.sqrt_n_ks_to_b51", ks_b51),
            Quantity::exact("pfgm.offset_over_z.samples", ratio.len() as f64),
        ];
        out.notes.push(format!(
            "VE at {} σ values: q95/q05 of the norm at most {ve_ratio:.4}, medians within {:.2e} of √(E‖x‖² + Nσ²) (E‖x‖² = {msq:.1}); \
             PFGM in {} z bins: q95/q05 from {:.2} to {:.2} (median {median_ratio:.2}).",
            sigmas.len(),
            ve_gap,
            pt.0.len(),
            ratios[0],
            ratios[ratios.len() - 1],
        ));
        out.figures.push((
            String::new(),
            Figure {
                title: format!("Fig. 7.3 (N = {n}, E‖x‖² = {msq:.0}): VE norms concentrate at fixed σ, PFGM norms spread at fixed z"),
                panels: vec![
                    Panel {
                        title: "norm quantiles 5%, 50%, 95%".into(),
                        x_label: "σ (VE) or z (PFGM)".into(),
                        y_label: "‖x‖".into(),
                        x_log: true,
                        y_log: true,
                        series: vec![
                            Series::new("VE median", &vt.0, &vt.2, Style::LineMarkers, 0),
                            Series::new("VE 5%", &vt.0, &vt.1, Style::Dashed, 0),
                            Series::new("VE 95%", &vt.0, &vt.3, Style::Dashed, 0),
                            Series::new("PFGM median", &pt.0, &pt.3, Style::LineMarkers, 1),
                            Series::new("PFGM 5%", &pt.0, &pt.2, Style::Dashed, 1),
                            Series::new("PFGM 95%", &pt.0, &pt.4, Style::Dashed, 1),
                        ],
                    },
                    Panel {
                        title: "spread q95/q05 at each σ or z".into(),
                        x_label: "σ (VE) or z (PFGM)".into(),
                        y_label: "q95 / q05".into(),
                        x_log: true,
                        y_log: true,
                        series: vec![
                            Series::new(
                                "VE",
                                &vt.0,
                                &vt.3.iter().zip(&vt.1).map(|(a, b)| a / b).collect::<Vec<_>>(),
                                Style::LineMarkers,
                                0,
                            ),
                            Series::new("PFGM", &pt.0, &pt.5, Style::LineMarkers, 1),
                        ],
                    },
                ],
                columns: 2,
            },
        ));
        Ok(out)
    }
}

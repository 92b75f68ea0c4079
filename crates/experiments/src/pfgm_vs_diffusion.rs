//! Tables 7.1, 7.2 and B.17 (thesis l.1665, l.1725, l.4850), small analogs: PFGM against the VE
//! and VP diffusion models' ODE and SDE samplers with equally small networks on the 20-D,
//! 2000-point set of §5.4.1 (`restart_model`). Per network width: a DSM model (EDM's loss,
//! sampled through VE's and VP's schedules, Song et al.'s samplers) and a PFGM model (Alg. 2 and 3
//! with the same MLP, steps, batch and optimiser), sampled by RK45 on the dt' ODE (Eq. 7.6) with
//! and without the near-field z-substitution (B.5.2, both the printed and the exact formula) and
//! by forward Euler with the exact z-update. Scores: exact W1 (assignment) and MMD² against the
//! data, NFE. Cells are (width, method, sampling seed); models are trained once per width and cached.

use crate::table_5_1::{score_cell, seeds};
use crate::{CellDone, Experiment, Outcome, Quantity, Run};
use anyhow::{bail, Result};
use artifacts::{Column, Table, Tables};
use diffusion::{Schedule, VeGeometric, VpLinear};
use figures::{Figure, Panel, Series, Style};
use pfgm::{Anchor, Backward, NearField, PfgmNet, PfgmTraining};
use registry::Params;
use samplers::rk45::Rk45;
use samplers::scheduled::{sample_scheduled_ode, sample_scheduled_sde};
use samplers::Particles;
use training::{Mlp, MlpConfig};

/// The runner `pfgm-vs-diffusion`.
pub struct PfgmVsDiffusion;

/// (method, the thesis's NFE, the thesis's CIFAR-10 FID) — Table 7.1 for the DDPM++ backbone
/// (VE rows: NCSN++), Table B.17 for PFGM without / with the substitution, Table 7.2 (NCSNv2) for
/// Euler; NaN where the thesis has no row.
const METHODS: [(&str, f64, f64); 7] = [
    ("ve-sde", 2000.0, 2.38),
    ("vp-sde", 1000.0, 2.55),
    ("ve-ode", 194.0, 5.29),
    ("vp-ode", 134.0, 2.97),
    ("pfgm-rk45", 134.0, 2.48),
    ("pfgm-rk45-near-field", 104.0, 2.48),
    ("pfgm-rk45-near-field-exact", f64::NAN, f64::NAN),
];
/// The PFGM row of Tables 7.1 and 7.2: the authors' default sampler (RK45 with the substitution).
const TABLE_7_1_PFGM: &str = "pfgm-rk45-near-field";
/// The Euler row is added after [`METHODS`]; its NFE is the declared step count.
const EULER: &str = "pfgm-euler";
const DIM: usize = 20;

fn methods() -> Vec<&'static str> {
    METHODS.iter().map(|m| m.0).chain([EULER]).collect()
}

/// PFGM's constants from the data by the thesis's rules of thumb (B.5.2): M = ¾ ln(E‖x‖²/(2√N σ²))/ln(1 + τ),
/// z_max = √(2/π) σ (1 + τ)^M and the prior's norm clip √N σ (1 + τ)^M.
struct PfgmConstants {
    m_max: f64,
    z_max: f64,
    clip: f64,
}

fn constants(p: &Params, data: &[f64]) -> Result<PfgmConstants> {
    let (sigma, tau) = (p.f64("pfgm_sigma")?, p.f64("pfgm_tau")?);
    let mean_sq = data.iter().map(|v| v * v).sum::<f64>() / (data.len() / DIM) as f64;
    let n = DIM as f64;
    let m_max = 0.75 * (mean_sq / (2.0 * n.sqrt() * sigma * sigma)).ln() / tau.ln_1p();
    let grow = (1.0 + tau).powf(m_max);
    Ok(PfgmConstants {
        m_max,
        z_max: (2.0 / std::f64::consts::PI).sqrt() * sigma * grow,
        clip: n.sqrt() * sigma * grow,
    })
}

fn widths(p: &Params) -> Result<Vec<usize>> {
    let w = p.usize_list("hidden_sizes")?;
    if w.is_empty() {
        bail!("parameter `hidden_sizes` must list at least one network width");
    }
    Ok(w)
}

/// The DSM and PFGM models of width `hidden` (trained or loaded).
fn models(run: &Run, data: &[f64], hidden: usize, c: &PfgmConstants) -> Result<(Mlp, PfgmNet)> {
    let p = run.params;
    let (mut model, train) = crate::restart_model::configs(p)?;
    model.hidden = hidden;
    let dsm = crate::restart_model::trained_as(run, data, &model, &train)?;
    let pfgm_model = MlpConfig { dim: DIM + 1, ..model };
    let settings = PfgmTraining {
        large_batch: p.usize("pfgm_large_batch")?,
        gamma: p.f64("pfgm_gamma")?,
        perturbation: pfgm::Perturbation {
            sigma: p.f64("pfgm_sigma")?,
            tau: p.f64("pfgm_tau")?,
            m_max: c.m_max,
            restrict: Some((0.005, 0.7)),
        },
        sigma_data: model.sigma_data,
    };
    let key = artifacts::sha256_hex(serde_json::to_string(&("pfgm", &pfgm_model, &train, &settings, p.usize("data_points")?, p.u64("data_seed")?))?.as_bytes());
    let dir = run.checkpoint_dir(&format!("pfgm-{}", &key[..16]))?;
    let net = pfgm::train_pfgm(&pfgm_model, &train, &settings, data, Some(&dir), 2000, true)?;
    Ok((dsm, net))
}

impl Experiment for PfgmVsDiffusion {
    fn cells(&self, params: &Params) -> Result<Vec<String>> {
        let s = seeds(params)?;
        let mut out = vec![];
        for w in widths(params)? {
            for m in methods() {
                out.extend((0..s).map(|k| format!("width {w} {m} seed {k}")));
            }
        }
        Ok(out)
    }

    fn run_cells(&self, run: &Run, cells: &[usize], done: &CellDone) -> Result<()> {
        let p = run.params;
        let (s, widths, methods) = (seeds(p)?, widths(p)?, methods());
        let data = crate::restart_model::data(p)?;
        let c = constants(p, &data)?;
        let kernel = metrics::GaussianMixtureKernel::pfgmpp(&data, &data, DIM);
        let n = data.len() / DIM;
        let (ode_tol, pfgm_tol) = (p.f64("ode_tol")?, p.f64("pfgm_tol")?);
        let ve = VeGeometric {
            sigma_min: p.f64("ve_sigma_min")?,
            sigma_max: p.f64("ve_sigma_max")?,
        };
        let vp = VpLinear::default();
        let sde_steps = p.usize("sde_steps")?;
        let (ve_t_end, vp_t_end, z_min, euler_steps) = (p.f64("ve_t_end")?, p.f64("vp_t_end")?, p.f64("z_min")?, p.usize("euler_steps")?);
        let below = p.f64("near_field_fraction")? * c.z_max;
        let mut loaded: Option<(usize, Mlp, PfgmNet)> = None;
        for &cell in cells {
            let (wi, rest) = (cell / (methods.len() * s), cell % (methods.len() * s));
            let (method, seed) = (methods[rest / s], rest % s);
            if loaded.as_ref().is_none_or(|l| l.0 != wi) {
                let (dsm, net) = models(run, &data, widths[wi], &c)?;
                loaded = Some((wi, dsm, net));
            }
            let (_, dsm, net) = loaded.as_mut().expect("loaded above");
            // Every method of a seed starts from that seed's stream (the samplers' priors differ in kind).
            let stream = run.stream.child(seed as u64);
            let rk = |tol: f64| Rk45 {
                rtol: tol,
                atol: tol,
                max_steps: 100_000,
            };
            net.take_sign_counts();
            let sampled = (|| -> Result<Particles> {
                Ok(match method {
                    "ve-sde" | "vp-sde" | "ve-ode" | "vp-ode" => {
                        let (sch, t_end): (&dyn Schedule, f64) = if method.starts_with("ve") { (&ve, ve_t_end) } else { (&vp, vp_t_end) };
                        let mut particles = Particles::from_prior(n, DIM, sch.sigma(1.0), stream);
                        if method.ends_with("sde") {
                            sample_scheduled_sde(&*dsm, sch, &mut particles, 1.0, t_end, sde_steps)?;
                        } else {
                            sample_scheduled_ode(&*dsm, sch, &mut particles, 1.0, t_end, &rk(ode_tol))?;
                        }
                        particles
                    }
                    _ => {
                        let prior: Vec<f64> = (0..n)
                            .flat_map(|i| pfgm::sample_prior(&mut stream.child(i as u64).rng(), DIM, c.z_max, c.clip))
                            .collect();
                        // The authors' ODE drift (methods.Poisson.ode) applies the substitution in every
                        // solver, so Euler has it too; "pfgm-rk45" is Table B.17's row without it.
                        net.set_near_field(match method {
                            "pfgm-rk45-near-field" | EULER => Some((NearField::Code, below)),
                            "pfgm-rk45-near-field-exact" => Some((NearField::Exact, below)),
                            _ => None,
                        });
                        let sampled = if method == EULER {
                            pfgm::sample_euler(&*net, &prior, c.z_max, z_min, euler_steps)?
                        } else {
                            let cfg = Backward {
                                anchor: Anchor::LogZ,
                                z_max: c.z_max,
                                z_min,
                                rk45: rk(pfgm_tol),
                            };
                            pfgm::sample_backward(&*net, &prior, &cfg)?
                        };
                        let mut particles = Particles::from_states(DIM, sampled.x, stream);
                        particles.nfe = sampled.nfe;
                        particles
                    }
                })
            })();
            let (wrong, evaluations) = net.take_sign_counts();
            // A sampler that diverges is a result of the comparison (Table 7.2's point), not a
            // reason to lose the other cells: its row records the error and NaN scores.
            let (table, failure) = match sampled {
                Ok(particles) => (score_cell(method, seed, &particles, &data, &kernel), String::new()),
                Err(e) => (
                    Table::new()
                        .str("row", vec![method.into()])
                        .i64("seed", vec![seed as i64])
                        .i64("nfe", vec![-1])
                        .f64("w1", vec![f64::NAN])
                        .f64("mmd2", vec![f64::NAN]),
                    format!("{e:#}"),
                ),
            };
            let table = table
                .i64("width", vec![widths[wi] as i64])
                .f64("wrong_sign_v_z", vec![if evaluations > 0 { wrong as f64 / evaluations as f64 } else { 0.0 }])
                .str("failure", vec![failure]);
            done(cell, vec![("per_seed".into(), table)])?;
        }
        Ok(())
    }

    fn finish(&self, params: &Params, tables: Tables) -> Result<Outcome> {
        let t = artifacts::table::find(&tables, "per_seed")?;
        let rows = t.strings("row")?;
        let wrong = t.f64_column("wrong_sign_v_z").unwrap_or_default();
        let (width, nfe, w1, mmd) = (
            t.f64_column("width").unwrap_or_default(),
            t.f64_column("nfe").unwrap_or_default(),
            t.f64_column("w1").unwrap_or_default(),
            t.f64_column("mmd2").unwrap_or_default(),
        );
        let failure = match t.column("failure") {
            Some(Column::Str(v)) => v.clone(),
            _ => vec![String::new(); rows.len()],
        };
        // A method that failed on any seed has no mean (NaN), so no claim can pass on it.
        let stats = |w: usize, name: &str, v: &[f64]| -> metrics::Estimate {
            let picked: Vec<usize> = (0..rows.len()).filter(|&i| rows[i] == name && width[i] == w as f64).collect();
            let values: Vec<f64> = picked.iter().map(|&i| if failure[i].is_empty() { v[i] } else { f64::NAN }).collect();
            metrics::Estimate::of(&values)
        };
        let sd = |e: &metrics::Estimate| e.se * (e.n as f64).sqrt();
        let widths = widths(params)?;
        let mut out = Outcome::default();
        let mut summary = Table::new();
        let (mut col_width, mut col_method, mut col_nfe, mut col_w1, mut col_mmd) = (vec![], vec![], vec![], vec![], vec![]);
        let (mut paper_nfes, mut paper_fids, mut w1_sds, mut mmd_sds, mut wrongs) = (vec![], vec![], vec![], vec![], vec![]);
        for &w in &widths {
            for (i, m) in methods().into_iter().enumerate() {
                // The Euler row's reference is Table 7.2's PFGM (Euler) on NCSNv2.
                let (paper_nfe, paper_fid) = METHODS.get(i).map_or((200.0, 11.78), |r| (r.1, r.2));
                let (e_n, e_w, e_m) = (stats(w, m, &nfe), stats(w, m, &w1), stats(w, m, &mmd));
                col_width.push(w as i64);
                col_method.push(m.to_string());
                col_nfe.push(e_n.mean);
                paper_nfes.push(paper_nfe);
                paper_fids.push(paper_fid);
                col_w1.push(e_w.mean);
                w1_sds.push(sd(&e_w));
                col_mmd.push(e_m.mean);
                mmd_sds.push(sd(&e_m));
                wrongs.push(stats(w, m, &wrong).mean);
                out.quantities.push(Quantity::mc(format!("{m}@{w}.nfe"), e_n.mean, e_n.se));
                out.quantities.push(Quantity::mc(format!("{m}@{w}.w1"), e_w.mean, e_w.se));
                out.quantities.push(Quantity::mc(format!("{m}@{w}.mmd2"), e_m.mean, e_m.se));
            }
        }
        // The claims, at the first (reference) width and, for the robustness claim, the last.
        // Tables 7.1 and 7.2's PFGM is the authors' default sampler: RK45 with the near-field
        // substitution (z_exp); Table B.17 compares it with the plain RK45.
        let w0 = widths[0];
        let gap_in_se = |a: &metrics::Estimate, b: &metrics::Estimate| (a.mean - b.mean) / (a.se * a.se + b.se * b.se).sqrt();
        let (plain, pfgm) = (stats(w0, "pfgm-rk45", &w1), stats(w0, TABLE_7_1_PFGM, &w1));
        let (ve_ode, vp_ode) = (stats(w0, "ve-ode", &w1), stats(w0, "vp-ode", &w1));
        let best_ode = if ve_ode.mean <= vp_ode.mean { ve_ode } else { vp_ode };
        out.quantities
            .push(Quantity::exact("pfgm_minus_best_diffusion_ode_w1_in_se", gap_in_se(&pfgm, &best_ode)));
        let sde_nfe = stats(w0, "vp-sde", &nfe).mean.min(stats(w0, "ve-sde", &nfe).mean);
        out.quantities
            .push(Quantity::exact("sde_over_pfgm_rk45_nfe", sde_nfe / stats(w0, TABLE_7_1_PFGM, &nfe).mean));
        out.quantities.push(Quantity::exact(
            "near_field_over_plain_nfe",
            stats(w0, TABLE_7_1_PFGM, &nfe).mean / stats(w0, "pfgm-rk45", &nfe).mean,
        ));
        out.quantities
            .push(Quantity::exact("near_field_minus_plain_w1_in_se", gap_in_se(&pfgm, &plain)));
        if let Some(&weak) = widths.get(1) {
            // Table 7.2's claim, as the growth of W1 when the network shrinks.
            let growth = |m: &str| stats(weak, m, &w1).mean / stats(w0, m, &w1).mean;
            out.quantities.push(Quantity::exact("weak_net_w1_growth.pfgm", growth(TABLE_7_1_PFGM)));
            out.quantities
                .push(Quantity::exact("weak_net_w1_growth.best_diffusion_ode", growth("ve-ode").min(growth("vp-ode"))));
            out.quantities.push(Quantity::exact(
                "weak_net_pfgm_minus_best_diffusion_ode_w1_in_se",
                gap_in_se(&stats(weak, TABLE_7_1_PFGM, &w1), &{
                    let (a, b) = (stats(weak, "ve-ode", &w1), stats(weak, "vp-ode", &w1));
                    if a.mean <= b.mean {
                        a
                    } else {
                        b
                    }
                }),
            ));
        }
        out.figures.push((String::new(), figure(&col_width, &col_method, &col_nfe, &col_w1, &col_mmd)));
        summary = summary
            .i64("width", col_width)
            .str("method", col_method)
            .f64("nfe", col_nfe)
            .f64("paper_nfe", paper_nfes)
            .f64("paper_fid_cifar10", paper_fids)
            .f64("w1_mean", col_w1)
            .f64("w1_sd", w1_sds)
            .f64("mmd2_mean", col_mmd)
            .f64("mmd2_sd", mmd_sds)
            .f64("wrong_sign_v_z", wrongs);
        let c = constants(params, &crate::restart_model::data(params)?)?;
        for i in (0..rows.len()).filter(|&i| !failure[i].is_empty()) {
            out.notes.push(format!(
                "width {} {} seed {} failed: {}",
                width[i],
                rows[i],
                t.f64_column("seed").unwrap_or_default()[i],
                failure[i]
            ));
        }
        out.notes.push(format!(
            "PFGM constants by the thesis's rules of thumb on these data: M = {:.1}, z_max = {:.3}, prior norm clip {:.2}.",
            c.m_max, c.z_max, c.clip
        ));
        out.tables = vec![("rows".into(), summary), ("per_seed".into(), t.clone())];
        Ok(out)
    }
}

/// W1 and MMD² against NFE (log scale), one marker per method and width.
fn figure(width: &[i64], method: &[String], nfe: &[f64], w1: &[f64], mmd: &[f64]) -> Figure {
    let panel = |title: &str, y_label: &str, v: &[f64]| Panel {
        title: title.into(),
        x_label: "NFE".into(),
        y_label: y_label.into(),
        x_log: true,
        series: methods()
            .iter()
            .enumerate()
            .flat_map(|(c, m)| {
                let mut widths: Vec<i64> = width.to_vec();
                widths.dedup();
                widths.into_iter().map(move |w| (c, m, w))
            })
            .map(|(c, m, w)| Series {
                label: format!("{m} (width {w})"),
                points: (0..method.len())
                    .filter(|&i| method[i] == *m && width[i] == w)
                    .map(|i| (nfe[i], v[i]))
                    .collect(),
                style: Style::Markers,
                color: c,
            })
            .collect(),
        ..Default::default()
    };
    Figure {
        title: "PFGM vs VE/VP diffusion samplers with equally small networks (20-D data)".into(),
        columns: 2,
        panels: vec![panel("W1 to the data (mean over seeds)", "W1", w1), panel("MMD² (PFGM++ kernel)", "MMD²", mmd)],
    }
}

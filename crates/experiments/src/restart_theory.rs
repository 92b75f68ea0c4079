//! The Restart theory (thesis §5.3, App. A.2) checked where its constants are computable: a 1-D
//! Gaussian toy on which ODE, SDE and Restart maps, TV and W1 are exact (crate `restart-theory`).
//! Cells: Lemma 7's TV identity; the contraction of Restart (Lemma 1) and of the SDE; the local
//! error orders of Euler and Euler–Maruyama; Theorems 9–10's right-hand sides against measured W1.

use crate::{CellDone, Experiment, Outcome, Quantity, Run};
use anyhow::{anyhow, Result};
use artifacts::{Table, Tables};
use figures::{Figure, Panel, Series, Style};
use registry::Params;
use restart_theory::gaussian1d::{tv, w1, Gauss};
use restart_theory::lemma7::{tv_identity, tv_upper_bound};
use restart_theory::local_error::{ode_euler_error, sde_em_rms_error};
use restart_theory::toy::Toy;

/// The runner `restart-theory`.
pub struct RestartTheory;

const CELLS: [&str; 4] = ["lemma7", "contraction", "local-orders", "theorem-bounds"];

struct Setup {
    toy: Toy,
    t_min: f64,
    t_max: f64,
    q0: Gauss,
}

fn setup(p: &Params) -> Result<Setup> {
    let a = p.f64("data_variance")?;
    let (t_min, t_max) = (p.f64("t_min")?, p.f64("t_max")?);
    if !(t_max > t_min && t_min > 0.0) {
        return Err(anyhow!("parameters `t_min`, `t_max`: need 0 < t_min < t_max"));
    }
    // B/2 covers every distribution involved to ~10 standard deviations (spec §3.4 reviewer note:
    // Gaussian supports are unbounded, so the theorems hold here up to that truncation).
    let b = 2.0 * p.f64("support_sds")? * (a + t_max * t_max).max(p.f64("q0_var")?).sqrt();
    Ok(Setup {
        toy: Toy { a, eps: 0.0, b },
        t_min,
        t_max,
        q0: Gauss {
            mean: p.f64("q0_mean")?,
            var: p.f64("q0_var")?,
        },
    })
}

fn lemma7(p: &Params, run: &Run, c: usize) -> Result<Tables> {
    let rs = p.f64_list("lemma7_r")?;
    let draws = p.usize("lemma7_draws")?;
    let (mut exact, mut mc, mut mc_se) = (vec![], vec![], vec![]);
    for (i, &r) in rs.iter().enumerate() {
        let (pg, qg) = (Gauss { mean: 0.0, var: 1.0 }, Gauss { mean: 2.0 * r, var: 1.0 });
        exact.push(tv(pg, qg));
        // TV = E_P[(1 − q/p)₊], by Monte Carlo from P.
        let mut rng = run.stream.child(c as u64).child(i as u64).rng();
        let vals: Vec<f64> = seeding::normals(&mut rng, draws)
            .iter()
            .map(|x| (1.0 - qg.pdf(*x) / pg.pdf(*x)).max(0.0))
            .collect();
        let e = metrics::Estimate::of(&vals);
        mc.push(e.mean);
        mc_se.push(e.se);
    }
    Ok(vec![(
        "lemma7".into(),
        Table::new()
            .f64("r", rs.clone())
            .f64("tv_identity_1_minus_2q", rs.iter().map(|&r| tv_identity(r)).collect())
            .f64("tv_exact_integral", exact)
            .f64("tv_monte_carlo", mc)
            .f64("tv_monte_carlo_se", mc_se)
            .f64("upper_bound", rs.iter().map(|&r| tv_upper_bound(r)).collect()),
    )])
}

fn contraction(p: &Params) -> Result<Tables> {
    let s = setup(p)?;
    let k_max = p.usize("contraction_iterations")?;
    let target = s.toy.marginal(s.t_min);
    let lambda = s.toy.lambda(s.t_min, s.t_max);
    let c = s.toy.constants(s.t_min, s.t_max);
    let u = s.toy.b * c.l1 / s.t_min + c.l1 * c.l1 * s.t_max * s.t_max / (s.t_min * s.t_min);
    // Restart from q0 moved to t_min by the exact ODE; the SDE from q0 at t_max.
    let mut g = s.toy.ode(s.q0, s.t_max, s.t_min);
    let mut tvs = vec![tv(g, target)];
    for _ in 0..k_max {
        g = s.toy.restart(g, s.t_min, s.t_max);
        tvs.push(tv(g, target));
    }
    let sde_before = tv(s.q0, s.toy.marginal(s.t_max));
    let sde_after = tv(s.toy.sde(s.q0, s.t_max, s.t_min), target);
    let k: Vec<i64> = (0..=k_max as i64).collect();
    Ok(vec![
        (
            "contraction".into(),
            Table::new()
                .i64("k", k.clone())
                .f64("tv_restart", tvs.clone())
                .f64("lemma1_bound", k.iter().map(|&k| (1.0 - lambda).powi(k as i32) * tvs[0]).collect()),
        ),
        (
            "contraction_factors".into(),
            Table::new()
                .f64("lambda", vec![lambda])
                .f64("u", vec![u])
                .f64("restart_bound_factor", vec![1.0 - lambda])
                .f64("sde_bound_factor", vec![1.0 - lambda * (-u).exp()])
                .f64("restart_measured_factor", vec![(tvs[k_max] / tvs[0]).powf(1.0 / k_max as f64)])
                .f64("sde_measured_factor", vec![sde_after / sde_before]),
        ),
    ])
}

fn local_orders(p: &Params, run: &Run, c: usize) -> Result<Tables> {
    let s = setup(p)?;
    let deltas = p.f64_list("local_deltas")?;
    let (paths, fine) = (p.usize("local_paths")?, p.usize("local_fine_steps")?);
    let x = p.f64("q0_mean")?;
    let ode: Vec<f64> = deltas.iter().map(|&d| ode_euler_error(&s.toy, x, s.t_max, d)).collect();
    let sde: Vec<f64> = deltas
        .iter()
        .enumerate()
        .map(|(i, &d)| sde_em_rms_error(&s.toy, s.t_max, d, fine, paths, run.stream.child(c as u64).child(i as u64)))
        .collect();
    Ok(vec![(
        "local_errors".into(),
        Table::new()
            .f64("delta", deltas)
            .f64("ode_euler_local_error", ode)
            .f64("sde_em_rms_local_error", sde),
    )])
}

fn theorem_bounds(p: &Params) -> Result<Tables> {
    let s = setup(p)?;
    let (ks, deltas, epss) = (p.usize_list("thm_k")?, p.f64_list("thm_deltas")?, p.f64_list("thm_eps")?);
    let (tmin, tmax, span) = (s.t_min, s.t_max, s.t_max - s.t_min);
    let target_min = s.toy.marginal(tmin);
    let tv0 = tv(s.q0, s.toy.marginal(tmax));
    let mut t = Table::new();
    let (mut which, mut kk, mut dd, mut ee, mut measured, mut rhs) = (vec![], vec![], vec![], vec![], vec![], vec![]);
    for &eps in &epss {
        let toy = Toy { eps, ..s.toy };
        let c = toy.constants(tmin, tmax);
        let lambda = toy.lambda(tmin, tmax);
        for &delta in &deltas {
            let ode_term = (delta * (c.l2 * c.l1 + c.l0) + eps) * span;
            // Theorem 9, A.6 (ODE_θ) and A.7 (SDE_θ), both started from q0 at t_max.
            which.push("thm9-ode".to_string());
            kk.push(0);
            dd.push(delta);
            ee.push(eps);
            measured.push(w1(toy.ode_theta(s.q0, tmax, tmin, delta), target_min));
            rhs.push(toy.b * tv0 + (c.l2 * span).exp() * ode_term);
            let u = toy.b * c.l1 / tmin + c.l1 * c.l1 * tmax * tmax / (tmin * tmin);
            which.push("thm9-sde".to_string());
            kk.push(0);
            dd.push(delta);
            ee.push(eps);
            measured.push(w1(toy.sde_theta(s.q0, tmax, tmin, delta), target_min));
            rhs.push(
                toy.b * (1.0 - lambda * (-u).exp()) * tv0
                    + (2.0 * c.l2 * span).exp() * (eps + delta * c.l0 + c.l2 * (delta * c.l1 + (2.0 * delta * tmax).sqrt())) * span,
            );
            // Theorem 10, A.11: Restart_θ(K) from x̄⁰_{t_min} = ODE_θ(q0).
            let start = toy.ode_theta(s.q0, tmax, tmin, delta);
            for &k in &ks {
                which.push("thm10-restart".to_string());
                kk.push(k as i64);
                dd.push(delta);
                ee.push(eps);
                measured.push(w1(toy.restart_theta(start, tmin, tmax, delta, k), target_min));
                rhs.push(toy.b * (1.0 - lambda).powi(k as i32) * tv0 + ((k + 1) as f64 * c.l2 * span).exp() * (k + 1) as f64 * ode_term);
            }
        }
    }
    t = t
        .str("bound", which)
        .i64("k", kk)
        .f64("delta", dd)
        .f64("eps_approx", ee)
        .f64("measured_w1", measured)
        .f64("rhs", rhs);
    Ok(vec![("theorem_bounds".into(), t)])
}

impl Experiment for RestartTheory {
    fn cells(&self, _params: &Params) -> Result<Vec<String>> {
        Ok(CELLS.iter().map(|s| s.to_string()).collect())
    }

    fn run_cells(&self, run: &Run, cells: &[usize], done: &CellDone) -> Result<()> {
        for &c in cells {
            let tables = match CELLS[c] {
                "lemma7" => lemma7(run.params, run, c)?,
                "contraction" => contraction(run.params)?,
                "local-orders" => local_orders(run.params, run, c)?,
                _ => theorem_bounds(run.params)?,
            };
            done(c, tables)?;
        }
        Ok(())
    }

    fn finish(&self, params: &Params, tables: Tables) -> Result<Outcome> {
        let s = setup(params)?;
        let get = |n: &str| {
            tables
                .iter()
                .find(|(name, _)| name == n)
                .map(|(_, t)| t.clone())
                .ok_or_else(|| anyhow!("no {n} table"))
        };
        let col = |t: &Table, c: &str| t.f64_column(c).unwrap_or_default();
        let (l7, con, fac, loc, thm) = (
            get("lemma7")?,
            get("contraction")?,
            get("contraction_factors")?,
            get("local_errors")?,
            get("theorem_bounds")?,
        );
        let mut out = Outcome {
            tables: tables.clone(),
            ..Default::default()
        };
        let q = &mut out.quantities;

        let (r, ident, exact, mc, mc_se, upper) = (
            col(&l7, "r"),
            col(&l7, "tv_identity_1_minus_2q"),
            col(&l7, "tv_exact_integral"),
            col(&l7, "tv_monte_carlo"),
            col(&l7, "tv_monte_carlo_se"),
            col(&l7, "upper_bound"),
        );
        q.push(Quantity::exact(
            "lemma7.identity_vs_integral_max_abs",
            (0..r.len()).map(|i| (ident[i] - exact[i]).abs()).fold(0.0, f64::max),
        ));
        q.push(Quantity::exact(
            "lemma7.monte_carlo_max_z",
            (0..r.len()).map(|i| (mc[i] - ident[i]).abs() / mc_se[i]).fold(0.0, f64::max),
        ));
        q.push(Quantity::exact(
            "lemma7.upper_bound_violations",
            (0..r.len()).filter(|&i| ident[i] > upper[i] + 1e-15).count() as f64,
        ));

        let (tvr, bound) = (col(&con, "tv_restart"), col(&con, "lemma1_bound"));
        q.push(Quantity::exact(
            "lemma1.violations",
            (0..tvr.len()).filter(|&i| tvr[i] > bound[i] * (1.0 + 1e-12)).count() as f64,
        ));
        for c in [
            "lambda",
            "restart_bound_factor",
            "sde_bound_factor",
            "restart_measured_factor",
            "sde_measured_factor",
        ] {
            q.push(Quantity::exact(format!("contraction.{c}"), col(&fac, c)[0]));
        }

        let (d, ode, sde) = (col(&loc, "delta"), col(&loc, "ode_euler_local_error"), col(&loc, "sde_em_rms_local_error"));
        q.push(Quantity::exact("local.ode_euler_order", metrics::loglog_slope(&d, &ode)));
        q.push(Quantity::exact("local.sde_em_order", metrics::loglog_slope(&d, &sde)));

        let bound_names = match thm.column("bound") {
            Some(artifacts::Column::Str(v)) => v.clone(),
            _ => vec![],
        };
        let (meas, rhs) = (col(&thm, "measured_w1"), col(&thm, "rhs"));
        for name in ["thm9-ode", "thm9-sde", "thm10-restart"] {
            let idx: Vec<usize> = (0..meas.len()).filter(|&i| bound_names[i] == name).collect();
            q.push(Quantity::exact(
                format!("{name}.violations"),
                idx.iter().filter(|&&i| meas[i] > rhs[i]).count() as f64,
            ));
            q.push(Quantity::exact(
                format!("{name}.min_rhs_over_measured"),
                idx.iter().map(|&i| rhs[i] / meas[i]).fold(f64::INFINITY, f64::min),
            ));
        }
        out.notes.push(format!(
            "Toy: data N(0, {}), interval [{}, {}] (the thesis's Fig. 5.2 interval), q0 = N({}, {}) at t_max, B = {:.2} (B/2 = {} standard deviations of the widest distribution: Gaussian supports are unbounded, so the bounds hold up to that truncation). λ = 2Q(B/(2√(t_max² − t_min²))) is {:.3e}: with realistic B the contraction terms of Theorems 3–4 are vacuous, as the spec's reviewer note predicts for CIFAR-10; the measured contraction per Restart iteration is far stronger than 1 − λ.",
            s.toy.a, s.t_min, s.t_max, s.q0.mean, s.q0.var, s.toy.b, params.f64("support_sds")?, s.toy.lambda(s.t_min, s.t_max)
        ));

        let ks: Vec<f64> = (0..tvr.len()).map(|k| k as f64).collect();
        let thm10: Vec<usize> = (0..meas.len()).filter(|&i| bound_names[i] == "thm10-restart").collect();
        let (kcol, dcol, ecol) = (col(&thm, "k"), col(&thm, "delta"), col(&thm, "eps_approx"));
        let d0 = dcol.get(thm10.first().copied().unwrap_or(0)).copied().unwrap_or(0.0);
        let mut thm_series = Vec::new();
        for (j, eps) in params.f64_list("thm_eps")?.iter().enumerate() {
            let idx: Vec<usize> = thm10.iter().copied().filter(|&i| dcol[i] == d0 && ecol[i] == *eps).collect();
            let x: Vec<f64> = idx.iter().map(|&i| kcol[i]).collect();
            thm_series.push(Series::new(
                format!("measured W1, ε = {eps}"),
                &x,
                &idx.iter().map(|&i| meas[i]).collect::<Vec<_>>(),
                Style::LineMarkers,
                j,
            ));
            thm_series.push(Series::new(
                format!("Thm. 10 RHS, ε = {eps}"),
                &x,
                &idx.iter().map(|&i| rhs[i]).collect::<Vec<_>>(),
                Style::Dashed,
                j,
            ));
        }
        out.figures.push((
            String::new(),
            Figure {
                title: "Restart theory on a 1-D Gaussian toy (Lemmas 1, 7; local errors; Theorem 10)".into(),
                columns: 2,
                panels: vec![
                    Panel {
                        title: "Lemma 7".into(),
                        x_label: "r = ‖x − y‖/(2σ)".into(),
                        y_label: "TV".into(),
                        series: vec![
                            Series::new("1 − 2Q(r)", &r, &ident, Style::Line, 0),
                            Series::new("Monte Carlo", &r, &mc, Style::Markers, 1),
                            Series::new("upper bound", &r, &upper, Style::Dashed, 3),
                        ],
                        ..Default::default()
                    },
                    Panel {
                        title: "Contraction (Lemma 1)".into(),
                        x_label: "Restart iteration k".into(),
                        y_label: "TV to p_tmin".into(),
                        y_log: true,
                        series: vec![
                            Series::new("exact Restart", &ks, &tvr, Style::LineMarkers, 0),
                            Series::new("(1 − λ)^k TV_0", &ks, &bound, Style::Dashed, 3),
                        ],
                        ..Default::default()
                    },
                    Panel {
                        title: "Local error of one step".into(),
                        x_label: "step δ".into(),
                        y_label: "error".into(),
                        x_log: true,
                        y_log: true,
                        series: vec![
                            Series::new("Euler (ODE)", &d, &ode, Style::LineMarkers, 0),
                            Series::new("Euler–Maruyama (SDE), RMS", &d, &sde, Style::LineMarkers, 1),
                        ],
                    },
                    Panel {
                        title: format!("Theorem 10 at δ = {d0}"),
                        x_label: "Restart iterations K".into(),
                        y_label: "W1 to p_tmin".into(),
                        y_log: true,
                        series: thm_series,
                        ..Default::default()
                    },
                ],
            },
        ));
        Ok(out)
    }
}

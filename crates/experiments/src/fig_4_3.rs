//! Figures 4.3–4.4, trained tier (thesis Sec. 4.2.2 l.862–882; App. B.2.2 l.4111–4129; spec
//! seeds-ch2-5 §2.3): on the 8-Gaussian ring at the thesis's own scale (8000 training points), the
//! plain diffusion model (the workspace MLP trained by EDM's loss) against DisCo-Diff (m = 1,
//! k = 8, the reparameterised decoder G = (F(z) − x)/(t² + σ₁²) + H, encoder and decoder trained
//! end to end, categorical prior fitted to the extracted latents). Along Heun trajectories with 50
//! EDM steps: the mean curvature and the score-Jacobian norms (of the whole score G and of the
//! network's share, H for DisCo-Diff); W2 of the samples to fresh data with the data-vs-data floor,
//! and to the training set; how purely the latent names a component. Cell 0 is the DM, cell 1
//! DisCo-Diff, cell 2 the data-vs-data W2 floors; both models start from the same prior draws.

use crate::disco_ring::{diffusion_model, disco, ring, training_data};
use crate::disco_setup::{components_of, fresh, grid, heun_from_prior, stratified};
use crate::{CellDone, Experiment, Outcome, Quantity, Run};
use anyhow::{anyhow, ensure, Result};
use artifacts::{Table, Tables};
use diffusion::Denoiser;
use disco_diff::geometry::{mean_curvature, mlp_score_jacobian, JacobianNorms};
use disco_diff::{Guided, Latent, EXTRACTION_TEMPERATURE};
use figures::{Figure, Panel, Series, Style};
use rayon::prelude::*;
use registry::Params;
use samplers::{heun::sample_heun, Particles};
use seeding::Stream;

/// The runner `disco-ring-trained`.
pub struct Fig43;

const CELLS: [&str; 3] = ["diffusion model", "DisCo-Diff", "data floors"];

/// What following the ODE from the prior records.
struct Followed {
    t: Vec<f64>,
    curvature: Vec<f64>,
    jacobian_whole: Vec<f64>,
    jacobian_network: Vec<f64>,
    /// The final samples, row-major.
    x: Vec<f64>,
    /// (step, σ, path, x, y) of the first few rows after every step, the start included.
    paths: Vec<(usize, f64, usize, f64, f64)>,
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Heun along `grid` from `start`'s prior draws, measuring the curvature and the score Jacobian
/// (`jacobian`) at every grid time above Δt before stepping (as fig-4.4 does).
fn follow(den: &dyn Denoiser, jacobian: &dyn Fn(&[f64], f64) -> Result<JacobianNorms>, n: usize, p: &Params, start: Stream) -> Result<Followed> {
    let grid = grid(p)?;
    let (dt, keep) = (p.f64("curvature_dt")?, p.usize("trajectories")?.min(n));
    let mut parts = Particles::from_prior(n, 2, grid[0], start);
    let mut f = Followed {
        t: vec![],
        curvature: vec![],
        jacobian_whole: vec![],
        jacobian_network: vec![],
        x: vec![],
        paths: vec![],
    };
    let record = |f: &mut Followed, step: usize, sigma: f64, x: &[f64]| {
        for (i, r) in x.chunks(2).take(keep).enumerate() {
            f.paths.push((step, sigma, i, r[0], r[1]));
        }
    };
    record(&mut f, 0, grid[0], &parts.x);
    for (i, w) in grid.windows(2).enumerate() {
        let t = w[0];
        if t > dt {
            f.t.push(t);
            f.curvature.push(mean_curvature(den, &parts.x, t, dt)?);
            let j = jacobian(&parts.x, t)?;
            f.jacobian_whole.push(mean(&j.whole));
            f.jacobian_network.push(mean(&j.network));
        }
        sample_heun(den, &mut parts, w).map_err(|e| anyhow!("step {i}: {e}"))?;
        record(&mut f, i + 1, w[1], &parts.x);
    }
    f.x = parts.x;
    Ok(f)
}

/// Latent values with the counts round(n·p_v) (largest remainders, so that they sum to n), in order.
fn exact_counts(p: &[f64], n: usize) -> Vec<usize> {
    let raw: Vec<f64> = p.iter().map(|q| q * n as f64).collect();
    let mut counts: Vec<usize> = raw.iter().map(|r| r.floor() as usize).collect();
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| (raw[b] - raw[b].floor()).total_cmp(&(raw[a] - raw[a].floor())).then(a.cmp(&b)));
    let missing = n.saturating_sub(counts.iter().sum());
    for &v in order.iter().cycle().take(missing) {
        counts[v] += 1;
    }
    counts.iter().enumerate().flat_map(|(v, &c)| std::iter::repeat_n(v, c)).collect()
}

/// One row of the `w2` table.
fn w2_row(model: &str, against: &str, latents: &str, x: &[f64], y: &[f64]) -> Table {
    let w2 = if x.len() == y.len() { metrics::w2_exact(x, y, 2) } else { f64::NAN };
    Table::new()
        .str("model", vec![model.into()])
        .str("against", vec![against.into()])
        .str("latents", vec![latents.into()])
        .i64("points", vec![(x.len() / 2) as i64])
        .f64("w2", vec![w2])
}

fn concat(tables: Vec<Table>) -> Result<Table> {
    let mut out = Table::new();
    for t in tables {
        ensure!(out.append(&t), "W2 rows with different columns");
    }
    Ok(out)
}

/// The roots of the fresh data (shared by all cells, so every model meets the same points).
fn data_root(p: &Params) -> Result<Stream> {
    Ok(Stream::new(p.u64("seed")?).named("fig-4.3-data"))
}

impl Experiment for Fig43 {
    fn cells(&self, _params: &Params) -> Result<Vec<String>> {
        Ok(CELLS.iter().map(|c| c.to_string()).collect())
    }

    fn run_cells(&self, run: &Run, cells: &[usize], done: &CellDone) -> Result<()> {
        let p = run.params;
        let ring = ring(p)?;
        let n = p.usize("samples")?;
        let (train, _) = training_data(p)?;
        let (data, labels) = fresh(&ring, n, data_root(p)?.child(0));
        // Common random numbers: both models start from the same prior draws.
        let start = run.stream.named("prior");
        cells.par_iter().try_for_each(|&c| -> Result<()> {
            let mut tables: Tables = vec![];
            let name = CELLS[c];
            let (f, latent_col) = match c {
                0 => {
                    let dm = diffusion_model(run)?;
                    let f = follow(&dm, &|x, t| mlp_score_jacobian(&dm, x, t), n, p, start)?;
                    tables.push((
                        "w2".into(),
                        concat(vec![
                            w2_row(name, "fresh data", "-", &f.x, &data),
                            w2_row(name, "training set", "-", &f.x, &train),
                        ])?,
                    ));
                    (f, vec![-1; n])
                }
                1 => {
                    let d = disco(run)?;
                    let k = p.usize("values")?;
                    let z = d.prior.sample(n, run.stream.named("latents"))?;
                    let latents: Vec<Latent> = z.iter().map(|v| Latent::Discrete(v.clone())).collect();
                    let guided = Guided::new(&d.net, latents.clone(), 0.0)?;
                    let f = follow(&guided, &|x, t| d.net.score_jacobian(x, t, &latents), n, p, start)?;
                    // The prior's probabilities as exact counts (stratified latents), as the training
                    // set holds exactly 1000 points of every component.
                    let probs = d.prior.conditional(&[vec![]], 0)?;
                    let exact: Vec<Latent> = exact_counts(&probs, n).into_iter().map(|v| Latent::Discrete(vec![v])).collect();
                    let x_equal = heun_from_prior(&Guided::new(&d.net, exact, 0.0)?, n, p, start)?;
                    tables.push((
                        "w2".into(),
                        concat(vec![
                            w2_row(name, "fresh data", "prior", &f.x, &data),
                            w2_row(name, "training set", "prior", &f.x, &train),
                            w2_row(name, "training set", "prior, exact counts", &x_equal, &train),
                        ])?,
                    ));
                    // How the encoder splits fresh labelled points (the oracle latents).
                    let oracle = d.net.encode(&data, EXTRACTION_TEMPERATURE, run.stream.named("oracle"))?;
                    let modes = ring.components();
                    let mut counts = vec![0i64; k * modes];
                    for (l, &comp) in oracle.iter().zip(&labels) {
                        if let Latent::Discrete(v) = l {
                            counts[v[0] * modes + comp] += 1;
                        }
                    }
                    tables.push((
                        "latent_components".into(),
                        Table::new()
                            .i64("latent", (0..k * modes).map(|i| (i / modes) as i64).collect())
                            .i64("component", (0..k * modes).map(|i| (i % modes) as i64).collect())
                            .i64("fresh_points", counts),
                    ));
                    let freq: Vec<f64> = (0..k)
                        .map(|v| d.training_latents.iter().filter(|&&z| z == v).count() as f64 / d.training_latents.len() as f64)
                        .collect();
                    tables.push((
                        "prior".into(),
                        Table::new()
                            .i64("latent", (0..k as i64).collect())
                            .f64("prior_probability", probs)
                            .f64("training_set_frequency", freq),
                    ));
                    (f, z.iter().map(|v| v[0] as i64).collect())
                }
                _ => {
                    // W2 between data sets: the floor any sampler of the true law meets at this size.
                    let (data2, _) = fresh(&ring, n, data_root(p)?.child(1));
                    let (equal, _) = stratified(&ring, p.usize("per_component")?, data_root(p)?.named("equal-counts"));
                    let w2 = concat(vec![
                        w2_row("fresh data", "fresh data", "-", &data2, &data),
                        w2_row("fresh data", "training set", "-", &data, &train),
                        w2_row("fresh data, equal counts", "training set", "-", &equal, &train),
                    ])?;
                    return done(c, vec![("w2".into(), w2)]);
                }
            };
            let m = f.t.len();
            tables.push((
                "along".into(),
                Table::new()
                    .str("model", vec![name.into(); m])
                    .f64("t", f.t.clone())
                    .f64("mean_curvature", f.curvature.clone())
                    .f64("jacobian_whole", f.jacobian_whole.clone())
                    .f64("jacobian_network", f.jacobian_network.clone()),
            ));
            tables.push((
                "samples".into(),
                Table::new()
                    .str("model", vec![name.into(); n])
                    .i64("latent", latent_col)
                    .i64("component", components_of(&ring, &f.x).into_iter().map(|c| c as i64).collect())
                    .f64("x", f.x.iter().step_by(2).copied().collect())
                    .f64("y", f.x.iter().skip(1).step_by(2).copied().collect()),
            ));
            let k = f.paths.len();
            tables.push((
                "paths".into(),
                Table::new()
                    .str("model", vec![name.into(); k])
                    .i64("path", f.paths.iter().map(|r| r.2 as i64).collect())
                    .i64("step", f.paths.iter().map(|r| r.0 as i64).collect())
                    .f64("sigma", f.paths.iter().map(|r| r.1).collect())
                    .f64("x", f.paths.iter().map(|r| r.3).collect())
                    .f64("y", f.paths.iter().map(|r| r.4).collect()),
            ));
            done(c, tables)
        })
    }

    fn finish(&self, params: &Params, tables: Tables) -> Result<Outcome> {
        let get = |name: &str| tables.iter().find(|(t, _)| t == name).map(|(_, t)| t).ok_or_else(|| anyhow!("no {name} table"));
        let col = |t: &Table, c: &str| t.f64_column(c).ok_or_else(|| anyhow!("column {c}"));
        let strs = |t: &Table, c: &str| -> Result<Vec<String>> {
            match t.column(c) {
                Some(artifacts::Column::Str(v)) => Ok(v.clone()),
                _ => Err(anyhow!("column {c}")),
            }
        };
        let (along, samples, paths, w2t, lc, prior) = (
            get("along")?,
            get("samples")?,
            get("paths")?,
            get("w2")?,
            get("latent_components")?,
            get("prior")?,
        );
        let (t, kappa, jw, jn) = (
            col(along, "t")?,
            col(along, "mean_curvature")?,
            col(along, "jacobian_whole")?,
            col(along, "jacobian_network")?,
        );
        let m = t.len() / 2;
        ensure!(t.len() == 2 * m, "the along table holds two models");
        let (t, (k_dm, k_dc)) = (&t[..m], kappa.split_at(m));
        let (j_dm, j_dc, h_dc) = (&jw[..m], &jw[m..], &jn[m..]);

        // W2 rows by (model, against, latents).
        let (wm, wa, wl, wv) = (strs(w2t, "model")?, strs(w2t, "against")?, strs(w2t, "latents")?, col(w2t, "w2")?);
        let w2 = |model: &str, against: &str, latents: &str| -> Result<f64> {
            (0..wv.len())
                .find(|&i| wm[i] == model && wa[i] == against && wl[i] == latents)
                .map(|i| wv[i])
                .ok_or_else(|| anyhow!("no W2 row {model} / {against} / {latents}"))
        };
        let (w2_dm, w2_dc, w2_floor) = (
            w2(CELLS[0], "fresh data", "-")?,
            w2(CELLS[1], "fresh data", "prior")?,
            w2("fresh data", "fresh data", "-")?,
        );
        let (t_dm, t_dc, t_eq) = (
            w2(CELLS[0], "training set", "-")?,
            w2(CELLS[1], "training set", "prior")?,
            w2(CELLS[1], "training set", "prior, exact counts")?,
        );
        let (t_floor, t_floor_eq) = (w2("fresh data", "training set", "-")?, w2("fresh data, equal counts", "training set", "-")?);

        // How purely a latent value names a component, on fresh labelled points.
        let modes = params.usize("modes")?;
        let k = params.usize("values")?;
        let counts = col(lc, "fresh_points")?;
        let total: f64 = counts.iter().sum();
        let rows: Vec<&[f64]> = counts.chunks(modes).collect();
        let purity = rows.iter().map(|r| r.iter().copied().fold(0.0, f64::max)).sum::<f64>() / total;
        let owner = |r: &[f64]| (0..modes).max_by(|&a, &b| r[a].total_cmp(&r[b])).unwrap_or(0);
        let used: Vec<usize> = (0..k).filter(|&v| rows[v].iter().sum::<f64>() > 0.0).collect();
        let owned: std::collections::BTreeSet<usize> = used.iter().map(|&v| owner(rows[v])).collect();
        // Samples: does a sample drawn with latent z land in the component z names on the data?
        let n = params.usize("samples")?;
        let (sl, sc) = (col(samples, "latent")?, col(samples, "component")?);
        let in_mode = (n..2 * n).filter(|&i| owner(rows[sl[i] as usize]) == sc[i] as usize).count() as f64 / n as f64;
        let (pp, pf) = (col(prior, "prior_probability")?, col(prior, "training_set_frequency")?);
        let prior_gap = pp.iter().zip(&pf).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);

        let fraction = |a: &[f64], b: &[f64]| a.iter().zip(b).filter(|(x, y)| x < y).count() as f64 / a.len() as f64;
        let quantities = vec![
            Quantity::exact("w2.dm", w2_dm),
            Quantity::exact("w2.disco", w2_dc),
            Quantity::exact("w2.data_floor", w2_floor),
            Quantity::exact("w2.disco_over_dm", w2_dc / w2_dm),
            Quantity::exact("w2_training_set.dm", t_dm),
            Quantity::exact("w2_training_set.disco", t_dc),
            Quantity::exact("w2_training_set.disco_exact_counts", t_eq),
            Quantity::exact("w2_training_set.fresh_data", t_floor),
            Quantity::exact("w2_training_set.fresh_data_equal_counts", t_floor_eq),
            Quantity::exact("curvature.mean_ratio_disco_over_dm", mean(k_dc) / mean(k_dm)),
            Quantity::exact("curvature.fraction_of_times_disco_smaller", fraction(k_dc, k_dm)),
            Quantity::exact("jacobian.network_fraction_of_times_disco_smaller", fraction(h_dc, j_dm)),
            Quantity::exact("jacobian.network_mean_ratio_disco_over_dm", mean(h_dc) / mean(j_dm)),
            Quantity::exact("jacobian.whole_fraction_of_times_disco_smaller", fraction(j_dc, j_dm)),
            Quantity::exact("jacobian.whole_mean_ratio_disco_over_dm", mean(j_dc) / mean(j_dm)),
            Quantity::exact("latent.purity", purity),
            Quantity::exact("latent.values_used", used.len() as f64),
            Quantity::exact("latent.components_with_own_value", owned.len() as f64),
            Quantity::exact("samples.fraction_in_their_latents_component", in_mode),
            Quantity::exact("prior.largest_gap_to_training_frequencies", prior_gap),
        ];
        let mut out = Outcome {
            quantities,
            ..Default::default()
        };
        let merged: Vec<String> = used
            .iter()
            .filter(|&&v| {
                let r = rows[v];
                let s: f64 = r.iter().sum();
                r.iter().filter(|&&c| c > 0.05 * s).count() > 1
            })
            .map(|&v| format!("z = {v}"))
            .collect();
        out.notes.push(format!(
            "{n} samples per model, Heun with {} EDM steps; trained models: {}-step runs (cached). W2 to {n} fresh points: DM {w2_dm:.4}, \
             DisCo-Diff {w2_dc:.4}, two fresh data sets {w2_floor:.4} (thesis: 0.27 and 0.118). W2 to the {}-point training set (1000 per \
             component): DM {t_dm:.4}, DisCo-Diff {t_dc:.4} with latents drawn from the prior and {t_eq:.4} with the prior's probabilities as exact counts; fresh \
             i.i.d. data {t_floor:.4}, fresh data with 1000 per component {t_floor_eq:.4}. Mean curvature over the grid: DM {:.4}, DisCo-Diff \
             {:.4}. E‖∇ₓG‖²_F averaged over the grid: DM {:.4e}; DisCo-Diff's whole G {:.4e}, its network H {:.4e}. Latents on fresh \
             labelled points: purity {purity:.3}, {} of {k} values used, {} of {modes} components own a value{}.",
            params.usize("steps")?,
            params.u64("train_steps")?,
            train_len(params)?,
            mean(k_dm),
            mean(k_dc),
            mean(j_dm),
            mean(j_dc),
            mean(h_dc),
            used.len(),
            owned.len(),
            if merged.is_empty() { String::new() } else { format!("; values holding more than one component: {}", merged.join(", ")) },
        ));

        let tables_out = Table::new()
            .f64("t", t.to_vec())
            .f64("curvature_dm", k_dm.to_vec())
            .f64("curvature_disco", k_dc.to_vec())
            .f64("jacobian_dm", j_dm.to_vec())
            .f64("jacobian_disco_whole", j_dc.to_vec())
            .f64("jacobian_disco_network", h_dc.to_vec());
        out.tables = vec![
            ("along_trajectories".into(), tables_out),
            ("w2".into(), w2t.clone()),
            ("latent_components".into(), lc.clone()),
            ("prior".into(), prior.clone()),
            ("samples".into(), samples.clone()),
            ("paths".into(), paths.clone()),
        ];
        out.figures.push((String::new(), scatter_figure(params, samples, paths)?));
        out.figures.push(("geometry".into(), geometry_figure(t, k_dm, k_dc, j_dm, j_dc, h_dc)));
        Ok(out)
    }
}

fn train_len(p: &Params) -> Result<usize> {
    Ok(p.usize("per_component")? * p.usize("modes")?)
}

/// Fig. 4.3: the training data, the DM's samples and DisCo-Diff's coloured by latent, with paths.
fn scatter_figure(p: &Params, samples: &Table, paths: &Table) -> Result<Figure> {
    let col = |t: &Table, c: &str| t.f64_column(c).ok_or_else(|| anyhow!("column {c}"));
    let shown = 2000.min(p.usize("samples")?);
    let (train, _) = training_data(p)?;
    let n = p.usize("samples")?;
    let (sx, sy, sl) = (col(samples, "x")?, col(samples, "y")?, col(samples, "latent")?);
    let (px, py, pid) = (col(paths, "x")?, col(paths, "y")?, col(paths, "path")?);
    let keep = p.usize("trajectories")?.min(n);
    let per_model = pid.len() / 2;
    let path_series = |model: usize| -> Vec<Series> {
        (0..keep)
            .map(|i| {
                let (x, y): (Vec<f64>, Vec<f64>) = (model * per_model..(model + 1) * per_model)
                    .filter(|&r| pid[r] as usize == i)
                    .map(|r| (px[r], py[r]))
                    .filter(|(x, y)| x.hypot(*y) < 6.0)
                    .unzip();
                Series::new(if i == 0 { "ODE paths (inside radius 6)" } else { "" }, &x, &y, Style::Line, 9)
            })
            .collect()
    };
    let panel = |title: &str, series: Vec<Series>| Panel {
        title: title.into(),
        x_label: "x₁".into(),
        y_label: "x₂".into(),
        series,
        ..Default::default()
    };
    let (tx, ty): (Vec<f64>, Vec<f64>) = train.chunks(2).step_by((train.len() / 2 / shown).max(1)).map(|r| (r[0], r[1])).unzip();
    let mut dm = vec![Series::new("samples", &sx[..shown], &sy[..shown], Style::Markers, 0)];
    dm.extend(path_series(0));
    let k = p.usize("values")?;
    let mut dc: Vec<Series> = (0..k)
        .map(|v| {
            let (x, y): (Vec<f64>, Vec<f64>) = (n..n + shown).filter(|&i| sl[i] as usize == v).map(|i| (sx[i], sy[i])).unzip();
            Series::new(format!("z = {v}"), &x, &y, Style::Markers, v)
        })
        .collect();
    dc.extend(path_series(1));
    Ok(Figure {
        title: "Fig. 4.3 (trained, 8000-point ring): data, the diffusion model, DisCo-Diff coloured by its latent".into(),
        panels: vec![
            panel("training data", vec![Series::new("data", &tx, &ty, Style::Markers, 7)]),
            panel("diffusion model", dm),
            panel("DisCo-Diff, coloured by z", dc),
        ],
        columns: 3,
    })
}

/// Fig. 4.4: mean curvature and score-Jacobian norms along the trajectories.
fn geometry_figure(t: &[f64], k_dm: &[f64], k_dc: &[f64], j_dm: &[f64], j_dc: &[f64], h_dc: &[f64]) -> Figure {
    let panel = |title: &str, y: &str, series: Vec<Series>| Panel {
        title: title.into(),
        x_label: "t (σ)".into(),
        y_label: y.into(),
        x_log: true,
        y_log: true,
        series,
    };
    Figure {
        title: "Fig. 4.4 (trained): curvature and Jacobian norms along Heun trajectories".into(),
        panels: vec![
            panel(
                "(a) mean curvature",
                "E κ(x(t))",
                vec![
                    Series::new("diffusion model", t, k_dm, Style::LineMarkers, 0),
                    Series::new("DisCo-Diff", t, k_dc, Style::LineMarkers, 1),
                ],
            ),
            panel(
                "(b) Jacobian norms",
                "E ‖∇ₓ·‖²_F",
                vec![
                    Series::new("DM: score G (its network)", t, j_dm, Style::LineMarkers, 0),
                    Series::new("DisCo-Diff: whole G", t, j_dc, Style::LineMarkers, 1),
                    Series::new("DisCo-Diff: network H", t, h_dc, Style::Dashed, 2),
                ],
            ),
        ],
        columns: 2,
    }
}

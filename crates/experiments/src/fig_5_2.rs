//! Figure 5.2 / B.11 (thesis l.1183, l.4295; protocol §5.4.1 l.1170–1189, App. B.3.2
//! l.4286–4313): the error decomposition of Theorems 3–4 measured on the 20-D, 2000-point set.
//!
//! Each sampler (ODE, SDE, Improved SDE, Restart) runs only inside [t_min, t_max]; outside it the
//! Euler ODE carries the samples (from the prior down to t_max, and from t_min to 0). For a
//! sampler S, p₀ is its output started from the model's own x_{t_max}, q₀ its output started from
//! the true p_{t_max} (a random point of the set plus t_max·z), and, with W1 by minimum-cost
//! assignment against the 2000 points:
//!   contracted error = W1(p₀, q₀), additional sampling error = W1(q₀, p_data),
//!   total error = W1(p₀, p_data).
//! The denoiser is the trained MLP (tier small) or the exact denoiser of the set plus a smooth
//! controlled error of size η (tier exact), which separates approximation from discretization.
//! One cell per (variant, run, configuration); the runs' shared start states are computed once.

use crate::{CellDone, Experiment, Outcome, Quantity, Run};
use anyhow::{anyhow, bail, Result};
use artifacts::{Column, Table, Tables};
use diffusion::Denoiser;
use exact_denoisers::{Perturbed, PointSet};
use figures::{Figure, Panel, Series, Style};
use rand::Rng as _;
use rayon::prelude::*;
use registry::Params;
use samplers::edm_sde::{sample_edm_sde, Churn};
use samplers::euler::sample_euler;
use samplers::euler_maruyama::sample_euler_maruyama;
use samplers::grid::{edm_main, edm_scheme};
use samplers::heun::sample_heun;
use samplers::restart::{Interval, MainSolver, Restart};
use samplers::Particles;
use seeding::Stream;
use std::collections::BTreeMap;

/// The runner `restart-errors`.
pub struct Fig52;

const DIM: usize = 20;

/// A sampler family of the sweeps (B.3.2 l.4303–4305).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    /// Heun's ODE solver.
    Ode,
    /// Euler–Maruyama with noise multiplier β.
    Sde,
    /// EDM's stochastic sampler with S_churn.
    ImprovedSde,
    /// Restart: an ODE pass, then K restart iterations.
    Restart,
}

/// One sampler configuration inside [t_min, t_max]: `steps` is the number of solver steps (for
/// Restart, N_Restart levels of the inner grid); `knob` is β, S_churn or K.
#[derive(Clone, Copy, Debug)]
struct Config {
    family: Family,
    steps: usize,
    knob: f64,
}

impl Config {
    fn label(&self) -> String {
        match self.family {
            Family::Ode => format!("ODE {} steps", self.steps),
            Family::Sde => format!("SDE {} steps, β = {}", self.steps, self.knob),
            Family::ImprovedSde => format!("Improved SDE {} steps, S_churn = {}", self.steps, self.knob),
            Family::Restart => format!("Restart N = {}, K = {}", self.steps, self.knob),
        }
    }

    /// The plotted series: Improved SDE joins the SDE series, as in the thesis (l.4305).
    fn series(&self) -> &'static str {
        match self.family {
            Family::Ode => "ODE",
            Family::Sde | Family::ImprovedSde => "SDE",
            Family::Restart => "Restart",
        }
    }

    /// Moves `p` from t_max to t_min.
    fn run(&self, den: &dyn Denoiser, p: &mut Particles, iv: &Interval, rho: f64) -> Result<()> {
        let grid = edm_scheme(iv.t_min, iv.t_max, self.steps + 1, rho);
        match self.family {
            Family::Ode => sample_heun(den, p, &grid),
            Family::Sde => sample_euler_maruyama(den, p, &grid, self.knob),
            Family::ImprovedSde => {
                let churn = Churn {
                    s_churn: self.knob,
                    s_tmin: 0.0,
                    s_tmax: f64::INFINITY,
                    s_noise: 1.0,
                };
                sample_edm_sde(den, p, &grid, &churn)
            }
            Family::Restart => {
                // Alg. 9 restricted to one interval: the ODE pass t_max → t_min, then K restarts.
                let interval = Interval {
                    n_restart: self.steps,
                    k: self.knob as usize,
                    ..*iv
                };
                sample_heun(den, p, &edm_scheme(iv.t_min, iv.t_max, self.steps, rho))?;
                let restart = Restart {
                    main_grid: vec![],
                    intervals: vec![],
                    main: MainSolver::Heun,
                    s_noise: 1.0,
                    gamma: 0.0,
                    rho,
                    jump: samplers::jump::Jump::Gaussian,
                };
                restart.restart_iterations(den, p, &interval)
            }
        }
    }
}

/// Every configuration of the declared sweeps, in a fixed order.
fn configs(p: &Params) -> Result<Vec<Config>> {
    let mut out = vec![];
    let mut push = |family, steps: usize, knob: f64| out.push(Config { family, steps, knob });
    for s in p.usize_list("ode_steps")? {
        push(Family::Ode, s, 0.0);
    }
    for s in p.usize_list("sde_steps")? {
        for b in p.f64_list("sde_betas")? {
            push(Family::Sde, s, b);
        }
    }
    for c in p.f64_list("improved_churns")? {
        push(Family::ImprovedSde, p.usize("improved_steps")?, c);
    }
    for s in p.usize_list("improved_grid_steps")? {
        let relative = p.f64_list("improved_grid_churn_per_step")?.into_iter().map(|f| f * s as f64);
        for c in relative.chain(p.f64_list("improved_grid_churns")?) {
            push(Family::ImprovedSde, s, c);
        }
    }
    for k in p.usize_list("restart_ks")? {
        push(Family::Restart, p.usize("restart_n")?, k as f64);
    }
    for n in p.usize_list("restart_grid_ns")? {
        for k in p.usize_list("restart_grid_ks")? {
            push(Family::Restart, n, k as f64);
        }
    }
    if let Some(c) = out.iter().find(|c| c.steps < 1 || (c.family == Family::Restart && c.steps < 2)) {
        bail!("{}: every sampler needs at least one step (Restart: N_Restart ≥ 2)", c.label());
    }
    Ok(out)
}

/// The denoiser variants: the trained model (`score = "mlp"`), or the exact denoiser with each
/// declared perturbation size η (`score = "exact"`).
fn variants(p: &Params) -> Result<Vec<Option<f64>>> {
    match p.str("score")? {
        "mlp" => Ok(vec![None]),
        "exact" => Ok(p.f64_list("etas")?.into_iter().map(Some).collect()),
        other => bail!("parameter `score` must be \"mlp\" or \"exact\", not {other:?}"),
    }
}

fn variant_name(eta: Option<f64>) -> String {
    eta.map_or("mlp".into(), |e| format!("exact, η = {e}"))
}

/// (variant, run, configuration) of cell c.
fn split(c: usize, runs: usize, n_configs: usize) -> (usize, usize, usize) {
    (c / (runs * n_configs), (c / n_configs) % runs, c % n_configs)
}

/// The interval and the outer grids.
struct Protocol {
    interval: Interval,
    rho: f64,
    sigma_max: f64,
    sigma_min: f64,
    outer_steps: usize,
}

impl Protocol {
    fn of(p: &Params) -> Result<Self> {
        let (t_min, t_max) = (p.f64("t_min")?, p.f64("t_max")?);
        if !(0.0 < t_min && t_min < t_max) {
            bail!("parameters `t_min` = {t_min} and `t_max` = {t_max} must satisfy 0 < t_min < t_max");
        }
        Ok(Protocol {
            interval: Interval {
                n_restart: 2,
                k: 0,
                t_min,
                t_max,
            },
            rho: p.f64("rho")?,
            sigma_max: p.f64("sigma_max")?,
            sigma_min: p.f64("sigma_min")?,
            outer_steps: p.usize("outer_steps")?,
        })
    }

    /// The model's x_{t_max}: prior draws carried down by the Euler ODE.
    fn model_start(&self, den: &dyn Denoiser, n: usize, stream: Stream) -> Result<Vec<f64>> {
        let mut p = Particles::from_prior(n, DIM, self.sigma_max, stream);
        sample_euler(den, &mut p, &edm_scheme(self.interval.t_max, self.sigma_max, self.outer_steps + 1, self.rho))?;
        Ok(p.x)
    }

    /// n i.i.d. draws from the uniform distribution on the set.
    fn resample(data: &[f64], n: usize, stream: Stream) -> Vec<f64> {
        let points = data.len() / DIM;
        let mut rng = stream.named("indices").rng();
        (0..n)
            .flat_map(|_| {
                let k = rng.random_range(0..points);
                data[k * DIM..(k + 1) * DIM].to_vec()
            })
            .collect()
    }

    /// Draws from the true p_{t_max}: a uniformly chosen point of the set plus t_max·z.
    fn true_start(&self, data: &[f64], n: usize, stream: Stream) -> Vec<f64> {
        let x = Self::resample(data, n, stream);
        let mut p = Particles::from_states(DIM, x, stream.named("noise"));
        p.add_noise(self.interval.t_max);
        p.x
    }

    /// Runs the configuration from `start` at t_max and the Euler ODE from t_min to 0; returns
    /// the samples and the NFE spent inside the interval.
    fn finish(&self, den: &dyn Denoiser, c: &Config, start: &[f64], stream: Stream) -> Result<(Vec<f64>, usize)> {
        let mut p = Particles::from_states(DIM, start.to_vec(), stream);
        c.run(den, &mut p, &self.interval, self.rho)?;
        let nfe = p.nfe;
        sample_euler(den, &mut p, &edm_main(self.sigma_min, self.interval.t_min, self.outer_steps, self.rho))?;
        Ok((p.x, nfe))
    }
}

fn denoiser(run: &Run, data: &[f64], eta: Option<f64>) -> Result<Box<dyn Denoiser>> {
    let p = run.params;
    Ok(match eta {
        None => Box::new(crate::restart_model::trained(run, data)?),
        Some(eta) => Box::new(Perturbed::new(
            PointSet::new(DIM, data.to_vec()),
            eta,
            p.usize("field_features")?,
            p.f64("field_length")?,
            run.stream.named("field"),
        )),
    })
}

impl Experiment for Fig52 {
    fn cells(&self, params: &Params) -> Result<Vec<String>> {
        let (configs, runs) = (configs(params)?, params.usize("runs")?);
        let mut out = vec![];
        for v in variants(params)? {
            for r in 0..runs {
                out.extend(configs.iter().map(|c| format!("{}, run {r}: {}", variant_name(v), c.label())));
            }
        }
        Ok(out)
    }

    fn run_cells(&self, run: &Run, cells: &[usize], done: &CellDone) -> Result<()> {
        let p = run.params;
        let (configs, variants, runs, n) = (configs(p)?, variants(p)?, p.usize("runs")?, p.usize("samples")?);
        let protocol = Protocol::of(p)?;
        let data = crate::restart_model::data(p)?;
        if n * DIM != data.len() {
            bail!("parameter `samples` = {n} must equal `data_points` (W1 by assignment needs equal sizes)");
        }
        for (v, eta) in variants.iter().enumerate() {
            let mine: Vec<usize> = cells.iter().copied().filter(|&c| split(c, runs, configs.len()).0 == v).collect();
            if mine.is_empty() {
                continue;
            }
            let den = denoiser(run, &data, *eta)?;
            // The runs' start states, shared by all of a run's configurations.
            let mut starts = BTreeMap::new();
            for r in mine.iter().map(|&c| split(c, runs, configs.len()).1) {
                if let std::collections::btree_map::Entry::Vacant(e) = starts.entry(r) {
                    let s = run.stream.named("start").child(r as u64);
                    let model = protocol.model_start(den.as_ref(), n, s.named("prior"))?;
                    e.insert((model, protocol.true_start(&data, n, s.named("true"))));
                }
            }
            mine.par_iter().try_for_each(|&c| -> Result<()> {
                let (_, r, k) = split(c, runs, configs.len());
                let cfg = &configs[k];
                let (model_start, true_start) = &starts[&r];
                let stream = run.stream.child(c as u64);
                let (p0, nfe) = protocol.finish(den.as_ref(), cfg, model_start, stream.named("p"))?;
                let (q0, _) = protocol.finish(den.as_ref(), cfg, true_start, stream.named("q"))?;
                let w1 = |a: &[f64], b: &[f64]| metrics::w1_exact(a, b, DIM).distance;
                let t = Table::new()
                    .f64("eta", vec![eta.unwrap_or(f64::NAN)])
                    .i64("run", vec![r as i64])
                    .str("config", vec![cfg.label()])
                    .str("series", vec![cfg.series().into()])
                    .i64("steps", vec![cfg.steps as i64])
                    .f64("knob", vec![cfg.knob])
                    .i64("nfe", vec![nfe as i64])
                    .f64("contracted", vec![w1(&p0, &q0)])
                    .f64("additional", vec![w1(&q0, &data)])
                    .f64("total", vec![w1(&p0, &data)]);
                done(c, vec![("per_run".into(), t)])
            })?;
        }
        Ok(())
    }

    fn finish(&self, params: &Params, tables: Tables) -> Result<Outcome> {
        let t = &tables.iter().find(|(n, _)| n == "per_run").ok_or_else(|| anyhow!("no per_run table"))?.1;
        let strs = |name: &str| match t.column(name) {
            Some(Column::Str(v)) => Ok(v.clone()),
            _ => Err(anyhow!("per_run has no {name} column")),
        };
        let col = |name: &str| t.f64_column(name).ok_or_else(|| anyhow!("per_run has no {name} column"));
        let (config, series) = (strs("config")?, strs("series")?);
        let (eta, nfe, steps, knob) = (col("eta")?, col("nfe")?, col("steps")?, col("knob")?);
        let (contracted, additional, total) = (col("contracted")?, col("additional")?, col("total")?);
        let runs = params.usize("runs")?;
        let n_configs = configs(params)?.len();
        let mut out = Outcome::default();
        let mut points = PointsTable::default();
        for (v, variant) in variants(params)?.into_iter().enumerate() {
            let prefix = variant.map_or(String::new(), |e| format!("eta={e}."));
            // Rows of this variant, grouped by configuration (rows are in cell order).
            let rows = |k: usize| -> Vec<usize> { (0..runs).map(|r| (v * runs + r) * n_configs + k).filter(|&i| i < t.rows()).collect() };
            let mut pts = vec![];
            for k in 0..n_configs {
                let idx = rows(k);
                if idx.len() != runs {
                    bail!("configuration {k} of variant {v} has {} of {runs} runs", idx.len());
                }
                let est = |v: &[f64]| metrics::Estimate::of(&idx.iter().map(|&i| v[i]).collect::<Vec<_>>());
                let point = Point {
                    config: config[idx[0]].clone(),
                    series: series[idx[0]].clone(),
                    nfe: nfe[idx[0]],
                    steps: steps[idx[0]],
                    knob: knob[idx[0]],
                    contracted: est(&contracted),
                    additional: est(&additional),
                    total: est(&total),
                    per_run_total: idx.iter().map(|&i| total[i]).collect(),
                };
                points.push(eta[idx[0]], &point);
                pts.push(point);
            }
            out.quantities.extend(quantities(&prefix, &pts));
            let name = if v == 0 { String::new() } else { format!("eta-{}", variant.unwrap_or(0.0)) };
            out.figures.push((name, figure(&variant_name(variant), &pts)));
        }
        let data = crate::restart_model::data(params)?;
        let floor: Vec<f64> = (0..runs)
            .map(|r| {
                let x = Protocol::resample(&data, data.len() / DIM, Stream::new(params.u64("seed")?).named("floor").child(r as u64));
                Ok(metrics::w1_exact(&x, &data, DIM).distance)
            })
            .collect::<Result<_>>()?;
        let floor = metrics::Estimate::of(&floor);
        out.quantities.push(Quantity::mc("floor", floor.mean, floor.se));
        out.tables = vec![("points".into(), points.into_table()), ("per_run".into(), t.clone())];
        out.notes.push(
            "W1 against the 2000 data points has a floor even for perfect sampling: 2000 i.i.d. draws from the uniform \
             distribution on the set miss about 1/e of its points (see `floor` in the side-by-side), so errors are read \
             relative to one another, as in the thesis."
                .into(),
        );
        Ok(out)
    }
}

/// One configuration's errors over the runs.
struct Point {
    config: String,
    series: String,
    nfe: f64,
    steps: f64,
    knob: f64,
    contracted: metrics::Estimate,
    additional: metrics::Estimate,
    total: metrics::Estimate,
    per_run_total: Vec<f64>,
}

/// The `points` table: one row per (variant, configuration), means and s.d. over the runs.
#[derive(Default)]
struct PointsTable {
    eta: Vec<f64>,
    config: Vec<String>,
    series: Vec<String>,
    nfe: Vec<f64>,
    columns: [Vec<f64>; 6],
}

impl PointsTable {
    fn push(&mut self, eta: f64, p: &Point) {
        self.eta.push(eta);
        self.config.push(p.config.clone());
        self.series.push(p.series.clone());
        self.nfe.push(p.nfe);
        for (i, e) in [&p.contracted, &p.additional, &p.total].into_iter().enumerate() {
            self.columns[2 * i].push(e.mean);
            self.columns[2 * i + 1].push(e.se * (e.n as f64).sqrt());
        }
    }

    fn into_table(self) -> Table {
        let names = ["contracted_mean", "contracted_sd", "additional_mean", "additional_sd", "total_mean", "total_sd"];
        let mut t = Table::new()
            .f64("eta", self.eta)
            .str("config", self.config)
            .str("series", self.series)
            .f64("nfe", self.nfe);
        for (name, v) in names.into_iter().zip(self.columns) {
            t = t.f64(name, v);
        }
        t
    }
}

/// The Pareto frontier of B.3.2 l.4313: points sorted by x, keeping the prefix minima of y.
fn frontier(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut sorted = points.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut best = f64::INFINITY;
    sorted
        .into_iter()
        .filter(|p| {
            p.1 < best && {
                best = p.1;
                true
            }
        })
        .collect()
}

/// Fraction of the points of `others` weakly dominated by some point of `by` (x ≤ and y ≤).
fn dominated_fraction(by: &[(f64, f64)], others: &[(f64, f64)]) -> f64 {
    let hit = others.iter().filter(|o| by.iter().any(|b| b.0 <= o.0 && b.1 <= o.1)).count();
    hit as f64 / others.len().max(1) as f64
}

const SERIES: [&str; 3] = ["ODE", "SDE", "Restart"];

fn xy(pts: &[Point], series: &str, f: impl Fn(&Point) -> (f64, f64)) -> Vec<(f64, f64)> {
    pts.iter().filter(|p| p.series == series).map(f).collect()
}

fn quantities(prefix: &str, pts: &[Point]) -> Vec<Quantity> {
    let a = |p: &Point| (p.additional.mean, p.contracted.mean);
    let c = |p: &Point| (p.nfe, p.total.mean);
    let other = |f: &dyn Fn(&Point) -> (f64, f64)| -> Vec<(f64, f64)> {
        let mut v = frontier(&xy(pts, "ODE", f));
        v.extend(frontier(&xy(pts, "SDE", f)));
        v
    };
    let mut q = vec![
        Quantity::exact(format!("{prefix}frontier_a_dominated"), dominated_fraction(&xy(pts, "Restart", a), &other(&a))),
        Quantity::exact(format!("{prefix}frontier_c_dominated"), dominated_fraction(&xy(pts, "Restart", c), &other(&c))),
    ];
    // Panel (b): the best total error of each series, Restart's advantage paired by run.
    let best = |s: &str| pts.iter().filter(|p| p.series == s).min_by(|x, y| x.total.mean.total_cmp(&y.total.mean));
    for s in SERIES {
        if let Some(b) = best(s) {
            q.push(Quantity::mc(format!("{prefix}best_total.{s}"), b.total.mean, b.total.se));
        }
    }
    if let (Some(r), Some(o)) = (
        best("Restart"),
        ["ODE", "SDE"]
            .iter()
            .filter_map(|s| best(s))
            .min_by(|x, y| x.total.mean.total_cmp(&y.total.mean)),
    ) {
        let diff = metrics::Estimate::of(&o.per_run_total.iter().zip(&r.per_run_total).map(|(a, b)| a - b).collect::<Vec<_>>());
        q.push(Quantity::exact(format!("{prefix}restart_best_total_advantage_in_se"), diff.mean / diff.se));
    }
    // Theorem 3's trade-off along the K sweep at the largest N_Restart: contraction falls, the
    // additional error grows (spec §3.9 item 4).
    let restart: Vec<&Point> = pts.iter().filter(|p| p.series == "Restart").collect();
    let n_max = restart.iter().map(|p| p.steps).fold(f64::NAN, f64::max);
    let mut sweep: Vec<&&Point> = restart.iter().filter(|p| p.steps == n_max).collect();
    sweep.sort_by(|a, b| a.knob.total_cmp(&b.knob));
    if let (Some(first), Some(last)) = (sweep.first(), sweep.last()) {
        q.push(Quantity::exact(
            format!("{prefix}contracted_ratio_kmax_k0"),
            last.contracted.mean / first.contracted.mean,
        ));
        q.push(Quantity::exact(
            format!("{prefix}additional_growth_kmax_k0"),
            last.additional.mean - first.additional.mean,
        ));
    }
    q
}

fn figure(variant: &str, pts: &[Point]) -> Figure {
    let scatter_and_frontier = |f: &dyn Fn(&Point) -> (f64, f64), with_frontier: bool| -> Vec<Series> {
        let mut out = vec![];
        for (i, s) in SERIES.iter().enumerate() {
            let p = xy(pts, s, f);
            out.push(Series {
                label: s.to_string(),
                points: p.clone(),
                style: Style::Markers,
                color: i,
            });
            if with_frontier {
                out.push(Series {
                    label: format!("{s} frontier"),
                    points: frontier(&p),
                    style: Style::Line,
                    color: i,
                });
            }
        }
        out
    };
    Figure {
        title: format!("Fig. 5.2 analog: additional vs contracted vs total error, interval [1.0, 1.5] ({variant})"),
        columns: 3,
        panels: vec![
            Panel {
                title: "(a) Pareto frontier".into(),
                x_label: "additional sampling error W1(q₀, p_data)".into(),
                y_label: "contracted error W1(p₀, q₀)".into(),
                series: scatter_and_frontier(&|p| (p.additional.mean, p.contracted.mean), true),
                ..Default::default()
            },
            Panel {
                title: "(b) additional vs total".into(),
                x_label: "additional sampling error W1(q₀, p_data)".into(),
                y_label: "total error W1(p₀, p_data)".into(),
                series: scatter_and_frontier(&|p| (p.additional.mean, p.total.mean), false),
                ..Default::default()
            },
            Panel {
                title: "(c) NFE vs total (Pareto)".into(),
                x_label: "NFE inside [t_min, t_max]".into(),
                y_label: "total error W1(p₀, p_data)".into(),
                x_log: true,
                series: scatter_and_frontier(&|p| (p.nfe, p.total.mean), true),
                ..Default::default()
            },
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frontier_keeps_prefix_minima_in_x_order() {
        let f = frontier(&[(3.0, 1.0), (1.0, 5.0), (2.0, 6.0), (2.5, 2.0), (4.0, 1.5)]);
        assert_eq!(f, vec![(1.0, 5.0), (2.5, 2.0), (3.0, 1.0)]);
    }

    #[test]
    fn domination_counts_weakly_dominated_points() {
        let by = [(1.0, 1.0), (3.0, 0.5)];
        assert_eq!(dominated_fraction(&by, &[(1.0, 1.0), (2.0, 0.9), (3.5, 0.6), (0.5, 9.0)]), 0.5);
    }
}

//! Small analogs of the Restart sweeps on CIFAR-10 (Fig. 5.1b l.1091, Fig. 5.5 l.1241, Fig. B.13
//! l.4407): full samplers from σ_max = 80 on the 20-D model of §5.4.1, scored by exact W1 against
//! the 2000 data points, one cell per (configuration, sampling seed). The configurations are
//! declared one per line (see `samplers::spec`); `x_axis` says what the figure plots them against:
//! `nfe` (quality vs NFE per family), or `k`, `t_min`, `length` (a sweep of Restart's first
//! interval, whose claim is an interior optimum).

use crate::{CellDone, Experiment, Outcome, Quantity, Run};
use anyhow::{anyhow, bail, Result};
use artifacts::{Column, Table, Tables};
use figures::{Figure, Panel, Series, Style};
use rayon::prelude::*;
use registry::Params;
use samplers::spec::{SamplerSpec, SIGMA_MAX};
use samplers::Particles;

/// The runner `restart-sweeps`.
pub struct RestartSweeps;

const DIM: usize = 20;

fn specs(p: &Params) -> Result<Vec<(String, SamplerSpec)>> {
    p.str_list("configs")?
        .into_iter()
        .map(|line| SamplerSpec::parse(&line).map(|s| (line, s)))
        .collect::<Result<Vec<_>>>()
        .map_err(|e| anyhow!("parameter `configs`: {e:#}"))
}

/// The x coordinate of a configuration on the declared axis.
fn x_of(axis: &str, spec: &SamplerSpec, nfe: f64) -> Result<f64> {
    let first = || match spec {
        SamplerSpec::Restart(_, iv) => Ok(iv[0]),
        _ => Err(anyhow!("x_axis = {axis:?} needs Restart configurations only")),
    };
    Ok(match axis {
        "nfe" => nfe,
        "k" => first()?.k as f64,
        // The t_min Restart actually uses: snapped to the main grid (Alg. 9, line 2).
        "t_min" => spec
            .restart()
            .map(|r| r.snapped()[0].t_min)
            .ok_or_else(|| anyhow!("x_axis = \"t_min\" needs Restart configurations"))?,
        "length" => first()?.t_max - first()?.t_min,
        other => bail!("parameter `x_axis` must be one of nfe, k, t_min, length, not {other:?}"),
    })
}

impl Experiment for RestartSweeps {
    fn cells(&self, params: &Params) -> Result<Vec<String>> {
        let runs = params.usize("runs")?;
        Ok(specs(params)?
            .iter()
            .flat_map(|(l, _)| (0..runs).map(move |r| format!("{l}, seed {r}")))
            .collect())
    }

    fn run_cells(&self, run: &Run, cells: &[usize], done: &CellDone) -> Result<()> {
        let p = run.params;
        let (specs, runs, axis) = (specs(p)?, p.usize("runs")?, p.str("x_axis")?);
        let data = crate::restart_model::data(p)?;
        let model = crate::restart_model::trained(run, &data)?;
        cells.par_iter().try_for_each(|&c| -> Result<()> {
            let (k, seed) = (c / runs, c % runs);
            let (line, spec) = &specs[k];
            // The same prior draws for every configuration of a seed: differences are paired.
            let mut particles = Particles::from_prior(data.len() / DIM, DIM, SIGMA_MAX, run.stream.named("prior").child(seed as u64));
            spec.sample(&model, &mut particles)?;
            let t = Table::new()
                .str("config", vec![line.clone()])
                .str("family", vec![spec.family().into()])
                .i64("seed", vec![seed as i64])
                .i64("nfe", vec![particles.nfe as i64])
                .f64("x", vec![x_of(axis, spec, particles.nfe as f64)?])
                .f64("w1", vec![metrics::w1_exact(&particles.x, &data, DIM).distance]);
            done(c, vec![("per_seed".into(), t)])
        })
    }

    fn finish(&self, params: &Params, tables: Tables) -> Result<Outcome> {
        let t = &tables.iter().find(|(n, _)| n == "per_seed").ok_or_else(|| anyhow!("no per_seed table"))?.1;
        let (specs, runs, axis) = (specs(params)?, params.usize("runs")?, params.str("x_axis")?);
        let family = match t.column("family") {
            Some(Column::Str(v)) => v.clone(),
            _ => bail!("per_seed has no family column"),
        };
        let col = |name: &str| t.f64_column(name).ok_or_else(|| anyhow!("per_seed has no {name} column"));
        let (nfe, x, w1) = (col("nfe")?, col("x")?, col("w1")?);
        if t.rows() != specs.len() * runs {
            bail!("per_seed has {} rows for {} configurations × {runs} seeds", t.rows(), specs.len());
        }
        let rows = |k: usize| (k * runs..(k + 1) * runs).collect::<Vec<_>>();
        let configs: Vec<Config> = (0..specs.len())
            .map(|k| Config {
                family: family[k * runs].clone(),
                nfe: nfe[k * runs],
                x: x[k * runs],
                w1: rows(k).iter().map(|&i| w1[i]).collect(),
            })
            .collect();
        let mut out = Outcome::default();
        let summary = Table::new()
            .str("config", specs.iter().map(|(l, _)| l.clone()).collect())
            .str("family", configs.iter().map(|c| c.family.clone()).collect())
            .f64("nfe", configs.iter().map(|c| c.nfe).collect())
            .f64("x", configs.iter().map(|c| c.x).collect())
            .f64("w1_mean", configs.iter().map(|c| c.mean().mean).collect())
            .f64("w1_sd", configs.iter().map(|c| c.mean().se * (runs as f64).sqrt()).collect());
        out.quantities = if axis == "nfe" { nfe_claims(&configs) } else { optimum_claims(&configs) };
        out.figures.push((String::new(), figure(params, axis, &configs)?));
        out.tables = vec![("configs".into(), summary), ("per_seed".into(), t.clone())];
        Ok(out)
    }
}

/// One configuration's W1 over the seeds.
struct Config {
    family: String,
    nfe: f64,
    x: f64,
    w1: Vec<f64>,
}

impl Config {
    fn mean(&self) -> metrics::Estimate {
        metrics::Estimate::of(&self.w1)
    }

    /// self − other, paired by seed, in standard errors.
    fn paired_z(&self, other: &Config) -> f64 {
        let d = metrics::Estimate::of(&self.w1.iter().zip(&other.w1).map(|(a, b)| a - b).collect::<Vec<_>>());
        d.mean / d.se
    }
}

fn family<'a>(cs: &'a [Config], name: &str) -> Vec<&'a Config> {
    let mut v: Vec<&Config> = cs.iter().filter(|c| c.family == name).collect();
    v.sort_by(|a, b| a.nfe.total_cmp(&b.nfe));
    v
}

/// Fig. 5.1b's three claims: the ODE plateaus, the SDE wins at large NFE, Restart is best at every NFE.
fn nfe_claims(cs: &[Config]) -> Vec<Quantity> {
    let mut q = vec![];
    let ode = family(cs, "ODE (Heun)");
    if let [.., prev, last] = ode.as_slice() {
        // A plateau is a statement about size, not significance: the deterministic ODE makes even
        // a 0.05% change many paired standard errors wide.
        let (a, b) = (prev.mean().mean, last.mean().mean);
        q.push(Quantity::exact("ode_last_doubling_relative_change", (a - b).abs() / b));
    }
    let sde: Vec<&Config> = cs.iter().filter(|c| c.family.contains("SDE")).collect();
    if let (Some(o), Some(s)) = (
        ode.last(),
        sde.iter().max_by(|a, b| a.nfe.total_cmp(&b.nfe).then(b.mean().mean.total_cmp(&a.mean().mean))),
    ) {
        q.push(Quantity::exact("ode_minus_sde_at_max_nfe_in_se", o.paired_z(s)));
    }
    // Restart at every NFE: each ODE/SDE point is matched by a Restart point with no more NFE
    // and no larger mean W1.
    let restart = family(cs, "Restart");
    let others: Vec<&Config> = cs.iter().filter(|c| c.family != "Restart").collect();
    let dominated = others
        .iter()
        .filter(|o| restart.iter().any(|r| r.nfe <= o.nfe && r.mean().mean <= o.mean().mean))
        .count();
    q.push(Quantity::exact("restart_dominated_fraction", dominated as f64 / others.len().max(1) as f64));
    q
}

/// A U- or V-shape: the best configuration is interior, and by how many s.e. both ends are worse.
fn optimum_claims(cs: &[Config]) -> Vec<Quantity> {
    let mut sorted: Vec<&Config> = cs.iter().collect();
    sorted.sort_by(|a, b| a.x.total_cmp(&b.x));
    let best = (0..sorted.len())
        .min_by(|&a, &b| sorted[a].mean().mean.total_cmp(&sorted[b].mean().mean))
        .unwrap_or(0);
    let interior = best > 0 && best + 1 < sorted.len();
    let mut q = vec![
        Quantity::exact("optimum_is_interior", if interior { 1.0 } else { 0.0 }),
        Quantity::exact("best_x", sorted[best].x),
    ];
    if let (Some(first), Some(last)) = (sorted.first(), sorted.last()) {
        let b = sorted[best];
        q.push(Quantity::exact("ends_minus_best_in_se", first.paired_z(b).min(last.paired_z(b))));
    }
    q
}

fn figure(params: &Params, axis: &str, cs: &[Config]) -> Result<Figure> {
    let mut families: Vec<String> = cs.iter().map(|c| c.family.clone()).collect();
    families.dedup();
    let series = families
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let mut pts: Vec<(f64, f64)> = cs.iter().filter(|c| &c.family == f).map(|c| (c.x, c.mean().mean)).collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            Series {
                label: f.clone(),
                points: pts,
                style: Style::LineMarkers,
                color: i,
            }
        })
        .collect();
    let x_label = match axis {
        "nfe" => "NFE",
        "k" => "Restart iterations K",
        "t_min" => "t_min (snapped to the main grid), t_max = t_min + 0.3",
        _ => "interval length t_max − t_min (t_min = 0.06)",
    };
    Ok(Figure {
        title: params.str("figure_title")?.to_string(),
        columns: 1,
        panels: vec![Panel {
            title: format!("mean over {} sampling seeds", params.usize("runs")?),
            x_label: x_label.into(),
            y_label: "W1 to the 2000 data points".into(),
            x_log: axis == "nfe",
            series,
            ..Default::default()
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(family: &str, nfe: f64, x: f64, w1: &[f64]) -> Config {
        Config {
            family: family.into(),
            nfe,
            x,
            w1: w1.to_vec(),
        }
    }

    #[test]
    fn interior_optimum_is_detected_only_inside() {
        let v = [
            c("Restart", 1.0, 0.0, &[3.0, 3.1]),
            c("Restart", 1.0, 1.0, &[1.0, 1.2]),
            c("Restart", 1.0, 2.0, &[2.0, 2.3]),
        ];
        assert_eq!(optimum_claims(&v)[0].value, 1.0);
        let v = [c("Restart", 1.0, 0.0, &[0.5, 0.6]), c("Restart", 1.0, 1.0, &[1.0, 1.2])];
        assert_eq!(optimum_claims(&v)[0].value, 0.0);
    }

    #[test]
    fn restart_domination_needs_fewer_nfe_and_lower_error() {
        let v = [
            c("ODE (Heun)", 35.0, 35.0, &[2.0, 2.0]),
            c("ODE (Heun)", 63.0, 63.0, &[1.9, 1.9]),
            c("Restart", 43.0, 43.0, &[1.8, 1.8]),
        ];
        let q = nfe_claims(&v);
        let f = q.iter().find(|q| q.key == "restart_dominated_fraction").unwrap().value;
        assert_eq!(f, 0.5);
    }
}

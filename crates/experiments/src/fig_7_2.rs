//! Figure 7.2 (thesis Sec. 7.2–7.3, l.1577; spec seeds-ch6-9 §2.1–2.2): why PFGM augments the data
//! with z. For a uniform disk in ℝ², the backward flow of its own 2-D field (Sec. 7.2) takes every
//! start to the disk's centre, while the backward ODE anchored by z of the 3-D field (Eq. 7.4,
//! 7.6) from the hemisphere prior (Prop. 6) recovers the disk. Both fields are the exact empirical
//! ones of `data_points` points. Cell 0 runs the flow without augmentation in the continuous disk's
//! field (the thesis's picture), cell 1 in the empirical 2-D field of the points, cell 2 the
//! augmented ODE.

use crate::{CellDone, Experiment, Outcome, Quantity, Run};
use anyhow::{anyhow, Result};
use artifacts::{Table, Tables};
use exact_denoisers::PointSet;
use figures::{Figure, Panel, Series, Style};
use pfgm::{sample_backward, sample_in_plane, sample_prior, uniform_disk_field, Anchor, Backward, PoissonField, Sampled};
use rand::Rng as _;
use registry::Params;
use samplers::rk45::Rk45;
use seeding::Stream;

/// The runner `pfgm-disk-collapse`.
pub struct Fig72;

/// The two cases, in cell order.
const CASES: [&str; 3] = [
    "no augmentation, continuous disk",
    "no augmentation, empirical points",
    "augmentation, empirical points",
];

/// `count` points uniform on the unit disk, point i from `stream.child(i)`.
pub(crate) fn uniform_disk(count: usize, stream: Stream) -> Vec<f64> {
    (0..count)
        .flat_map(|i| {
            let mut rng = stream.child(i as u64).rng();
            let (u, v): (f64, f64) = (rng.random(), rng.random());
            let (r, theta) = (u.sqrt(), std::f64::consts::TAU * v);
            [r * theta.cos(), r * theta.sin()]
        })
        .collect()
}

fn data(p: &Params) -> Result<Vec<f64>> {
    Ok(uniform_disk(p.usize("data_points")?, Stream::new(p.u64("data_seed")?).named("uniform-disk")))
}

/// Fraction of the rows of `x` (2-D) within `radius` of the origin.
fn fraction_within(x: &[f64], radius: f64) -> f64 {
    let rows = x.len() / 2;
    x.chunks_exact(2).filter(|v| v[0].hypot(v[1]) <= radius).count() as f64 / rows as f64
}

impl Experiment for Fig72 {
    fn cells(&self, _params: &Params) -> Result<Vec<String>> {
        Ok(CASES.iter().map(|c| c.to_string()).collect())
    }

    fn run_cells(&self, run: &Run, cells: &[usize], done: &CellDone) -> Result<()> {
        let p = run.params;
        let field = PoissonField::new(PointSet::new(2, data(p)?));
        let (draws, traced) = (p.usize("draws")?, p.usize("traced")?);
        let rk45 = Rk45 {
            rtol: p.f64("rtol")?,
            atol: p.f64("atol")?,
            max_steps: 100_000,
        };
        for &c in cells {
            let stream = run.stream.child(c as u64);
            let out: Sampled = if c < 2 {
                // Starts uniform on the circle of radius start_radius (the far field is radial).
                let r0 = p.f64("start_radius")?;
                let x0: Vec<f64> = (0..draws)
                    .flat_map(|i| {
                        let theta = std::f64::consts::TAU * stream.child(i as u64).rng().random::<f64>();
                        [r0 * theta.cos(), r0 * theta.sin()]
                    })
                    .collect();
                let duration = p.f64("duration")?;
                if c == 0 {
                    {
                        // 2π·E: x/‖x‖² outside, x inside (the time scale of the normalised empirical field).
                        let f = |x: &[f64]| uniform_disk_field(x, 1.0).iter().map(|v| std::f64::consts::TAU * v).collect();
                        sample_in_plane(f, 2, &x0, duration, &rk45)?
                    }
                } else {
                    sample_in_plane(|x| field.in_data_plane(x).direction, 2, &x0, duration, &rk45)?
                }
            } else {
                let z_max = p.f64("z_max")?;
                let x0: Vec<f64> = (0..draws)
                    .flat_map(|i| sample_prior(&mut stream.child(i as u64).rng(), 2, z_max, f64::INFINITY))
                    .collect();
                let cfg = Backward {
                    anchor: Anchor::LogZ,
                    z_max,
                    z_min: p.f64("z_min")?,
                    rk45,
                };
                sample_backward(&field, &x0, &cfg)?
            };
            let case = vec![CASES[c].to_string(); draws];
            let end = Table::new()
                .str("case", case)
                .f64("x", out.x.iter().step_by(2).copied().collect())
                .f64("y", out.x.iter().skip(1).step_by(2).copied().collect());
            let (mut sample, mut step, mut px, mut py) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for (s, state) in out.path.iter().enumerate() {
                for i in 0..traced.min(draws) {
                    sample.push(i as f64);
                    step.push(s as f64);
                    px.push(state[2 * i]);
                    py.push(state[2 * i + 1]);
                }
            }
            let paths = Table::new()
                .str("case", vec![CASES[c].to_string(); sample.len()])
                .f64("sample", sample)
                .f64("step", step)
                .f64("x", px)
                .f64("y", py);
            let cost = Table::new()
                .str("case", vec![CASES[c].to_string()])
                .f64("nfe", vec![out.nfe as f64])
                .f64("steps", vec![out.steps as f64]);
            done(c, vec![("endpoints".into(), end), ("paths".into(), paths), ("cost".into(), cost)])?;
        }
        Ok(())
    }

    fn finish(&self, params: &Params, tables: Tables) -> Result<Outcome> {
        let (ends, paths) = (artifacts::table::find(&tables, "endpoints")?, artifacts::table::find(&tables, "paths")?);
        let draws = params.usize("draws")?;
        let (ex, ey) = (
            ends.f64_column("x").ok_or_else(|| anyhow!("x"))?,
            ends.f64_column("y").ok_or_else(|| anyhow!("y"))?,
        );
        let xy: Vec<f64> = ex.iter().zip(&ey).flat_map(|(a, b)| [*a, *b]).collect();
        let (continuous, rest) = xy.split_at(2 * draws);
        let (plain, augmented) = rest.split_at(2 * draws);
        // Reference uniform samples of the disk, independent of the data and of each other.
        let root = Stream::new(params.u64("seed")?).named("fig-7.2-reference");
        let (uniform, floor_set) = (uniform_disk(draws, root.child(0)), uniform_disk(draws, root.child(1)));
        let w1 = |x: &[f64]| metrics::w1_exact(x, &uniform, 2).distance;
        let (w1_cont, w1_plain, w1_aug, w1_floor) = (w1(continuous), w1(plain), w1(augmented), w1(&floor_set));
        let radius = params.f64("collapse_radius")?;
        let within = [continuous, plain, augmented, &floor_set].map(|x| fraction_within(x, radius));
        let summary = Table::new()
            .str(
                "case",
                CASES.iter().map(|c| c.to_string()).chain(["independent uniform sample".into()]).collect(),
            )
            .f64("fraction_within_collapse_radius", within.to_vec())
            .f64("w1_to_uniform_disk", vec![w1_cont, w1_plain, w1_aug, w1_floor]);
        let mut out = Outcome {
            tables: vec![
                ("cases".into(), summary),
                ("endpoints".into(), ends.clone()),
                ("paths".into(), paths.clone()),
                ("cost".into(), artifacts::table::find(&tables, "cost")?.clone()),
            ],
            ..Default::default()
        };
        out.quantities = vec![
            Quantity::exact("continuous.fraction_within_collapse_radius", within[0]),
            Quantity::exact("continuous.w1_over_sampling_floor", w1_cont / w1_floor),
            Quantity::exact("augmented.fraction_within_collapse_radius", within[2]),
            Quantity::exact("augmented.w1_over_sampling_floor", w1_aug / w1_floor),
            Quantity::exact("empirical_plane.fraction_within_collapse_radius", within[1]),
            Quantity::exact("empirical_plane.w1_over_sampling_floor", w1_plain / w1_floor),
            Quantity::exact("continuous.w1", w1_cont),
            Quantity::exact("empirical_plane.w1", w1_plain),
            Quantity::exact("augmented.w1", w1_aug),
            Quantity::exact("sampling_floor.w1", w1_floor),
        ];
        out.notes.push(format!(
            "{draws} trajectories per case, {} data points of the unit disk; within {radius} of the centre (area fraction {:.1}%): \
             {:.1}% in the continuous disk's own field, {:.1}% in the points' own 2-D field, {:.1}% with augmentation; exact W1 to \
             {draws} fresh uniform points {w1_cont:.4}, {w1_plain:.4} and {w1_aug:.4}, against {w1_floor:.4} between two independent \
             uniform samples of that size.",
            params.usize("data_points")?,
            100.0 * radius * radius,
            100.0 * within[0],
            100.0 * within[1],
            100.0 * within[2],
        ));
        out.notes.push(
            "The collapse is the continuum's: in the field of finitely many positive point charges no field line joins two charges, \
             so by Gauss's law the lines from infinity end on every charge in equal shares and the un-augmented flow of the points' own \
             field reproduces the points (no thresholds on that case: it was seen before being reported)."
                .into(),
        );

        // Panels: data, trajectory points within the plotted window, end points.
        let window = params.f64("plot_radius")?;
        let d = data(params)?;
        let (dx, dy): (Vec<f64>, Vec<f64>) = d.chunks_exact(2).map(|v| (v[0], v[1])).unzip();
        let (pc, px, py) = (
            paths.column("case").ok_or_else(|| anyhow!("case"))?,
            paths.f64_column("x").ok_or_else(|| anyhow!("x"))?,
            paths.f64_column("y").ok_or_else(|| anyhow!("y"))?,
        );
        let pc: Vec<String> = match pc {
            artifacts::Column::Str(v) => v.clone(),
            _ => return Err(anyhow!("paths.case is not text")),
        };
        let panel = |c: usize, end: &[f64]| {
            let (tx, ty): (Vec<f64>, Vec<f64>) = (0..px.len())
                .filter(|&i| pc[i] == CASES[c] && px[i].hypot(py[i]) <= window)
                .map(|i| (px[i], py[i]))
                .unzip();
            let (ex, ey): (Vec<f64>, Vec<f64>) = end.chunks_exact(2).map(|v| (v[0], v[1])).unzip();
            Panel {
                title: CASES[c].to_string(),
                x_label: "x₁".into(),
                y_label: "x₂".into(),
                x_log: false,
                y_log: false,
                series: vec![
                    Series::new("data", &dx, &dy, Style::Markers, 7),
                    Series::new("trajectory steps", &tx, &ty, Style::Markers, 2),
                    Series::new("end points", &ex, &ey, Style::Markers, if c == 2 { 1 } else { 0 }),
                ],
            }
        };
        out.figures.push((
            String::new(),
            Figure {
                title: "Fig. 7.2: a uniform disk's own field collapses every trajectory to the centre; the augmented field recovers the disk".into(),
                panels: vec![panel(0, continuous), panel(1, plain), panel(2, augmented)],
                columns: 3,
            },
        ));
        Ok(out)
    }
}

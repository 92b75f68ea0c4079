//! Theorem 6 (= Theorem 11; thesis l.1585, A.63–A.67; spec seeds-ch6-9 §2.1, §6 item 11): the
//! forward Poisson flow maps the data distribution, on the z = 0 plane, to the uniform
//! distribution on the hemisphere of radius r as r → ∞. Measured with the exact empirical field
//! of a point set in N = 2 (so x̃ ∈ ℝ³): each charge emits its field lines uniformly in solid angle
//! (it is the only charge that matters at distance δ ≪ spacing), so `directions` starts per charge
//! on a deterministic equal-area lattice of its upper half-sphere of radius δ carry equal flux;
//! each is traced upward by the exponential-time ODE (`pfgm::trace_forward`) and its direction
//! recorded where it crosses each hemisphere ‖x̃‖ = r. Uniform on the hemisphere of ℝ³ means cos θ =
//! z/r ~ U(0, 1) and azimuth ~ U(0, 2π) (Prop. 6's law restricted to angles); the distance from
//! uniform is measured by Kolmogorov–Smirnov distances and by the length of the mean horizontal
//! direction (0 when uniform). One cell per chunk of charges.

use crate::fig_7_2::uniform_disk;
use crate::{CellDone, Experiment, Outcome, Quantity, Run};
use anyhow::{anyhow, bail, Result};
use artifacts::{Table, Tables};
use exact_denoisers::PointSet;
use figures::{Figure, Panel, Series, Style};
use pfgm::{trace_forward, PoissonField};
use rayon::prelude::*;
use registry::Params;
use samplers::rk45::Rk45;
use seeding::Stream;
use std::f64::consts::{PI, TAU};

/// The runner `pfgm-forward-hemisphere`.
pub struct Thm6;

/// The data: `data_points` points uniform on the unit disk centred at (disk_center, 0).
fn data(p: &Params) -> Result<Vec<f64>> {
    let c = p.f64("disk_center")?;
    let mut d = uniform_disk(p.usize("data_points")?, Stream::new(p.u64("data_seed")?).named("thm-6-disk"));
    d.iter_mut().step_by(2).for_each(|x| *x += c);
    Ok(d)
}

/// Direction j of `m` (even) on the upper unit half-sphere of ℝ³, in antipodal pairs: pair
/// i = ⌊j/2⌋ has cos θ_i = (i + ½)/(m/2) (equal areas, by Archimedes) and azimuths φ_i = i·(golden
/// angle) and φ_i + π, so the lattice's mean horizontal direction is exactly zero, as the uniform
/// law's.
fn lattice(j: usize, m: usize) -> [f64; 3] {
    let (i, half) = (j / 2, m / 2);
    let c = (i as f64 + 0.5) / half as f64;
    let s = (1.0 - c * c).sqrt();
    let phi = i as f64 * PI * (3.0 - 5f64.sqrt()) + if j % 2 == 1 { PI } else { 0.0 };
    [s * phi.cos(), s * phi.sin(), c]
}

/// The point where the segment a → b first meets the sphere ‖·‖ = r (‖a‖ < r ≤ ‖b‖).
fn crossing(a: &[f64], b: &[f64], r: f64) -> Vec<f64> {
    let d: Vec<f64> = b.iter().zip(a).map(|(u, v)| u - v).collect();
    let (aa, ad, dd) = (
        a.iter().map(|v| v * v).sum::<f64>(),
        a.iter().zip(&d).map(|(u, v)| u * v).sum::<f64>(),
        d.iter().map(|v| v * v).sum::<f64>(),
    );
    // ‖a + λd‖² = r²: the root in [0, 1].
    let lambda = ((ad * ad - dd * (aa - r * r)).max(0.0).sqrt() - ad) / dd;
    a.iter().zip(&d).map(|(u, v)| u + lambda.clamp(0.0, 1.0) * v).collect()
}

/// Distance-from-uniform statistics of unit directions (rows of 3): KS of cos θ against U(0, 1),
/// KS of the azimuth against U(0, 2π), and the length of the mean horizontal direction.
fn uniformity(dirs: &[[f64; 3]]) -> (f64, f64, f64) {
    let cos: Vec<f64> = dirs.iter().map(|d| d[2]).collect();
    let az: Vec<f64> = dirs.iter().map(|d| d[1].atan2(d[0]).rem_euclid(TAU)).collect();
    let n = dirs.len() as f64;
    let (mx, my) = (dirs.iter().map(|d| d[0]).sum::<f64>() / n, dirs.iter().map(|d| d[1]).sum::<f64>() / n);
    (
        metrics::ks_distance(&cos, |x| x.clamp(0.0, 1.0)),
        metrics::ks_distance(&az, |x| (x / TAU).clamp(0.0, 1.0)),
        mx.hypot(my),
    )
}

impl Experiment for Thm6 {
    fn cells(&self, params: &Params) -> Result<Vec<String>> {
        Ok((0..params.usize("chunks")?).map(|c| format!("charges ≡ {c} mod chunks")).collect())
    }

    fn run_cells(&self, run: &Run, cells: &[usize], done: &CellDone) -> Result<()> {
        let p = run.params;
        let pts = data(p)?;
        let n_pts = pts.len() / 2;
        let field = PoissonField::new(PointSet::new(2, pts.clone()));
        let (m, delta, segment, chunks) = (p.usize("directions")?, p.f64("start_offset")?, p.f64("segment")?, p.usize("chunks")?);
        let radii = p.f64_list("radii")?;
        if m % 2 == 1 {
            bail!("parameter `directions` must be even (antipodal pairs), found {m}");
        }
        let r_max = radii.iter().copied().fold(0.0, f64::max);
        let extent = pts.chunks_exact(2).map(|y| y[0].hypot(y[1])).fold(0.0, f64::max) + delta;
        if radii.iter().any(|&r| r <= extent) {
            bail!("parameter `radii`: every radius must exceed the data's extent {extent:.4} (found {radii:?})");
        }
        let rk45 = Rk45 {
            rtol: p.f64("rtol")?,
            atol: p.f64("atol")?,
            max_steps: 100_000,
        };
        for &c in cells {
            let jobs: Vec<(usize, usize)> = (0..n_pts).filter(|k| k % chunks == c).flat_map(|k| (0..m).map(move |j| (k, j))).collect();
            // One field line per task, each computed whole by one thread: the bits do not depend on the threads.
            let lines: Vec<Result<Vec<Vec<f64>>>> = jobs
                .par_iter()
                .map(|&(k, j)| {
                    let u = lattice(j, m);
                    let x0 = [pts[2 * k] + delta * u[0], pts[2 * k + 1] + delta * u[1]];
                    let path = trace_forward(&field, &x0, delta * u[2], 1.05 * r_max, segment, &rk45)?;
                    radii
                        .iter()
                        .map(|&r| {
                            let i = path
                                .iter()
                                .position(|s| s.iter().map(|v| v * v).sum::<f64>().sqrt() >= r)
                                .ok_or_else(|| anyhow!("charge {k}, direction {j}: the field line never reaches r = {r}"))?;
                            if i == 0 {
                                bail!("charge {k}, direction {j}: starts outside r = {r}");
                            }
                            let q = crossing(&path[i - 1], &path[i], r);
                            Ok(q.iter().map(|v| v / r).collect())
                        })
                        .collect()
                })
                .collect();
            let (mut charge, mut dir, mut radius, mut ux, mut uy, mut uz) = (vec![], vec![], vec![], vec![], vec![], vec![]);
            for (&(k, j), line) in jobs.iter().zip(lines) {
                for (r, d) in radii.iter().zip(line?) {
                    charge.push(k as f64);
                    dir.push(j as f64);
                    radius.push(*r);
                    ux.push(d[0]);
                    uy.push(d[1]);
                    uz.push(d[2]);
                }
            }
            let t = Table::new()
                .f64("charge", charge)
                .f64("direction", dir)
                .f64("r", radius)
                .f64("ux", ux)
                .f64("uy", uy)
                .f64("uz", uz);
            done(c, vec![("crossings".into(), t)])?;
        }
        Ok(())
    }

    fn finish(&self, params: &Params, tables: Tables) -> Result<Outcome> {
        let t = &tables.iter().find(|(n, _)| n == "crossings").ok_or_else(|| anyhow!("no crossings table"))?.1;
        let col = |n: &str| t.f64_column(n).ok_or_else(|| anyhow!("no column {n}"));
        let (rs, ux, uy, uz) = (col("r")?, col("ux")?, col("uy")?, col("uz")?);
        let radii = params.f64_list("radii")?;
        let (m, n_pts) = (params.usize("directions")?, params.usize("data_points")?);
        // The start lattice's own distance from uniform: the floor that discreteness leaves.
        let start: Vec<[f64; 3]> = (0..n_pts).flat_map(|_| (0..m).map(|j| lattice(j, m))).collect();
        let floor = uniformity(&start);
        let mut curve = (vec![], vec![], vec![], vec![]);
        let mut hist = (vec![], vec![], vec![]);
        let bins = 20;
        for &r in &radii {
            let dirs: Vec<[f64; 3]> = (0..rs.len()).filter(|&i| rs[i] == r).map(|i| [ux[i], uy[i], uz[i]]).collect();
            if dirs.len() != n_pts * m {
                bail!("r = {r}: {} crossings, expected {}", dirs.len(), n_pts * m);
            }
            let (ks_cos, ks_az, mean_dir) = uniformity(&dirs);
            curve.0.push(r);
            curve.1.push(ks_cos);
            curve.2.push(ks_az);
            curve.3.push(mean_dir);
            let mut counts = vec![0usize; bins];
            for d in &dirs {
                counts[((d[2] * bins as f64) as usize).min(bins - 1)] += 1;
            }
            for (b, cnt) in counts.iter().enumerate() {
                hist.0.push(r);
                hist.1.push((b as f64 + 0.5) / bins as f64);
                hist.2.push(*cnt as f64 * bins as f64 / dirs.len() as f64);
            }
        }
        let fit_from = params.f64("fit_from_radius")?;
        let (fx, fy): (Vec<f64>, Vec<f64>) = curve.0.iter().zip(&curve.3).filter(|(r, _)| **r >= fit_from).map(|(a, b)| (*a, *b)).unzip();
        let slope = metrics::loglog_slope(&fx, &fy);
        let last = curve.0.len() - 1;
        let mut out = Outcome {
            tables: vec![
                (
                    "curve".into(),
                    Table::new()
                        .f64("r", curve.0.clone())
                        .f64("ks_cos_polar", curve.1.clone())
                        .f64("ks_azimuth", curve.2.clone())
                        .f64("mean_direction_length", curve.3.clone())
                        .f64("ks_cos_polar_lattice_floor", vec![floor.0; radii.len()])
                        .f64("ks_azimuth_lattice_floor", vec![floor.1; radii.len()])
                        .f64("mean_direction_lattice_floor", vec![floor.2; radii.len()]),
                ),
                (
                    "cos_polar_histogram".into(),
                    Table::new()
                        .f64("r", hist.0.clone())
                        .f64("cos_polar", hist.1.clone())
                        .f64("density", hist.2.clone()),
                ),
            ],
            ..Default::default()
        };
        out.quantities = vec![
            Quantity::exact("ks_cos.at_r_min", curve.1[0]),
            Quantity::exact("ks_cos.at_r_max", curve.1[last]),
            Quantity::exact("ks_cos.floor", floor.0),
            Quantity::exact("ks_cos.at_r_max_over_floor", curve.1[last] / floor.0),
            Quantity::exact("ks_cos.r_min_over_r_max", curve.1[0] / curve.1[last]),
            Quantity::exact("ks_azimuth.at_r_max", curve.2[last]),
            Quantity::exact("ks_azimuth.floor", floor.1),
            Quantity::exact("mean_direction.at_r_min", curve.3[0]),
            Quantity::exact("mean_direction.at_r_max", curve.3[last]),
            Quantity::exact("mean_direction.slope", slope),
        ];
        out.notes.push(format!(
            "{} field lines ({n_pts} charges × {m} directions): KS(cos θ) {:.4} at r = {} → {:.4} at r = {} (lattice floor {:.4}); \
             mean horizontal direction {:.2e} → {:.2e}, log–log slope {slope:.3} over r ≥ {fit_from} (a dipole's 1/r is −1).",
            n_pts * m,
            curve.1[0],
            curve.0[0],
            curve.1[last],
            curve.0[last],
            floor.0,
            curve.3[0],
            curve.3[last],
        ));
        let ones = vec![1.0; 2];
        let hist_series = |r: f64, color: usize| {
            let (x, y): (Vec<f64>, Vec<f64>) = (0..hist.0.len()).filter(|&i| hist.0[i] == r).map(|i| (hist.1[i], hist.2[i])).unzip();
            Series::new(format!("r = {r}"), &x, &y, Style::LineMarkers, color)
        };
        out.figures.push((
            String::new(),
            Figure {
                title: "Theorem 6: the forward Poisson flow of a disk's charges leaves through large hemispheres uniformly".into(),
                panels: vec![
                    Panel {
                        title: "distance from uniform on the hemisphere of radius r".into(),
                        x_label: "r".into(),
                        y_label: "statistic".into(),
                        x_log: true,
                        y_log: true,
                        series: vec![
                            Series::new("KS of cos θ vs U(0,1)", &curve.0, &curve.1, Style::LineMarkers, 0),
                            Series::new("KS of azimuth vs U(0,2π)", &curve.0, &curve.2, Style::LineMarkers, 1),
                            Series::new("|mean horizontal direction|", &curve.0, &curve.3, Style::LineMarkers, 2),
                            Series::new("lattice floor, cos θ", &[curve.0[0], curve.0[last]], &[floor.0; 2], Style::Dashed, 0),
                            Series::new(
                                "∝ 1/r",
                                &[curve.0[0], curve.0[last]],
                                &[curve.3[0], curve.3[0] * curve.0[0] / curve.0[last]],
                                Style::Dashed,
                                2,
                            ),
                        ],
                    },
                    Panel {
                        title: "density of cos θ (uniform: 1)".into(),
                        x_label: "cos θ = z/r".into(),
                        y_label: "density".into(),
                        x_log: false,
                        y_log: false,
                        series: vec![
                            hist_series(curve.0[0], 0),
                            hist_series(curve.0[last / 2], 1),
                            hist_series(curve.0[last], 2),
                            Series::new("uniform", &[0.0, 1.0], &ones, Style::Dashed, 3),
                        ],
                    },
                ],
                columns: 2,
            },
        ));
        Ok(out)
    }
}

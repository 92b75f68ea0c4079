//! RSD Table 1 analog (§6.2.1, half-face inpainting with a latent prior; spec pg-rsd §4 T-RSD1 row):
//! a latent linear inverse problem whose posterior is known in closed form. z ∈ ℝ⁴ = (z_a, z_b)
//! has an 8-component mixture prior, a fixed random decoder x = W z maps it to dim_x pixels, and
//! the half mask keeps the top half, which sees only z_a: the measurement fixes z_a and leaves
//! z_b's four modes, which the unmeasured half of x shows. Per measurement, N particles by each
//! method — latent RED-diff, RSD-HQS (Alg. 2) for each γ, DPS for each step ζ, and exact posterior
//! draws — scored by PSNR (mean- and best-of-N), a random-feature distance (the LPIPS stand-in),
//! the diversity 1 − mean cos (the paper's DINO diversity), the energy distance to exact posterior
//! draws (the FID analog), posterior-mode coverage and log p(z | y). One cell per method; the
//! comparisons are paired over the same truths.

use crate::{CellDone, Experiment, Outcome, Quantity, Run};
use anyhow::{anyhow, bail, ensure, Result};
use artifacts::{Column, Table, Tables};
use diffusion::VpLinear;
use exact_denoisers::{squared_distance, GaussianMixture, LinearGaussianPosterior};
use figures::{Figure, Panel, Series, Style};
use metrics::{cosine_similarity, energy_distance, in_batch_similarity, Estimate};
use rand::Rng as _;
use rayon::prelude::*;
use registry::Params;
use repulsive_distillation::dps::{sample_dps, Dps};
use repulsive_distillation::hqs::{solve, solve_red_diff, Hqs, LinearProblem, RedDiff};
use repulsive_distillation::{AdamParams, Ddpm, Repulsion};
use seeding::{normals, Stream};

/// The runner `rsd-latent-inverse`.
pub struct RsdTable1;

/// The latent dimension: z = (z_a, z_b), two coordinates each.
const DIM_Z: usize = 4;

/// Per-set metrics, in this order in every table.
const METRICS: [&str; 9] = [
    "psnr_mean_of_n",
    "psnr_best_of_n",
    "feature_distance_mean_of_n",
    "feature_distance_best_of_n",
    "diversity",
    "pairwise_distance",
    "energy_distance",
    "coverage",
    "log_posterior",
];

#[derive(Clone, Copy, Debug, PartialEq)]
enum Method {
    Exact,
    RedDiff,
    Rsd(f64),
    Dps(f64),
}

impl Method {
    fn label(&self) -> String {
        match self {
            Method::Exact => "exact-posterior".into(),
            Method::RedDiff => "red-diff".into(),
            Method::Rsd(g) => format!("rsd.gamma={g}"),
            Method::Dps(s) => format!("dps.scale={s}"),
        }
    }
}

/// The fixed random-feature map φ(x) = tanh(Ωx + b), the LPIPS/DINO stand-in.
struct Features {
    omega: Vec<f64>,
    bias: Vec<f64>,
    dim_x: usize,
}

impl Features {
    fn of(&self, x: &[f64]) -> Vec<f64> {
        self.omega
            .chunks_exact(self.dim_x)
            .zip(&self.bias)
            .map(|(row, b)| (row.iter().zip(x).map(|(w, v)| w * v).sum::<f64>() + b).tanh())
            .collect()
    }
}

struct Setup {
    prior: GaussianMixture,
    /// W, row-major dim_x × 4.
    decoder: Vec<f64>,
    /// A, the half mask, row-major (dim_x/2) × dim_x.
    mask: Vec<f64>,
    features: Features,
    dim_x: usize,
    methods: Vec<Method>,
}

impl Setup {
    fn new(p: &Params) -> Result<Self> {
        let (a, b, var) = (p.f64("latent_a_offset")?, p.f64("latent_b_offset")?, p.f64("mode_variance")?);
        let mut means = Vec::new();
        for za in [-a, a] {
            for zb in [[-b, -b], [-b, b], [b, -b], [b, b]] {
                means.extend([za, 0.0, zb[0], zb[1]]);
            }
        }
        let prior = GaussianMixture::new(DIM_Z, vec![1.0; 8], means, vec![var; 8]);
        let dim_x = p.usize("dim_x")?;
        ensure!(dim_x % 2 == 0, "dim_x = {dim_x} must be even (the mask keeps the top half)");
        let half = dim_x / 2;
        // Top half: z_a only (entries N(0, ½)); bottom half: all of z (N(0, ¼)), so every pixel has unit-order scale.
        let mut rng = Stream::new(p.u64("decoder_seed")?).rng();
        let mut decoder = vec![0.0; dim_x * DIM_Z];
        for r in 0..dim_x {
            let cols = if r < half { 2 } else { DIM_Z };
            let z = normals(&mut rng, cols);
            for c in 0..cols {
                decoder[r * DIM_Z + c] = z[c] / (cols as f64).sqrt();
            }
        }
        let mut mask = vec![0.0; half * dim_x];
        for r in 0..half {
            mask[r * dim_x + r] = 1.0;
        }
        let nf = p.usize("features")?;
        let mut rng = Stream::new(p.u64("feature_seed")?).rng();
        let omega: Vec<f64> = normals(&mut rng, nf * dim_x).iter().map(|v| v / (dim_x as f64).sqrt()).collect();
        let bias = normals(&mut rng, nf);
        let gammas = p.f64_list("gammas")?;
        if gammas.first() != Some(&0.0) {
            bail!("gammas must start at 0 (RSD without repulsion), got {gammas:?}");
        }
        let mut methods = vec![Method::Exact, Method::RedDiff];
        methods.extend(gammas.iter().map(|&g| Method::Rsd(g)));
        methods.extend(p.f64_list("dps_scales")?.iter().map(|&s| Method::Dps(s)));
        Ok(Setup {
            prior,
            decoder,
            mask,
            features: Features { omega, bias, dim_x },
            dim_x,
            methods,
        })
    }

    fn decode(&self, z: &[f64]) -> Vec<f64> {
        self.decoder.chunks_exact(DIM_Z).map(|r| r.iter().zip(z).map(|(a, b)| a * b).sum()).collect()
    }

    /// B = A W: the top half of W.
    fn measured_decoder(&self) -> Vec<f64> {
        self.decoder[..self.dim_x / 2 * DIM_Z].to_vec()
    }

    fn index(&self, m: Method) -> Result<usize> {
        self.methods
            .iter()
            .position(|&x| x == m)
            .ok_or_else(|| anyhow!("{} is not among the methods", m.label()))
    }
}

/// One measurement: the truth, y and its exact posterior.
struct Measurement {
    truth_x: Vec<f64>,
    y: Vec<f64>,
    posterior: LinearGaussianPosterior,
}

fn measurement(s: &Setup, p: &Params, k: usize) -> Result<Measurement> {
    // The truth, y and the reference draws depend on the measurement index only: every method sees the same ones.
    let mut rng = Stream::new(p.u64("measurement_seed")?).child(k as u64).rng();
    let mut z = vec![0.0; DIM_Z];
    let u: f64 = rng.random();
    s.prior.sample_with(u, &normals(&mut rng, DIM_Z), &mut z);
    let truth_x = s.decode(&z);
    let sd = p.f64("noise_std")?;
    let noise = normals(&mut rng, s.dim_x / 2);
    let y: Vec<f64> = truth_x[..s.dim_x / 2].iter().zip(&noise).map(|(x, e)| x + sd * e).collect();
    let posterior = LinearGaussianPosterior::new(&s.prior, &s.measured_decoder(), &y, sd * sd);
    Ok(Measurement { truth_x, y, posterior })
}

fn draws(post: &LinearGaussianPosterior, n: usize, stream: Stream) -> Vec<f64> {
    let mut rng = stream.rng();
    let mut out = vec![0.0; n * DIM_Z];
    for o in out.chunks_mut(DIM_Z) {
        let u: f64 = rng.random();
        post.sample_with(u, &normals(&mut rng, DIM_Z), o);
    }
    out
}

/// A method's N particles for one measurement: (images x, latents z), row-major.
fn particles(s: &Setup, p: &Params, method: Method, m: &Measurement, stream: Stream) -> Result<(Vec<f64>, Vec<f64>)> {
    let n = p.usize("particles")?;
    let problem = LinearProblem {
        a: s.mask.clone(),
        decoder: s.decoder.clone(),
        y: m.y.clone(),
        dim_x: s.dim_x,
        dim_z: DIM_Z,
    };
    let schedule = Ddpm::stable_diffusion(1000);
    let timesteps = Ddpm::descending(p.usize("t_max")?, p.usize("t_min")?, p.usize("steps")?);
    let decode_all = |z: &[f64]| -> Vec<f64> { z.chunks(DIM_Z).flat_map(|zi| s.decode(zi)).collect() };
    Ok(match method {
        Method::Exact => {
            let z = draws(&m.posterior, n, stream);
            (decode_all(&z), z)
        }
        Method::RedDiff => {
            let red = RedDiff {
                lambda: p.f64("red_diff_lambda")?,
                adam: AdamParams::rsd(p.f64("lr_z")?),
                schedule,
                timesteps,
            };
            let z = solve_red_diff(&s.prior, &problem, &red, n, stream)?;
            (decode_all(&z), z)
        }
        Method::Rsd(gamma) => {
            let hqs = Hqs {
                lambda: p.f64("lambda")?,
                rho: p.f64("rho")?,
                gamma,
                repulsion: Repulsion::code(),
                adam_x: AdamParams::rsd(p.f64("lr_x")?),
                adam_z: AdamParams::rsd(p.f64("lr_z")?),
                schedule,
                timesteps,
            };
            let r = solve(&s.prior, &problem, &hqs, n, stream, None)?;
            (r.x, r.z)
        }
        Method::Dps(scale) => {
            let vp = VpLinear::default();
            let dps = Dps {
                scale,
                schedule: &vp,
                t_start: 1.0,
                t_end: p.f64("dps_t_end")?,
                steps: p.usize("steps")?,
            };
            let z = sample_dps(&s.prior, &problem, &dps, n, stream)?;
            (decode_all(&z), z)
        }
    })
}

fn psnr(x: &[f64], truth: &[f64]) -> f64 {
    -10.0 * (squared_distance(x, truth) / x.len() as f64).log10()
}

/// The metrics of one set against its measurement, in the order of [`METRICS`].
fn score(s: &Setup, m: &Measurement, x: &[f64], z: &[f64], reference_x: &[f64], min_weight: f64) -> Vec<f64> {
    let dx = s.dim_x;
    let n = x.len() / dx;
    let ps: Vec<f64> = x.chunks(dx).map(|xi| psnr(xi, &m.truth_x)).collect();
    let phi_truth = s.features.of(&m.truth_x);
    let phi: Vec<Vec<f64>> = x.chunks(dx).map(|xi| s.features.of(xi)).collect();
    let fd: Vec<f64> = phi.iter().map(|f| 1.0 - cosine_similarity(f, &phi_truth)).collect();
    let flat: Vec<f64> = phi.concat();
    let mut pair = 0.0;
    for i in 0..n {
        for j in i + 1..n {
            pair += squared_distance(&x[i * dx..(i + 1) * dx], &x[j * dx..(j + 1) * dx]).sqrt();
        }
    }
    let modes = m.posterior.significant(min_weight);
    let hit: std::collections::BTreeSet<usize> = x.chunks(dx).map(|xi| m.posterior.nearest(xi, &modes, |mean| s.decode(mean))).collect();
    vec![
        ps.iter().sum::<f64>() / n as f64,
        ps.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        fd.iter().sum::<f64>() / n as f64,
        fd.iter().copied().fold(f64::INFINITY, f64::min),
        1.0 - in_batch_similarity(&flat, phi_truth.len()),
        pair / (n * (n - 1) / 2) as f64,
        energy_distance(x, reference_x, dx),
        hit.len() as f64 / modes.len() as f64,
        z.chunks(DIM_Z).map(|zi| m.posterior.log_density(zi)).sum::<f64>() / n as f64,
    ]
}

impl Experiment for RsdTable1 {
    fn cells(&self, params: &Params) -> Result<Vec<String>> {
        Ok(Setup::new(params)?.methods.iter().map(Method::label).collect())
    }

    fn run_cells(&self, run: &Run, cells: &[usize], done: &CellDone) -> Result<()> {
        let p = run.params;
        let s = Setup::new(p)?;
        let (sets, min_weight) = (p.usize("measurements")?, p.f64("mode_min_weight")?);
        let refs = p.usize("posterior_reference_draws")?;
        cells.par_iter().try_for_each(|&c| -> Result<()> {
            let method = s.methods[c];
            let mut rows: Vec<Vec<f64>> = Vec::with_capacity(sets);
            for k in 0..sets {
                let m = measurement(&s, p, k)?;
                let reference_z = draws(
                    &m.posterior,
                    refs,
                    Stream::new(p.u64("measurement_seed")?).child(k as u64).named("posterior-reference"),
                );
                let reference_x: Vec<f64> = reference_z.chunks(DIM_Z).flat_map(|z| s.decode(z)).collect();
                let (x, z) = particles(&s, p, method, &m, run.stream.child(c as u64).child(k as u64).named("particles"))?;
                rows.push(score(&s, &m, &x, &z, &reference_x, min_weight));
            }
            let mut t = Table::new()
                .str("method", vec![method.label(); sets])
                .i64("measurement", (0..sets as i64).collect());
            for (j, name) in METRICS.iter().enumerate() {
                t = t.f64(name, rows.iter().map(|r| r[j]).collect());
            }
            done(c, vec![("per_measurement".into(), t)])
        })
    }

    fn finish(&self, params: &Params, tables: Tables) -> Result<Outcome> {
        let s = Setup::new(params)?;
        let t = &tables
            .iter()
            .find(|(n, _)| n == "per_measurement")
            .ok_or_else(|| anyhow!("no per_measurement table"))?
            .1;
        let sets = params.usize("measurements")?;
        let nm = s.methods.len();
        ensure!(t.rows() == nm * sets, "per_measurement has {} rows, expected {nm} methods × {sets}", t.rows());
        // values[metric][method] = per-measurement values.
        let values: Vec<Vec<Vec<f64>>> = METRICS
            .iter()
            .map(|name| {
                let col = t.f64_column(name).ok_or_else(|| anyhow!("per_measurement lacks `{name}`"))?;
                Ok(col.chunks(sets).map(|c| c.to_vec()).collect())
            })
            .collect::<Result<_>>()?;
        let est = |j: usize, c: usize| Estimate::of(&values[j][c]);
        let mut out = Outcome::default();

        let mut methods = Table::new()
            .str("method", s.methods.iter().map(Method::label).collect())
            .i64("measurements", vec![sets as i64; nm]);
        for (j, name) in METRICS.iter().enumerate() {
            methods = methods
                .f64(name, (0..nm).map(|c| est(j, c).mean).collect())
                .f64(&format!("{name}_se"), (0..nm).map(|c| est(j, c).se).collect());
        }
        out.tables.push(("methods".into(), methods));
        for (c, m) in s.methods.iter().enumerate() {
            for (j, name) in METRICS.iter().enumerate() {
                let e = est(j, c);
                out.quantities.push(Quantity::mc(format!("{}.{name}", m.label()), e.mean, e.se));
            }
        }

        let (gref, zref) = (params.f64("gamma_reference")?, params.f64("dps_scale_reference")?);
        let (rsd0, rsdr) = (s.index(Method::Rsd(0.0))?, s.index(Method::Rsd(gref))?);
        let (red, dps, exact) = (s.index(Method::RedDiff)?, s.index(Method::Dps(zref))?, s.index(Method::Exact)?);
        let j = |name: &str| METRICS.iter().position(|m| *m == name).expect("a metric");
        // a − b paired over the measurements.
        let paired = |metric: &str, a: usize, b: usize| -> Estimate {
            let d: Vec<f64> = values[j(metric)][a].iter().zip(&values[j(metric)][b]).map(|(x, y)| x - y).collect();
            Estimate::of(&d)
        };
        let mut contrasts = Vec::new();
        for (key, metric, a, b) in [
            ("table1.diversity_gain", "diversity", rsdr, rsd0),
            ("table1.coverage_gain", "coverage", rsdr, rsd0),
            ("table1.psnr_mean_change", "psnr_mean_of_n", rsdr, rsd0),
            ("table1.psnr_best_change", "psnr_best_of_n", rsdr, rsd0),
            ("table1.energy_change", "energy_distance", rsdr, rsd0),
            ("table1.log_posterior_change", "log_posterior", rsdr, rsd0),
            ("rsd0_minus_red_diff.psnr_mean", "psnr_mean_of_n", rsd0, red),
            ("rsd0_minus_red_diff.feature_distance", "feature_distance_mean_of_n", rsd0, red),
            ("rsd0_minus_dps.psnr_mean", "psnr_mean_of_n", rsd0, dps),
            ("dps_minus_rsd_ref.diversity", "diversity", dps, rsdr),
            ("exact_minus_rsd0.energy_distance", "energy_distance", exact, rsd0),
            ("exact_minus_rsd_ref.energy_distance", "energy_distance", exact, rsdr),
        ] {
            let e = paired(metric, a, b);
            out.quantities.push(Quantity::mc(key, e.mean, e.se));
            contrasts.push(format!("{key} {:+.4} ± {:.4}", e.mean, e.se));
        }
        // The relative change of the mean feature distance, s.e. from the paired difference.
        let fd0 = est(j("feature_distance_mean_of_n"), rsd0).mean;
        let dfd = paired("feature_distance_mean_of_n", rsdr, rsd0);
        out.quantities
            .push(Quantity::mc("table1.feature_distance_relative_change", dfd.mean / fd0, dfd.se / fd0));
        contrasts.push(format!("table1.feature_distance_relative_change {:+.4} ± {:.4}", dfd.mean / fd0, dfd.se / fd0));

        // Table 1 beside ours: PSLD ↔ DPS at ζ_ref, latent RED-diff, RSD γ = 0, RSD γ_ref.
        let rows = [dps, red, rsd0, rsdr];
        let paper_rows = params.str_list("paper_rows")?;
        ensure!(paper_rows.len() == 4, "paper_rows must name Table 1's four rows");
        let mut table1 = Table::new()
            .str("paper_row", paper_rows)
            .str("ours", rows.iter().map(|&c| s.methods[c].label()).collect());
        for name in [
            "psnr_mean_of_n",
            "psnr_best_of_n",
            "feature_distance_mean_of_n",
            "energy_distance",
            "diversity",
            "coverage",
        ] {
            table1 = table1.f64(name, rows.iter().map(|&c| est(j(name), c).mean).collect());
        }
        for (col, key) in [
            ("paper_psnr", "paper_psnr"),
            ("paper_lpips", "paper_lpips"),
            ("paper_fid", "paper_fid"),
            ("paper_diversity", "paper_diversity"),
        ] {
            let v = params.f64_list(key)?;
            ensure!(v.len() == 4, "{key} must hold Table 1's four rows");
            table1.columns.push((col.to_string(), Column::F64(v)));
        }
        out.tables.push(("table1".into(), table1));

        let b = s.measured_decoder();
        let bt_b_norm = {
            // ‖AW‖₂² by power iteration on (AW)ᵀAW (4 × 4), for the note on ζ_ref.
            let mut v = vec![1.0; DIM_Z];
            let mut lam = 0.0;
            for _ in 0..200 {
                let bv: Vec<f64> = b.chunks_exact(DIM_Z).map(|r| r.iter().zip(&v).map(|(a, c)| a * c).sum()).collect();
                let mut w = [0.0; DIM_Z];
                for (r, bvr) in b.chunks_exact(DIM_Z).zip(&bv) {
                    w.iter_mut().zip(r).for_each(|(o, a)| *o += a * bvr);
                }
                lam = w.iter().map(|x| x * x).sum::<f64>().sqrt();
                v = w.iter().map(|x| x / lam).collect();
            }
            lam
        };
        let row = |c: usize| {
            format!(
                "{}: PSNR {:.2}/{:.2} dB (mean/best of N), feature distance {:.4}, diversity {:.4}, energy {:.4}, coverage {:.3}, log p(z|y) {:.2}",
                s.methods[c].label(),
                est(0, c).mean,
                est(1, c).mean,
                est(2, c).mean,
                est(4, c).mean,
                est(6, c).mean,
                est(7, c).mean,
                est(8, c).mean
            )
        };
        out.notes.push(format!(
            "Per set of {} particles over {sets} measurements: {}.",
            params.usize("particles")?,
            (0..nm).map(row).collect::<Vec<_>>().join("; ")
        ));
        out.notes
            .push(format!("Paired contrasts (mean ± s.e. over measurements): {}.", contrasts.join(", ")));
        let min_weight = params.f64("mode_min_weight")?;
        let mut modes = 0.0;
        for k in 0..sets {
            modes += measurement(&s, params, k)?.posterior.significant(min_weight).len() as f64 / sets as f64;
        }
        out.notes.push(format!(
            "‖AW‖₂² = {bt_b_norm:.3} for this decoder (ζ_ref‖AW‖² = {:.3}); the exact posterior keeps on average {modes:.2} components of weight ≥ {min_weight}.",
            zref * bt_b_norm
        ));

        out.figures.push((String::new(), figure(&s, params, &|jj, c| est(jj, c).mean)?));
        Ok(out)
    }
}

/// Every metric against the diversity: the RSD γ sweep and the DPS ζ sweep as lines, latent RED-diff
/// and the exact posterior as single points (the trade-off plot of RSD Fig. 3, for Table 1's methods).
fn figure(s: &Setup, params: &Params, mean: &dyn Fn(usize, usize) -> f64) -> Result<Figure> {
    let pick = |f: &dyn Fn(&Method) -> bool| -> Vec<usize> { (0..s.methods.len()).filter(|&c| f(&s.methods[c])).collect() };
    let rsd = pick(&|m| matches!(m, Method::Rsd(_)));
    let dps = pick(&|m| matches!(m, Method::Dps(_)));
    let (red, exact) = (s.index(Method::RedDiff)?, s.index(Method::Exact)?);
    let div = 4;
    // One legend, in the last panel, whose upper right is empty; the others stay uncovered.
    let panel = |title: &str, y: &str, jj: usize, legend: bool| {
        let xs = |cs: &[usize]| cs.iter().map(|&c| mean(div, c)).collect::<Vec<_>>();
        let ys = |cs: &[usize]| cs.iter().map(|&c| mean(jj, c)).collect::<Vec<_>>();
        let label = |l: String| if legend { l } else { String::new() };
        Panel {
            title: title.into(),
            x_label: "diversity (1 − mean cos φ)".into(),
            y_label: y.into(),
            x_log: false,
            y_log: false,
            series: vec![
                Series::new(
                    label(format!("RSD-HQS, γ = {:?}", params.f64_list("gammas").unwrap_or_default())),
                    &xs(&rsd),
                    &ys(&rsd),
                    Style::LineMarkers,
                    0,
                ),
                Series::new(
                    label(format!("DPS, ζ = {:?}", params.f64_list("dps_scales").unwrap_or_default())),
                    &xs(&dps),
                    &ys(&dps),
                    Style::LineMarkers,
                    1,
                ),
                Series::new(label("latent RED-diff".into()), &xs(&[red]), &ys(&[red]), Style::Markers, 2),
                Series::new(label("exact posterior draws".into()), &xs(&[exact]), &ys(&[exact]), Style::Markers, 3),
            ],
        }
    };
    Ok(Figure {
        title: format!(
            "RSD Table 1 analog: {} particles per measurement on a half-masked latent mixture problem (γ and ζ grow along the lines)",
            params.usize("particles")?
        ),
        panels: vec![
            panel("fidelity, mean of N", "PSNR to the truth [dB]", 0, false),
            panel("fidelity, best of N", "PSNR to the truth [dB]", 1, false),
            panel("feature distance (LPIPS stand-in), mean of N", "1 − cos(φ(x), φ(x*))", 2, false),
            panel("distance to the exact posterior (FID analog)", "energy distance to posterior draws", 6, false),
            panel("posterior modes covered", "fraction of posterior modes hit", 7, false),
            panel("posterior quality", "mean log p(z | y)", 8, true),
        ],
        columns: 3,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Params {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments/rsd-table-1.toml");
        registry::Declaration::load(&path, &[]).unwrap().params()
    }

    #[test]
    fn the_mask_sees_only_the_first_latent_pair_and_the_posterior_keeps_four_modes() {
        let p = params();
        let s = Setup::new(&p).unwrap();
        let b = s.measured_decoder();
        assert!(b.chunks(DIM_Z).all(|r| r[2] == 0.0 && r[3] == 0.0));
        // The posterior of a prior draw keeps the four z_b modes of its z_a cluster, with near-equal weights.
        let m = measurement(&s, &p, 0).unwrap();
        let sig = m.posterior.significant(p.f64("mode_min_weight").unwrap());
        assert_eq!(sig.len(), 4, "{:?}", m.posterior.weights);
        assert!(sig.iter().all(|&k| (m.posterior.weights[k] - 0.25).abs() < 0.05));
    }

    #[test]
    fn exact_draws_score_like_the_posterior_they_come_from() {
        // A set of exact posterior draws is a sample of the reference law: its energy distance to
        // 128 more draws is the V-statistic floor, far below that of a set stuck on one point.
        let p = params();
        let s = Setup::new(&p).unwrap();
        let m = measurement(&s, &p, 3).unwrap();
        let refz = draws(&m.posterior, 128, Stream::new(1));
        let refx: Vec<f64> = refz.chunks(DIM_Z).flat_map(|z| s.decode(z)).collect();
        let z = draws(&m.posterior, 4, Stream::new(2));
        let x: Vec<f64> = z.chunks(DIM_Z).flat_map(|zi| s.decode(zi)).collect();
        let good = score(&s, &m, &x, &z, &refx, 0.05);
        let stuck: Vec<f64> = x[..s.dim_x].repeat(4);
        let bad = score(&s, &m, &stuck, &z[..DIM_Z].repeat(4), &refx, 0.05);
        assert!(good[6] < bad[6], "energy {} vs {}", good[6], bad[6]);
        assert_eq!(bad[7], 0.25);
        assert!(bad[4].abs() < 1e-12 && bad[5] == 0.0, "a set of one point has no diversity");
    }
}

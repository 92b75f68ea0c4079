//! Table A.1 / Fig. A.1 (thesis App. A.3.3, l.2914–2942; spec ch6-9 §1.3): a 2-D mixture of 7 equal-variance
//! Gaussians, the middle one four times as heavy, sampled in sets of n = 10 three ways: i.i.d. from p, from the
//! reweighted joint p̃₀ ∝ Φ'₀ Πp, and from the marginal-preserving p̂₀ ∝ Φ'₀ Π p γ (γ on a grid, Eq. 6.7). As in
//! the thesis, p̃₀ and p̂₀ are estimated by reweighting i.i.d. sets (here self-normalised, with the effective
//! sample size). γ is fitted on one pool of i.i.d. sets and evaluated on another, independent one.
//!
//! The positions, the variance and the bandwidth are not given: the declaration states ours (centre plus a
//! regular hexagon). log Φ'₀ = −c·Σ_{i<j} k(xᵢ, xⱼ), k = exp(−‖xᵢ − xⱼ‖²/h), with c = 2 (sum over ordered
//! pairs), 1 (unordered pairs) or 1/45 (the printed "mean"); h is calibrated so that the i.i.d. mean of log Φ'₀
//! is the table's −37.3 (impossible for the mean, which is ≥ −1), and the other entries are predictions.

use crate::{CellDone, Experiment, Outcome, Quantity, Run};
use anyhow::{anyhow, bail, Result};
use artifacts::{Table, Tables};
use exact_denoisers::GaussianMixture;
use particle_guidance::coverage::distinct;
use rand::Rng as _;
use rayon::prelude::*;
use registry::Params;
use seeding::{normals, Stream};

/// The runner `pg-marginal-toy`.
pub struct TableA1;

struct Setup {
    mixture: GaussianMixture,
    n: usize,
    readings: Vec<String>,
}

/// The toy's mixture: a centre mode of weight `centre_weight` and `outer_modes` unit-weight modes on
/// the circle of radius `ring_radius`, all of variance `mode_variance` (also `eq-6.6`'s target).
pub(crate) fn mixture(p: &Params) -> Result<GaussianMixture> {
    let (outer, r) = (p.usize("outer_modes")?, p.f64("ring_radius")?);
    let mut means = vec![0.0, 0.0];
    let mut weights = vec![p.f64("centre_weight")?];
    for j in 0..outer {
        let a = 2.0 * std::f64::consts::PI * j as f64 / outer as f64;
        means.extend([r * a.cos(), r * a.sin()]);
        weights.push(1.0);
    }
    let k = weights.len();
    Ok(GaussianMixture::new(2, weights, means, vec![p.f64("mode_variance")?; k]))
}

impl Setup {
    fn new(p: &Params) -> Result<Self> {
        Ok(Setup {
            mixture: mixture(p)?,
            n: p.usize("particles")?,
            readings: p.str_list("readings")?,
        })
    }

    /// The factor c of log Φ'₀ = −c Σ_{i<j} k for a reading.
    fn factor(&self, reading: &str) -> Result<f64> {
        let pairs = (self.n * (self.n - 1) / 2) as f64;
        Ok(match reading {
            "sum-ordered" => 2.0,
            "sum-unordered" => 1.0,
            "mean" => 1.0 / pairs,
            _ => bail!("unknown reading `{reading}` (use sum-ordered, sum-unordered, mean)"),
        })
    }

    /// E[k(x, y)] for x, y i.i.d. from the mixture, in closed form: x − y ~ N(μ_a − μ_b, 2s²I) given the
    /// components, and E exp(−‖z‖²/h) = (h/(h + 4s²))^{d/2} exp(−‖m‖²/(h + 4s²)) for z ~ N(m, 2s²I).
    fn mean_kernel(&self, h: f64) -> f64 {
        let g = &self.mixture;
        let v = h + 4.0 * g.variances[0];
        let mut e = 0.0;
        for a in 0..g.components() {
            for b in 0..g.components() {
                let d2 = exact_denoisers::squared_distance(g.mean(a), g.mean(b));
                e += g.weights[a] * g.weights[b] * (h / v).powf(g.dim() as f64 / 2.0) * (-d2 / v).exp();
            }
        }
        e
    }

    /// The bandwidth at which the i.i.d. mean of log Φ'₀ = −c·C(n,2)·E[k] equals `target`, by bisection on ln h.
    fn calibrate(&self, c: f64, target: f64) -> Option<f64> {
        let want = -target / (c * (self.n * (self.n - 1) / 2) as f64);
        if !(want > 0.0 && want < 1.0) {
            return None;
        }
        let (mut lo, mut hi) = (-30f64, 30f64);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if self.mean_kernel(mid.exp()) < want {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Some((0.5 * (lo + hi)).exp())
    }
}

/// A pool of i.i.d. sets: positions (row-major, sets × n × 2) and component labels; set s draws from `stream.child(s)`.
struct Pool {
    x: Vec<f64>,
    label: Vec<usize>,
}

fn pool(g: &GaussianMixture, n: usize, sets: usize, stream: Stream) -> Pool {
    let per: Vec<(Vec<f64>, Vec<usize>)> = (0..sets)
        .into_par_iter()
        .map(|s| {
            let mut rng = stream.child(s as u64).rng();
            let (mut x, mut l) = (vec![0.0; 2 * n], vec![0; n]);
            for i in 0..n {
                let u: f64 = rng.random();
                let z = normals(&mut rng, 2);
                l[i] = g.component_for(u);
                g.sample_with(u, &z, &mut x[2 * i..2 * i + 2]);
            }
            (x, l)
        })
        .collect();
    Pool {
        x: per.iter().flat_map(|p| p.0.iter().copied()).collect(),
        label: per.iter().flat_map(|p| p.1.iter().copied()).collect(),
    }
}

/// −Σ_{i<j} k(xᵢ, xⱼ) of every set (to be multiplied by c).
fn neg_kernel_sums(x: &[f64], n: usize, h: f64) -> Vec<f64> {
    x.par_chunks(2 * n)
        .map(|set| {
            let mut s = 0.0;
            for i in 0..n {
                for j in i + 1..n {
                    s += (-exact_denoisers::squared_distance(&set[2 * i..2 * i + 2], &set[2 * j..2 * j + 2]) / h).exp();
                }
            }
            -s
        })
        .collect()
}

/// The grid of γ: `cells` × `cells` squares over [−half, half]², points outside clamped to the border cells.
struct Grid {
    cells: usize,
    half: f64,
}

impl Grid {
    fn index(&self, x: &[f64]) -> usize {
        let f = |v: f64| (((v + self.half) / (2.0 * self.half) * self.cells as f64).floor() as i64).clamp(0, self.cells as i64 - 1) as usize;
        f(x[0]) * self.cells + f(x[1])
    }
}

/// A self-normalised weighted mean of `f` under weights ∝ exp(`logw`), with its delta-method standard error.
fn weighted(logw: &[f64], f: &[f64]) -> (f64, f64) {
    let m = logw.iter().copied().fold(f64::MIN, f64::max);
    let w: Vec<f64> = logw.iter().map(|l| (l - m).exp()).collect();
    let sw: f64 = w.iter().sum();
    let mean = w.iter().zip(f).map(|(w, f)| w * f).sum::<f64>() / sw;
    let var = w.iter().zip(f).map(|(w, f)| w * w * (f - mean) * (f - mean)).sum::<f64>();
    (mean, var.sqrt() / sw)
}

/// The effective sample size (Σw)²/Σw² of weights ∝ exp(`logw`).
fn ess(logw: &[f64]) -> f64 {
    let m = logw.iter().copied().fold(f64::MIN, f64::max);
    let (s1, s2) = logw.iter().fold((0.0, 0.0), |(a, b), l| {
        let w = (l - m).exp();
        (a + w, b + w * w)
    });
    s1 * s1 / s2
}

/// The γ-cell marginal of sets weighted by exp(`logw`) (a fraction per cell).
fn cell_marginal(cells: &[usize], n: usize, logw: &[f64], k: usize) -> Vec<f64> {
    let m = logw.iter().copied().fold(f64::MIN, f64::max);
    let mut out = vec![0.0; k];
    let mut total = 0.0;
    for (set, l) in cells.chunks(n).zip(logw) {
        let w = (l - m).exp();
        total += w * n as f64;
        for &c in set {
            out[c] += w;
        }
    }
    out.iter_mut().for_each(|v| *v /= total);
    out
}

/// Multi-marginal IPF for the symmetric factor γ of p̂₀ ∝ Φ'₀ Πp γ: the fixed point of A.51 (the marginal of
/// p̂₀ equals p's on every cell), by damped multiplicative updates γ_c ← γ_c (m_c/m̂_c)^damping on the fit pool.
fn fit_gamma(cells: &[usize], n: usize, log_phi: &[f64], k: usize, iterations: usize, damping: f64) -> Vec<f64> {
    let target = cell_marginal(cells, n, &vec![0.0; log_phi.len()], k);
    let mut log_gamma = vec![0.0; k];
    for _ in 0..iterations {
        let logw = log_weights(cells, n, log_phi, &log_gamma);
        let now = cell_marginal(cells, n, &logw, k);
        for c in 0..k {
            if target[c] > 0.0 && now[c] > 0.0 {
                log_gamma[c] += damping * (target[c] / now[c]).ln();
            }
        }
    }
    log_gamma
}

fn log_weights(cells: &[usize], n: usize, log_phi: &[f64], log_gamma: &[f64]) -> Vec<f64> {
    cells
        .chunks(n)
        .zip(log_phi)
        .map(|(set, l)| l + set.iter().map(|&c| log_gamma[c]).sum::<f64>())
        .collect()
}

impl Experiment for TableA1 {
    fn cells(&self, params: &Params) -> Result<Vec<String>> {
        Ok(Setup::new(params)?.readings)
    }

    fn run_cells(&self, run: &Run, cells: &[usize], done: &CellDone) -> Result<()> {
        let s = Setup::new(run.params)?;
        let p = run.params;
        let (fit_sets, eval_sets) = (p.usize("fit_sets")?, p.usize("eval_sets")?);
        let grid = Grid {
            cells: p.usize("gamma_cells")?,
            half: p.f64("gamma_half_width")?,
        };
        let k = grid.cells * grid.cells;
        let target = p.f64("calibration_log_phi")?;
        // The reading whose calibrated bandwidth the mean reading borrows.
        let fallback = s
            .calibrate(s.factor(p.str("fallback_reading")?)?, target)
            .ok_or_else(|| anyhow!("fallback reading cannot be calibrated"))?;
        for &c in cells {
            let reading = &s.readings[c];
            let factor = s.factor(reading)?;
            let (h, calibrated) = match s.calibrate(factor, target) {
                Some(h) => (h, 1),
                None => (fallback, 0),
            };
            let stream = run.stream.child(c as u64);
            let (fit, eval) = (
                pool(&s.mixture, s.n, fit_sets, stream.named("fit")),
                pool(&s.mixture, s.n, eval_sets, stream.named("eval")),
            );
            let log_phi = |x: &[f64]| -> Vec<f64> { neg_kernel_sums(x, s.n, h).iter().map(|v| factor * v).collect() };
            let (phi_fit, phi_eval) = (log_phi(&fit.x), log_phi(&eval.x));
            let cells_of = |x: &[f64]| -> Vec<usize> { x.chunks(2).map(|q| grid.index(q)).collect() };
            let (cells_fit, cells_eval) = (cells_of(&fit.x), cells_of(&eval.x));
            let log_gamma = fit_gamma(&cells_fit, s.n, &phi_fit, k, p.usize("ipf_iterations")?, p.f64("ipf_damping")?);

            // Observables per set on the evaluation pool.
            let modes: Vec<f64> = eval
                .label
                .chunks(s.n)
                .map(|l| distinct(l.iter().copied(), s.mixture.components()) as f64)
                .collect();
            let middle: Vec<f64> = eval
                .label
                .chunks(s.n)
                .map(|l| l.iter().filter(|&&v| v == 0).count() as f64 / s.n as f64)
                .collect();
            let iid_target = cell_marginal(&cells_eval, s.n, &vec![0.0; eval_sets], k);
            let mut t = Table::new();
            let (mut names, mut cols): (Vec<String>, Vec<[f64; 9]>) = (vec![], vec![]);
            for (name, logw) in [
                ("iid", vec![0.0; eval_sets]),
                ("tilted", phi_eval.clone()),
                ("marginal_preserving", log_weights(&cells_eval, s.n, &phi_eval, &log_gamma)),
            ] {
                let (m, mse) = weighted(&logw, &modes);
                let (l, lse) = weighted(&logw, &phi_eval);
                let (mid, midse) = weighted(&logw, &middle);
                let marg = cell_marginal(&cells_eval, s.n, &logw, k);
                let tv = 0.5 * marg.iter().zip(&iid_target).map(|(a, b)| (a - b).abs()).sum::<f64>();
                names.push(name.into());
                cols.push([m, mse, l, lse, mid, midse, tv, ess(&logw), 0.0]);
            }
            let col = |j: usize| cols.iter().map(|r| r[j]).collect::<Vec<f64>>();
            t = t
                .str("reading", vec![reading.clone(); 3])
                .f64("bandwidth_h", vec![h; 3])
                .i64("calibrated", vec![calibrated; 3])
                .str("distribution", names)
                .f64("modes_recovered", col(0))
                .f64("modes_se", col(1))
                .f64("mean_log_phi", col(2))
                .f64("mean_log_phi_se", col(3))
                .f64("middle_mode_mass", col(4))
                .f64("middle_mode_mass_se", col(5))
                .f64("marginal_tv_to_p_on_gamma_grid", col(6))
                .f64("effective_sample_size", col(7))
                .i64("sets", vec![eval_sets as i64; 3]);
            done(c, vec![("observables".into(), t)])?;
        }
        Ok(())
    }

    fn finish(&self, params: &Params, tables: Tables) -> Result<Outcome> {
        let s = Setup::new(params)?;
        let t = &tables
            .iter()
            .find(|(n, _)| n == "observables")
            .ok_or_else(|| anyhow!("no observables table"))?
            .1;
        let col = |c: &str| t.f64_column(c).ok_or_else(|| anyhow!("observables lack `{c}`"));
        let (modes, mse, lphi, lse, mid, midse, tv, ess, h) = (
            col("modes_recovered")?,
            col("modes_se")?,
            col("mean_log_phi")?,
            col("mean_log_phi_se")?,
            col("middle_mode_mass")?,
            col("middle_mode_mass_se")?,
            col("marginal_tv_to_p_on_gamma_grid")?,
            col("effective_sample_size")?,
            col("bandwidth_h")?,
        );
        // E[#modes] of n i.i.d. draws: Σ_k 1 − (1 − π_k)^n.
        let formula: f64 = s.mixture.weights.iter().map(|w| 1.0 - (1.0 - w).powi(s.n as i32)).sum();
        let mut out = Outcome {
            tables: vec![("observables".into(), t.clone())],
            ..Default::default()
        };
        out.quantities.push(Quantity::exact("iid.modes_formula", formula));
        let dist = ["iid", "tilted", "marginal_preserving"];
        for (r, reading) in s.readings.iter().enumerate() {
            for (d, name) in dist.iter().enumerate() {
                let i = 3 * r + d;
                out.quantities.push(Quantity::mc(format!("{reading}.{name}.modes"), modes[i], mse[i]));
                out.quantities.push(Quantity::mc(format!("{reading}.{name}.mean_log_phi"), lphi[i], lse[i]));
                out.quantities
                    .push(Quantity::mc(format!("{reading}.{name}.middle_mode_mass"), mid[i], midse[i]));
                out.quantities.push(Quantity::exact(format!("{reading}.{name}.marginal_tv"), tv[i]));
                out.quantities.push(Quantity::exact(format!("{reading}.{name}.ess"), ess[i]));
            }
            let (a, b, c) = (3 * r, 3 * r + 1, 3 * r + 2);
            // The pattern: i.i.d. < p̂₀ < p̃₀ in modes recovered, as an indicator (1 = holds).
            out.quantities.push(Quantity::exact(
                format!("{reading}.pattern_iid_lt_hat_lt_tilde"),
                f64::from(modes[a] < modes[c] && modes[c] < modes[b]),
            ));
            out.quantities
                .push(Quantity::exact(format!("{reading}.modes_tilde_minus_hat"), modes[b] - modes[c]));
            out.quantities
                .push(Quantity::exact(format!("{reading}.modes_hat_minus_iid"), modes[c] - modes[a]));
            out.notes.push(format!(
                "{reading} (h = {:.4}): modes i.i.d. {:.3} ± {:.3}, p̃₀ {:.3} ± {:.3}, p̂₀ {:.3} ± {:.3} (thesis 4.9 / 5.9 / 5.3); \
                 E log Φ'₀ {:.2} / {:.2} / {:.2} (thesis −37.3 / −31.8 / −36.3); middle-mode mass {:.3} / {:.3} / {:.3} \
                 (thesis 0.40 / 0.13 / ≈0.40); ESS of {} sets: {:.0} / {:.0}.",
                h[a],
                modes[a],
                mse[a],
                modes[b],
                mse[b],
                modes[c],
                mse[c],
                lphi[a],
                lphi[b],
                lphi[c],
                mid[a],
                mid[b],
                mid[c],
                params.usize("eval_sets")?,
                ess[b],
                ess[c]
            ));
        }
        out.notes.push(format!(
            "i.i.d. modes by formula Σ_k 1 − (1 − π_k)^n = (1 − 0.6¹⁰) + 6(1 − 0.9¹⁰) = {formula:.4}; modes are counted by the \
             component each particle was drawn from (the quantity of the formula)."
        ));
        out.notes.push(
            "Mean vs sum (spec §1.3): under the printed mean, log Φ'₀ ≥ −1 cannot reach −37.3, and with the bandwidth of the \
             unordered sum the tilt barely moves the middle-mode mass (row `mean`): the printed mean is ruled out. Calibrated \
             on the i.i.d. −37.3 alone, the sum over unordered pairs predicts the p̃₀ and p̂₀ columns within the tolerances \
             (bar the 13%), while the sum over ordered pairs overshoots the tilt (E log Φ'₀ under p̃₀ far above −31.8, with a \
             small effective sample size): the unordered sum is our reading."
                .into(),
        );
        Ok(out)
    }
}

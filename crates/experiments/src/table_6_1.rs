//! Table 6.1 / B.14 analog (thesis §6.4.2, B.4.2 l.4611–4661; PG paper Table 1; spec pg-rsd §4 T-PG1 row): conformer
//! ensembles on a torus of torsion angles, exactly. Each "molecule" has L ground-truth conformers μ_l on T^torsions
//! with Boltzmann-like weights; its torsion density is the wrapped-Gaussian mixture over the conformers and their
//! symmetric duplicates g μ_l (g in a fixed symmetry group of the angles, the analog of graph automorphisms), so
//! duplicates are the same conformer to the symmetry-aware RMSD. K = 2L samples per molecule by the reverse SDE with
//! the exact wrapped score: i.i.d., PG with the wrapped RBF kernel, PG with the symmetry-invariant (min over the group)
//! kernel, and low-temperature sampling (the exact score of the tempered mixture). COV and AMR, recall and
//! precision, mean and median over molecules (Eq. B.1). As in Table B.14, each method's weight is chosen on
//! validation molecules to minimise the median AMR-R ("minimizing recall") or the median AMR-P ("minimizing
//! precision"), and the chosen rows are reported on independent test molecules. One cell per (split, method, weight).

use crate::{CellDone, Experiment, Outcome, Quantity, Run};
use anyhow::{anyhow, bail, Result};
use artifacts::{Column, Table, Tables};
use diffusion::Denoiser;
use exact_denoisers::{logsumexp, softmax_in_place};
use figures::{Figure, Panel, Series, Style};
use particle_guidance::radial::wrap;
use particle_guidance::torus::{symmetric_squared_distance, torus_repulsion, Symmetry};
use particle_guidance::{sample_guided, Repulsion, Scheme};
use rand::Rng as _;
use rayon::prelude::*;
use registry::Params;
use samplers::{grid::edm_main, Particles};
use std::f64::consts::PI;

/// The runner `pg-torsion-conformers`.
pub struct Table61;

/// A mixture of isotropic wrapped normals on the torus, Σ_k π_k Π_l WN(τ_l; μ_kl, s² + σ²) at noise level σ, the
/// wrapping sum over images τ + 2πm truncated at the smallest |m| ≤ M whose omitted images lie ≥ √(60 v) away
/// (relative weight < e^{−30}, v = s² + σ²). As a denoiser: D = τ + σ² ∇log p_σ (EDM convention).
struct WrappedMixture {
    dim: usize,
    weights: Vec<f64>,
    means: Vec<f64>,
    variance: f64,
}

impl WrappedMixture {
    fn new(dim: usize, weights: Vec<f64>, means: Vec<f64>, variance: f64) -> Self {
        let total: f64 = weights.iter().sum();
        WrappedMixture {
            dim,
            weights: weights.into_iter().map(|w| w / total).collect(),
            means,
            variance,
        }
    }

    /// The truncation M of the wrapping sum at variance v.
    fn images(v: f64) -> i32 {
        ((60.0 * v).sqrt() - PI).div_euclid(2.0 * PI).max(-1.0) as i32 + 1
    }

    /// log p_σ(τ) and, into `score`, its gradient.
    fn log_density_and_score(&self, tau: &[f64], sigma: f64, score: &mut [f64]) -> f64 {
        let v = self.variance + sigma * sigma;
        let m = Self::images(v);
        let k = self.weights.len();
        let mut logj = vec![0.0; k];
        let mut grads = vec![0.0; k * self.dim];
        let mut terms = Vec::with_capacity((2 * m + 1) as usize);
        for c in 0..k {
            let mut lj = self.weights[c].ln();
            for l in 0..self.dim {
                let d = wrap(tau[l] - self.means[c * self.dim + l]);
                terms.clear();
                terms.extend((-m..=m).map(|j| -(d + 2.0 * PI * j as f64).powi(2) / (2.0 * v)));
                let lw = logsumexp(&terms);
                // d/dτ log WN = Σ_j softmax_j · (−(d + 2πj)/v).
                let g: f64 = (-m..=m).zip(&terms).map(|(j, t)| (t - lw).exp() * -(d + 2.0 * PI * j as f64) / v).sum();
                lj += lw - 0.5 * (2.0 * PI * v).ln();
                grads[c * self.dim + l] = g;
            }
            logj[c] = lj;
        }
        let total = logsumexp(&logj);
        softmax_in_place(&mut logj);
        for (l, s) in score.iter_mut().enumerate() {
            *s = (0..k).map(|c| logj[c] * grads[c * self.dim + l]).sum();
        }
        total
    }
}

impl Denoiser for WrappedMixture {
    fn dim(&self) -> usize {
        self.dim
    }

    fn denoise(&self, x: &[f64], sigma: f64, out: &mut [f64]) -> Result<()> {
        out.par_chunks_mut(self.dim).zip(x.par_chunks(self.dim)).for_each(|(o, t)| {
            self.log_density_and_score(t, sigma, o);
            o.iter_mut().zip(t).for_each(|(o, t)| *o = t + sigma * sigma * *o);
        });
        Ok(())
    }
}

/// The symmetry group of the angles: swap the first two (two equivalent rotors), shift the last by π (a symmetric
/// rotor such as a phenyl ring), and both.
fn group(dim: usize) -> Vec<Symmetry> {
    let mut swap = Symmetry::identity(dim);
    swap.perm.swap(0, 1);
    let mut flip = Symmetry::identity(dim);
    flip.shift[dim - 1] = PI;
    let mut both = swap.clone();
    both.shift[dim - 1] = PI;
    vec![Symmetry::identity(dim), swap, flip, both]
}

/// A molecule: its ground-truth conformers (row-major L × dim) and their weights.
struct Molecule {
    conformers: Vec<f64>,
    weights: Vec<f64>,
}

struct Setup {
    dim: usize,
    group: Vec<Symmetry>,
    sd: f64,
    threshold: f64,
    molecules: usize,
}

impl Setup {
    fn new(p: &Params) -> Result<Self> {
        let dim = p.usize("torsions")?;
        if dim < 2 {
            bail!("torsions = {dim}: the symmetry group swaps the first two angles, so torsions ≥ 2");
        }
        Ok(Setup {
            dim,
            group: group(dim),
            sd: p.f64("mode_sd")?,
            threshold: p.f64("threshold")?,
            molecules: p.usize("molecules")?,
        })
    }

    /// The RMS symmetry-aware angle distance, the RMSD analog.
    fn rmsd(&self, a: &[f64], b: &[f64]) -> f64 {
        (symmetric_squared_distance(a, b, &self.group).0 / self.dim as f64).sqrt()
    }

    /// Molecule `m` of a split: L uniform in [conformers_min, conformers_max]; conformers uniform on the torus,
    /// pairwise at least min_separation apart (RMS, symmetry-aware); weights ∝ exp(−E), E ~ energy_scale·Exp(1).
    fn molecule(&self, p: &Params, stream: seeding::Stream) -> Result<Molecule> {
        let mut rng = stream.rng();
        let (lo, hi) = (p.usize("conformers_min")?, p.usize("conformers_max")?);
        let (sep, scale) = (p.f64("min_separation")?, p.f64("energy_scale")?);
        let l = rng.random_range(lo..=hi);
        let mut conformers: Vec<f64> = Vec::new();
        let mut tries = 0;
        while conformers.len() < l * self.dim {
            tries += 1;
            if tries > 100_000 {
                bail!("cannot place {l} conformers {sep} rad apart on T^{}: lower min_separation", self.dim);
            }
            let c: Vec<f64> = (0..self.dim).map(|_| rng.random_range(-PI..PI)).collect();
            if conformers.chunks(self.dim).all(|o| self.rmsd(o, &c) >= sep) {
                conformers.extend(c);
            }
        }
        let weights = (0..l).map(|_| (scale * (1.0 - rng.random::<f64>()).ln()).exp()).collect();
        Ok(Molecule { conformers, weights })
    }

    /// The torsion density of a molecule at inverse temperature λ (λ = 1: the molecule's own): every conformer and
    /// its symmetric duplicates, weights ∝ (π_l/|G|)^λ and variance s²/λ (the exact p^λ where modes do not overlap).
    fn density(&self, mol: &Molecule, lambda: f64) -> WrappedMixture {
        let (mut w, mut means) = (Vec::new(), Vec::new());
        for (c, pi) in mol.conformers.chunks(self.dim).zip(&mol.weights) {
            for g in &self.group {
                w.push((pi / self.group.len() as f64).powf(lambda));
                means.extend(g.apply(c).into_iter().map(wrap));
            }
        }
        WrappedMixture::new(self.dim, w, means, self.sd * self.sd / lambda)
    }

    /// The fraction of pairs of generated samples whose nearest ground-truth conformer (symmetry-aware) is the same:
    /// how much of the batch is spent on one conformer or its duplicates.
    fn same_conformer_pairs(&self, generated: &[f64], truth: &[f64]) -> f64 {
        let d = self.dim;
        let nearest: Vec<usize> = generated
            .chunks(d)
            .map(|x| {
                truth
                    .chunks(d)
                    .enumerate()
                    .map(|(l, y)| (self.rmsd(x, y), l))
                    .fold((f64::INFINITY, 0), |b, c| if c.0 < b.0 { c } else { b })
                    .1
            })
            .collect();
        let n = nearest.len();
        let same = (0..n)
            .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
            .filter(|&(i, j)| nearest[i] == nearest[j])
            .count();
        same as f64 / (n * (n - 1) / 2) as f64
    }

    /// (COV-R, AMR-R, COV-P, AMR-P) of generated conformers against the ground truth (Eq. B.1).
    fn scores(&self, generated: &[f64], truth: &[f64]) -> [f64; 4] {
        let d = self.dim;
        let side = |a: &[f64], b: &[f64]| -> (f64, f64) {
            let mins: Vec<f64> = a
                .chunks(d)
                .map(|x| b.chunks(d).map(|y| self.rmsd(x, y)).fold(f64::INFINITY, f64::min))
                .collect();
            let n = mins.len() as f64;
            (mins.iter().filter(|&&m| m < self.threshold).count() as f64 / n, mins.iter().sum::<f64>() / n)
        };
        let (cov_r, amr_r) = side(truth, generated);
        let (cov_p, amr_p) = side(generated, truth);
        [cov_r, amr_r, cov_p, amr_p]
    }
}

/// A cell: split, method, and its weight (α for PG, λ for low temperature).
struct Cell {
    split: &'static str,
    method: String,
    value: f64,
}

fn cells(p: &Params) -> Result<Vec<Cell>> {
    let mut out = Vec::new();
    for split in ["validation", "test"] {
        let mut add = |method: &str, values: Vec<f64>| {
            out.extend(values.into_iter().map(|value| Cell {
                split,
                method: method.into(),
                value,
            }))
        };
        add("iid", vec![0.0]);
        add("wrapped", p.f64_list("alphas")?);
        add("invariant", p.f64_list("alphas")?);
        add("low-temperature", p.f64_list("temperatures")?);
    }
    Ok(out)
}

fn config(method: &str, value: f64) -> String {
    match method {
        "iid" => "iid".into(),
        "low-temperature" => format!("low-temperature.lambda={value}"),
        m => format!("{m}.alpha={value}"),
    }
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        0.5 * (s[n / 2 - 1] + s[n / 2])
    }
}

const METRICS: [&str; 4] = ["cov_r", "amr_r", "cov_p", "amr_p"];

impl Experiment for Table61 {
    fn cells(&self, params: &Params) -> Result<Vec<String>> {
        Ok(cells(params)?.iter().map(|c| format!("{}.{}", c.split, config(&c.method, c.value))).collect())
    }

    fn run_cells(&self, run: &Run, idx: &[usize], done: &CellDone) -> Result<()> {
        let p = run.params;
        let s = Setup::new(p)?;
        let all = cells(p)?;
        let sigma_max = p.f64("sigma_max")?;
        let grid = edm_main(p.f64("sigma_min")?, sigma_max, p.usize("steps")?, 7.0);
        let h = p.f64("bandwidth")?;
        idx.par_iter().try_for_each(|&c| -> Result<()> {
            let cell = &all[c];
            let identity = [Symmetry::identity(s.dim)];
            let per = (0..s.molecules)
                .into_par_iter()
                .map(|m| -> Result<([f64; 4], f64)> {
                    // The same molecules for every method of a split; the sampler's noise is the cell's own.
                    let mol = s.molecule(p, run.stream.named("molecules").named(cell.split).child(m as u64))?;
                    let lambda = if cell.method == "low-temperature" { cell.value } else { 1.0 };
                    let den = s.density(&mol, lambda);
                    let k = 2 * mol.weights.len();
                    let mut parts = Particles::from_prior(k, s.dim, sigma_max, run.stream.child(c as u64).child(m as u64));
                    let kernel: Option<&[Symmetry]> = match cell.method.as_str() {
                        "wrapped" => Some(&identity),
                        "invariant" => Some(&s.group),
                        "iid" | "low-temperature" => None,
                        other => bail!("unknown method `{other}`"),
                    };
                    // Eq. B.2's torsional potential, constant α and h (the authors interpolate both in t).
                    sample_guided(&den, &mut parts, &grid, Scheme::sde(), "torsional PG", |x, _d, _sigma| {
                        Ok(kernel.map(|g| (cell.value, Repulsion::Displacement(torus_repulsion(x, s.dim, h, g)))))
                    })?;
                    Ok((s.scores(&parts.x, &mol.conformers), s.same_conformer_pairs(&parts.x, &mol.conformers)))
                })
                .collect::<Result<Vec<_>>>()?;
            let redundant = per.iter().map(|r| r.1).sum::<f64>() / per.len() as f64;
            let per: Vec<[f64; 4]> = per.into_iter().map(|r| r.0).collect();
            let mut t = Table::new()
                .str("split", vec![cell.split.into()])
                .str("method", vec![cell.method.clone()])
                .f64("value", vec![cell.value])
                .i64("molecules", vec![s.molecules as i64]);
            for (q, name) in METRICS.iter().enumerate() {
                let v: Vec<f64> = per.iter().map(|r| r[q]).collect();
                t = t
                    .f64(&format!("{name}_mean"), vec![v.iter().sum::<f64>() / v.len() as f64])
                    .f64(&format!("{name}_median"), vec![median(&v)]);
            }
            done(c, vec![("sweep".into(), t.f64("same_conformer_pairs", vec![redundant]))])
        })
    }

    fn finish(&self, params: &Params, tables: Tables) -> Result<Outcome> {
        let t = tables
            .iter()
            .find(|(n, _)| n == "sweep")
            .map(|(_, t)| t.clone())
            .ok_or_else(|| anyhow!("no sweep table"))?;
        let text = |c: &str| match t.column(c) {
            Some(Column::Str(v)) => Ok(v.clone()),
            _ => Err(anyhow!("sweep lacks `{c}`")),
        };
        let (split, method) = (text("split")?, text("method")?);
        let value = t.f64_column("value").ok_or_else(|| anyhow!("sweep lacks `value`"))?;
        let col = |c: &str| t.f64_column(c).ok_or_else(|| anyhow!("sweep lacks `{c}`"));
        let metric: Vec<Vec<f64>> = METRICS
            .iter()
            .flat_map(|m| [format!("{m}_mean"), format!("{m}_median")])
            .map(|c| col(&c))
            .collect::<Result<_>>()?;
        // metric[2q] = mean, metric[2q + 1] = median of METRICS[q].
        let rows = |sp: &str, m: &str| -> Vec<usize> { (0..split.len()).filter(|&r| split[r] == sp && method[r] == m).collect() };
        let pick = |m: &str, q: usize| -> Option<usize> {
            let val = rows("validation", m);
            let best = val.iter().copied().min_by(|&a, &b| metric[2 * q + 1][a].total_cmp(&metric[2 * q + 1][b]))?;
            rows("test", m).into_iter().find(|&r| value[r] == value[best])
        };
        let mut table_rows: Vec<(String, usize)> = Vec::new();
        if let Some(&r) = rows("test", "iid").first() {
            table_rows.push(("iid".into(), r));
        }
        for m in ["low-temperature", "wrapped", "invariant"] {
            for (what, q) in [("recall", 1), ("precision", 3)] {
                if let Some(r) = pick(m, q) {
                    table_rows.push((format!("{m}.min_{what}"), r));
                }
            }
        }
        let mut out = Outcome::default();
        let mut table = Table::new()
            .str("method", table_rows.iter().map(|(n, _)| n.clone()).collect())
            .f64("chosen_value", table_rows.iter().map(|&(_, r)| value[r]).collect());
        for (q, name) in METRICS.iter().enumerate() {
            // Coverage in %, as the paper prints it.
            let f = if name.starts_with("cov") { 100.0 } else { 1.0 };
            for (j, stat) in ["mean", "median"].iter().enumerate() {
                let v: Vec<f64> = table_rows.iter().map(|&(_, r)| f * metric[2 * q + j][r]).collect();
                for ((n, _), x) in table_rows.iter().zip(&v) {
                    out.quantities.push(Quantity::exact(format!("test.{n}.{name}_{stat}"), *x));
                }
                table = table.f64(&format!("{name}_{stat}"), v);
            }
        }
        let get = |n: &str, q: usize| table_rows.iter().find(|(m, _)| m == n).map(|&(_, r)| metric[2 * q + 1][r]);
        if let (Some(iid_r), Some(iid_p), Some(inv_r), Some(inv_rp)) =
            (get("iid", 1), get("iid", 3), get("invariant.min_recall", 1), get("invariant.min_recall", 3))
        {
            out.quantities
                .push(Quantity::exact("invariant.min_recall.amr_r_median_reduction", 1.0 - inv_r / iid_r));
            out.quantities
                .push(Quantity::exact("invariant.min_recall.amr_p_median_reduction", 1.0 - inv_rp / iid_p));
        }
        if let (Some(w), Some(i)) = (get("wrapped.min_recall", 1), get("invariant.min_recall", 1)) {
            out.quantities.push(Quantity::exact("invariant_over_wrapped.amr_r_median_gain", w - i));
        }
        if let (Some(w), Some(i)) = (get("wrapped.min_precision", 3), get("invariant.min_precision", 3)) {
            out.quantities.push(Quantity::exact("invariant_over_wrapped.amr_p_median_gain", w - i));
        }
        if let (Some(lt), Some(i)) = (get("low-temperature.min_recall", 1), get("invariant.min_recall", 1)) {
            out.quantities.push(Quantity::exact("invariant_over_low_temperature.amr_r_median_gain", lt - i));
        }
        for (n, r) in &table_rows {
            out.notes.push(format!(
                "test {n} ({}): COV-R {:.1}/{:.1}%, AMR-R {:.3}/{:.3}, COV-P {:.1}/{:.1}%, AMR-P {:.3}/{:.3} rad (mean/median over {} molecules)",
                if n == "iid" { "—".to_string() } else { format!("chosen {}", value[*r]) },
                100.0 * metric[0][*r],
                100.0 * metric[1][*r],
                metric[2][*r],
                metric[3][*r],
                100.0 * metric[4][*r],
                100.0 * metric[5][*r],
                metric[6][*r],
                metric[7][*r],
                params.usize("molecules")?
            ));
        }
        let red = col("same_conformer_pairs")?;
        for m in ["iid", "wrapped", "invariant", "low-temperature"] {
            let parts: Vec<String> = rows("test", m).iter().map(|&r| format!("{} {:.3}", config(m, value[r]), red[r])).collect();
            out.notes.push(format!(
                "test, fraction of sample pairs on the same conformer (symmetry-aware): {}",
                parts.join(", ")
            ));
        }
        // Figure: the validation sweeps in the (median AMR-R, median AMR-P) plane, and the chosen test rows.
        let mut series = Vec::new();
        for (i, m) in ["iid", "low-temperature", "wrapped", "invariant"].iter().enumerate() {
            let val = rows("validation", m);
            let xs: Vec<f64> = val.iter().map(|&r| metric[3][r]).collect();
            let ys: Vec<f64> = val.iter().map(|&r| metric[7][r]).collect();
            series.push(Series::new(
                format!("{m} (validation sweep)"),
                &xs,
                &ys,
                if val.len() > 1 { Style::LineMarkers } else { Style::Markers },
                i,
            ));
        }
        let (xs, ys): (Vec<f64>, Vec<f64>) = table_rows.iter().map(|&(_, r)| (metric[3][r], metric[7][r])).unzip();
        series.push(Series::new("chosen rows, test molecules", &xs, &ys, Style::Markers, 4));
        out.figures.push((
            String::new(),
            Figure {
                title: "Table 6.1 analog: torsion-angle conformers (lower-left is better)".into(),
                columns: 1,
                panels: vec![Panel {
                    title: format!("T^{}, K = 2L samples, symmetry group of 4", params.usize("torsions")?),
                    x_label: "median AMR-R (rad)".into(),
                    y_label: "median AMR-P (rad)".into(),
                    x_log: false,
                    y_log: false,
                    series,
                }],
            },
        ));
        out.tables.push(("table".into(), table));
        out.tables.push(("sweep".into(), t));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mixture() -> WrappedMixture {
        WrappedMixture::new(2, vec![1.0, 3.0], vec![0.5, -2.9, -1.0, 3.0], 0.2)
    }

    #[test]
    fn score_is_the_gradient_of_the_log_density_and_periodic() {
        let g = mixture();
        for sigma in [0.05, 0.7, 3.0] {
            let x = [2.9, -0.4];
            let mut s = [0.0; 2];
            g.log_density_and_score(&x, sigma, &mut s);
            let eps = 1e-6;
            for c in 0..2 {
                let (mut a, mut b) = (x, x);
                a[c] += eps;
                b[c] -= eps;
                let mut tmp = [0.0; 2];
                let fd = (g.log_density_and_score(&a, sigma, &mut tmp) - g.log_density_and_score(&b, sigma, &mut tmp)) / (2.0 * eps);
                assert!((s[c] - fd).abs() < 1e-6 * (1.0 + fd.abs()), "σ = {sigma}, coordinate {c}: {} vs {fd}", s[c]);
            }
            let mut s2 = [0.0; 2];
            g.log_density_and_score(&[x[0] - 2.0 * PI, x[1] + 4.0 * PI], sigma, &mut s2);
            assert!((s[0] - s2[0]).abs() < 1e-9 && (s[1] - s2[1]).abs() < 1e-9);
        }
    }

    #[test]
    fn density_integrates_to_one_on_the_torus() {
        // Midpoint rule on a 200² grid of [−π, π)², at a small and a large σ (where many images matter).
        let g = mixture();
        for sigma in [0.1, 2.5] {
            let n = 200;
            let hstep = 2.0 * PI / n as f64;
            let mut total = 0.0;
            let mut s = [0.0; 2];
            for i in 0..n {
                for j in 0..n {
                    let x = [-PI + (i as f64 + 0.5) * hstep, -PI + (j as f64 + 0.5) * hstep];
                    total += g.log_density_and_score(&x, sigma, &mut s).exp() * hstep * hstep;
                }
            }
            assert!((total - 1.0).abs() < 1e-6, "σ = {sigma}: {total}");
        }
    }

    #[test]
    fn coverage_and_amr_by_hand() {
        // One torsion pair, identity-only distances would differ: the swap makes (1, 0) and (0, 1) the same conformer.
        let s = Setup {
            dim: 2,
            group: group(2),
            sd: 0.3,
            threshold: 0.45,
            molecules: 1,
        };
        let truth = [1.0, 0.0, -2.0, 2.0];
        let generated = [0.0, 1.0, 0.0, 0.0];
        let [cov_r, amr_r, cov_p, amr_p] = s.scores(&generated, &truth);
        // Truth 1 is generated 1 swapped (distance 0); truth 2's nearest is (0, 1) or (0, 0) by RMS angle.
        let d2 = |a: [f64; 2], b: [f64; 2]| s.rmsd(&a, &b);
        let m2 = d2([-2.0, 2.0], [0.0, 1.0]).min(d2([-2.0, 2.0], [0.0, 0.0]));
        assert_eq!(cov_r, 0.5);
        assert!((amr_r - 0.5 * m2).abs() < 1e-12);
        let g2 = d2([0.0, 0.0], [1.0, 0.0]).min(d2([0.0, 0.0], [-2.0, 2.0]));
        assert_eq!(cov_p, 0.5);
        assert!((amr_p - 0.5 * g2).abs() < 1e-12);
    }
}

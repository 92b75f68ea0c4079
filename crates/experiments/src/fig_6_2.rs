//! Fig. 6.2 analog (thesis §6.4.2, B.4.2 l.4683–4709; PG paper Fig. 2; spec pg-rsd §4 F-PG2 row): in-batch similarity
//! against a quality score under classifier-free guidance, exactly. The "images" are points of a class-conditional
//! Gaussian mixture in ℝ^dim whose modes differ only in the first two ("semantic") coordinates: `modes` modes on a ring,
//! each assigned to a class, isotropic variance in every coordinate (the other coordinates are pure nuisance, the
//! analog of pixels that carry no meaning). CFG s̃ = w s_c + (1 − w) s_u from the exact conditional and unconditional
//! scores; Euler probability-flow ODE with 30 steps on the EDM grid; batches of 4 per class ("prompt").
//!
//! Quality (the CLIP-score stand-in): the Bayes classifier's confidence p(c | x₀) in the batch's class. In-batch
//! similarity (spec ch6-9 §1.4): the mean cosine similarity over ordered pairs of the metric features, the clean
//! mode posterior p(mode | x₀) (the DINO stand-in; near one-hot, so IBS ≈ the fraction of pairs in the same mode).
//! Methods: i.i.d.; PG with the raw-coordinate RBF kernel (median bandwidth, constant α, the "pixel" kernel); PG with
//! the semantic feature kernel: the RBF on the mode posterior p(mode | x_t) at the current noise level (the expected
//! one-hot mode of x₀ given x_t, a Tweedie-style prediction of the semantic label), its gradient taken through the
//! posterior's closed-form Jacobian, α = b·σ as the paper's feature weight 8σ(t). One cell per (method, α, w).

use crate::{CellDone, Experiment, Outcome, Quantity, Run};
use anyhow::{anyhow, bail, Result};
use artifacts::{Column, Table, Tables};
use diffusion::Denoiser;
use exact_denoisers::{softmax_in_place, GaussianMixture};
use figures::{Figure, Panel, Series, Style};
use metrics::{in_batch_similarity, Estimate};
use particle_guidance::{feature::feature_repulsion, sample_guided, sample_pg, Bandwidth, Kernel, ParticleGuidance, Repulsion, Scheme};
use rayon::prelude::*;
use registry::Params;
use samplers::{grid::edm_main, Particles};
use std::f64::consts::PI;

/// The runner `pg-cfg-diversity`.
pub struct Fig62;

/// Classifier-free guidance on exact mixtures: D̃ = w D_c + (1 − w) D_u, i.e. s̃ = w s_c + (1 − w) s_u.
struct Cfg<'a> {
    cond: &'a GaussianMixture,
    uncond: &'a GaussianMixture,
    w: f64,
}

impl Denoiser for Cfg<'_> {
    fn dim(&self) -> usize {
        self.uncond.dim()
    }

    fn denoise(&self, x: &[f64], sigma: f64, out: &mut [f64]) -> Result<()> {
        let mut u = vec![0.0; x.len()];
        self.cond.denoise(x, sigma, out)?;
        self.uncond.denoise(x, sigma, &mut u)?;
        out.iter_mut().zip(&u).for_each(|(c, u)| *c = self.w * *c + (1.0 - self.w) * u);
        Ok(())
    }
}

struct Setup {
    uncond: GaussianMixture,
    cond: Vec<GaussianMixture>,
    class_of: Vec<usize>,
    dim: usize,
}

impl Setup {
    fn new(p: &Params) -> Result<Self> {
        let (dim, radius, var) = (p.usize("dim")?, p.f64("ring_radius")?, p.f64("mode_variance")?);
        let class_of = p.usize_list("mode_classes")?;
        if dim < 2 {
            bail!("dim = {dim}: the modes live in the first two coordinates, so dim ≥ 2");
        }
        let k = class_of.len();
        let classes = class_of.iter().max().map_or(0, |m| m + 1);
        let size = |c: usize| class_of.iter().filter(|&&x| x == c).count();
        if (0..classes).any(|c| size(c) == 0) {
            bail!("mode_classes {class_of:?}: every class from 0 to {} needs a mode", classes - 1);
        }
        let means: Vec<f64> = (0..k)
            .flat_map(|j| {
                let a = 2.0 * PI * j as f64 / k as f64;
                let mut m = vec![0.0; dim];
                (m[0], m[1]) = (radius * a.cos(), radius * a.sin());
                m
            })
            .collect();
        // Equal class priors: a mode of class c weighs 1/|c|.
        let uncond = GaussianMixture::new(dim, class_of.iter().map(|&c| 1.0 / size(c) as f64).collect(), means.clone(), vec![var; k]);
        let cond = (0..classes)
            .map(|c| {
                let idx: Vec<usize> = (0..k).filter(|&j| class_of[j] == c).collect();
                GaussianMixture::new(
                    dim,
                    vec![1.0; idx.len()],
                    idx.iter().flat_map(|&j| means[j * dim..(j + 1) * dim].iter().copied()).collect(),
                    vec![var; idx.len()],
                )
            })
            .collect();
        Ok(Setup { uncond, cond, class_of, dim })
    }
}

/// The mode posterior p(mode | x) of the mixture at noise level σ for each row of `x` (row-major n × K), and, when
/// asked, its Jacobian (n blocks of K × dim): ∂r_k/∂x = r_k(∇ℓ_k − Σ_j r_j ∇ℓ_j), ∇ℓ_k = −(x − μ_k)/(s_k² + σ²).
fn mode_posterior(g: &GaussianMixture, x: &[f64], sigma: f64, jacobian: bool) -> (Vec<f64>, Vec<f64>) {
    let (dim, k) = (g.dim(), g.components());
    let mut r = Vec::with_capacity(x.len() / dim * k);
    let mut jac = Vec::with_capacity(if jacobian { x.len() * k } else { 0 });
    for xi in x.chunks(dim) {
        let mut l = g.log_joint(xi, sigma);
        softmax_in_place(&mut l);
        if jacobian {
            let grad = |j: usize, c: usize| -(xi[c] - g.mean(j)[c]) / (g.variances[j] + sigma * sigma);
            let mean_grad: Vec<f64> = (0..dim).map(|c| (0..k).map(|j| l[j] * grad(j, c)).sum()).collect();
            for (j, rj) in l.iter().enumerate() {
                jac.extend((0..dim).map(|c| rj * (grad(j, c) - mean_grad[c])));
            }
        }
        r.extend(l);
    }
    (r, jac)
}

/// A cell: method ("iid", "raw", "feature"), its weight and the CFG scale.
struct Cell {
    method: String,
    alpha: f64,
    w: f64,
}

fn cells(p: &Params) -> Result<Vec<Cell>> {
    let ws = p.f64_list("cfg_scales")?;
    let mut out = Vec::new();
    let mut add = |method: &str, alphas: Vec<f64>| {
        for &alpha in &alphas {
            out.extend(ws.iter().map(|&w| Cell {
                method: method.into(),
                alpha,
                w,
            }));
        }
    };
    add("iid", vec![0.0]);
    add("raw", p.f64_list("raw_alphas")?);
    add("feature", p.f64_list("feature_alphas")?);
    Ok(out)
}

fn series_name(method: &str, alpha: f64) -> String {
    if method == "iid" {
        "iid".into()
    } else {
        format!("{method}.alpha={alpha}")
    }
}

/// The Pareto front of (quality ↑, similarity ↓) points as a staircase: the least similarity among points of quality ≥ q.
fn front(points: &[(f64, f64)], q: f64) -> f64 {
    points.iter().filter(|p| p.0 >= q).map(|p| p.1).fold(f64::INFINITY, f64::min)
}

/// Domination of front B over front A on the overlap of their quality ranges (`grid` equally spaced qualities): the
/// fraction of the qualities where B's least similarity is strictly lower, and the mean of A's minus B's.
fn domination(a: &[(f64, f64)], b: &[(f64, f64)], grid: usize) -> (f64, f64) {
    let range = |v: &[(f64, f64)]| v.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| (lo.min(p.0), hi.max(p.0)));
    let ((a0, a1), (b0, b1)) = (range(a), range(b));
    let (lo, hi) = (a0.max(b0), a1.min(b1));
    if lo.is_nan() || hi.is_nan() || lo > hi || grid < 2 {
        return (f64::NAN, f64::NAN);
    }
    let qs: Vec<f64> = (0..grid).map(|i| lo + (hi - lo) * i as f64 / (grid - 1) as f64).collect();
    let better = qs.iter().filter(|&&q| front(b, q) < front(a, q)).count() as f64 / grid as f64;
    let gap = qs.iter().map(|&q| front(a, q) - front(b, q)).sum::<f64>() / grid as f64;
    (better, gap)
}

impl Experiment for Fig62 {
    fn cells(&self, params: &Params) -> Result<Vec<String>> {
        Ok(cells(params)?
            .iter()
            .map(|c| format!("{}.w={}", series_name(&c.method, c.alpha), c.w))
            .collect())
    }

    fn run_cells(&self, run: &Run, idx: &[usize], done: &CellDone) -> Result<()> {
        let p = run.params;
        let s = Setup::new(p)?;
        let all = cells(p)?;
        let (n, per_class) = (p.usize("batch_size")?, p.usize("batches_per_class")?);
        let sigma_max = p.f64("sigma_max")?;
        let grid = edm_main(p.f64("sigma_min")?, sigma_max, p.usize("steps")?, 7.0);
        idx.par_iter().try_for_each(|&c| -> Result<()> {
            let cell = &all[c];
            let (mut quality, mut ibs) = (Vec::new(), Vec::new());
            let mut nfe = 0;
            for (class, cond) in s.cond.iter().enumerate() {
                let den = Cfg {
                    cond,
                    uncond: &s.uncond,
                    w: cell.w,
                };
                let mut parts = Particles::from_prior(per_class * n, s.dim, sigma_max, run.stream.child(c as u64).child(class as u64));
                match cell.method.as_str() {
                    "iid" | "raw" => {
                        let pg = ParticleGuidance::constant(Kernel::Rbf(Bandwidth::MedianPaper), cell.alpha, n);
                        sample_pg(&den, &mut parts, &grid, &pg, Scheme::ode())?
                    }
                    "feature" => {
                        let (k, dim) = (s.uncond.components(), s.dim);
                        sample_guided(&den, &mut parts, &grid, Scheme::ode(), "PG (feature kernel)", |x, _d, sigma| {
                            // α = b·σ (the paper's 8σ(t) form); features: the mode posterior at this noise level.
                            let rep: Vec<Vec<f64>> = x
                                .par_chunks(n * dim)
                                .map(|set| {
                                    let (r, jac) = mode_posterior(&s.uncond, set, sigma, true);
                                    feature_repulsion(&r, k, &jac, dim, &Bandwidth::MedianPaper, sigma)
                                })
                                .collect();
                            Ok(Some((cell.alpha * sigma, Repulsion::Displacement(rep.concat()))))
                        })?
                    }
                    m => bail!("unknown method `{m}`"),
                }
                nfe += parts.nfe;
                let (r0, _) = mode_posterior(&s.uncond, &parts.x, 0.0, false);
                let k = s.uncond.components();
                for batch in r0.chunks(n * k) {
                    ibs.push(in_batch_similarity(batch, k));
                    let conf: f64 = batch
                        .chunks(k)
                        .map(|r| (0..k).filter(|&j| s.class_of[j] == class).map(|j| r[j]).sum::<f64>())
                        .sum::<f64>()
                        / n as f64;
                    quality.push(conf);
                }
            }
            let (q, b) = (Estimate::of(&quality), Estimate::of(&ibs));
            let t = Table::new()
                .str("method", vec![cell.method.clone()])
                .f64("alpha", vec![cell.alpha])
                .f64("cfg_scale", vec![cell.w])
                .i64("batches", vec![quality.len() as i64])
                .f64("quality", vec![q.mean])
                .f64("quality_se", vec![q.se])
                .f64("in_batch_similarity", vec![b.mean])
                .f64("in_batch_similarity_se", vec![b.se])
                .i64("nfe", vec![nfe as i64]);
            done(c, vec![("points".into(), t)])
        })
    }

    fn finish(&self, params: &Params, tables: Tables) -> Result<Outcome> {
        let t = tables
            .iter()
            .find(|(n, _)| n == "points")
            .map(|(_, t)| t.clone())
            .ok_or_else(|| anyhow!("no points table"))?;
        let col = |c: &str| t.f64_column(c).ok_or_else(|| anyhow!("points lack `{c}`"));
        let (alpha, w, q, qse, b, bse) = (
            col("alpha")?,
            col("cfg_scale")?,
            col("quality")?,
            col("quality_se")?,
            col("in_batch_similarity")?,
            col("in_batch_similarity_se")?,
        );
        let method = match t.column("method") {
            Some(Column::Str(v)) => v.clone(),
            _ => bail!("points lack `method`"),
        };
        let grid = params.usize("front_grid")?;
        let pts = |sel: &dyn Fn(usize) -> bool| -> Vec<(f64, f64)> { (0..q.len()).filter(|&r| sel(r)).map(|r| (q[r], b[r])).collect() };
        let iid = pts(&|r| method[r] == "iid");
        let raw = pts(&|r| method[r] == "raw");
        let feat = pts(&|r| method[r] == "feature");
        let mut out = Outcome::default();
        let mut notes = Vec::new();
        for (key, a, bb) in [("raw_vs_iid", &iid, &raw), ("feature_vs_iid", &iid, &feat), ("feature_vs_raw", &raw, &feat)] {
            let (frac, gap) = domination(a, bb, grid);
            out.quantities.push(Quantity::exact(format!("{key}.front_fraction"), frac));
            out.quantities.push(Quantity::exact(format!("{key}.mean_similarity_gap"), gap));
            notes.push(format!(
                "{key}: lower front on {:.0}% of the shared quality range, mean similarity gap {gap:.4}",
                100.0 * frac
            ));
        }
        // Per weight, against i.i.d.
        let mut names: Vec<(String, f64)> = Vec::new();
        for r in 0..q.len() {
            if !names.iter().any(|(m, a)| *m == method[r] && *a == alpha[r]) {
                names.push((method[r].clone(), alpha[r]));
            }
        }
        for (m, a) in names.iter().filter(|(m, _)| m != "iid") {
            let (frac, gap) = domination(&iid, &pts(&|r| method[r] == *m && alpha[r] == *a), grid);
            out.quantities
                .push(Quantity::exact(format!("{}.front_fraction_vs_iid", series_name(m, *a)), frac));
            out.quantities
                .push(Quantity::exact(format!("{}.mean_similarity_gap_vs_iid", series_name(m, *a)), gap));
        }
        for r in 0..q.len() {
            let key = format!("{}.w={}", series_name(&method[r], alpha[r]), w[r]);
            out.quantities.push(Quantity::mc(format!("{key}.quality"), q[r], qse[r]));
            out.quantities.push(Quantity::mc(format!("{key}.in_batch_similarity"), b[r], bse[r]));
        }
        // CFG itself: i.i.d. quality and similarity both rise from the smallest to the largest scale.
        let iid_rows: Vec<usize> = (0..q.len()).filter(|&r| method[r] == "iid").collect();
        if let (Some(&lo), Some(&hi)) = (iid_rows.first(), iid_rows.last()) {
            out.quantities.push(Quantity::exact("iid.quality_gain_over_cfg_range", q[hi] - q[lo]));
            out.quantities.push(Quantity::exact("iid.similarity_gain_over_cfg_range", b[hi] - b[lo]));
        }
        out.notes.push(format!(
            "Fronts (staircase: least similarity among points of quality ≥ q, on {grid} qualities of the overlap): {}.",
            notes.join("; ")
        ));
        let series = names
            .iter()
            .enumerate()
            .map(|(i, (m, a))| {
                let rows: Vec<usize> = (0..q.len()).filter(|&r| method[r] == *m && alpha[r] == *a).collect();
                let xs: Vec<f64> = rows.iter().map(|&r| q[r]).collect();
                let ys: Vec<f64> = rows.iter().map(|&r| b[r]).collect();
                let style = if m == "iid" { Style::LineMarkers } else { Style::Line };
                Series::new(series_name(m, *a), &xs, &ys, style, i)
            })
            .collect();
        out.figures.push((
            String::new(),
            Figure {
                title: "Fig. 6.2 analog (CFG w = 2…10 along each curve)".into(),
                columns: 1,
                panels: vec![Panel {
                    title: format!(
                        "class-conditional mixture, batches of {}, Euler ODE {} steps",
                        params.usize("batch_size")?,
                        params.usize("steps")?
                    ),
                    x_label: "quality: p(c | x₀) (CLIP-score stand-in)".into(),
                    y_label: "in-batch similarity (lower = more diverse)".into(),
                    x_log: false,
                    y_log: false,
                    series,
                }],
            },
        ));
        out.tables.push(("points".into(), t));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_posterior_jacobian_matches_finite_differences() {
        let g = GaussianMixture::new(3, vec![1.0, 2.0, 0.5], vec![0.0, 1.0, 0.0, 1.5, -0.5, 0.2, -1.0, 0.3, 0.7], vec![0.3, 0.5, 0.2]);
        let x = [0.4, 0.1, -0.3];
        let sigma = 0.7;
        let (_, jac) = mode_posterior(&g, &x, sigma, true);
        let eps = 1e-6;
        for c in 0..3 {
            let (mut a, mut b) = (x, x);
            a[c] += eps;
            b[c] -= eps;
            let (ra, rb) = (mode_posterior(&g, &a, sigma, false).0, mode_posterior(&g, &b, sigma, false).0);
            for k in 0..3 {
                let fd = (ra[k] - rb[k]) / (2.0 * eps);
                assert!((jac[k * 3 + c] - fd).abs() < 1e-8, "∂r_{k}/∂x_{c}: {} vs {fd}", jac[k * 3 + c]);
            }
        }
    }

    #[test]
    fn cfg_with_unit_scale_is_the_conditional_denoiser() {
        let cond = GaussianMixture::new(1, vec![1.0], vec![1.0], vec![0.1]);
        let uncond = GaussianMixture::new(1, vec![1.0, 1.0], vec![1.0, -1.0], vec![0.1, 0.1]);
        let (x, mut a, mut b) = ([0.3, -0.2], [0.0; 2], [0.0; 2]);
        Cfg {
            cond: &cond,
            uncond: &uncond,
            w: 1.0,
        }
        .denoise(&x, 0.5, &mut a)
        .unwrap();
        cond.denoise(&x, 0.5, &mut b).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn domination_of_a_front_shifted_down() {
        let a = [(0.5, 0.6), (0.7, 0.7), (0.9, 0.9)];
        let b: Vec<(f64, f64)> = a.iter().map(|p| (p.0, p.1 - 0.1)).collect();
        let (frac, gap) = domination(&a, &b, 11);
        assert_eq!(frac, 1.0);
        assert!((gap - 0.1).abs() < 1e-12);
        let (frac, gap) = domination(&b, &a, 11);
        assert_eq!(frac, 0.0);
        assert!((gap + 0.1).abs() < 1e-12);
    }
}

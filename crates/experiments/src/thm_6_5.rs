//! Theorem 5 (thesis §6.4, l.1382–1393, proof A.3.1; PG paper Thm 1): the joint law of a set sampled with
//! fixed-potential guidance is the Feynman–Kac reweighting of i.i.d. sampling, not the naive Φ₀Πp. In 1-D
//! with n = 2 particles: the empirical joint of PG samples (the crate's sampler, exact mixture score) on a 2-D
//! histogram, against that law computed numerically, and against Φ₀·Πp, as total variation distances beside
//! their Monte Carlo noise level. One cell per guidance weight α (α = 0 checks the solver and the sampler).
//!
//! The reweighting of Theorem 5 involves ∇log p̂_t of the PG process itself, so it is implicit; the quantity it
//! represents is the solution of the PG process's Fokker–Planck equation, which we solve on a grid (spec ch6-9
//! §1.1: "a direct numerical check needs a Fokker–Planck solve (1-D data, n = 2 particles, 2-D grid)").

use crate::{CellDone, Experiment, Outcome, Quantity, Run};
use anyhow::{anyhow, bail, Result};
use artifacts::{Table, Tables};
use diffusion::Denoiser;
use exact_denoisers::GaussianMixture;
use figures::{Figure, Panel, Series, Style};
use particle_guidance::{sample_pg, Bandwidth, Kernel, ParticleGuidance, Scheme};
use rand::Rng as _;
use rayon::prelude::*;
use registry::Params;
use samplers::Particles;
use seeding::normals;

/// The runner `pg-feynman-kac`.
pub struct Thm65;

struct Setup {
    mixture: GaussianMixture,
    alphas: Vec<f64>,
    h: f64,
    sigma_max: f64,
    sigma_min: f64,
}

impl Setup {
    fn new(p: &Params) -> Result<Self> {
        let means = p.f64_list("mode_means")?;
        let weights = p.f64_list("mode_weights")?;
        if weights.len() != means.len() {
            bail!("mode_weights and mode_means differ in length");
        }
        let k = means.len();
        Ok(Setup {
            mixture: GaussianMixture::new(1, weights, means, vec![p.f64("mode_variance")?; k]),
            alphas: p.f64_list("alphas")?,
            h: p.f64("bandwidth")?,
            sigma_max: p.f64("sigma_max")?,
            sigma_min: p.f64("sigma_min")?,
        })
    }

    /// The repulsion on particle 1 of a pair at separation d = x₁ − x₂: −∂/∂x₁ k = (2/h) d exp(−d²/h).
    fn repulsion(&self, d: f64) -> f64 {
        2.0 / self.h * d * (-d * d / self.h).exp()
    }
}

/// The Bernoulli function B(z) = z/(eᶻ − 1) of the Scharfetter–Gummel flux.
fn bernoulli(z: f64) -> f64 {
    if z.abs() < 1e-8 {
        1.0 - 0.5 * z
    } else {
        z / z.exp_m1()
    }
}

/// The Fokker–Planck equation of the PG reverse SDE (Scheme::sde: dx = 2σ(s + αr)|dσ| + √(2σ|dσ|) z) for a pair
/// in 1-D, from p_{σ_max} ⊗ p_{σ_max} down to σ_min, on cells of width dx over [−L, L]²: ∂p/∂τ = −∇·(b p) + σΔp,
/// τ = −σ, bᵢ = 2σ(s(xᵢ) + α r(xᵢ − xⱼ)); Scharfetter–Gummel fluxes (positive for any Péclet number), explicit
/// steps, no flux through the border. Returns the cell masses (row-major, x₁ major) and the number of steps.
fn fokker_planck(s: &Setup, alpha: f64, half: f64, dx: f64, cfl: f64) -> Result<(Vec<f64>, usize)> {
    let m = (2.0 * half / dx).round() as usize;
    let centre: Vec<f64> = (0..m).map(|i| -half + (i as f64 + 0.5) * dx).collect();
    let face: Vec<f64> = (0..m - 1).map(|i| -half + (i as f64 + 1.0) * dx).collect();
    let marginal: Vec<f64> = centre.iter().map(|&x| s.mixture.log_density(&[x], s.sigma_max).exp() * dx).collect();
    let mut p: Vec<f64> = marginal.iter().flat_map(|a| marginal.iter().map(move |b| a * b)).collect();
    // r at every (face of axis 1, centre of axis 2): depends on face[i] − centre[j] only.
    let rep: Vec<f64> = face.iter().flat_map(|f| centre.iter().map(move |c| s.repulsion(f - c))).collect();
    let rmax = rep.iter().fold(0f64, |a, r| a.max(r.abs()));
    let (mut sigma, mut steps) = (s.sigma_max, 0usize);
    let mut score = vec![0.0; m - 1];
    while sigma > s.sigma_min * (1.0 + 1e-12) {
        s.mixture.score(&face, sigma, &mut score)?;
        let smax = score.iter().fold(0f64, |a, v| a.max(v.abs()));
        let bmax = 2.0 * sigma * (smax + alpha * rmax);
        let dtau = (cfl / (2.0 * (2.0 * sigma / (dx * dx) + bmax / dx))).min(sigma - s.sigma_min);
        // Flux through the face between (i, j) and (i + 1, j) along x₁; by symmetry the x₂ flux through the face
        // between (j, i) and (j, i + 1) uses the same drift with the roles swapped.
        let flux = |a: f64, b: f64, drift: f64| -> f64 {
            let pe = drift * dx / sigma;
            sigma / dx * (bernoulli(-pe) * a - bernoulli(pe) * b)
        };
        let f1: Vec<f64> = (0..(m - 1) * m)
            .into_par_iter()
            .map(|q| {
                let (i, j) = (q / m, q % m);
                flux(p[i * m + j], p[(i + 1) * m + j], 2.0 * sigma * (score[i] + alpha * rep[q]))
            })
            .collect();
        let f2: Vec<f64> = (0..m * (m - 1))
            .into_par_iter()
            .map(|q| {
                let (i, j) = (q / (m - 1), q % (m - 1));
                // Face between (i, j) and (i, j + 1) along x₂: x₂ at face[j], x₁ at centre[i].
                flux(p[i * m + j], p[i * m + j + 1], 2.0 * sigma * (score[j] + alpha * rep[j * m + i]))
            })
            .collect();
        p.par_chunks_mut(m).enumerate().for_each(|(i, row)| {
            for (j, v) in row.iter_mut().enumerate() {
                let mut div = 0.0;
                if i + 1 < m {
                    div += f1[i * m + j];
                }
                if i > 0 {
                    div -= f1[(i - 1) * m + j];
                }
                if j + 1 < m {
                    div += f2[i * (m - 1) + j];
                }
                if j > 0 {
                    div -= f2[i * (m - 1) + j - 1];
                }
                *v -= dtau / dx * div;
            }
        });
        sigma -= dtau;
        steps += 1;
        if steps > 10_000_000 {
            bail!("Fokker–Planck: no convergence in 10⁷ steps");
        }
    }
    Ok((p, steps))
}

/// Aggregates fine cells (width dx over [−L, L]²) into histogram bins (width `bin` over [−H, H]²) plus one
/// last bin for everything outside.
fn coarsen(fine: &[f64], half: f64, dx: f64, hist_half: f64, bin: f64) -> Vec<f64> {
    let m = (2.0 * half / dx).round() as usize;
    let b = (2.0 * hist_half / bin).round() as usize;
    let mut out = vec![0.0; b * b + 1];
    for i in 0..m {
        for j in 0..m {
            out[bin_of(-half + (i as f64 + 0.5) * dx, -half + (j as f64 + 0.5) * dx, hist_half, bin, b)] += fine[i * m + j];
        }
    }
    out
}

fn bin_of(x1: f64, x2: f64, hist_half: f64, bin: f64, b: usize) -> usize {
    let f = |x: f64| ((x + hist_half) / bin).floor();
    let (a, c) = (f(x1), f(x2));
    if a < 0.0 || c < 0.0 || a >= b as f64 || c >= b as f64 {
        b * b
    } else {
        a as usize * b + c as usize
    }
}

fn tv(p: &[f64], q: &[f64]) -> f64 {
    let (sp, sq) = (p.iter().sum::<f64>(), q.iter().sum::<f64>());
    0.5 * p.iter().zip(q).map(|(a, b)| (a / sp - b / sq).abs()).sum::<f64>()
}

/// E[TV] between a histogram of `n` draws from q and q itself, to first order: ½ Σ √(2q(1 − q)/(πn)).
fn noise_level(q: &[f64], n: usize) -> f64 {
    let s: f64 = q.iter().sum();
    0.5 * q
        .iter()
        .map(|v| v / s)
        .map(|v| (2.0 * v * (1.0 - v) / (std::f64::consts::PI * n as f64)).sqrt())
        .sum::<f64>()
}

impl Experiment for Thm65 {
    fn cells(&self, params: &Params) -> Result<Vec<String>> {
        Ok(Setup::new(params)?.alphas.iter().map(|a| format!("alpha={a}")).collect())
    }

    fn run_cells(&self, run: &Run, cells: &[usize], done: &CellDone) -> Result<()> {
        let s = Setup::new(run.params)?;
        let p = run.params;
        let (half, dx, cfl) = (p.f64("fp_half_width")?, p.f64("fp_dx")?, p.f64("fp_cfl")?);
        let (hist_half, bin) = (p.f64("hist_half_width")?, p.f64("hist_bin")?);
        let (pairs, steps) = (p.usize("pairs")?, p.usize("steps")?);
        let nb = (2.0 * hist_half / bin).round() as usize;
        for &c in cells {
            let alpha = s.alphas[c];
            let stream = run.stream.child(c as u64);
            // PG samples: both particles start from the exact p_{σ_max} (a component, then N(μ, s² + σ_max²)).
            let sd = (s.mixture.variances[0] + s.sigma_max * s.sigma_max).sqrt();
            let init: Vec<f64> = (0..2 * pairs)
                .into_par_iter()
                .map(|i| {
                    let mut rng = stream.named("init").child(i as u64).rng();
                    let u: f64 = rng.random();
                    s.mixture.mean(s.mixture.component_for(u))[0] + sd * normals(&mut rng, 1)[0]
                })
                .collect();
            let mut parts = Particles::from_states(1, init, stream.named("noise"));
            let grid: Vec<f64> = (0..=steps)
                .map(|k| s.sigma_max * (s.sigma_min / s.sigma_max).powf(k as f64 / steps as f64))
                .collect();
            let pg = ParticleGuidance::constant(Kernel::Rbf(Bandwidth::Fixed(s.h)), alpha, 2);
            sample_pg(&s.mixture, &mut parts, &grid, &pg, Scheme::sde())?;
            let mut hist = vec![0.0; nb * nb + 1];
            for pair in parts.x.chunks(2) {
                hist[bin_of(pair[0], pair[1], hist_half, bin, nb)] += 1.0;
            }

            let (fine, fp_steps) = fokker_planck(&s, alpha, half, dx, cfl)?;
            let fp_mass: f64 = fine.iter().sum();
            let fk = coarsen(&fine, half, dx, hist_half, bin);
            // The naive joint Φ₀·Π p_{σ_min} (log Φ₀ = −α k(x₁, x₂) up to a constant) and the i.i.d. Π p_{σ_min}.
            let m = (2.0 * half / dx).round() as usize;
            let centre: Vec<f64> = (0..m).map(|i| -half + (i as f64 + 0.5) * dx).collect();
            let marg: Vec<f64> = centre.iter().map(|&x| s.mixture.log_density(&[x], s.sigma_min).exp()).collect();
            let joint = |a: f64| -> Vec<f64> {
                (0..m * m)
                    .map(|q| {
                        let d = centre[q / m] - centre[q % m];
                        marg[q / m] * marg[q % m] * (-a * (-d * d / s.h).exp()).exp()
                    })
                    .collect()
            };
            let (naive, iid) = (coarsen(&joint(alpha), half, dx, hist_half, bin), coarsen(&joint(0.0), half, dx, hist_half, bin));
            let t = Table::new()
                .f64("alpha", vec![alpha])
                .i64("pairs", vec![pairs as i64])
                .f64("tv_pg_fk", vec![tv(&hist, &fk)])
                .f64("tv_pg_naive", vec![tv(&hist, &naive)])
                .f64("tv_fk_naive", vec![tv(&fk, &naive)])
                .f64("tv_pg_iid", vec![tv(&hist, &iid)])
                .f64("tv_fk_iid", vec![tv(&fk, &iid)])
                .f64("noise_level", vec![noise_level(&fk, pairs)])
                .f64("fk_mass", vec![fp_mass])
                .i64("fk_steps", vec![fp_steps as i64])
                .i64("nfe", vec![parts.nfe as i64]);
            // Marginal of particle 1 and the density along the diagonal band, for the figure-free record.
            let bins: Vec<f64> = (0..nb).map(|a| -hist_half + (a as f64 + 0.5) * bin).collect();
            let row = |h: &[f64]| -> Vec<f64> {
                let s: f64 = h.iter().sum();
                (0..nb).map(|a| (0..nb).map(|b| h[a * nb + b]).sum::<f64>() / s / bin).collect()
            };
            let marginals = Table::new()
                .f64("alpha", vec![alpha; nb])
                .f64("x", bins)
                .f64("pg_marginal_density", row(&hist))
                .f64("fk_marginal_density", row(&fk))
                .f64("naive_marginal_density", row(&naive))
                .f64("iid_marginal_density", row(&iid));
            done(c, vec![("distances".into(), t), ("marginals".into(), marginals)])?;
        }
        Ok(())
    }

    fn finish(&self, params: &Params, tables: Tables) -> Result<Outcome> {
        let s = Setup::new(params)?;
        let get = |n: &str| {
            tables
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, t)| t.clone())
                .ok_or_else(|| anyhow!("no {n} table"))
        };
        let (t, marginals) = (get("distances")?, get("marginals")?);
        let col = |c: &str| t.f64_column(c).ok_or_else(|| anyhow!("distances lack `{c}`"));
        let (pgfk, pgnaive, fknaive, fkiid, noise, mass) = (
            col("tv_pg_fk")?,
            col("tv_pg_naive")?,
            col("tv_fk_naive")?,
            col("tv_fk_iid")?,
            col("noise_level")?,
            col("fk_mass")?,
        );
        let mcol = |c: &str| marginals.f64_column(c).ok_or_else(|| anyhow!("marginals lack `{c}`"));
        let (ma, mx) = (mcol("alpha")?, mcol("x")?);
        let mut panels = Vec::new();
        for a in &s.alphas {
            let rows: Vec<usize> = (0..ma.len()).filter(|&r| ma[r] == *a).collect();
            let x: Vec<f64> = rows.iter().map(|&r| mx[r]).collect();
            let mut series = Vec::new();
            for (j, (name, c, style)) in [
                ("PG samples", "pg_marginal_density", Style::Markers),
                ("Fokker–Planck (Thm 5)", "fk_marginal_density", Style::Line),
                ("naive Φ₀Πp", "naive_marginal_density", Style::Dashed),
                ("i.i.d. p", "iid_marginal_density", Style::Dashed),
            ]
            .into_iter()
            .enumerate()
            {
                let v = mcol(c)?;
                series.push(Series::new(name, &x, &rows.iter().map(|&r| v[r]).collect::<Vec<f64>>(), style, j));
            }
            panels.push(Panel {
                title: format!("α = {a}: marginal of particle 1"),
                x_label: "x₁".into(),
                y_label: "density (histogram bins)".into(),
                x_log: false,
                y_log: false,
                series,
            });
        }
        let mut out = Outcome {
            tables: vec![("distances".into(), t.clone()), ("marginals".into(), marginals.clone())],
            ..Default::default()
        };
        out.figures.push((
            String::new(),
            Figure {
                title: "Theorem 5, 1-D pairs: PG samples vs the Fokker–Planck law vs Φ₀Πp".into(),
                panels,
                columns: 2,
            },
        ));
        for (c, a) in s.alphas.iter().enumerate() {
            let key = format!("alpha={a}");
            out.quantities.push(Quantity::exact(format!("{key}.tv_pg_fk"), pgfk[c]));
            out.quantities.push(Quantity::exact(format!("{key}.tv_pg_fk_over_noise"), pgfk[c] / noise[c]));
            out.quantities
                .push(Quantity::exact(format!("{key}.tv_pg_naive_over_noise"), pgnaive[c] / noise[c]));
            out.quantities.push(Quantity::exact(format!("{key}.tv_fk_naive"), fknaive[c]));
            out.quantities.push(Quantity::exact(format!("{key}.tv_fk_iid"), fkiid[c]));
            out.quantities.push(Quantity::exact(format!("{key}.noise_level"), noise[c]));
            out.quantities.push(Quantity::exact(format!("{key}.fk_mass_error"), (mass[c] - 1.0).abs()));
            out.notes.push(format!(
                "α = {a}: TV(PG samples, Fokker–Planck/Feynman–Kac law) = {:.4} = {:.2}× the Monte Carlo noise level {:.4}; \
                 TV(PG samples, Φ₀Πp) = {:.4} ({:.1}× noise); TV(FK law, Φ₀Πp) = {:.4}; TV(FK law, Πp) = {:.4}.",
                pgfk[c],
                pgfk[c] / noise[c],
                noise[c],
                pgnaive[c],
                pgnaive[c] / noise[c],
                fknaive[c],
                fkiid[c]
            ));
        }
        out.notes.push(
            "At α = 0 the Fokker–Planck solve must return Πp_{σ_min} (both start from the exact p_{σ_max}): TV(FK law, Πp) \
             there is the solver's own error. The noise level is the first-order expected TV of a histogram of that many \
             exact draws; the sampler's time discretisation adds to it."
                .into(),
        );
        Ok(out)
    }
}

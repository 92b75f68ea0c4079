//! Learned-potential PG with an exact oracle (thesis §6.5, Eq. 6.6, App. A.3.2; PG paper §7; spec pg-rsd §1.3 "[DERIVED]
//! exact oracle"): to sample p̃₀(x₁, x₂) ∝ Φ₀(x₁, x₂) p(x₁) p(x₂) the guidance must be ∇log Φ_t with Φ_t(x_t) =
//! E[Φ₀(X₀) | X_t = x_t] (the Doob h-transform, A.44–A.47), the regression target of Eq. 6.6. On table-a.1's 7-mode
//! mixture with n = 2 and the Gaussian-kernel potential Φ₀ = 1 − a·exp(−‖x₁ − x₂‖²/h), Φ_t has a closed form: the
//! posteriors of x₁ and x₂ are independent Gaussian mixtures, and per pair of their components (k, l) X₁ − X₂ ~
//! N(m_k − m_l, (v_k + v_l)I), so E exp(−‖X₁ − X₂‖²/h) = (h/(h + 2V))^{d/2} exp(−‖m_k − m_l‖²/(h + 2V)). The sampled pairs
//! are compared with p̃₀ estimated by reweighting exact i.i.d. pairs by Φ₀ (as table-a.1 does), beside i.i.d. sampling
//! and the fixed potential ∇log Φ₀ applied at x_t (which Thm. 5 says samples something else). One cell per method.

use crate::{CellDone, Experiment, Outcome, Quantity, Run};
use anyhow::{anyhow, bail, Result};
use artifacts::{Column, Table, Tables};
use exact_denoisers::{squared_distance, GaussianMixture};
use figures::{Figure, Panel, Series, Style};
use particle_guidance::{coverage, sample_guided, Repulsion, Scheme};
use rand::Rng as _;
use rayon::prelude::*;
use registry::Params;
use samplers::{grid::edm_main, Particles};
use seeding::normals;

/// The runner `pg-doob-oracle`.
pub struct Eq66;

/// Φ₀ = 1 − a·exp(−‖x₁ − x₂‖²/h).
#[derive(Clone, Copy)]
struct Potential {
    a: f64,
    h: f64,
}

impl Potential {
    fn phi0(&self, x1: &[f64], x2: &[f64]) -> f64 {
        1.0 - self.a * (-squared_distance(x1, x2) / self.h).exp()
    }

    /// Φ_t(x₁, x₂) = E[Φ₀(X₁, X₂) | x₁, x₂ at noise level σ], in closed form over the two posterior mixtures.
    fn phi_t(&self, g: &GaussianMixture, x1: &[f64], x2: &[f64], sigma: f64) -> f64 {
        let (p1, p2) = (g.posterior(x1, sigma), g.posterior(x2, sigma));
        let d = g.dim() as f64;
        let mut e = 0.0;
        for k in 0..p1.components() {
            for l in 0..p2.components() {
                let v = p1.variances[k] + p2.variances[l];
                let s = self.h + 2.0 * v;
                e += p1.weights[k] * p2.weights[l] * (self.h / s).powf(d / 2.0) * (-squared_distance(p1.mean(k), p2.mean(l)) / s).exp();
            }
        }
        1.0 - self.a * e
    }

    /// ∇ log f of each particle of a pair, f = Φ_t (oracle) or Φ₀ at x_t (fixed), by central differences.
    fn grad_log(&self, f: &dyn Fn(&[f64], &[f64]) -> f64, pair: &[f64], dim: usize) -> Vec<f64> {
        let eps = 1e-5;
        let mut out = vec![0.0; 2 * dim];
        for (c, o) in out.iter_mut().enumerate() {
            let (mut a, mut b) = (pair.to_vec(), pair.to_vec());
            a[c] += eps;
            b[c] -= eps;
            *o = (f(&a[..dim], &a[dim..]).ln() - f(&b[..dim], &b[dim..]).ln()) / (2.0 * eps);
        }
        out
    }
}

/// Per pair: [distinct modes (1 or 2), particles in the middle mode (0–2), ‖x₁ − x₂‖].
fn statistics(g: &GaussianMixture, pairs: &[f64]) -> Vec<[f64; 3]> {
    pairs
        .chunks(4)
        .map(|q| {
            let (a, b) = (coverage::nearest(&q[..2], &g.means, 2), coverage::nearest(&q[2..], &g.means, 2));
            [
                if a == b { 1.0 } else { 2.0 },
                f64::from(u8::from(a == 0) + u8::from(b == 0)),
                squared_distance(&q[..2], &q[2..]).sqrt(),
            ]
        })
        .collect()
}

const STATS: [&str; 3] = ["modes", "middle_mode_particles", "distance"];
const METHODS: [&str; 4] = ["target", "iid", "doob-oracle", "fixed-phi0"];

impl Experiment for Eq66 {
    fn cells(&self, _params: &Params) -> Result<Vec<String>> {
        Ok(METHODS.iter().map(|m| m.to_string()).collect())
    }

    fn run_cells(&self, run: &Run, idx: &[usize], done: &CellDone) -> Result<()> {
        let p = run.params;
        let g = crate::table_a_1::mixture(p)?;
        let pot = Potential {
            a: p.f64("a")?,
            h: p.f64("h")?,
        };
        if !(0.0..1.0).contains(&pot.a) {
            bail!("a = {}: Φ₀ = 1 − a·k must stay positive, so 0 ≤ a < 1", pot.a);
        }
        let pairs = p.usize("pairs")?;
        let sigma_max = p.f64("sigma_max")?;
        let grid = edm_main(p.f64("sigma_min")?, sigma_max, p.usize("steps")?, 7.0);
        idx.par_iter().try_for_each(|&c| -> Result<()> {
            let stream = run.stream.child(c as u64);
            // (per-pair statistics, per-pair log weight): weights are Φ₀ for the reweighted target, 1 otherwise.
            let (x, logw) = match METHODS[c] {
                "target" => {
                    let n = p.usize("reweight_pairs")?;
                    let x: Vec<f64> = (0..2 * n)
                        .into_par_iter()
                        .flat_map_iter(|i| {
                            let mut rng = stream.child(i as u64).rng();
                            let (u, z) = (rng.random::<f64>(), normals(&mut rng, 2));
                            let mut o = [0.0; 2];
                            g.sample_with(u, &z, &mut o);
                            o
                        })
                        .collect();
                    let lw = x.chunks(4).map(|q| pot.phi0(&q[..2], &q[2..]).ln()).collect();
                    (x, lw)
                }
                method => {
                    let mut parts = Particles::from_prior(2 * pairs, 2, sigma_max, stream);
                    sample_guided(&g, &mut parts, &grid, Scheme::sde(), method, |x, _d, sigma| {
                        let r: Vec<Vec<f64>> = match method {
                            "iid" => return Ok(None),
                            "doob-oracle" => x.par_chunks(4).map(|q| pot.grad_log(&|a, b| pot.phi_t(&g, a, b, sigma), q, 2)).collect(),
                            "fixed-phi0" => x.par_chunks(4).map(|q| pot.grad_log(&|a, b| pot.phi0(a, b), q, 2)).collect(),
                            m => bail!("unknown method `{m}`"),
                        };
                        Ok(Some((1.0, Repulsion::Displacement(r.concat()))))
                    })?;
                    let n = parts.x.len() / 4;
                    (parts.x, vec![0.0; n])
                }
            };
            // Self-normalised weighted means and delta-method standard errors; the target cell also reports its pool
            // unweighted (exact i.i.d. pairs), against which the sampler's own i.i.d. run shows its discretisation bias.
            let st = statistics(&g, &x);
            let summarise = |name: &str, logw: &[f64]| -> Table {
                let m = logw.iter().copied().fold(f64::MIN, f64::max);
                let w: Vec<f64> = logw.iter().map(|l| (l - m).exp()).collect();
                let sw: f64 = w.iter().sum();
                let mut t = Table::new().str("method", vec![name.into()]).i64("pairs", vec![st.len() as i64]);
                for (q, stat) in STATS.iter().enumerate() {
                    let mean = w.iter().zip(&st).map(|(w, s)| w * s[q]).sum::<f64>() / sw;
                    let var = w.iter().zip(&st).map(|(w, s)| w * w * (s[q] - mean).powi(2)).sum::<f64>();
                    t = t.f64(stat, vec![mean]).f64(&format!("{stat}_se"), vec![var.sqrt() / sw]);
                }
                t
            };
            let mut t = summarise(METHODS[c], &logw);
            if METHODS[c] == "target" && !t.append(&summarise("exact-iid", &vec![0.0; logw.len()])) {
                bail!("statistics tables differ in columns");
            }
            done(c, vec![("statistics".into(), t)])
        })
    }

    fn finish(&self, _params: &Params, tables: Tables) -> Result<Outcome> {
        let t = tables
            .iter()
            .find(|(n, _)| n == "statistics")
            .map(|(_, t)| t.clone())
            .ok_or_else(|| anyhow!("no statistics table"))?;
        let method = match t.column("method") {
            Some(Column::Str(v)) => v.clone(),
            _ => bail!("statistics lack `method`"),
        };
        let row = |m: &str| method.iter().position(|x| x == m).ok_or_else(|| anyhow!("no `{m}` row"));
        let target = row("target")?;
        let mut out = Outcome::default();
        let mut zmax = Vec::new();
        let exact_iid = row("exact-iid")?;
        let mut bias = Vec::new();
        for name in STATS {
            let (v, se) = (t.f64_column(name).unwrap_or_default(), t.f64_column(&format!("{name}_se")).unwrap_or_default());
            let r = row("iid")?;
            bias.push(format!(
                "{name} {:+.1}",
                (v[r] - v[exact_iid]) / (se[r] * se[r] + se[exact_iid] * se[exact_iid]).sqrt()
            ));
        }
        out.notes.push(format!(
            "Discretisation check, the sampler's i.i.d. pairs against exact i.i.d. pairs (z): {}.",
            bias.join(", ")
        ));
        for m in ["iid", "doob-oracle", "fixed-phi0"] {
            let r = row(m)?;
            let mut worst: f64 = 0.0;
            let mut parts = Vec::new();
            for name in STATS {
                let (v, se) = (t.f64_column(name).unwrap_or_default(), t.f64_column(&format!("{name}_se")).unwrap_or_default());
                let z = (v[r] - v[target]) / (se[r] * se[r] + se[target] * se[target]).sqrt();
                out.quantities.push(Quantity::mc(format!("{m}.{name}"), v[r], se[r]));
                worst = worst.max(z.abs());
                parts.push(format!("{name} {:.4} ± {:.4} (z = {z:+.1})", v[r], se[r]));
            }
            out.quantities.push(Quantity::exact(format!("{m}.max_abs_z_vs_target"), worst));
            out.notes.push(format!("{m}: {}.", parts.join(", ")));
            zmax.push(worst);
        }
        for name in STATS {
            let (v, se) = (t.f64_column(name).unwrap_or_default(), t.f64_column(&format!("{name}_se")).unwrap_or_default());
            out.quantities.push(Quantity::mc(format!("target.{name}"), v[target], se[target]));
        }
        let xs = [0.0, 1.0, 2.0];
        out.figures.push((
            String::new(),
            Figure {
                title: "Eq. 6.6: the Doob h-transform oracle samples Φ₀Πp; the fixed potential does not".into(),
                columns: 1,
                panels: vec![Panel {
                    title: "largest |z| of three pair statistics against p̃₀ (reweighted i.i.d. pairs)".into(),
                    x_label: "method: 0 i.i.d., 1 Doob oracle ∇log E[Φ₀ | x_t], 2 fixed ∇log Φ₀(x_t)".into(),
                    y_label: "max |z| (combined s.e.)".into(),
                    x_log: false,
                    y_log: true,
                    series: vec![
                        Series::new("ours", &xs, &zmax, Style::Markers, 0),
                        Series::new("agreement bound 4", &xs, &[4.0; 3], Style::Dashed, 1),
                    ],
                }],
            },
        ));
        out.tables.push(("statistics".into(), t));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phi_t_matches_monte_carlo_over_the_posteriors_and_tends_to_phi0() {
        let g = GaussianMixture::new(2, vec![4.0, 1.0, 1.0], vec![0.0, 0.0, 1.0, 0.0, -0.5, 0.8], vec![0.04; 3]);
        let pot = Potential { a: 0.9, h: 0.25 };
        let (x1, x2, sigma) = ([0.3, 0.1], [0.5, -0.2], 0.4);
        let exact = pot.phi_t(&g, &x1, &x2, sigma);
        let (p1, p2) = (g.posterior(&x1, sigma), g.posterior(&x2, sigma));
        let mut rng = seeding::Stream::new(11).rng();
        let n: usize = 200_000;
        let vals: Vec<f64> = (0..n)
            .map(|_| {
                let (mut a, mut b) = ([0.0; 2], [0.0; 2]);
                let (u, z) = (rng.random::<f64>(), normals(&mut rng, 2));
                p1.sample_with(u, &z, &mut a);
                let (u, z) = (rng.random::<f64>(), normals(&mut rng, 2));
                p2.sample_with(u, &z, &mut b);
                pot.phi0(&a, &b)
            })
            .collect();
        let mean = vals.iter().sum::<f64>() / n as f64;
        let se = (vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n as f64 * (n - 1) as f64)).sqrt();
        assert!((mean - exact).abs() < 4.0 * se, "closed form {exact}, Monte Carlo {mean} ± {se}");
        let tiny = pot.phi_t(&g, &x1, &x2, 1e-6);
        assert!((tiny - pot.phi0(&x1, &x2)).abs() < 1e-6);
    }
}

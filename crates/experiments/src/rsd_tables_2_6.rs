//! RSD Fig. 3 / Tables 2–6 (App. C.2) analog, exact: particle VSD on a 2-D mixture with the exact
//! score of the target and the exact variational score of the particles (no LoRA, no images),
//! repulsion γ from 0 to 40 with a Euclidean RBF and with a semantic feature kernel (the target's
//! mode probabilities at the particle's noise level, the DINO stand-in); 4 vs 8 particles
//! (Table 3), 500 vs 1000 steps (Table 2); SDS and exact ancestral (i.i.d.) samples as the
//! bounds (Fig. 3, Fig. 11). Diversity: distinct modes per set and mean pairwise distance; quality:
//! mean log p₀ and distance to the nearest mode centre. One cell per (particles, steps, method).

use crate::{CellDone, Experiment, Outcome, Quantity, Run};
use anyhow::{anyhow, bail, Result};
use artifacts::{Table, Tables};
use exact_denoisers::{squared_distance, GaussianMixture};
use figures::{Figure, Panel, Series, Style};
use metrics::Estimate;
use particle_guidance::coverage;
use rand::Rng as _;
use rayon::prelude::*;
use registry::Params;
use repulsive_distillation::distill::Loop;
use repulsive_distillation::{distill, AdamParams, Ddpm, Distill, FeatureMap, Repulsion, Responsibilities, Variational, Weighting};
use seeding::normals;

/// The runner `rsd-vsd-tradeoff`.
pub struct RsdTables26;

#[derive(Clone, Debug, PartialEq)]
enum Method {
    Ancestral,
    Sds,
    Vsd { kernel: String, gamma: f64 },
}

struct Setup {
    mixture: GaussianMixture,
    configs: Vec<(usize, usize)>,
    methods: Vec<Method>,
}

const METRICS: [&str; 4] = ["modes", "pairwise", "log_p", "nearest"];

impl Setup {
    fn new(p: &Params) -> Result<Self> {
        let k = p.usize("modes")?;
        let radius = p.f64("radius")?;
        let means = (0..k).flat_map(|j| {
            let a = 2.0 * std::f64::consts::PI * j as f64 / k as f64;
            [radius * a.cos(), radius * a.sin()]
        });
        let mut weights = vec![1.0; k];
        weights[0] = p.f64("heavy_weight")?;
        let mixture = GaussianMixture::new(2, weights, means.collect(), vec![p.f64("mode_variance")?; k]);
        let mut configs = Vec::new();
        for &n in &p.usize_list("particles")? {
            if n < 3 {
                bail!("particles = {n}: the code's median bandwidth needs at least 3 particles");
            }
            for &s in &p.usize_list("steps")? {
                configs.push((n, s));
            }
        }
        let gammas = p.f64_list("gammas")?;
        if gammas.first() != Some(&0.0) {
            bail!("gammas must start at 0 (ProlificDreamer without repulsion), got {gammas:?}");
        }
        let kernels = p.str_list("kernels")?;
        for kname in &kernels {
            if kname != "euclidean" && kname != "feature" {
                bail!("kernels: unknown `{kname}` (use euclidean, feature)");
            }
        }
        let mut methods = vec![
            Method::Ancestral,
            Method::Sds,
            Method::Vsd {
                kernel: "none".into(),
                gamma: 0.0,
            },
        ];
        for kname in &kernels {
            for &g in &gammas[1..] {
                methods.push(Method::Vsd {
                    kernel: kname.clone(),
                    gamma: g,
                });
            }
        }
        Ok(Setup { mixture, configs, methods })
    }

    fn cells(&self) -> usize {
        self.configs.len() * self.methods.len()
    }

    fn index(&self, c: usize) -> ((usize, usize), &Method) {
        (self.configs[c / self.methods.len()], &self.methods[c % self.methods.len()])
    }

    fn method_label(m: &Method) -> String {
        match m {
            Method::Ancestral => "ancestral".into(),
            Method::Sds => "sds".into(),
            Method::Vsd { kernel, gamma } if *gamma == 0.0 && kernel == "none" => "vsd.gamma=0".into(),
            Method::Vsd { kernel, gamma } => format!("vsd-{kernel}.gamma={gamma}"),
        }
    }

    fn key(&self, c: usize) -> String {
        let ((n, s), m) = self.index(c);
        format!("n={n}.steps={s}.{}", Self::method_label(m))
    }

    /// The diversity and quality of one set.
    fn metrics(&self, set: &[f64]) -> [f64; 4] {
        let n = set.len() / 2;
        let modes = coverage::modes_recovered(set, 2, &self.mixture.means) as f64;
        let mut pair = 0.0;
        for i in 0..n {
            for j in i + 1..n {
                pair += squared_distance(&set[2 * i..2 * i + 2], &set[2 * j..2 * j + 2]).sqrt();
            }
        }
        pair /= (n * (n - 1) / 2) as f64;
        let log_p = set.chunks(2).map(|x| self.mixture.log_density(x, 0.0)).sum::<f64>() / n as f64;
        let nearest = set
            .chunks(2)
            .map(|x| {
                self.mixture
                    .means
                    .chunks(2)
                    .map(|m| squared_distance(x, m))
                    .fold(f64::INFINITY, f64::min)
                    .sqrt()
            })
            .sum::<f64>()
            / n as f64;
        [modes, pair, log_p, nearest]
    }
}

impl Experiment for RsdTables26 {
    fn cells(&self, params: &Params) -> Result<Vec<String>> {
        let s = Setup::new(params)?;
        Ok((0..s.cells()).map(|c| s.key(c)).collect())
    }

    fn run_cells(&self, run: &Run, cells: &[usize], done: &CellDone) -> Result<()> {
        let p = run.params;
        let s = Setup::new(p)?;
        let sets = p.usize("sets")?;
        let init_std = p.f64("init_std")?;
        let weighting = match p.str("weighting")? {
            "variance" => Weighting::Variance,
            "linear" => Weighting::Linear,
            other => bail!("weighting = `{other}` (use variance, linear)"),
        };
        let schedule = Ddpm::stable_diffusion(1000);
        let (t_min, t_max, lr) = (p.usize("t_min")?, p.usize("t_max")?, p.f64("lr")?);
        let features = Responsibilities { mixture: &s.mixture };
        cells.par_iter().try_for_each(|&c| -> Result<()> {
            let ((n, steps), method) = s.index(c);
            let mut rows: Vec<[f64; 4]> = Vec::with_capacity(sets);
            for k in 0..sets {
                let stream = run.stream.child(c as u64).child(k as u64);
                let mut rng = stream.named("init").rng();
                let set: Vec<f64> = match method {
                    Method::Ancestral => {
                        let mut x = vec![0.0; n * 2];
                        for o in x.chunks_mut(2) {
                            let u: f64 = rng.random();
                            s.mixture.sample_with(u, &normals(&mut rng, 2), o);
                        }
                        x
                    }
                    Method::Sds | Method::Vsd { .. } => {
                        // Random initialisation, as the paper's T2I particles.
                        let mut x: Vec<f64> = normals(&mut rng, n * 2).iter().map(|z| init_std * z).collect();
                        let (variational, gamma, feat): (_, _, Option<&dyn FeatureMap>) = match method {
                            Method::Sds => (Variational::Sds, 0.0, None),
                            Method::Vsd { kernel, gamma } => (Variational::Vsd, *gamma, if kernel == "feature" { Some(&features) } else { None }),
                            Method::Ancestral => unreachable!(),
                        };
                        let cfg = Distill {
                            variational,
                            gamma,
                            repulsion: Repulsion::code(),
                            weighting,
                        };
                        let lp = Loop {
                            schedule: schedule.clone(),
                            t_min,
                            t_max,
                            steps,
                            adam: AdamParams::rsd(lr),
                        };
                        distill(&s.mixture, &mut x, &cfg, &lp, stream.named("distill"), feat)?;
                        x
                    }
                };
                rows.push(s.metrics(&set));
            }
            let mut t = Table::new()
                .str("particles_steps_method", vec![s.key(c)])
                .i64("particles", vec![n as i64])
                .i64("steps", vec![steps as i64])
                .str("method", vec![Setup::method_label(method)])
                .f64(
                    "gamma",
                    vec![match method {
                        Method::Vsd { gamma, .. } => *gamma,
                        _ => f64::NAN,
                    }],
                )
                .i64("sets", vec![sets as i64]);
            for (j, name) in METRICS.iter().enumerate() {
                let e = Estimate::of(&rows.iter().map(|r| r[j]).collect::<Vec<_>>());
                t = t.f64(name, vec![e.mean]).f64(&format!("{name}_se"), vec![e.se]);
            }
            done(c, vec![("tradeoff".into(), t)])
        })
    }

    fn finish(&self, params: &Params, tables: Tables) -> Result<Outcome> {
        let s = Setup::new(params)?;
        let t = &tables.iter().find(|(n, _)| n == "tradeoff").ok_or_else(|| anyhow!("no tradeoff table"))?.1;
        let col = |c: &str| t.f64_column(c).ok_or_else(|| anyhow!("tradeoff table lacks `{c}`"));
        let vals: Vec<Vec<f64>> = METRICS.iter().map(|m| col(m)).collect::<Result<_>>()?;
        let ses: Vec<Vec<f64>> = METRICS.iter().map(|m| col(&format!("{m}_se"))).collect::<Result<_>>()?;
        let mut out = Outcome::default();
        out.tables.push(("tradeoff".into(), t.clone()));
        for c in 0..s.cells() {
            for (j, m) in METRICS.iter().enumerate() {
                out.quantities.push(Quantity::mc(format!("{}.{m}", s.key(c)), vals[j][c], ses[j][c]));
            }
        }
        let find = |n: usize, steps: usize, label: &str| -> Result<usize> {
            (0..s.cells())
                .find(|&c| s.key(c) == format!("n={n}.steps={steps}.{label}"))
                .ok_or_else(|| anyhow!("no cell n={n}.steps={steps}.{label}: the claims need it in the grid"))
        };
        let gammas = params.f64_list("gammas")?;
        let gmax = *gammas.last().expect("gammas start at 0");
        let (gsmall, gcmp) = (params.f64("small_gamma")?, params.f64("gamma_compare")?);
        let (n0, n1) = (params.usize_list("particles")?[0], *params.usize_list("particles")?.last().expect("non-empty"));
        let (s0, s1) = (params.usize_list("steps")?[0], *params.usize_list("steps")?.last().expect("non-empty"));
        let m = |c: usize| vals[0][c];
        let lp = |c: usize| vals[2][c];
        let base = find(n0, s0, "vsd.gamma=0")?;
        let anc = find(n0, s0, "ancestral")?;
        let feat = |g: f64, n, st| find(n, st, &format!("vsd-feature.gamma={g}"));
        let eucl = |g: f64, n, st| find(n, st, &format!("vsd-euclidean.gamma={g}"));
        let se = |j: usize, c: usize| ses[j][c];
        // Differences of independent cells carry the combined standard error √(se₁² + se₂²).
        let diff = |j: usize, a: usize, b: usize| (vals[j][a] - vals[j][b], (se(j, a).powi(2) + se(j, b).powi(2)).sqrt());
        let (base_long, anc_long) = (find(n0, s1, "vsd.gamma=0")?, find(n1, s1, "vsd.gamma=0")?);
        let differences = [
            ("fig3.modes_gain_at_max_gamma", diff(0, feat(gmax, n0, s0)?, base)),
            ("fig3.log_p_change_at_max_gamma", diff(2, feat(gmax, n0, s0)?, base)),
            ("table2.modes_gain_at_max_gamma_long_run", diff(0, feat(gmax, n0, s1)?, base_long)),
            ("table2.log_p_change_at_max_gamma_long_run", diff(2, feat(gmax, n0, s1)?, base_long)),
            ("table3.pairwise_gain_more_particles", diff(1, anc_long, base_long)),
            ("table6.feature_minus_euclidean_modes", diff(0, feat(gcmp, n0, s0)?, eucl(gcmp, n0, s0)?)),
            ("table6.euclidean_modes_gain", diff(0, eucl(gcmp, n0, s0)?, base)),
            ("fig11.sds_minus_vsd_modes", diff(0, find(n0, s0, "sds")?, base)),
            ("fig11.sds_minus_vsd_log_p", diff(2, find(n0, s0, "sds")?, base)),
            ("ancestral_minus_vsd_modes", diff(0, anc, base)),
        ];
        for (k, (v, e)) in differences {
            out.quantities.push(Quantity::mc(k, v, e));
        }
        out.quantities
            .push(Quantity::exact("fig3.modes_ratio_to_ancestral_at_max_gamma", m(feat(gmax, n0, s0)?) / m(anc)));
        out.quantities.push(Quantity::exact(
            "fig3.modes_ratio_to_ancestral_at_small_gamma",
            m(feat(gsmall, n0, s0)?) / m(anc),
        ));
        // The ancestral bound is i.i.d. sampling: E[distinct modes] = Σ_k 1 − (1 − π_k)^N.
        let expected: f64 = s.mixture.weights.iter().map(|w| 1.0 - (1.0 - w).powi(n0 as i32)).sum();
        out.quantities.push(Quantity::exact("ancestral.expected_modes_formula", expected));
        out.quantities
            .push(Quantity::exact("ancestral.modes_abs_z", ((m(anc) - expected) / ses[0][anc]).abs()));
        out.notes.push(format!(
            "{n0} particles, {s0} steps, distinct modes per set (of {}): ancestral {:.3} (formula {expected:.3}), SDS {:.3}, VSD γ = 0 {:.3}; \
             feature kernel γ = {gsmall} {:.3}, γ = {gmax} {:.3}; Euclidean γ = {gcmp} {:.3} vs feature {:.3}. Mean log p₀: ancestral {:.3}, \
             VSD γ = 0 {:.3}, feature γ = {gmax} {:.3}.",
            s.mixture.components(),
            m(anc),
            m(find(n0, s0, "sds")?),
            m(base),
            m(feat(gsmall, n0, s0)?),
            m(feat(gmax, n0, s0)?),
            m(eucl(gcmp, n0, s0)?),
            m(feat(gcmp, n0, s0)?),
            lp(anc),
            lp(base),
            lp(feat(gmax, n0, s0)?)
        ));

        // One panel per (particles, steps): quality against diversity, one line per kernel along γ. Plotted as
        // modes missed and distance to the nearest mode (both lower is better, log scale for the distance) so
        // that the legend in the upper right covers the empty corner.
        let total = s.mixture.components() as f64;
        let near = |c: usize| vals[3][c];
        let panels = s
            .configs
            .iter()
            .map(|&(n, st)| -> Result<Panel> {
                let mut series = Vec::new();
                for (ci, kname) in params.str_list("kernels")?.iter().enumerate() {
                    let mut idx = vec![find(n, st, "vsd.gamma=0")?];
                    for &g in &gammas[1..] {
                        idx.push(find(n, st, &format!("vsd-{kname}.gamma={g}"))?);
                    }
                    let xs: Vec<f64> = idx.iter().map(|&c| total - m(c)).collect();
                    let ys: Vec<f64> = idx.iter().map(|&c| near(c)).collect();
                    series.push(Series::new(format!("VSD + {kname} RBF, γ = 0 … {gmax}"), &xs, &ys, Style::LineMarkers, ci));
                }
                for (ci, label, name) in [(3, "sds", "SDS"), (4, "ancestral", "ancestral (i.i.d. exact)")] {
                    let c = find(n, st, label)?;
                    series.push(Series::new(name, &[total - m(c)], &[near(c)], Style::Markers, ci));
                }
                Ok(Panel {
                    title: format!("{n} particles, {st} steps"),
                    x_label: format!("modes missed per set ({} − distinct modes)", s.mixture.components()),
                    y_label: "mean distance to the nearest mode centre".into(),
                    x_log: false,
                    y_log: true,
                    series,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        out.figures.push((
            String::new(),
            Figure {
                title: "RSD Fig. 3 / Tables 2–6 analog: particle VSD with repulsion on a 5-mode mixture (exact scores; γ rises to the upper left)".into(),
                panels,
                columns: 2,
            },
        ));
        Ok(out)
    }
}

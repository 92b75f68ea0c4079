//! PFGM++ phase alignment and the behaviour of the kernel as D varies (thesis Sec. 8.3–8.4.1,
//! Figs. 8.3 and 8.4; B.6.1; B.6.2 l.5100–5104), on two 1024-point sets standing in for the thesis's
//! 1024 CIFAR-10 images: the first 1024 UCI digits (N = 64) and the synthetic 3072-D clustered set.
//!
//! Fig. 8.3: the mean total variation E_{x∼p_r} ½Σ_i |1/n − p_{0|r}(y_i|x)| between the empirical
//! posterior (weights ∝ (‖x − y_i‖² + r²)^{−(N+D)/2}, in log-space) and the uniform prior, for x the
//! PFGM++ perturbation of a random data point, on a σ grid with r = σ√D, then read against r and σ.
//! Fig. 8.4: (a) E_{x∼p_σ}‖√D E_x/E_r − (−σ∇log p_σ)‖ = E‖D_D(x; σ) − D_∞(x; σ)‖/σ of the exact
//! empirical fields; (b) Var R and (c) the density of R = ‖x − y‖ under p_{r=σ√D} (closed forms).
//!
//! A query x = y_j + R·u needs ‖x − y_k‖² = ‖y_j − y_k‖² + 2R u·(y_j − y_k) + R² for every k: one pass
//! over the data per query gives both inner terms, and every σ of the grid then costs O(n).

use crate::{CellDone, Experiment, Outcome, Quantity, Run};
use anyhow::{anyhow, bail, ensure, Result};
use artifacts::{Table, Tables};
use datasets::{clustered_images, ClusteredImages};
use exact_denoisers::softmax_in_place;
use figures::{Figure, Panel, Series, Style};
use metrics::Estimate;
use pfgmpp::{posterior_logit, sample_radius, Kernel};
use rand::Rng as _;
use rayon::prelude::*;
use registry::Params;

/// The runner `pfgmpp-posterior-phase` (Fig. 8.3).
pub struct Fig83;

/// The runner `pfgmpp-field-and-radius` (Fig. 8.4).
pub struct Fig84;

/// A data set: dimension and row-major points.
struct Data {
    dim: usize,
    points: Vec<f64>,
}

impl Data {
    fn len(&self) -> usize {
        self.points.len() / self.dim
    }

    fn point(&self, k: usize) -> &[f64] {
        &self.points[k * self.dim..(k + 1) * self.dim]
    }

    /// ‖y_j − y_k‖² and v·(y_j − y_k) for every k, in order of k.
    fn offsets(&self, j: usize, v: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let yj = self.point(j);
        (0..self.len())
            .map(|k| {
                let (mut d2, mut proj) = (0.0, 0.0);
                for ((a, b), vi) in yj.iter().zip(self.point(k)).zip(v) {
                    let diff = a - b;
                    d2 += diff * diff;
                    proj += vi * diff;
                }
                (d2, proj)
            })
            .unzip()
    }
}

/// `digits`: the first `data_points` UCI digits (N = 64, in [−1, 1]); `clustered-3072`: the synthetic
/// 32×32×3 clustered set of fig-3.3 with `data_points` images.
fn load(name: &str, p: &Params) -> Result<Data> {
    let n = p.usize("data_points")?;
    match name {
        "digits" => {
            let set = datasets::digits(&datasets::root())?;
            ensure!(set.len() >= n, "digits has {} images, fewer than {n}", set.len());
            let rows = set.rows_f64()?;
            let dim = rows.len() / set.len();
            Ok(Data {
                dim,
                points: rows[..n * dim].to_vec(),
            })
        }
        "clustered-3072" => {
            let spec = ClusteredImages { n, ..Default::default() };
            let points = clustered_images(&spec, p.u64("data_seed")?);
            Ok(Data { dim: points.len() / n, points })
        }
        _ => bail!("unknown data set {name} (digits, clustered-3072)"),
    }
}

/// The augmented dimensions of the cells: `aug_dims`, then ∞ when `with_gaussian`.
fn cell_dims(p: &Params, with_gaussian: bool) -> Result<Vec<f64>> {
    let mut dims = p.f64_list("aug_dims")?;
    if with_gaussian {
        dims.push(f64::INFINITY);
    }
    Ok(dims)
}

fn dim_label(d: f64) -> String {
    if d.is_infinite() {
        "∞".into()
    } else {
        format!("{d}")
    }
}

/// σ_min … σ_max, `sigma_points` log-spaced values.
fn sigma_grid(p: &Params) -> Result<Vec<f64>> {
    let (lo, hi, m) = (p.f64("sigma_min")?.ln(), p.f64("sigma_max")?.ln(), p.usize("sigma_points")?);
    ensure!(m >= 2, "sigma_points must be ≥ 2");
    Ok((0..m).map(|i| (lo + (hi - lo) * i as f64 / (m - 1) as f64).exp()).collect())
}

fn cell_labels(p: &Params, dims: &[f64]) -> Result<Vec<String>> {
    Ok(p.str_list("datasets")?
        .iter()
        .flat_map(|ds| dims.iter().map(move |&d| format!("{ds} D={}", dim_label(d))))
        .collect())
}

fn col(t: &Table, name: &str) -> Result<Vec<f64>> {
    t.f64_column(name).ok_or_else(|| anyhow!("table lacks {name}"))
}

/// A unit vector drawn uniformly on the sphere.
fn unit_vector(rng: &mut seeding::Rng, dim: usize) -> Vec<f64> {
    let mut u = seeding::normals(rng, dim);
    let norm = u.iter().map(|v| v * v).sum::<f64>().sqrt();
    u.iter_mut().for_each(|v| *v /= norm);
    u
}

/// ½ Σ_i |w_i − 1/n|.
fn tvd_to_uniform(w: &[f64]) -> f64 {
    let u = 1.0 / w.len() as f64;
    0.5 * w.iter().map(|x| (x - u).abs()).sum::<f64>()
}

/// The first x (interpolated in ln x) where y falls from ≥ `level` to < `level`; NaN if it never does.
fn crossing(xs: &[f64], ys: &[f64], level: f64) -> f64 {
    for g in 1..xs.len() {
        if ys[g - 1] >= level && ys[g] < level {
            let t = (ys[g - 1] - level) / (ys[g - 1] - ys[g]);
            return (xs[g - 1].ln() + t * (xs[g].ln() - xs[g - 1].ln())).exp();
        }
    }
    f64::NAN
}

/// y at x by linear interpolation in ln x (xs increasing; NaN outside).
fn interp_log(xs: &[f64], ys: &[f64], x: f64) -> f64 {
    let lx = x.ln();
    for g in 1..xs.len() {
        let (a, b) = (xs[g - 1].ln(), xs[g].ln());
        if lx >= a - 1e-12 && lx <= b + 1e-12 {
            let t = ((lx - a) / (b - a)).clamp(0.0, 1.0);
            return ys[g - 1] + t * (ys[g] - ys[g - 1]);
        }
    }
    f64::NAN
}

/// log10(max/min) of the finite values.
fn spread_decades(v: &[f64]) -> f64 {
    let f: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if f.len() < v.len() || f.is_empty() {
        return f64::NAN;
    }
    let (lo, hi) = f.iter().fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
    (hi / lo).log10()
}

/// Max over grid points of (max − min across curves).
fn max_vertical_gap(curves: &[Vec<f64>]) -> f64 {
    let len = curves.first().map_or(0, |c| c.len());
    (0..len)
        .map(|g| {
            let (lo, hi) = curves.iter().fold((f64::MAX, f64::MIN), |(a, b), c| (a.min(c[g]), b.max(c[g])));
            hi - lo
        })
        .fold(0.0, f64::max)
}

impl Experiment for Fig83 {
    fn cells(&self, params: &Params) -> Result<Vec<String>> {
        cell_labels(params, &cell_dims(params, true)?)
    }

    fn run_cells(&self, run: &Run, cells: &[usize], done: &CellDone) -> Result<()> {
        let p = run.params;
        let (names, dims, sigmas, m) = (p.str_list("datasets")?, cell_dims(p, true)?, sigma_grid(p)?, p.usize("queries")?);
        let mut loaded: Option<(usize, Data)> = None;
        for &c in cells {
            let (ds, d) = (c / dims.len(), dims[c % dims.len()]);
            if loaded.as_ref().is_none_or(|(i, _)| *i != ds) {
                loaded = Some((ds, load(&names[ds], p)?));
            }
            let data = &loaded.as_ref().expect("loaded").1;
            let (n, dim) = (data.len(), data.dim);
            // Per query: a random data point y_j and direction u, then one radius R ~ p_r(R) per σ
            // of the grid, all from the query's own stream; x = y_j + R·u.
            let per_query: Vec<Vec<f64>> = (0..m)
                .into_par_iter()
                .map(|i| {
                    let mut rng = run.stream.child(c as u64).child(i as u64).rng();
                    let j = rng.random_range(0..n);
                    let u = unit_vector(&mut rng, dim);
                    let (dist0, proj) = data.offsets(j, &u);
                    let mut w = vec![0.0; n];
                    sigmas
                        .iter()
                        .map(|&s| {
                            let r = sample_radius(&mut rng, dim, d, s);
                            for (k, wk) in w.iter_mut().enumerate() {
                                let d2 = (dist0[k] + 2.0 * r * proj[k] + r * r).max(0.0);
                                *wk = posterior_logit(dim, d, d2 / (s * s));
                            }
                            softmax_in_place(&mut w);
                            tvd_to_uniform(&w)
                        })
                        .collect()
                })
                .collect();
            let est: Vec<Estimate> = (0..sigmas.len())
                .map(|g| Estimate::of(&per_query.iter().map(|q| q[g]).collect::<Vec<_>>()))
                .collect();
            let g = sigmas.len();
            let t = Table::new()
                .str("dataset", vec![names[ds].clone(); g])
                .str("aug_dim", vec![dim_label(d); g])
                .f64("inv_aug_dim", vec![1.0 / d; g])
                .f64("sigma", sigmas.clone())
                .f64("tvd_mean", est.iter().map(|e| e.mean).collect())
                .f64("tvd_se", est.iter().map(|e| e.se).collect());
            done(c, vec![("tvd".into(), t)])?;
        }
        Ok(())
    }

    fn finish(&self, params: &Params, tables: Tables) -> Result<Outcome> {
        let (names, dims, sigmas) = (params.str_list("datasets")?, cell_dims(params, true)?, sigma_grid(params)?);
        let level = params.f64("tvd_level")?;
        let t = artifacts::table::find(&tables, "tvd")?;
        let tvd = col(t, "tvd_mean")?;
        let g = sigmas.len();
        ensure!(tvd.len() == names.len() * dims.len() * g, "tvd table has {} rows", tvd.len());
        let curve = |ds: usize, di: usize| -> &[f64] {
            let c = ds * dims.len() + di;
            &tvd[c * g..(c + 1) * g]
        };
        let finite: Vec<usize> = (0..dims.len()).filter(|&i| dims[i].is_finite()).collect();
        let (d_min, d_max) = finite.iter().fold((f64::MAX, f64::MIN), |(a, b), &i| (a.min(dims[i]), b.max(dims[i])));
        let (s_min, s_max) = (sigmas[0], sigmas[g - 1]);
        // The common r grid: where every finite-D curve is defined, r ∈ [σ_min√D_max, σ_max√D_min].
        let (r_lo, r_hi) = ((s_min * d_max.sqrt()).ln(), (s_max * d_min.sqrt()).ln());
        ensure!(r_lo < r_hi, "the σ grid is too short for a common r range over D = {d_min} … {d_max}");
        let r_grid: Vec<f64> = (0..g).map(|i| (r_lo + (r_hi - r_lo) * i as f64 / (g - 1) as f64).exp()).collect();

        let mut out = Outcome::default();
        let (mut c_ds, mut c_dim, mut c_sig, mut c_r) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut panels = Vec::new();
        for (ds, name) in names.iter().enumerate() {
            let sig_half: Vec<f64> = (0..dims.len()).map(|di| crossing(&sigmas, curve(ds, di), level)).collect();
            let r_half: Vec<f64> = finite.iter().map(|&di| sig_half[di] * dims[di].sqrt()).collect();
            for di in 0..dims.len() {
                c_ds.push(name.clone());
                c_dim.push(dim_label(dims[di]));
                c_sig.push(sig_half[di]);
                c_r.push(sig_half[di] * dims[di].sqrt());
            }
            let sig_finite: Vec<f64> = finite.iter().map(|&di| sig_half[di]).collect();
            let (spread_s, spread_s_all, spread_r) = (spread_decades(&sig_finite), spread_decades(&sig_half), spread_decades(&r_half));
            let on_sigma: Vec<Vec<f64>> = finite.iter().map(|&di| curve(ds, di).to_vec()).collect();
            let on_sigma_all: Vec<Vec<f64>> = (0..dims.len()).map(|di| curve(ds, di).to_vec()).collect();
            let on_r: Vec<Vec<f64>> = finite
                .iter()
                .map(|&di| r_grid.iter().map(|&r| interp_log(&sigmas, curve(ds, di), r / dims[di].sqrt())).collect())
                .collect();
            let (gap_s, gap_s_all, gap_r) = (max_vertical_gap(&on_sigma), max_vertical_gap(&on_sigma_all), max_vertical_gap(&on_r));
            out.quantities.extend([
                Quantity::exact(format!("{name}.collapse_ratio"), spread_s / spread_r),
                Quantity::exact(format!("{name}.sigma_half_spread_decades"), spread_s),
                Quantity::exact(format!("{name}.sigma_half_spread_decades_with_gaussian"), spread_s_all),
                Quantity::exact(format!("{name}.r_half_spread_decades"), spread_r),
                Quantity::exact(format!("{name}.max_tvd_gap_common_sigma"), gap_s),
                Quantity::exact(format!("{name}.max_tvd_gap_common_sigma_with_gaussian"), gap_s_all),
                Quantity::exact(format!("{name}.max_tvd_gap_common_r"), gap_r),
            ]);
            out.notes.push(format!(
                "{name}: mean TVD crosses {level} at σ = {} (D = {}); the crossing σ spread over finite D is {spread_s:.3} decades \
                 ({spread_s_all:.3} with D = ∞), the crossing r spread {spread_r:.3} decades: ratio {:.3}. Largest vertical gap between \
                 the finite-D curves: {gap_s:.3} on a common σ grid ({gap_s_all:.3} with D = ∞), {gap_r:.3} on a common r grid.",
                sig_half.iter().map(|v| format!("{v:.3}")).collect::<Vec<_>>().join(", "),
                dims.iter().map(|&d| dim_label(d)).collect::<Vec<_>>().join(", "),
                spread_s / spread_r
            ));
            let series = |against_r: bool| -> Vec<Series> {
                (0..dims.len())
                    .filter(|&di| !against_r || dims[di].is_finite())
                    .map(|di| {
                        let xs: Vec<f64> = sigmas.iter().map(|s| if against_r { s * dims[di].sqrt() } else { *s }).collect();
                        Series::new(format!("D = {}", dim_label(dims[di])), &xs, curve(ds, di), Style::Line, di)
                    })
                    .collect()
            };
            panels.push(Panel {
                title: format!("(a) {name}: without alignment"),
                x_label: "augmented radius r".into(),
                y_label: "mean TVD(U ‖ p_{0|r}(·|x))".into(),
                x_log: true,
                y_log: false,
                series: series(true),
            });
            panels.push(Panel {
                title: format!("(b) {name}: with alignment r = σ√D"),
                x_label: "σ = r/√D".into(),
                y_label: "mean TVD(U ‖ p_{0|r}(·|x))".into(),
                x_log: true,
                y_log: false,
                series: series(false),
            });
        }
        let crossings = Table::new()
            .str("dataset", c_ds)
            .str("aug_dim", c_dim)
            .f64("sigma_half", c_sig)
            .f64("r_half", c_r);
        out.tables = vec![("tvd".into(), t.clone()), ("crossings".into(), crossings)];
        out.notes.push(format!(
            "{} queries per (data set, D) and σ: x = y_j + R·u with j uniform, u uniform on the sphere and R ~ p_r(R), r = σ√D, \
             {} σ values log-spaced on [{}, {}]; the D = ∞ curve has no r axis.",
            params.usize("queries")?,
            g,
            params.f64("sigma_min")?,
            params.f64("sigma_max")?
        ));
        out.figures.push((
            String::new(),
            Figure {
                title: "Fig. 8.3: mean TVD between the PFGM++ posterior and the uniform prior, 1024 points".into(),
                panels,
                columns: 2,
            },
        ));
        Ok(out)
    }
}

/// The central `mass` interval's width of R ~ p_{r=σ√D}(R), by bisection on the distribution function.
fn central_width(k: &Kernel, sigma: f64, mass: f64) -> f64 {
    let quantile = |q: f64| {
        let (mut lo, mut hi) = (0.0, sigma * (k.n as f64).sqrt());
        while k.radius_cdf(hi, sigma) < q {
            hi *= 2.0;
        }
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if k.radius_cdf(mid, sigma) < q {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    };
    quantile(0.5 + 0.5 * mass) - quantile(0.5 - 0.5 * mass)
}

/// Var R = E R² − (E R)² of the kernel's radius.
fn radius_variance(k: &Kernel, sigma: f64) -> f64 {
    k.radius_squared_mean(sigma) - k.radius_mean(sigma).powi(2)
}

impl Experiment for Fig84 {
    /// One cell per (data set, σ), every D inside it on the same queries, so that the curves over D
    /// differ by the field alone, not by Monte Carlo noise (as in thm-8.limit).
    fn cells(&self, params: &Params) -> Result<Vec<String>> {
        let sigmas = params.f64_list("field_sigmas")?;
        Ok(params
            .str_list("datasets")?
            .iter()
            .flat_map(|ds| sigmas.iter().map(move |s| format!("{ds} sigma={s}")))
            .collect())
    }

    fn run_cells(&self, run: &Run, cells: &[usize], done: &CellDone) -> Result<()> {
        let p = run.params;
        let (names, dims, sigmas, m) = (p.str_list("datasets")?, cell_dims(p, false)?, p.f64_list("field_sigmas")?, p.usize("queries")?);
        let mut loaded: Option<(usize, Data)> = None;
        for &c in cells {
            let (ds, s) = (c / sigmas.len(), sigmas[c % sigmas.len()]);
            if loaded.as_ref().is_none_or(|(i, _)| *i != ds) {
                loaded = Some((ds, load(&names[ds], p)?));
            }
            let data = &loaded.as_ref().expect("loaded").1;
            let (n, dim) = (data.len(), data.dim);
            // Per query: x = y_j + σε with ε ~ N(0, I) (x ~ p_σ), the same x for every D.
            let per_query: Vec<Vec<f64>> = (0..m)
                .into_par_iter()
                .map(|i| {
                    let mut rng = run.stream.child(c as u64).child(i as u64).rng();
                    let j = rng.random_range(0..n);
                    let eps = seeding::normals(&mut rng, dim);
                    let e2: f64 = eps.iter().map(|v| v * v).sum();
                    let (dist0, proj) = data.offsets(j, &eps);
                    // x − y_k = (y_j − y_k) + σε: ‖·‖²/σ² = (‖y_j − y_k‖² + 2σ ε·(y_j − y_k) + σ²‖ε‖²)/σ².
                    let t: Vec<f64> = (0..n).map(|k| (dist0[k] + 2.0 * s * proj[k] + s * s * e2).max(0.0) / (s * s)).collect();
                    let mut wg: Vec<f64> = t.iter().map(|&tk| posterior_logit(dim, f64::INFINITY, tk)).collect();
                    softmax_in_place(&mut wg);
                    let mut delta = vec![0.0; dim];
                    dims.iter()
                        .map(|&d| {
                            let mut wd: Vec<f64> = t.iter().map(|&tk| posterior_logit(dim, d, tk)).collect();
                            softmax_in_place(&mut wd);
                            delta.fill(0.0);
                            for k in 0..n {
                                let dw = wd[k] - wg[k];
                                if dw != 0.0 {
                                    delta.iter_mut().zip(data.point(k)).for_each(|(o, y)| *o += dw * y);
                                }
                            }
                            delta.iter().map(|v| v * v).sum::<f64>().sqrt() / s
                        })
                        .collect()
                })
                .collect();
            let est: Vec<Estimate> = (0..dims.len())
                .map(|di| Estimate::of(&per_query.iter().map(|q| q[di]).collect::<Vec<_>>()))
                .collect();
            let nd = dims.len();
            let t = Table::new()
                .str("dataset", vec![names[ds].clone(); nd])
                .f64("sigma", vec![s; nd])
                .f64("aug_dim", dims.clone())
                .f64("gap_mean", est.iter().map(|e| e.mean).collect())
                .f64("gap_se", est.iter().map(|e| e.se).collect());
            done(c, vec![("field_gap".into(), t)])?;
        }
        Ok(())
    }

    fn finish(&self, params: &Params, tables: Tables) -> Result<Outcome> {
        let (names, dims, sigmas) = (params.str_list("datasets")?, cell_dims(params, false)?, params.f64_list("field_sigmas")?);
        let t = artifacts::table::find(&tables, "field_gap")?;
        let gap = col(t, "gap_mean")?;
        let g = sigmas.len();
        ensure!(gap.len() == names.len() * dims.len() * g, "field_gap table has {} rows", gap.len());
        // (a) one series over D per (data set, σ).
        let series_of = |ds: usize, si: usize| -> Vec<f64> { (0..dims.len()).map(|di| gap[(ds * g + si) * dims.len() + di]).collect() };
        let mut out = Outcome::default();
        let (mut decreasing, mut total, mut worst_ratio) = (0usize, 0usize, 0.0f64);
        let mut panels = Vec::new();
        for (ds, name) in names.iter().enumerate() {
            let mut series = Vec::new();
            for (si, &s) in sigmas.iter().enumerate() {
                let y = series_of(ds, si);
                total += 1;
                decreasing += y.windows(2).all(|w| w[1] < w[0] || (w[0] == 0.0 && w[1] == 0.0)) as usize;
                if y[0] > 0.0 {
                    worst_ratio = worst_ratio.max(y[y.len() - 1] / y[0]);
                }
                if s == 1.0 {
                    out.quantities.push(Quantity::exact(
                        format!("{name}.field_gap_sigma1_max_over_d"),
                        y.iter().copied().fold(0.0, f64::max),
                    ));
                }
                out.notes.push(format!(
                    "(a) {name}, σ = {s}: E‖D_D − D_∞‖/σ = {} at D = {}.",
                    y.iter().map(|v| format!("{v:.3e}")).collect::<Vec<_>>().join(", "),
                    dims.iter().map(|d| format!("{d}")).collect::<Vec<_>>().join(", ")
                ));
                series.push(Series::new(format!("σ = {s}"), &dims, &y, Style::LineMarkers, si));
            }
            panels.push(Panel {
                title: format!("(a) {name}: PFGM++ field vs score (zeros and < 1e-14 of the top are off the axis)"),
                x_label: "augmented dimensions D".into(),
                y_label: "E‖√D E_x/E_r + σ∇log p_σ‖₂".into(),
                x_log: true,
                y_log: true,
                series,
            });
        }
        out.quantities
            .push(Quantity::exact("field_gap.decreasing_fraction", decreasing as f64 / total as f64));
        out.quantities.push(Quantity::exact("field_gap.max_ratio_largest_to_smallest_d", worst_ratio));

        // (b) Var R at σ = 1 for N = 3072 (CIFAR-10's N, the spec's reference values) and for each set's N.
        let var_dims = params.f64_list("variance_aug_dims")?;
        let var_ns = params.usize_list("variance_dims")?;
        let (mut v_n, mut v_d, mut v_var, mut v_log2) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut var_series = Vec::new();
        for (i, &n) in var_ns.iter().enumerate() {
            let vars: Vec<f64> = var_dims.iter().map(|&d| radius_variance(&Kernel::new(n, d), 1.0)).collect();
            for (&d, &v) in var_dims.iter().zip(&vars) {
                v_n.push(n as i64);
                v_d.push(d);
                v_var.push(v);
                v_log2.push(v.log2());
                if n == 3072 {
                    out.quantities.push(Quantity::exact(format!("var_r.n3072.d{d}"), v));
                }
            }
            if n == 3072 {
                let below: f64 = var_dims.iter().zip(&vars).filter(|(d, _)| **d < 32.0).map(|(_, v)| *v).fold(f64::NAN, f64::max);
                out.quantities.push(Quantity::exact("var_r.n3072.log2_max_below_d32", below.log2()));
                out.quantities
                    .push(Quantity::exact("var_r.n3072.decreasing", vars.windows(2).all(|w| w[1] < w[0]) as i32 as f64));
            }
            var_series.push(Series::new(
                format!("N = {n}"),
                &var_dims,
                &v_log2[v_log2.len() - vars.len()..],
                Style::LineMarkers,
                i,
            ));
        }
        let two10 = vec![10.0; var_dims.len()];
        var_series.push(Series::new("2^10", &var_dims, &two10, Style::Dashed, var_ns.len() + 1));
        panels.push(Panel {
            title: "(b) radius variance at σ = 1".into(),
            x_label: "augmented dimensions D".into(),
            y_label: "log₂ Var R".into(),
            x_log: true,
            y_log: false,
            series: var_series,
        });

        // (c) the density of R, N = 3072, for several σ and D; width of its central 90 %.
        let (dens_sigmas, mut dens_dims) = (params.f64_list("density_sigmas")?, params.f64_list("density_aug_dims")?);
        dens_dims.push(f64::INFINITY);
        let n = 3072usize;
        let points = params.usize("density_points")?;
        let (mut p_s, mut p_d, mut p_r, mut p_p) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut dens_series = Vec::new();
        let r_top = 2.0 * dens_sigmas.iter().copied().fold(0.0, f64::max) * (n as f64).sqrt();
        let radii: Vec<f64> = (1..=points).map(|i| r_top * i as f64 / points as f64).collect();
        for (si, &s) in dens_sigmas.iter().enumerate() {
            for (di, &d) in dens_dims.iter().enumerate() {
                let k = Kernel::new(n, d);
                let dens: Vec<f64> = radii.iter().map(|&r| k.radius_log_density(r, s).exp()).collect();
                for (&r, &v) in radii.iter().zip(&dens) {
                    p_s.push(s);
                    p_d.push(dim_label(d));
                    p_r.push(r);
                    p_p.push(v);
                }
                let style = if si % 2 == 0 { Style::Line } else { Style::Dashed };
                dens_series.push(Series::new(format!("σ = {s}, D = {}", dim_label(d)), &radii, &dens, style, di));
            }
        }
        let widths: Vec<f64> = dens_dims.iter().map(|&d| central_width(&Kernel::new(n, d), 1.0, 0.9)).collect();
        out.quantities.push(Quantity::exact(
            "radius.n3072.width90_decreasing",
            widths.windows(2).all(|w| w[1] < w[0]) as i32 as f64,
        ));
        out.notes.push(format!(
            "(c) N = 3072, σ = 1: the central 90 % of R is {} wide at D = {}.",
            widths.iter().map(|v| format!("{v:.3}")).collect::<Vec<_>>().join(", "),
            dens_dims.iter().map(|&d| dim_label(d)).collect::<Vec<_>>().join(", ")
        ));
        panels.push(Panel {
            title: "(c) radius density, N = 3072 (solid/dashed alternate σ)".into(),
            x_label: "R = ‖x − y‖".into(),
            y_label: "p_{r=σ√D}(R)".into(),
            x_log: false,
            y_log: false,
            series: dens_series,
        });
        out.notes.push(format!(
            "(a) {} queries x ~ p_σ per (data set, σ), the same x for every D; D_D and D_∞ from the same points.",
            params.usize("queries")?
        ));
        out.tables = vec![
            ("field_gap".into(), t.clone()),
            (
                "radius_variance".into(),
                Table::new().i64("n", v_n).f64("aug_dim", v_d).f64("var_r", v_var).f64("log2_var_r", v_log2),
            ),
            (
                "radius_density".into(),
                Table::new().f64("sigma", p_s).str("aug_dim", p_d).f64("radius", p_r).f64("density", p_p),
            ),
        ];
        out.figures.push((
            String::new(),
            Figure {
                title: "Fig. 8.4: PFGM++ field vs score, radius variance and density as D varies".into(),
                panels,
                columns: 2,
            },
        ));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crossing_and_interpolation_in_log_x() {
        let xs = [1.0, 10.0, 100.0];
        let ys = [1.0, 0.6, 0.0];
        let c = crossing(&xs, &ys, 0.5);
        // Between 10 and 100, a sixth of the way in ln x.
        assert!((c - 10f64.powf(1.0 + 1.0 / 6.0)).abs() < 1e-9, "{c}");
        assert!(crossing(&xs, &ys, 2.0).is_nan());
        assert!((interp_log(&xs, &ys, 10f64.sqrt()) - 0.8).abs() < 1e-12);
        assert!(interp_log(&xs, &ys, 1000.0).is_nan());
        assert!((tvd_to_uniform(&[1.0, 0.0, 0.0, 0.0]) - 0.75).abs() < 1e-15);
        assert!((spread_decades(&[1.0, 100.0, 10.0]) - 2.0).abs() < 1e-12);
        assert!((max_vertical_gap(&[vec![0.0, 1.0], vec![0.5, 0.2]]) - 0.8).abs() < 1e-15);
    }

    #[test]
    fn offsets_give_the_query_distances() {
        let data = Data {
            dim: 3,
            points: vec![0.0, 1.0, 2.0, -1.0, 0.5, 3.0, 2.0, 2.0, -2.0],
        };
        let (u, r) = ([0.6, 0.0, 0.8], 1.7);
        let (d0, proj) = data.offsets(1, &u);
        let x: Vec<f64> = data.point(1).iter().zip(&u).map(|(y, v)| y + r * v).collect();
        for k in 0..3 {
            let direct = exact_denoisers::squared_distance(&x, data.point(k));
            assert!((d0[k] + 2.0 * r * proj[k] + r * r - direct).abs() < 1e-12);
        }
    }

    #[test]
    fn radius_variance_matches_the_spec_values() {
        // Spec seeds-ch6-9 §3 (Fig. 8.4b): N = 3072, σ = 1.
        for (d, v) in [(3.0, 3349.9), (32.0, 54.7), (2048.0, 1.25), (3.072e6, 0.5)] {
            let ours = radius_variance(&Kernel::new(3072, d), 1.0);
            assert!((ours / v - 1.0).abs() < 2e-3, "D = {d}: {ours} vs {v}");
        }
    }
}

//! Tables 9.1 and 9.2 (thesis Ch. 9, l.2138–2152 and l.2196–2205; spec seeds-ch6-9 §4): for each
//! physical equation, its dispersion relation (closed form, checked against the PDE's symbol and
//! against companion-matrix roots), the smoothness criterion Im ω(k) < Im ω(0) (Eq. 9.8) on a
//! k-grid, the overlap F(T) of two point sources (A.138), the sign of the induced density
//! (closed-form Green's functions of App. A.6.1, or Fourier inversion of the selected branch), and
//! the verdict — can / conditionally / cannot become a generative model — row by row, beside the
//! thesis's cells. One cell per row.

use crate::{CellDone, Experiment, Outcome, Quantity, Run};
use anyhow::{anyhow, bail, Result};
use artifacts::{Table, Tables};
use figures::{Figure, Panel, Series, Style};
use genphys::density::{
    fourier_density_1d, heat_kernel, helmholtz_density_2d, helmholtz_window, poisson_density, schrodinger_two_sources, screened_density_2d,
    telegraph_density_1d, wave_density_3d,
};
use genphys::smoothness::{criterion, overlap, plateau};
use genphys::verdict::{density_flow, generative, smooth, Positivity, Verdict};
use genphys::Equation;
use registry::Params;

/// The runner `genphys-table-9-1`.
pub struct Table91;
/// The runner `genphys-table-9-2`.
pub struct Table92;

/// How a row's density is evaluated for the sign check.
#[derive(Clone, Copy, Debug, PartialEq)]
enum DensityCheck {
    /// Heat kernel, 3 data dimensions (A.101).
    Heat,
    /// Half-space Poisson kernel, 2 data dimensions (A.107).
    Poisson,
    /// 3-D ideal wave from a Gaussian source of width `wave_source_width` at rest.
    Wave3d,
    /// 1-D telegraph density, regular part (fronts carry e^{−εt} > 0).
    Telegraph,
    /// Helmholtz, 2 data dimensions (A.119 with Y_{1/2}); positive up to k₀ρ = x_c.
    Helmholtz,
    /// Screened Poisson, 2 data dimensions (A.123 with K_{1/2}).
    Screened,
    /// Free Schrödinger, two point sources in 1-D, p = |φ|².
    Schrodinger,
    /// 1-D Fourier inversion of the selected branch alone.
    Fourier,
}

/// One row of a table with the thesis's cells (verdicts as read; see the declarations' notes).
struct Row {
    eq: Equation,
    label: String,
    pde: &'static str,
    dispersion: &'static str,
    check: DensityCheck,
    paper_smooth: Option<Verdict>,
    paper_density_table: Option<Verdict>,
    paper_density_appendix: Option<Verdict>,
    paper_verdict: Option<Verdict>,
    garbled: &'static str,
}

use Verdict::{Can, Cannot, Conditionally};

fn rows_9_1(p: &Params) -> Result<Vec<Row>> {
    let (eps, k0, m) = (p.f64("eps")?, p.f64("k0")?, p.f64("m")?);
    let row = |eq, pde, dispersion, check, s, dt, da, v, garbled| Row {
        eq,
        label: String::new(),
        pde,
        dispersion,
        check,
        paper_smooth: Some(s),
        paper_density_table: Some(dt),
        paper_density_appendix: Some(da),
        paper_verdict: Some(v),
        garbled,
    };
    Ok(vec![
        row(
            Equation::Diffusion,
            "φ_t − ∇²φ = 0",
            "ω = −ik²",
            DensityCheck::Heat,
            Can,
            Can,
            Can,
            Can,
            "G printed (4πr)^{−d/2}e^{−r²/4t}, read (4πt)^{−d/2} (A.101); Eq. 9.5's (2πt) kernel solves φ_t = ½∇²φ",
        ),
        row(
            Equation::Poisson,
            "φ_tt + ∇²φ = 0",
            "ω = ±ik",
            DensityCheck::Poisson,
            Can,
            Can,
            Can,
            Can,
            "G printed identical to the diffusion kernel, read A.107; subscripts t lost: p = −φ_t, v = ∇φ/φ_t (text: −∇φ/φ_t)",
        ),
        row(
            Equation::Wave,
            "φ_tt − ∇²φ = 0",
            "ω = ±k",
            DensityCheck::Wave3d,
            Cannot,
            Can,
            Cannot,
            Cannot,
            "density flow printed Yes; A.114 shows the 2-D density has a negative front",
        ),
        row(
            Equation::DissipativeWave { eps },
            "φ_tt + 2εφ_t − ∇²φ = 0",
            "ω = i(−ε ± √(ε²−k²)) (k ≤ ε), −iε ± √(k²−ε²) (k > ε)",
            DensityCheck::Telegraph,
            Conditionally,
            Can,
            Can,
            Conditionally,
            "ω for k > ε printed iε ±, read −iε ±; R = 0 printed though the rewritten form has −εφ; G entry mixes in a heat factor",
        ),
        row(
            Equation::Helmholtz { k0 },
            "φ_tt + ∇²φ + k₀²φ = 0",
            "ω = ±√(k₀²−k²) (k ≤ k₀), ±i√(k²−k₀²) (k > k₀)",
            DensityCheck::Helmholtz,
            Conditionally,
            Can,
            Conditionally,
            Conditionally,
            "G entry carries a stray e^{−εt}/√(4πr²), read A.119; density flow printed Yes, A.119 gives a window",
        ),
        row(
            Equation::ScreenedPoisson { m },
            "φ_tt + ∇²φ − m²φ = 0",
            "ω = ±i√(k²+m²)",
            DensityCheck::Screened,
            Can,
            Can,
            Can,
            Can,
            "G entry carries a stray e^{−εt}/√(4πr²), read A.123",
        ),
        row(
            Equation::Schrodinger,
            "iφ_t + ∇²φ = 0",
            "ω = k²",
            DensityCheck::Schrodinger,
            Cannot,
            Can,
            Cannot,
            Cannot,
            "G printed (4πr)^{−d/2}e^{ir²/4t}, read (4it)^{−N/2}e^{−r²/(4it)}; density flow printed Yes, A.128: p = |φ|² has zeros",
        ),
    ]
    .into_iter()
    .map(|mut r| {
        r.label = r.eq.name().to_string();
        r
    })
    .collect())
}

fn rows_9_2(p: &Params) -> Result<Vec<Row>> {
    let (a, b) = (p.f64("a")?, p.f64("b")?);
    let row = |eq: Equation, label: String, pde, dispersion| Row {
        eq,
        label,
        pde,
        dispersion,
        check: DensityCheck::Fourier,
        // Table 9.2's claim is the dispersion column: each relation "suggests a new generative model", i.e. is smooth.
        paper_smooth: Some(Can),
        paper_density_table: None,
        paper_density_appendix: None,
        paper_verdict: None,
        garbled: "",
    };
    let mut rows = vec![row(
        Equation::MixedDiffusionPoisson { a, b },
        "mixed-diffusion-poisson".into(),
        "aφ_tt − bφ_t + ∇²φ = 0",
        "ω = (i/2a)(b ± √(b²+4ak²))",
    )];
    rows.last_mut().expect("one row").garbled = "A.133 roots lack the a inside the square root (Table 9.2 has 4ak²)";
    for beta in p.f64_list("betas")? {
        if beta <= 0.0 {
            bail!("parameter `betas`: every β must be > 0, found {beta}");
        }
        rows.push(row(
            Equation::FractionalDiffusion { beta },
            format!("fractional-diffusion-beta-{beta}"),
            "φ_t + (−Δ)^β φ = 0",
            "ω = −ik^{2β}",
        ));
    }
    rows.push(row(
        Equation::ThirdOrderDiffusion,
        "third-order-diffusion".into(),
        "φ_ttt − Δφ = 0",
        "ω ∈ {−i, e^{iπ/6}, e^{i5π/6}} k^{2/3}",
    ));
    rows.last_mut().expect("one row").garbled = "PDE printed φ_ttt − Δu = 0, read u = φ";
    rows.push(row(Equation::Biharmonic, "biharmonic".into(), "φ_t + ∇²∇²φ = 0", "ω = −ik⁴"));
    Ok(rows)
}

fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    (0..n).map(|i| a + (b - a) * i as f64 / (n.max(2) - 1) as f64).collect()
}

/// The outcome of a sign check over the (t, space) grid.
struct Sign {
    status: Positivity,
    min_over_max: f64,
    /// Helmholtz: the smallest k₀ρ at which p < 0 on the grid (NaN if none).
    first_negative: f64,
    /// (coordinate, p/max) at t = t_plot, for the figure.
    slice: (Vec<f64>, Vec<f64>),
}

/// Whether a slice has an interior zero: a local minimum below 1e−4 of the slice's maximum with
/// values above half the maximum on both sides (a node inside the support, where v = 2 Im ∇ln φ
/// or ∇φ/φ is singular), as opposed to the tails at the grid's ends.
fn interior_zero(v: &[f64]) -> bool {
    let max = v.iter().copied().fold(0.0, f64::max);
    (1..v.len().saturating_sub(1)).any(|i| {
        v[i] <= v[i - 1] && v[i] <= v[i + 1] && v[i] < 1e-4 * max && v[..i].iter().any(|&u| u > 0.5 * max) && v[i + 1..].iter().any(|&u| u > 0.5 * max)
    })
}

fn sign_check(row: &Row, branch: usize, p: &Params) -> Result<Sign> {
    let (nt, nx) = (p.usize("grid_t")?, p.usize("grid_x")?);
    let (t_min, t_max, x_max, t_plot) = (
        p.f64("density_t_min")?,
        p.f64("density_t_max")?,
        p.f64("density_x_max")?,
        p.f64("density_t_plot")?,
    );
    let ts: Vec<f64> = linspace(t_min, t_max, nt).into_iter().chain([t_plot]).collect();
    let (s_wave, delta) = (p.f64("wave_source_width")?, p.f64("delta")?);
    // Radial checks run over r ≥ 0; one-dimensional ones over [−x_max, x_max].
    let radial = matches!(
        row.check,
        DensityCheck::Heat | DensityCheck::Poisson | DensityCheck::Wave3d | DensityCheck::Helmholtz | DensityCheck::Screened
    );
    let xs = if radial {
        linspace(0.0, x_max, nx)
    } else {
        linspace(-x_max, x_max, 2 * nx - 1)
    };
    let k0 = match row.eq {
        Equation::Helmholtz { k0 } => k0,
        _ => f64::NAN,
    };
    let eval = |x: f64, t: f64| -> f64 {
        match (row.check, row.eq) {
            (DensityCheck::Heat, _) => heat_kernel(3, x, t),
            (DensityCheck::Poisson, _) => poisson_density(2, x, t),
            (DensityCheck::Wave3d, _) => wave_density_3d(x, t, s_wave),
            (DensityCheck::Telegraph, Equation::DissipativeWave { eps }) => telegraph_density_1d(eps, x, t),
            (DensityCheck::Helmholtz, _) => helmholtz_density_2d(k0, x, t),
            (DensityCheck::Screened, Equation::ScreenedPoisson { m }) => screened_density_2d(m, x, t),
            (DensityCheck::Schrodinger, _) => schrodinger_two_sources(delta, x, t),
            (DensityCheck::Fourier, eq) => fourier_density_1d(&eq, branch, x, t),
            (c, eq) => panic!("density check {c:?} does not apply to {eq:?}"),
        }
    };
    let (mut min_ratio, mut first_negative, mut zeros) = (f64::INFINITY, f64::NAN, false);
    let mut slice = (Vec::new(), Vec::new());
    for (ti, &t) in ts.iter().enumerate() {
        let v: Vec<f64> = xs.iter().map(|&x| eval(x, t)).collect();
        let max = v.iter().copied().fold(f64::MIN, f64::max);
        if max <= 0.0 || !max.is_finite() {
            bail!("{}: the density at t = {t} has no positive value on the grid (max {max})", row.label);
        }
        for (&x, &u) in xs.iter().zip(&v) {
            min_ratio = min_ratio.min(u / max);
            // Fourier quadrature is accurate to ~1e−9 of the peak; closed forms to rounding.
            if u / max < -1e-6 && row.check == DensityCheck::Helmholtz {
                let x_rho = k0 * (t * t + x * x).sqrt();
                first_negative = if first_negative.is_nan() { x_rho } else { first_negative.min(x_rho) };
            }
        }
        zeros |= interior_zero(&v);
        if ti == ts.len() - 1 {
            slice = (xs.clone(), v.iter().map(|u| u / max).collect());
        }
    }
    let negative = min_ratio < -1e-6;
    let status = if negative {
        // A window: every negative value lies beyond the first sign change of cos x + x sin x.
        if row.check == DensityCheck::Helmholtz && first_negative >= helmholtz_window() * (1.0 - 1e-9) {
            Positivity::Window
        } else {
            Positivity::Fails
        }
    } else if zeros {
        Positivity::Zeros
    } else {
        Positivity::Holds
    };
    Ok(Sign {
        status,
        min_over_max: min_ratio,
        first_negative,
        slice,
    })
}

fn positivity_word(p: Positivity) -> &'static str {
    match p {
        Positivity::Holds => "p ≥ 0",
        Positivity::Window => "p ≥ 0 only for k₀ρ ≤ x_c",
        Positivity::Zeros => "p ≥ 0 with interior zeros",
        Positivity::Fails => "p < 0 somewhere",
    }
}

fn opt_word(v: Option<Verdict>) -> String {
    v.map(|v| v.word().to_string()).unwrap_or_else(|| "—".into())
}

fn run_rows(rows: &[Row], run: &Run, cells: &[usize], done: &CellDone) -> Result<()> {
    let p = run.params;
    let ks = linspace(p.f64("k_max")? / p.usize("k_points")? as f64, p.f64("k_max")?, p.usize("k_points")?);
    let (t_final, delta, s) = (p.f64("t_final")?, p.f64("delta")?, p.f64("source_width")?);
    let t_list = p.f64_list("overlap_times")?;
    for &c in cells {
        let row = rows.get(c).ok_or_else(|| anyhow!("no row {c}"))?;
        let eq = row.eq;
        // The dispersion relation: symbol residual and companion-root agreement over k ∈ {0} ∪ grid.
        let (mut residual, mut gap) = (0.0f64, 0.0f64);
        for &k in std::iter::once(&0.0).chain(&ks) {
            for w in eq.branches(k) {
                let scale = 1.0 + w.norm().powi(eq.polynomial(k).len() as i32 - 1) + k.powi(4);
                residual = residual.max(eq.symbol(w, k).norm() / scale);
            }
            gap = gap.max(eq.numeric_gap(k));
        }
        let (crit, branch) = criterion(&eq, &ks);
        let plat = plateau(&eq, branch, t_final);
        let sign = sign_check(row, branch, p)?;
        let s_verdict = smooth(crit, plat);
        let d_verdict = density_flow(sign.status);
        let g_verdict = generative(s_verdict, d_verdict);
        let overlaps: Vec<f64> = t_list.iter().map(|&t| overlap(&eq, branch, delta, t, s)).collect();
        let one = |s: &str| vec![s.to_string()];
        let summary = Table::new()
            .str("equation", one(&row.label))
            .str("pde", one(row.pde))
            .str("dispersion", one(row.dispersion))
            .i64("branch", vec![branch as i64])
            .f64("max_symbol_residual", vec![residual])
            .f64("max_companion_gap", vec![gap])
            .str("criterion_eq_9_8", one(&format!("{crit:?}").to_lowercase()))
            .f64("unsmoothed_plateau_at_t_final", vec![plat])
            .f64("overlap_at_last_time", vec![*overlaps.last().unwrap_or(&f64::NAN)])
            .str("density_sign", one(positivity_word(sign.status)))
            .f64("density_min_over_max", vec![sign.min_over_max])
            .f64("helmholtz_first_negative_k0_rho", vec![sign.first_negative])
            .str("smooth_ours", one(s_verdict.word()))
            .str("smooth_paper", one(&opt_word(row.paper_smooth)))
            .str("density_flow_ours", one(d_verdict.word()))
            .str("density_flow_paper_table", one(&opt_word(row.paper_density_table)))
            .str("density_flow_paper_appendix", one(&opt_word(row.paper_density_appendix)))
            .str("verdict_ours", one(g_verdict.word()))
            .str("verdict_paper", one(&opt_word(row.paper_verdict)))
            .f64("smooth_code", vec![s_verdict.code()])
            .f64("density_code", vec![d_verdict.code()])
            .f64("verdict_code", vec![g_verdict.code()])
            .str("garbled", one(row.garbled));
        // Curves for the figure: Im ω_b(k) − Im ω_b(0) for the selected branch, F(T), the density slice.
        // (at most ~200 points per curve: the baselines stay small; the checks above use the full grids)
        let at0 = eq.branches(0.0)[branch].im;
        let thin = |v: &[f64]| -> Vec<f64> { v.iter().step_by(v.len().div_ceil(200).max(1)).copied().collect() };
        let kc = thin(&ks);
        let disp = Table::new()
            .str("equation", vec![row.label.clone(); kc.len()])
            .f64("k", kc.clone())
            .f64("im_omega_minus_im_omega0", kc.iter().map(|&k| eq.branches(k)[branch].im - at0).collect())
            .f64("re_omega", kc.iter().map(|&k| eq.branches(k)[branch].re).collect());
        let ov = Table::new()
            .str("equation", vec![row.label.clone(); t_list.len()])
            .f64("t", t_list.clone())
            .f64("overlap", overlaps);
        let (sx, sp) = (thin(&sign.slice.0), thin(&sign.slice.1));
        let dens = Table::new()
            .str("equation", vec![row.label.clone(); sx.len()])
            .f64("x", sx)
            .f64("p_over_max", sp);
        done(
            c,
            vec![
                ("rows".into(), summary),
                ("dispersion".into(), disp),
                ("overlap".into(), ov),
                ("density".into(), dens),
            ],
        )?;
    }
    Ok(())
}

/// Series of `y` against `x` per equation, in row order.
fn per_equation(t: &Table, x: &str, y: &str, transform: impl Fn(f64) -> f64) -> Result<Vec<Series>> {
    let (names, xs, ys) = (t.strings("equation")?, t.numbers(x)?, t.numbers(y)?);
    let mut order: Vec<String> = Vec::new();
    for n in &names {
        if !order.contains(n) {
            order.push(n.clone());
        }
    }
    Ok(order
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let (a, b): (Vec<f64>, Vec<f64>) = names
                .iter()
                .zip(xs.iter().zip(&ys))
                .filter(|(m, _)| *m == n)
                .map(|(_, (a, b))| (*a, transform(*b)))
                .unzip();
            Series::new(n.clone(), &a, &b, Style::Line, i)
        })
        .collect())
}

fn finish_rows(rows: &[Row], params: &Params, tables: Tables, title: &str) -> Result<Outcome> {
    let summary = artifacts::table::find(&tables, "rows")?;
    let labels = summary.strings("equation")?;
    if labels.len() != rows.len() {
        bail!("expected {} rows, found {}", rows.len(), labels.len());
    }
    let (smooth_c, dens_c, verdict_c) = (
        summary.numbers("smooth_code")?,
        summary.numbers("density_code")?,
        summary.numbers("verdict_code")?,
    );
    let (residual, gap, overlap_last, plat) = (
        summary.numbers("max_symbol_residual")?,
        summary.numbers("max_companion_gap")?,
        summary.numbers("overlap_at_last_time")?,
        summary.numbers("unsmoothed_plateau_at_t_final")?,
    );
    let mut q = vec![
        Quantity::exact("dispersion.max_symbol_residual", residual.iter().copied().fold(0.0, f64::max)),
        Quantity::exact("dispersion.max_companion_gap", gap.iter().copied().fold(0.0, f64::max)),
    ];
    let (mut smooth_match, mut verdict_match, mut verdict_rows) = (0usize, 0usize, 0usize);
    for (i, r) in rows.iter().enumerate() {
        let l = &labels[i];
        q.push(Quantity::exact(format!("{l}.smooth"), smooth_c[i]));
        q.push(Quantity::exact(format!("{l}.overlap_at_last_time"), overlap_last[i]));
        smooth_match += r.paper_smooth.is_some_and(|v| v.code() == smooth_c[i]) as usize;
        if r.paper_verdict.is_some() {
            q.push(Quantity::exact(format!("{l}.density_flow"), dens_c[i]));
            q.push(Quantity::exact(format!("{l}.verdict"), verdict_c[i]));
            verdict_rows += 1;
            verdict_match += r.paper_verdict.is_some_and(|v| v.code() == verdict_c[i]) as usize;
        } else {
            // Table 9.2 has no density column: ours is reported, not compared.
            q.push(Quantity::exact(format!("{l}.density_flow"), dens_c[i]));
        }
        if plat[i] > 0.0 {
            q.push(Quantity::exact(format!("{l}.unsmoothed_plateau"), plat[i]));
        }
    }
    q.push(Quantity::exact("rows.smooth_matching_paper", smooth_match as f64));
    if verdict_rows > 0 {
        q.push(Quantity::exact("rows.verdict_matching_paper", verdict_match as f64));
    }
    if let Some(i) = rows.iter().position(|r| matches!(r.eq, Equation::Helmholtz { .. })) {
        q.push(Quantity::exact(
            "helmholtz.positivity_window_k0_rho",
            summary.numbers("helmholtz_first_negative_k0_rho")?[i],
        ));
        q.push(Quantity::exact("helmholtz.window_closed_form", helmholtz_window()));
    }
    if rows.iter().any(|r| r.eq == Equation::Diffusion) {
        // Eq. 9.7 against the computed overlap at each T (A.138 with e^{−k²T} and the source width).
        let ov = artifacts::table::find(&tables, "overlap")?;
        let (names, ts, fs) = (ov.strings("equation")?, ov.numbers("t")?, ov.numbers("overlap")?);
        let (delta, s) = (params.f64("delta")?, params.f64("source_width")?);
        let gap = names
            .iter()
            .zip(ts.iter().zip(&fs))
            .filter(|(n, _)| *n == "diffusion")
            .map(|(_, (t, f))| (f - (-delta * delta / (4.0 * (2.0 * t + s * s))).exp()).abs())
            .fold(0.0, f64::max);
        q.push(Quantity::exact("diffusion.overlap_gap_to_eq_9_7", gap));
    }
    let mut out = Outcome {
        tables: vec![
            ("rows".into(), summary.clone()),
            ("dispersion".into(), artifacts::table::find(&tables, "dispersion")?.clone()),
            ("overlap".into(), artifacts::table::find(&tables, "overlap")?.clone()),
            ("density".into(), artifacts::table::find(&tables, "density")?.clone()),
        ],
        quantities: q,
        ..Default::default()
    };
    let (ours_v, paper_v, ours_s, paper_s, dsign) = (
        summary.strings("verdict_ours")?,
        summary.strings("verdict_paper")?,
        summary.strings("smooth_ours")?,
        summary.strings("smooth_paper")?,
        summary.strings("density_sign")?,
    );
    for i in 0..rows.len() {
        out.notes.push(format!(
            "{}: smooth ours {} / paper {}; density {}; verdict ours {} / paper {}{}",
            labels[i],
            ours_s[i],
            paper_s[i],
            dsign[i],
            ours_v[i],
            paper_v[i],
            if rows[i].garbled.is_empty() {
                String::new()
            } else {
                format!(" [garbled cell: {}]", rows[i].garbled)
            }
        ));
    }
    let panel = |title: &str, xl: &str, yl: &str, x_log: bool, series: Vec<Series>| Panel {
        title: title.into(),
        x_label: xl.into(),
        y_label: yl.into(),
        x_log,
        y_log: false,
        series,
    };
    // Im ω − Im ω(0) on a signed log scale would hide zeros: plot it clipped to [−5, 1] instead.
    let disp = per_equation(artifacts::table::find(&tables, "dispersion")?, "k", "im_omega_minus_im_omega0", |v| {
        v.clamp(-5.0, 1.0)
    })?;
    let ov = per_equation(artifacts::table::find(&tables, "overlap")?, "t", "overlap", |v| v)?;
    let dens = per_equation(artifacts::table::find(&tables, "density")?, "x", "p_over_max", |v| v)?;
    out.figures.push((
        String::new(),
        Figure {
            title: title.into(),
            panels: vec![
                panel(
                    "Eq. 9.8: Im ω(k) − Im ω(0), selected branch (clipped to [−5, 1])",
                    "k",
                    "Im ω(k) − Im ω(0)",
                    false,
                    disp,
                ),
                panel("overlap F(T) of two sources Δ apart (A.138)", "T", "F(T)", true, ov),
                panel("induced density at t = density_t_plot, over its maximum", "r or x", "p / max p", false, dens),
            ],
            columns: 3,
        },
    ));
    Ok(out)
}

impl Experiment for Table91 {
    fn cells(&self, params: &Params) -> Result<Vec<String>> {
        Ok(rows_9_1(params)?.into_iter().map(|r| r.label).collect())
    }

    fn run_cells(&self, run: &Run, cells: &[usize], done: &CellDone) -> Result<()> {
        run_rows(&rows_9_1(run.params)?, run, cells, done)
    }

    fn finish(&self, params: &Params, tables: Tables) -> Result<Outcome> {
        finish_rows(
            &rows_9_1(params)?,
            params,
            tables,
            "Table 9.1: dispersion, smoothness (Eq. 9.8), overlap and density sign of seven physical equations",
        )
    }
}

impl Experiment for Table92 {
    fn cells(&self, params: &Params) -> Result<Vec<String>> {
        Ok(rows_9_2(params)?.into_iter().map(|r| r.label).collect())
    }

    fn run_cells(&self, run: &Run, cells: &[usize], done: &CellDone) -> Result<()> {
        run_rows(&rows_9_2(run.params)?, run, cells, done)
    }

    fn finish(&self, params: &Params, tables: Tables) -> Result<Outcome> {
        finish_rows(
            &rows_9_2(params)?,
            params,
            tables,
            "Table 9.2: the new equations' dispersion relations satisfy Eq. 9.8; their 1-D densities by Fourier inversion",
        )
    }
}

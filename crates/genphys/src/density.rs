//! The densities a point source induces under each equation (App. A.6.1), where closed forms
//! exist, and by Fourier inversion of the selected dispersion branch otherwise. ρ = √(t² + r²).
//!
//! For the equations second order in "time" (Poisson family, wave) the density p = −φ_t solves
//! the same linear PDE as φ, so the density of a point source is itself a solution with p = δ at
//! t = 0; the closed forms below are those solutions.

use crate::dispersion::Equation;
use statrs::function::gamma::ln_gamma;
use std::f64::consts::PI;

/// The heat kernel of φ_t = ∇²φ in `n` dimensions, (4πt)^{−n/2} e^{−r²/(4t)} (A.101; Eq. 9.5's
/// (2πt) kernel solves φ_t = ½∇²φ, spec §7).
pub fn heat_kernel(n: usize, r: f64, t: f64) -> f64 {
    (4.0 * PI * t).powf(-0.5 * n as f64) * (-r * r / (4.0 * t)).exp()
}

/// The Poisson density −∂_t G in `n` data dimensions, Γ((n+1)/2)/π^{(n+1)/2} · t/ρ^{n+1} (A.107):
/// the half-space Poisson kernel, of unit mass on every plane t > 0.
pub fn poisson_density(n: usize, r: f64, t: f64) -> f64 {
    let h = 0.5 * (n as f64 + 1.0);
    (ln_gamma(h) - h * PI.ln()).exp() * t / (t * t + r * r).powf(h)
}

/// The screened-Poisson density −∂_t G for n = 2 data dimensions (A.123, where K_{1/2} is
/// elementary: G ∝ e^{−mρ}/ρ), normalised as [`poisson_density`] so that m → 0 recovers it:
/// t e^{−mρ}(1 + mρ)/(2πρ³).
pub fn screened_density_2d(m: f64, r: f64, t: f64) -> f64 {
    let rho = (t * t + r * r).sqrt();
    t * (-m * rho).exp() * (1.0 + m * rho) / (2.0 * PI * rho.powi(3))
}

/// The Helmholtz density −∂_t G for n = 2 (A.119 with Y_{1/2}: G ∝ cos(k₀ρ)/ρ), normalised as
/// [`poisson_density`]: t (cos x + x sin x)/(2πρ³) with x = k₀ρ. Its sign is that of
/// cos x + x sin x, i.e. of −Y_{3/2}(x): positive exactly for x below [`helmholtz_window`].
pub fn helmholtz_density_2d(k0: f64, r: f64, t: f64) -> f64 {
    let rho = (t * t + r * r).sqrt();
    let x = k0 * rho;
    t * (x.cos() + x * x.sin()) / (2.0 * PI * rho.powi(3))
}

/// The first positive zero of cos x + x sin x (≈ 2.7984, in (π/2, π)), where the n = 2 Helmholtz
/// density first turns negative; the potential G ∝ cos x turns negative earlier, at π/2, the
/// first zero of Y_{1/2}.
pub fn helmholtz_window() -> f64 {
    let f = |x: f64| x.cos() + x * x.sin();
    let (mut lo, mut hi) = (PI / 2.0, PI);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if f(mid) > 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The ideal wave in 3 dimensions from a Gaussian source of width `s` at rest: the radial
/// solution rp = ½[f(r − t) + f(r + t)], f(x) = x·h(x), h the 3-D Gaussian profile
/// (Kirchhoff/d'Alembert). Negative behind the front for t > s: the density-flow condition fails.
pub fn wave_density_3d(r: f64, t: f64, s: f64) -> f64 {
    let h = |x: f64| (2.0 * PI * s * s).powf(-1.5) * (-x * x / (2.0 * s * s)).exp();
    if r == 0.0 {
        // The limit r → 0 of [f(r + t) − f(t − r)]/(2r) (f odd) is f'(t) = h(t) + t h'(t).
        return h(t) * (1.0 - t * t / (s * s));
    }
    ((r - t) * h(r - t) + (r + t) * h(r + t)) / (2.0 * r)
}

/// The ideal wave in 1 dimension from a Gaussian source of width `s` at rest: ½[g(x − t) + g(x + t)] ≥ 0.
pub fn wave_density_1d(x: f64, t: f64, s: f64) -> f64 {
    let g = |y: f64| (-y * y / (2.0 * s * s)).exp() / (s * (2.0 * PI).sqrt());
    0.5 * (g(x - t) + g(x + t))
}

/// The modified Bessel function I_ν(x) for ν ∈ {0, 1}, by its power series (x ≤ 50).
pub fn bessel_i(nu: u32, x: f64) -> f64 {
    assert!(nu <= 1 && x.abs() <= 50.0, "bessel_i: ν ∈ {{0, 1}} and |x| ≤ 50 (ν = {nu}, x = {x})");
    let q = 0.25 * x * x;
    let mut term = if nu == 0 { 1.0 } else { 0.5 * x };
    let mut sum = term;
    for j in 1..200 {
        term *= q / (j as f64 * (j + nu as usize) as f64);
        sum += term;
        if term < 1e-17 * sum {
            break;
        }
    }
    sum
}

/// The regular part of the dissipative wave's density in 1 dimension, from p = δ, p_t = 0 at
/// t = 0: (ε/2) e^{−εt} [I₀(εξ) + t I₁(εξ)/ξ] for |x| < t, ξ = √(t² − x²), and 0 outside. The
/// rest, e^{−εt}, sits in two δ fronts at x = ±t (see [`crate::smoothness::plateau`]).
pub fn telegraph_density_1d(eps: f64, x: f64, t: f64) -> f64 {
    if x.abs() >= t {
        return 0.0;
    }
    let xi = (t * t - x * x).sqrt();
    let i1_over_xi = if eps * xi < 1e-8 { 0.5 * eps } else { bessel_i(1, eps * xi) / xi };
    0.5 * eps * (-eps * t).exp() * (bessel_i(0, eps * xi) + t * i1_over_xi)
}

/// |φ|² for the free Schrödinger equation in 1 dimension with two point sources at ±Δ/2
/// (G = (4πit)^{−1/2} e^{ix²/(4t)}, A.124–A.128): (2 + 2 cos(xΔ/(2t)))/(4πt), which vanishes
/// at x = 2(2j + 1)πt/Δ, where v = 2 Im ∇ln φ is singular.
pub fn schrodinger_two_sources(delta: f64, x: f64, t: f64) -> f64 {
    let phase = |y: f64| faer::c64::from_polar(1.0, y * y / (4.0 * t));
    (phase(x - 0.5 * delta) + phase(x + 0.5 * delta)).norm_sqr() / (4.0 * PI * t)
}

/// The 1-D density of a point source evolved by branch `b` of `eq` alone, (1/π)∫₀^∞ Re p̂(k, t)
/// cos(kx) dk with p̂ = e^{−i(ω_b(k) − ω_b(0))t} (unit mass), by composite Gauss–Legendre
/// quadrature up to where |p̂| < e^{−46}. For branches whose |p̂| does not decay (wave,
/// Schrödinger) there is no density function: the caller must not ask.
pub fn fourier_density_1d(eq: &Equation, b: usize, x: f64, t: f64) -> f64 {
    let w0 = eq.branches(0.0)[b];
    let log_mod = |k: f64| (eq.branches(k)[b].im - w0.im) * t;
    let (mut lo, mut hi) = (0.0, 1.0);
    while log_mod(hi) > -46.0 {
        lo = hi;
        hi *= 2.0;
        assert!(hi < 1e12, "{eq:?} branch {b}: |p̂(k, {t})| does not decay, no density function");
    }
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if log_mod(mid) > -46.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let panels = 200 + (hi * x.abs() / PI * 4.0) as usize;
    let f = |k: f64| {
        let w = eq.branches(k)[b] - w0;
        (w.im * t).exp() * (w.re * t).cos() * (k * x).cos()
    };
    pfgmpp::quadrature::integrate(f, 0.0, hi, panels) / PI
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ∂_t p, ∂²_t p and ∇²p of a radial function of (r, t) in n dimensions, by central differences.
    fn derivs(p: &dyn Fn(f64, f64) -> f64, n: usize, r: f64, t: f64, h: f64) -> (f64, f64, f64) {
        let u = p(r, t);
        let dt = (p(r, t + h) - p(r, t - h)) / (2.0 * h);
        let dtt = (p(r, t + h) - 2.0 * u + p(r, t - h)) / (h * h);
        let drr = (p(r + h, t) - 2.0 * u + p(r - h, t)) / (h * h);
        let dr = (p(r + h, t) - p(r - h, t)) / (2.0 * h);
        (dt, dtt, drr + (n as f64 - 1.0) / r * dr)
    }

    #[test]
    fn the_closed_forms_solve_their_pdes() {
        let h = 1e-4;
        for (r, t) in [(0.3, 0.5), (1.2, 0.8), (2.0, 2.5)] {
            // Heat: p_t = ∇²p.
            let (dt, _, lap) = derivs(&|r, t| heat_kernel(3, r, t), 3, r, t, h);
            assert!((dt - lap).abs() < 1e-5 * (1.0 + dt.abs()), "heat {dt} vs {lap}");
            // Poisson family in n = 2 (data plane) with time as a third axis: p_tt + ∇²p ± … = 0.
            let (_, tt, lap) = derivs(&|r, t| poisson_density(2, r, t), 2, r, t, h);
            assert!((tt + lap).abs() < 1e-4 * (1.0 + tt.abs()), "poisson {tt} vs {lap}");
            let (m, k0) = (0.7, 1.3);
            let p = |r, t| screened_density_2d(m, r, t);
            let (_, tt, lap) = derivs(&p, 2, r, t, h);
            assert!((tt + lap - m * m * p(r, t)).abs() < 1e-4 * (1.0 + tt.abs()), "screened");
            let p = |r, t| helmholtz_density_2d(k0, r, t);
            let (_, tt, lap) = derivs(&p, 2, r, t, h);
            assert!((tt + lap + k0 * k0 * p(r, t)).abs() < 1e-4 * (1.0 + tt.abs()), "helmholtz");
            // Wave in 3-D: p_tt = ∇²p.
            let p = |r, t| wave_density_3d(r, t, 0.3);
            let (_, tt, lap) = derivs(&p, 3, r, t, h);
            assert!((tt - lap).abs() < 1e-4 * (1.0 + tt.abs()), "wave {tt} vs {lap}");
            // Telegraph in 1-D: p_tt + 2εp_t = p_xx inside the light cone.
            if r < t {
                let eps = 0.9;
                let p = |x, t| telegraph_density_1d(eps, x, t);
                let (dt, tt, xx) = derivs(&p, 1, r, t, h);
                assert!((tt + 2.0 * eps * dt - xx).abs() < 1e-4 * (1.0 + tt.abs()), "telegraph");
            }
        }
    }

    #[test]
    fn masses_and_limits() {
        use pfgmpp::quadrature::integrate;
        // The Poisson kernel has unit mass on a plane (n = 2: ∫ 2πr p dr).
        let mass = integrate(|r| 2.0 * PI * r * poisson_density(2, r, 0.7), 0.0, 2000.0, 4000);
        assert!((mass - 1.0).abs() < 1e-3, "{mass}");
        // Screened and Helmholtz reduce to Poisson as m, k₀ → 0.
        assert!((screened_density_2d(0.0, 0.4, 0.9) - poisson_density(2, 0.4, 0.9)).abs() < 1e-14);
        assert!((helmholtz_density_2d(0.0, 0.4, 0.9) - poisson_density(2, 0.4, 0.9)).abs() < 1e-14);
        // Telegraph: the regular part carries 1 − e^{−εt}, the fronts the rest.
        let (eps, t) = (0.8, 2.5);
        let regular = integrate(|x| telegraph_density_1d(eps, x, t), -t, t, 400);
        assert!((regular - (1.0 - (-eps * t).exp())).abs() < 1e-6, "{regular}");
        // I₀, I₁ against tabulated values (Abramowitz & Stegun 9.8): I₀(1) = 1.2660658778, I₁(2) = 1.5906368546.
        assert!((bessel_i(0, 1.0) - 1.2660658778).abs() < 1e-9 && (bessel_i(1, 2.0) - 1.5906368546).abs() < 1e-9);
    }

    #[test]
    fn signs_where_the_appendix_states_them() {
        // Heat kernel positive; 3-D wave negative behind its front, 1-D wave not.
        assert!(heat_kernel(3, 5.0, 0.1) > 0.0);
        let min3 = (1..400).map(|i| wave_density_3d(0.01 * i as f64, 2.0, 0.1)).fold(f64::INFINITY, f64::min);
        assert!(min3 < 0.0, "{min3}");
        assert!((0..400).all(|i| wave_density_1d(0.01 * i as f64 - 2.0, 2.0, 0.1) >= 0.0));
        // Helmholtz: positive up to the window, negative just beyond; still positive at π/2.
        let xc = helmholtz_window();
        assert!((xc.cos() + xc * xc.sin()).abs() < 1e-12 && xc > 2.79 && xc < 2.80);
        assert!(helmholtz_density_2d(1.0, 0.0, PI / 2.0 + 0.01) > 0.0);
        assert!(helmholtz_density_2d(1.0, 0.0, xc + 1e-6) < 0.0 && helmholtz_density_2d(1.0, 0.0, xc - 1e-6) > 0.0);
        // Schrödinger: |φ|² ≥ 0 with a zero at x = 2πt/Δ.
        let (delta, t) = (1.0, 0.5);
        assert!(schrodinger_two_sources(delta, 2.0 * PI * t / delta, t) < 1e-12);
    }

    #[test]
    fn fourier_inversion_recovers_the_known_kernels() {
        for (x, t) in [(0.0, 0.5), (0.7, 0.5), (2.0, 1.5)] {
            // e^{−k²t}: the heat kernel; e^{−|k|t}: the Cauchy kernel, for Poisson and for β = ½.
            let heat = fourier_density_1d(&Equation::Diffusion, 0, x, t);
            assert!((heat - heat_kernel(1, x, t)).abs() < 1e-12, "{heat}");
            let cauchy = t / (PI * (t * t + x * x));
            assert!((fourier_density_1d(&Equation::Poisson, 0, x, t) - cauchy).abs() < 1e-9);
            let frac = fourier_density_1d(&Equation::FractionalDiffusion { beta: 0.5 }, 0, x, t);
            assert!((frac - cauchy).abs() < 1e-9, "{frac} vs {cauchy}");
        }
        // e^{−k⁴t} is not a positive kernel: its inverse transform has negative lobes.
        let min = (0..300)
            .map(|i| fourier_density_1d(&Equation::Biharmonic, 0, 0.02 * i as f64, 1.0))
            .fold(f64::INFINITY, f64::min);
        assert!(min < -1e-3, "{min}");
    }
}

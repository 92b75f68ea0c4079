//! The smooth condition (Sec. 9.3, A.6.3): the criterion Im ω(k) < Im ω(0) for k ≠ 0 (Eq. 9.8 =
//! A.143), the normalised overlap F(T) of two point sources (A.135–A.138), and the weight of the
//! part of a point source that is never smoothed (|p̂(k, T)| not vanishing as k → ∞).

use crate::dispersion::Equation;

/// How a branch, or the best branch of an equation, meets Eq. 9.8 on a grid of k > 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Criterion {
    /// Im ω(k) ≥ Im ω(0) somewhere strictly above, or equal everywhere: no mode decays faster than k = 0.
    Fails,
    /// Im ω(k) ≤ Im ω(0) everywhere, with equality on part of the grid (those modes never fade).
    Marginal,
    /// Im ω(k) < Im ω(0) at every grid k > 0.
    Holds,
}

/// Tolerance for "equal" in Im ω(k) = Im ω(0): relative to 1 + |Im ω(0)|.
const EQUAL: f64 = 1e-12;

/// Eq. 9.8 for branch `b` of `eq` on the grid `ks` (all > 0).
pub fn branch_criterion(eq: &Equation, b: usize, ks: &[f64]) -> Criterion {
    let at0 = eq.branches(0.0)[b].im;
    let tol = EQUAL * (1.0 + at0.abs());
    let (mut strict, mut equal) = (0usize, 0usize);
    for &k in ks {
        let d = eq.branches(k)[b].im - at0;
        if d < -tol {
            strict += 1;
        } else if d <= tol {
            equal += 1;
        } else {
            return Criterion::Fails;
        }
    }
    match (strict, equal) {
        (_, 0) if strict > 0 => Criterion::Holds,
        (s, _) if s > 0 => Criterion::Marginal,
        _ => Criterion::Fails,
    }
}

/// Eq. 9.8 for the equation: the best of its branches ("only one branch needs to satisfy it",
/// A.6.3), with that branch's index (the first of equals).
pub fn criterion(eq: &Equation, ks: &[f64]) -> (Criterion, usize) {
    let n = eq.branches(0.0).len();
    (0..n)
        .map(|b| (branch_criterion(eq, b, ks), b))
        .fold((Criterion::Fails, 0), |best, (c, b)| if c > best.0 { (c, b) } else { best })
}

/// ln|p̂_b(k, T)/p̂_b(0, T)| = (Im ω_b(k) − Im ω_b(0)) T: the decay of mode k relative to the mean.
pub fn log_relative_mode(eq: &Equation, b: usize, k: f64, t: f64) -> f64 {
    (eq.branches(k)[b].im - eq.branches(0.0)[b].im) * t
}

/// lim_{k→∞} |p̂_b(k, T)/p̂_b(0, T)|, evaluated at k = 10⁸: the weight of the part of a point
/// source that branch `b` never spreads out (a δ front, for the dissipative wave e^{−εT}).
pub fn plateau(eq: &Equation, b: usize, t: f64) -> f64 {
    log_relative_mode(eq, b, 1e8, t).exp()
}

/// The normalised overlap F(Δ, T) = ∫|p̂|² cos(kΔ) dk / ∫|p̂|² dk of two point sources Δ apart in
/// one dimension (A.138; F = 1: the sources are forgotten), for branch `b`, each source a Gaussian
/// of width `s` (|p̂|² gains e^{−k²s²}; s > 0 keeps the integrals finite where |p̂| does not decay).
pub fn overlap(eq: &Equation, b: usize, delta: f64, t: f64, s: f64) -> f64 {
    assert!(s > 0.0 && t >= 0.0, "overlap needs a source width s > 0 and T ≥ 0 (s = {s}, T = {t})");
    let log_w = |k: f64| 2.0 * log_relative_mode(eq, b, k, t) - k * k * s * s;
    // Integrate up to where the weight is below e^{−46} ≈ 1e−20 of its value at k = 0 (it is
    // non-increasing in k for the branches the criterion selects).
    let (mut lo, mut hi) = (0.0, 1.0);
    while log_w(hi) > -46.0 {
        lo = hi;
        hi *= 2.0;
    }
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if log_w(mid) > -46.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let cutoff = hi;
    // Enough panels for the oscillation of cos(kΔ) and for the width of the weight.
    let panels = 200 + (cutoff * delta / std::f64::consts::PI * 4.0) as usize;
    let num = pfgmpp::quadrature::integrate(|k| log_w(k).exp() * (k * delta).cos(), 0.0, cutoff, panels);
    let den = pfgmpp::quadrature::integrate(|k| log_w(k).exp(), 0.0, cutoff, panels);
    num / den
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Vec<f64> {
        (1..=400).map(|i| 0.01 * i as f64).collect()
    }

    #[test]
    fn the_criterion_sorts_the_textbook_cases() {
        let ks = grid();
        assert_eq!(criterion(&Equation::Diffusion, &ks).0, Criterion::Holds);
        assert_eq!(criterion(&Equation::Poisson, &ks), (Criterion::Holds, 0));
        assert_eq!(criterion(&Equation::Wave, &ks).0, Criterion::Fails);
        assert_eq!(criterion(&Equation::Schrodinger, &ks).0, Criterion::Fails);
        // Helmholtz: Im ω = 0 on 0 < k ≤ k₀, strictly below beyond.
        assert_eq!(criterion(&Equation::Helmholtz { k0: 1.0 }, &ks).0, Criterion::Marginal);
        // Poisson's growing branch +ik alone fails.
        assert_eq!(branch_criterion(&Equation::Poisson, 1, &ks), Criterion::Fails);
    }

    #[test]
    fn the_diffusion_overlap_is_eq_9_7() {
        // |p̂|² = e^{−2k²T − k²s²}: F = exp(−Δ²/(4(2T + s²))), which at s → 0 is Eq. 9.7's
        // exp(−Δ²/(8T)) for the kernel e^{−k²T} (variance 2T, A.101).
        for (delta, t, s) in [(1.0f64, 0.1f64, 1e-3f64), (2.0, 1.0, 0.05), (0.5, 10.0, 0.3), (3.0, 100.0, 1e-3)] {
            let want = (-delta * delta / (4.0 * (2.0 * t + s * s))).exp();
            let got = overlap(&Equation::Diffusion, 0, delta, t, s);
            assert!((got - want).abs() < 1e-10, "Δ = {delta}, T = {t}: {got} vs {want}");
        }
        // The Poisson kernel e^{−kT}: ∫e^{−2kT}cos(kΔ) / ∫e^{−2kT} = 4T²/(4T² + Δ²) at s → 0.
        let (delta, t) = (1.0, 3.0);
        let got = overlap(&Equation::Poisson, 0, delta, t, 1e-4);
        assert!((got - 4.0 * t * t / (4.0 * t * t + delta * delta)).abs() < 1e-6, "{got}");
    }

    #[test]
    fn only_the_dissipative_wave_keeps_an_unsmoothed_front() {
        let t = 3.0;
        assert!((plateau(&Equation::DissipativeWave { eps: 0.5 }, 0, t) - (-1.5f64).exp()).abs() < 1e-12);
        assert_eq!(plateau(&Equation::Diffusion, 0, t), 0.0);
        assert_eq!(plateau(&Equation::ScreenedPoisson { m: 1.0 }, 0, t), 0.0);
        assert_eq!(plateau(&Equation::Wave, 0, t), 1.0);
    }
}

//! How far the perturbation kernel is from its D → ∞ limit N(y, σ²I) (Theorem 8, Eq. 8.5), by
//! quadrature over the radius. Both laws are isotropic about y, so any distance between them equals
//! the distance between their radius laws, and at fixed σ = r/√D it depends on N and D only (not on
//! σ): the same numbers hold for the prior p_{r_max} against N(0, σ_max²I).
//!
//! With s = ‖x − y‖²/σ², the log-ratio ℓ(s) = ln p_r/N is smallest at s = N (ℓ'(s) = (s − N)/(2(D + s)))
//! and has at most two zeros s₁ < N < s₂; the Gaussian has the larger density exactly on (s₁, s₂).
//! To first order ℓ(s) = ((s − N)² − 2N)/(4D), which gives TV ≤ N/(2D) and KL = (N² + 6N)/(4D²).

use crate::quadrature::integrate;
use crate::Kernel;
use statrs::function::gamma::ln_gamma;

/// Panels of the composite rule over [0, √N + 12].
const PANELS: usize = 200;

/// The chi-law log-density of ρ = ‖x − y‖/σ under N(y, σ²I).
fn chi_log_density(n: f64, rho: f64) -> f64 {
    std::f64::consts::LN_2 + (n - 1.0) * rho.ln() - 0.5 * rho * rho - 0.5 * n * std::f64::consts::LN_2 - ln_gamma(0.5 * n)
}

/// Upper end of ρ beyond which the chi law holds less than e^{−72} of its mass (Gaussian
/// concentration of the Lipschitz map x ↦ ‖x‖: P(χ_N > √N + t) ≤ e^{−t²/2}).
fn rho_max(n: f64) -> f64 {
    n.sqrt() + 12.0
}

/// The zero of the monotone ℓ on [lo, hi] (in s) by bisection, given ℓ changes sign there.
fn zero(k: &Kernel, mut lo: f64, mut hi: f64) -> f64 {
    let rising = k.log_ratio_to_gaussian(hi) > k.log_ratio_to_gaussian(lo);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if (k.log_ratio_to_gaussian(mid) > 0.0) == rising {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    0.5 * (lo + hi)
}

/// TV(p_r(·|y), N(y, σ²I)) = ∫_{s₁ < s < s₂} (q − p), integrated as q·(−expm1 ℓ) in ρ = √s over the
/// interval between the two crossings (where the integrand is smooth), so it keeps its relative
/// precision when it is 10⁻⁶ or less.
pub fn total_variation(k: &Kernel) -> f64 {
    if k.d.is_infinite() {
        return 0.0;
    }
    let n = k.n as f64;
    let s_top = rho_max(n).powi(2);
    let lr = |s: f64| k.log_ratio_to_gaussian(s);
    let s1 = if lr(0.0) > 0.0 { zero(k, 0.0, n) } else { 0.0 };
    let s2 = if lr(s_top) > 0.0 { zero(k, n, s_top) } else { s_top };
    integrate(|rho| chi_log_density(n, rho).exp() * -lr(rho * rho).exp_m1(), s1.sqrt(), s2.sqrt(), PANELS)
}

/// KL(N(y, σ²I) ‖ p_r(·|y)) = −E_N[ℓ(s)]: finite for every D > 0 (the kernel has the heavier tails).
pub fn kl_gaussian_to_kernel(k: &Kernel) -> f64 {
    if k.d.is_infinite() {
        return 0.0;
    }
    let n = k.n as f64;
    -integrate(
        |rho| chi_log_density(n, rho).exp() * k.log_ratio_to_gaussian(rho * rho),
        0.0,
        rho_max(n),
        PANELS,
    )
}

/// The first-order bound TV ≤ N/(2D): from ℓ ≈ ((s − N)² − 2N)/(4D), TV ≈ ½E|ℓ| ≤ (E(s − N)² + 2N)/(8D).
pub fn total_variation_first_order_bound(n: usize, d: f64) -> f64 {
    n as f64 / (2.0 * d)
}

/// The leading term of the KL divergence, ½Var(ℓ) = (μ₄(χ²_N) − 4N²)/(32D²) = (N² + 6N)/(4D²).
pub fn kl_leading_order(n: usize, d: f64) -> f64 {
    let n = n as f64;
    (n * n + 6.0 * n) / (4.0 * d * d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chi_density_integrates_to_one() {
        for n in [1.0, 2.0, 20.0, 3072.0] {
            let mass = integrate(|r| chi_log_density(n, r).exp(), 0.0, rho_max(n), PANELS);
            // ln Γ(1536) ≈ 9700 carries an absolute rounding of about 1e-12.
            assert!((mass - 1.0).abs() < 1e-11, "N = {n}: {mass}");
        }
    }

    #[test]
    fn total_variation_agrees_with_the_distribution_functions() {
        // At moderate D the CDFs are accurate: TV = (Q − P)(s₂) − (Q − P)(s₁).
        for d in [1.0, 4.0, 64.0, 1024.0] {
            let k = Kernel::new(20, d);
            let g = Kernel::new(20, f64::INFINITY);
            let n = 20.0;
            let s_top = rho_max(n).powi(2);
            let lr = |s: f64| k.log_ratio_to_gaussian(s);
            let s1 = if lr(0.0) > 0.0 { zero(&k, 0.0, n) } else { 0.0 };
            let s2 = if lr(s_top) > 0.0 { zero(&k, n, s_top) } else { s_top };
            let diff = |s: f64| g.radius_cdf(s.sqrt(), 1.0) - k.radius_cdf(s.sqrt(), 1.0);
            let by_cdf = diff(s2) - diff(s1);
            let tv = total_variation(&k);
            assert!((tv - by_cdf).abs() < 1e-9, "D = {d}: {tv} vs {by_cdf}");
            assert!(tv > 0.0 && tv < 1.0);
        }
    }

    #[test]
    fn distances_approach_their_leading_orders() {
        for d in [1e4, 1e6, 3.0e6] {
            let k = Kernel::new(20, d);
            let tv = total_variation(&k);
            let kl = kl_gaussian_to_kernel(&k);
            assert!(tv > 0.0 && tv <= total_variation_first_order_bound(20, d), "D = {d}: TV {tv:e}");
            assert!(
                (kl / kl_leading_order(20, d) - 1.0).abs() < 0.05,
                "D = {d}: KL {kl:e} vs {:e}",
                kl_leading_order(20, d)
            );
            // Pinsker: TV ≤ √(KL/2).
            assert!(tv <= (kl / 2.0).sqrt());
        }
    }
}

//! ln Γ(x + a) − ln Γ(x) − a ln x without cancellation for large x: the normalising constant of the
//! perturbation kernel relative to its Gaussian limit, needed to f64 precision up to D = 3·10⁶ and
//! beyond, where ln Γ(D/2) alone is about 2·10⁷.

use statrs::function::gamma::ln_gamma;

/// x from which the Stirling series is used: its first omitted term, B₁₂/(12·11 x¹¹) ≈ 6·10⁻¹⁸, is
/// far below the rounding of the result.
const STIRLING_FROM: f64 = 20.0;

/// ln Γ(x + a) − ln Γ(x) − a ln x for x > 0, a ≥ 0. It tends to a(a − 1)/(2x) as x → ∞.
///
/// For x ≥ 20, from Stirling's series ln Γ(z) = (z − ½) ln z − z + ½ ln 2π + Σ_k B₂ₖ/(2k(2k − 1) z^{2k−1}):
/// the difference is x·h(t) − ½ ln(1 + t) + Σ_k B₂ₖ/(2k(2k − 1)) ((x + a)^{1−2k} − x^{1−2k}) with
/// t = a/x and h(t) = (1 + t) ln(1 + t) − t, summed as a series for small t. Below, from ln Γ directly.
pub fn ln_gamma_ratio_excess(x: f64, a: f64) -> f64 {
    assert!(x > 0.0 && a >= 0.0, "ln_gamma_ratio_excess({x}, {a})");
    if a == 0.0 {
        return 0.0;
    }
    if x < STIRLING_FROM {
        return ln_gamma(x + a) - ln_gamma(x) - a * x.ln();
    }
    let t = a / x;
    // B₂ₖ/(2k(2k − 1)) for k = 1…5.
    const STIRLING: [f64; 5] = [1.0 / 12.0, -1.0 / 360.0, 1.0 / 1260.0, -1.0 / 1680.0, 1.0 / 1188.0];
    let (mut pa, mut px) = (1.0 / (x + a), 1.0 / x);
    let (qa, qx) = (pa * pa, px * px);
    let mut series = 0.0;
    for c in STIRLING {
        series += c * (pa - px);
        pa *= qa;
        px *= qx;
    }
    x * one_plus_t_log_one_plus_t_minus_t(t) - 0.5 * t.ln_1p() + series
}

/// h(t) = (1 + t) ln(1 + t) − t = Σ_{k≥2} (−1)^k t^k/(k(k − 1)), by the series for t < 0.1.
fn one_plus_t_log_one_plus_t_minus_t(t: f64) -> f64 {
    if t >= 0.1 {
        return (1.0 + t) * t.ln_1p() - t;
    }
    let (mut sum, mut power) = (0.0, -t);
    for k in 2..60 {
        power *= -t;
        let term = power / (k * (k - 1)) as f64;
        sum += term;
        if term.abs() <= 1e-17 * sum.abs() {
            break;
        }
    }
    sum
}

/// u − ln(1 + u) = Σ_{k≥2} (−1)^k u^k/k, by the series for 0 ≤ u < 0.1.
pub fn u_minus_log1p(u: f64) -> f64 {
    if u >= 0.1 {
        return u - u.ln_1p();
    }
    let (mut sum, mut power) = (0.0, -u);
    for k in 2..60 {
        power *= -u;
        let term = power / k as f64;
        sum += term;
        if term.abs() <= 1e-17 * sum.abs() {
            break;
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_ln_gamma_where_that_is_accurate() {
        for x in [0.5, 3.0, 19.9, 20.0, 35.0, 400.0] {
            for a in [0.5, 1.0, 10.0, 1536.0] {
                let direct = ln_gamma(x + a) - ln_gamma(x) - a * f64::ln(x);
                let ours = ln_gamma_ratio_excess(x, a);
                let scale = ln_gamma(x + a).abs() + ln_gamma(x).abs() + (a * f64::ln(x)).abs();
                assert!((ours - direct).abs() <= 1e-13 * scale, "x = {x}, a = {a}: {ours} vs {direct}");
            }
        }
    }

    #[test]
    fn integer_a_is_a_product_and_large_x_tends_to_a_a_minus_1_over_2x() {
        // Γ(x + 10)/Γ(x) = x(x+1)…(x+9): ln of it minus 10 ln x = Σ ln(1 + k/x).
        for x in [25.0, 1e3, 1.5e6, 1e12] {
            let exact: f64 = (0..10).map(|k| (k as f64 / x).ln_1p()).sum();
            let ours = ln_gamma_ratio_excess(x, 10.0);
            assert!((ours - exact).abs() <= 1e-14 * exact.abs(), "x = {x}: {ours:e} vs {exact:e}");
        }
        let x = 1e9;
        assert!((ln_gamma_ratio_excess(x, 10.0) * 2.0 * x / 90.0 - 1.0).abs() < 1e-6);
    }

    #[test]
    fn u_minus_log1p_series_matches_direct_form() {
        for u in [1e-9, 1e-4, 0.05, 0.0999, 0.1, 2.0] {
            let direct = u - f64::ln_1p(u);
            let ours = u_minus_log1p(u);
            assert!((ours - direct).abs() <= 1e-15 * u + 1e-12 * direct, "u = {u}");
        }
        assert!((u_minus_log1p(1e-9) - (0.5e-18 - 1e-27 / 3.0)).abs() < 1e-33);
    }
}

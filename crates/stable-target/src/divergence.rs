//! The f-divergence of Theorem 2 (thesis l.677, l.2359): f(y) = (1/y − 1)² for y < 1.5 and
//! f(y) = 8y/27 − 1/3 for y ≥ 1.5 (convex, C¹ at 1.5 where both pieces equal 1/9 with slope 8/27),
//! and D_f(P‖Q) = E_Q[f(dP/dQ)]. Ratios of densities in 64 or 3072 dimensions overflow, so
//! f is also evaluated from ln y, returning ln f.

/// f(y) of Theorem 2.
pub fn f(y: f64) -> f64 {
    if y < 1.5 {
        (1.0 / y - 1.0).powi(2)
    } else {
        8.0 * y / 27.0 - 1.0 / 3.0
    }
}

/// ln f(e^ℓ) without overflow for any finite ℓ (−∞ at ℓ = 0, where f = 0).
pub fn ln_f_of_ln(l: f64) -> f64 {
    if l < 1.5f64.ln() {
        // |1/y − 1| = |expm1(−ℓ)|; for ℓ ≪ 0 use ln(e^{−ℓ} − 1) = −ℓ + ln(1 − e^{ℓ}).
        let ln_abs = if l < -30.0 { -l + (-l.exp()).ln_1p() } else { (-l).exp_m1().abs().ln() };
        2.0 * ln_abs
    } else if l > 30.0 {
        // 8y/27 − 1/3 = (8y/27)(1 − 9/(8y)).
        l + (8.0f64 / 27.0).ln() + (-(9.0 / 8.0) * (-l).exp()).ln_1p()
    } else {
        f(l.exp()).ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuous_and_smooth_at_the_joint() {
        let (a, b) = (f(1.5 - 1e-9), f(1.5));
        assert!((a - 1.0 / 9.0).abs() < 1e-8 && (b - 1.0 / 9.0).abs() < 1e-15);
        let h = 1e-6;
        let left = (f(1.5 - h) - f(1.5 - 2.0 * h)) / h;
        assert!((left - 8.0 / 27.0).abs() < 1e-5, "left slope {left}");
        assert_eq!(f(1.0), 0.0);
    }

    #[test]
    fn convex_on_a_grid() {
        let ys: Vec<f64> = (1..400).map(|i| i as f64 * 0.01).collect();
        for w in ys.windows(3) {
            assert!(f(w[0]) + f(w[2]) - 2.0 * f(w[1]) >= -1e-12, "not convex at {}", w[1]);
        }
    }

    #[test]
    fn log_form_agrees_and_survives_extremes() {
        for &y in &[1e-6, 0.3, 0.99, 1.01, 1.49, 1.5, 2.0, 1e3, 1e12] {
            let direct = f(y).ln();
            let via = ln_f_of_ln(y.ln());
            assert!((direct - via).abs() < 1e-9 * (1.0 + direct.abs()), "y={y}: {direct} vs {via}");
        }
        // e^{±2000} overflows an f64; ln f does not.
        assert!((ln_f_of_ln(-2000.0) - 4000.0).abs() < 1e-9);
        assert!((ln_f_of_ln(2000.0) - (2000.0 + (8.0f64 / 27.0).ln())).abs() < 1e-9);
    }
}

//! Log-sum-exp and softmax: the one place posterior weights are normalised.

/// log Σᵢ exp(vᵢ), exact for any finite inputs; −∞ for an empty slice or all −∞.
pub fn logsumexp(v: &[f64]) -> f64 {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// log((1/n) Σᵢ exp(vᵢ)): the log of a mean of quantities given by their logs.
pub fn log_mean_exp(v: &[f64]) -> f64 {
    logsumexp(v) - (v.len() as f64).ln()
}

/// Replaces logits by their softmax and returns their log-sum-exp (the log normaliser).
pub fn softmax_in_place(v: &mut [f64]) -> f64 {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut total = 0.0;
    for x in v.iter_mut() {
        *x = (*x - m).exp();
        total += *x;
    }
    for x in v.iter_mut() {
        *x /= total;
    }
    m + total.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logsumexp_is_stable_and_exact() {
        assert!((logsumexp(&[0.0, 0.0]) - 2f64.ln()).abs() < 1e-15);
        assert!((logsumexp(&[-1e5, -1e5 + 2f64.ln()]) - (-1e5 + 3f64.ln())).abs() < 1e-9);
        assert_eq!(logsumexp(&[f64::NEG_INFINITY]), f64::NEG_INFINITY);
        assert!((log_mean_exp(&[1000.0, 1000.0, 1000.0]) - 1000.0).abs() < 1e-12);
    }

    #[test]
    fn softmax_sums_to_one_far_from_zero() {
        let mut v = vec![-1e6, -1e6 - 1.0, -2e6];
        let lse = softmax_in_place(&mut v);
        assert!((v.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        assert!((v[0] / v[1] - 1f64.exp()).abs() < 1e-12);
        assert_eq!(v[2], 0.0);
        assert!((lse - (-1e6 + (1.0 + (-1f64).exp()).ln())).abs() < 1e-9);
    }
}

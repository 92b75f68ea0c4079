//! The Kolmogorov–Smirnov distance of a sample to a continuous distribution function.

/// D_n = sup_x |F_n(x) − F(x)| for the empirical distribution F_n of `samples` (NaNs rejected)
/// and the distribution function `cdf`; √n·D_n is Kolmogorov-distributed under the null
/// (mean ≈ 0.8687, 99.9% quantile ≈ 1.95).
pub fn ks_distance(samples: &[f64], cdf: impl Fn(f64) -> f64) -> f64 {
    assert!(
        !samples.is_empty() && samples.iter().all(|v| !v.is_nan()),
        "ks_distance: needs a non-empty sample without NaN"
    );
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len() as f64;
    v.iter()
        .enumerate()
        .map(|(i, &x)| {
            let f = cdf(x);
            (f - i as f64 / n).max((i + 1) as f64 / n - f)
        })
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_midpoint_lattice_is_half_a_step_from_uniform() {
        let n = 64;
        let lattice: Vec<f64> = (0..n).map(|i| (i as f64 + 0.5) / n as f64).collect();
        assert!((ks_distance(&lattice, |x| x.clamp(0.0, 1.0)) - 0.5 / n as f64).abs() < 1e-15);
        // All mass at one point: distance 1 − F there, or F.
        assert!((ks_distance(&[0.25; 10], |x| x.clamp(0.0, 1.0)) - 0.75).abs() < 1e-15);
    }
}

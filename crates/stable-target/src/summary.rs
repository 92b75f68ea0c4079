//! Per-x̃ results of the variance study and their aggregation into one row per t.

use exact_denoisers::log_mean_exp;
use metrics::Estimate;

/// What one noisy point x̃ contributes at one t.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PerXtilde {
    /// ‖target − score‖² averaged over Monte Carlo draws x ~ p_{0|t}(·|x̃) (Eq. 3.3, second form).
    pub vdsm_mc: f64,
    /// The same with the inner expectation exact: Tr Cov_{p_{0|t}(·|x̃)}(x)/σ⁴.
    pub vdsm_exact: f64,
    /// ln D_f(p₀ ‖ p_{0|t}(·|x̃)), Theorem 2's argument order.
    pub ln_df_thm2: f64,
    /// ln D_f(p_{0|t}(·|x̃) ‖ p₀), the order of §3.5.1 (l.695).
    pub ln_df_sec351: f64,
    /// Tr Cov of the STF target for each reference batch size n (empty when not estimated at this x̃).
    pub vstf: Vec<f64>,
}

/// One t of the variance study.
#[derive(Clone, Debug, PartialEq)]
pub struct TPoint {
    /// Diffusion time.
    pub t: f64,
    /// σ_t.
    pub sigma: f64,
    /// V_DSM(t), full Monte Carlo.
    pub vdsm_mc: Estimate,
    /// V_DSM(t) with the inner expectation exact.
    pub vdsm_exact: Estimate,
    /// log₁₀ E_x̃ D_f(p₀ ‖ p_{0|t}).
    pub log10_d_thm2: f64,
    /// Relative standard error of E_x̃ D_f(p₀ ‖ p_{0|t}).
    pub d_thm2_rel_se: f64,
    /// log₁₀ E_x̃ D_f(p_{0|t} ‖ p₀): the D(t) of §3.5.1.
    pub log10_d_sec351: f64,
    /// Relative standard error of that mean.
    pub d_sec351_rel_se: f64,
    /// V_STF(t; n) for each n of the study.
    pub vstf: Vec<Estimate>,
    /// V_STF(t; 1) − V_DSM(t), paired on the same x̃ (must be 0: with n = 1 STF is DSM).
    pub vstf_n1_minus_vdsm: Estimate,
}

/// ln of a mean of values given by their logs, with the mean's relative standard error.
fn log_mean_with_rel_se(ln_values: &[f64]) -> (f64, f64) {
    let ln_mean = log_mean_exp(ln_values);
    if !ln_mean.is_finite() {
        return (ln_mean, f64::NAN);
    }
    let scaled: Vec<f64> = ln_values.iter().map(|l| (l - ln_mean).exp()).collect();
    (ln_mean, Estimate::of(&scaled).se)
}

impl TPoint {
    /// Aggregates per-x̃ results; `ns` is the number of reference-batch sizes.
    pub fn from_points(t: f64, sigma: f64, points: &[PerXtilde], ns: usize) -> Self {
        let col = |f: fn(&PerXtilde) -> f64| -> Vec<f64> { points.iter().map(f).collect() };
        let (ln_d2, d2_se) = log_mean_with_rel_se(&col(|p| p.ln_df_thm2));
        let (ln_d3, d3_se) = log_mean_with_rel_se(&col(|p| p.ln_df_sec351));
        let with_stf: Vec<&PerXtilde> = points.iter().filter(|p| !p.vstf.is_empty()).collect();
        let vstf = (0..ns).map(|j| Estimate::of(&with_stf.iter().map(|p| p.vstf[j]).collect::<Vec<_>>())).collect();
        let n1_diff: Vec<f64> = with_stf.iter().map(|p| p.vstf[0] - p.vdsm_exact).collect();
        TPoint {
            t,
            sigma,
            vdsm_mc: Estimate::of(&col(|p| p.vdsm_mc)),
            vdsm_exact: Estimate::of(&col(|p| p.vdsm_exact)),
            log10_d_thm2: ln_d2 / std::f64::consts::LN_10,
            d_thm2_rel_se: d2_se,
            log10_d_sec351: ln_d3 / std::f64::consts::LN_10,
            d_sec351_rel_se: d3_se,
            vstf,
            vstf_n1_minus_vdsm: Estimate::of(&n1_diff),
        }
    }

    /// The right-hand side of Theorem 2 without its O(1/n²) term, for n ≥ 2 and dimension d:
    /// (V_DSM + (√3 d/σ²)·√(E_x̃ D_f(p₀ ‖ p_{0|t}))) / (n − 1), given the V_DSM to use.
    pub fn theorem2_rhs(&self, vdsm: f64, d: usize, n: usize) -> f64 {
        let df = 10f64.powf(self.log10_d_thm2);
        (vdsm + 3f64.sqrt() * d as f64 / (self.sigma * self.sigma) * df.sqrt()) / (n as f64 - 1.0)
    }
}

/// The unbiased trace of the covariance of R vectors (rows of `rows`, each of length `dim`).
/// Rows are shifted by the first row before averaging, which leaves the covariance unchanged and
/// makes identical rows give exactly 0 (a plain mean of identical values can be off by an ulp).
pub fn trace_covariance(rows: &[f64], dim: usize) -> f64 {
    let r = rows.len() / dim;
    let first = &rows[..dim];
    let mut mean = vec![0.0; dim];
    for row in rows.chunks_exact(dim) {
        mean.iter_mut().zip(row).zip(first).for_each(|((m, v), f)| *m += v - f);
    }
    mean.iter_mut().for_each(|m| *m /= r as f64);
    rows.chunks_exact(dim)
        .map(|row| row.iter().zip(first).zip(&mean).map(|((v, f), m)| (v - f - m) * (v - f - m)).sum::<f64>())
        .sum::<f64>()
        / (r as f64 - 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_covariance_of_known_rows() {
        // Rows (0,0), (2,0), (0,2): per-coordinate unbiased variances 4/3 and 4/3.
        let v = trace_covariance(&[0.0, 0.0, 2.0, 0.0, 0.0, 2.0], 2);
        assert!((v - 8.0 / 3.0).abs() < 1e-15);
        let x = 0.1 + 0.2;
        assert_eq!(trace_covariance(&[x, 1.0 / 3.0, x, 1.0 / 3.0, x, 1.0 / 3.0], 2), 0.0);
    }

    #[test]
    fn log_mean_handles_huge_values() {
        let (l, se) = log_mean_with_rel_se(&[2000.0, 2000.0]);
        assert!((l - 2000.0).abs() < 1e-12 && se == 0.0);
    }
}

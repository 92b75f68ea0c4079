//! EDM's denoising score matching loss (Karras et al. 2022, Eq. 8 with Table 1's training column;
//! `training/loss.py`, `EDMLoss`): ln σ ~ N(P_mean, P_std²), n ~ N(0, I),
//! L = E λ(σ) ‖D_θ(y + σn; σ) − y‖², λ(σ) = (σ² + σ_d²)/(σ σ_d)².
//!
//! The regression target y can be replaced through a [`TargetFn`], e.g. by the Stable Target
//! Field's weighted average of a reference batch (thesis Ch. 3), which regresses on a lower-variance
//! target with the same minimiser.

use anyhow::{ensure, Result};
use candle_core::{Device, Tensor};
use rand::Rng as _;
use rand_distr::{Distribution, StandardNormal};

/// Draws `n` noise levels with ln σ ~ N(p_mean, p_std²) (EDM Table 1: P_mean = −1.2, P_std = 1.2).
pub fn draw_sigmas(rng: &mut seeding::Rng, n: usize, p_mean: f64, p_std: f64) -> Vec<f64> {
    (0..n)
        .map(|_| {
            let z: f64 = StandardNormal.sample(rng);
            (p_mean + p_std * z).exp()
        })
        .collect()
}

/// Draws `n` noise levels with ln σ uniform on [ln lo, ln hi] (Song et al.'s VE training: σ(t) =
/// σ_min (σ_max/σ_min)^t with t ~ U[0, 1]).
pub fn draw_log_uniform_sigmas(rng: &mut seeding::Rng, n: usize, lo: f64, hi: f64) -> Vec<f64> {
    let (a, b) = (lo.ln(), hi.ln());
    (0..n).map(|_| (a + (b - a) * rng.random::<f64>()).exp()).collect()
}

/// What a regression-target hook sees for one training batch.
pub struct TargetBatch<'a> {
    /// Dimension of one point.
    pub dim: usize,
    /// The clean batch y, row-major (`sigma.len() × dim`).
    pub clean: &'a [f64],
    /// The noisy batch x = y + σn, row-major.
    pub noisy: &'a [f64],
    /// One noise level per row.
    pub sigma: &'a [f64],
    /// A stream private to this step's target, for targets that draw (e.g. a reference batch).
    pub stream: seeding::Stream,
}

/// A replacement regression target: returns `sigma.len() × dim` values that D_θ(x; σ) is fitted to
/// (the default target is the clean batch y).
pub type TargetFn = dyn Fn(&TargetBatch<'_>) -> Result<Vec<f32>> + Sync;

/// The batch mean of λ(σᵢ) ‖Dᵢ − targetᵢ‖² as a scalar tensor (EDM Eq. 8); `denoised` and `target`
/// are rows × dim, `weight` holds λ(σᵢ) per row. EDM sums this over the batch and divides by
/// the batch size, which is the same mean.
pub fn edm_loss(denoised: &Tensor, target: &Tensor, weight: &[f64]) -> Result<Tensor> {
    let rows = denoised.dim(0)?;
    ensure!(weight.len() == rows, "EDM loss: {} weights for {rows} rows", weight.len());
    let lambda = Tensor::from_vec(weight.iter().map(|&w| w as f32).collect::<Vec<_>>(), (rows, 1), &Device::Cpu)?;
    let per_row = (denoised - target)?.sqr()?.sum_keepdim(1)?;
    Ok((per_row * lambda)?.mean_all()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_sigma_has_the_requested_moments() {
        let s = draw_sigmas(&mut seeding::Stream::new(2).rng(), 100_000, -1.2, 1.2);
        let logs: Vec<f64> = s.iter().map(|v| v.ln()).collect();
        let m = logs.iter().sum::<f64>() / logs.len() as f64;
        let sd = (logs.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (logs.len() - 1) as f64).sqrt();
        // Standard errors 1.2/√n ≈ 0.0038 and 1.2/√(2n) ≈ 0.0027.
        assert!((m + 1.2).abs() < 0.02, "mean of ln σ {m}");
        assert!((sd - 1.2).abs() < 0.014, "sd of ln σ {sd}");
    }

    #[test]
    fn log_uniform_sigmas_stay_in_range_with_a_uniform_log() {
        let s = draw_log_uniform_sigmas(&mut seeding::Stream::new(4).rng(), 100_000, 0.01, 50.0);
        assert!(s.iter().all(|&v| (0.01..=50.0).contains(&v)));
        let u: Vec<f64> = s.iter().map(|v| (v.ln() - 0.01f64.ln()) / (50f64.ln() - 0.01f64.ln())).collect();
        let m = u.iter().sum::<f64>() / u.len() as f64;
        let var = u.iter().map(|v| (v - m).powi(2)).sum::<f64>() / u.len() as f64;
        // U[0, 1]: mean ½ (s.e. 0.0009), variance 1/12.
        assert!((m - 0.5).abs() < 0.005 && (var - 1.0 / 12.0).abs() < 0.002, "mean {m}, variance {var}");
    }

    #[test]
    fn loss_is_the_weighted_batch_mean_of_squared_norms() {
        let dev = &Device::Cpu;
        let d = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], (2, 2), dev).unwrap();
        let t = Tensor::from_vec(vec![0.0f32, 0.0, 3.0, 2.0], (2, 2), dev).unwrap();
        let l = edm_loss(&d, &t, &[2.0, 0.5]).unwrap().to_scalar::<f32>().unwrap();
        // (2·(1 + 4) + 0.5·(0 + 4)) / 2 = 6
        assert_eq!(l, 6.0);
    }
}

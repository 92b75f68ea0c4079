//! The σ-parameterised denoiser trait in the EDM convention (Karras et al. 2022, Eq. 3):
//! D(x; σ) ≈ E[x₀ | x₀ + σ n = x], from which the score is ∇log p_σ(x) = (D(x; σ) − x)/σ².

/// A denoiser D(x; σ) over points of a fixed dimension. Every sampler, field and experiment
/// consumes this trait, so exact mixture scores and trained networks are interchangeable.
pub trait Denoiser: Sync {
    /// The dimension of one point.
    fn dim(&self) -> usize;

    /// Writes D(xᵢ; σ) into `out` for each row xᵢ of the row-major batch `x` (`x.len() / dim` rows).
    fn denoise(&self, x: &[f64], sigma: f64, out: &mut [f64]) -> anyhow::Result<()>;

    /// The score ∇log p_σ(xᵢ) of each row, from the denoiser (EDM Eq. 3).
    fn score(&self, x: &[f64], sigma: f64, out: &mut [f64]) -> anyhow::Result<()> {
        self.denoise(x, sigma, out)?;
        for (o, xi) in out.iter_mut().zip(x) {
            *o = score_from_denoiser(*o, *xi, sigma);
        }
        Ok(())
    }
}

/// One coordinate of the score from one coordinate of the denoiser: (D − x)/σ².
#[inline]
pub fn score_from_denoiser(d: f64, x: f64, sigma: f64) -> f64 {
    (d - x) / (sigma * sigma)
}

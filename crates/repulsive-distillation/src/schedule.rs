//! The discrete DDPM noise levels the RSD code distils with, and the weighting ω(t).
//!
//! Stable Diffusion's "scaled linear" βs (√β linear from √0.00085 to √0.012 over 1000 steps),
//! ᾱ_t = Π_{s≤t}(1 − β_s); in the VE coordinates of this crate the level is σ̃_t = √((1 − ᾱ_t)/ᾱ_t).

/// A discrete VP schedule ᾱ_0 … ᾱ_{T−1}.
#[derive(Clone, Debug, PartialEq)]
pub struct Ddpm {
    alpha_bar: Vec<f64>,
}

/// The weighting ω(t) of the distillation gradient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weighting {
    /// ω = σ_t² = 1 − ᾱ_t: DreamFusion's and ProlificDreamer's default (threestudio), used for T2I.
    Variance,
    /// ω = σ_t/α_t = 1/√SNR: RED-diff's "linear" weighting, the RSD inverse-problem code's (`snr_inv`).
    Linear,
    /// ω = 1.
    Unit,
}

impl Ddpm {
    /// Stable Diffusion's scaled-linear schedule with `steps` levels (1000 in SD).
    pub fn stable_diffusion(steps: usize) -> Self {
        let (a, b) = (0.00085f64.sqrt(), 0.012f64.sqrt());
        let mut prod = 1.0;
        let alpha_bar = (0..steps)
            .map(|i| {
                let s = a + (b - a) * i as f64 / (steps - 1).max(1) as f64;
                prod *= 1.0 - s * s;
                prod
            })
            .collect();
        Ddpm { alpha_bar }
    }

    /// Number of timesteps T.
    pub fn len(&self) -> usize {
        self.alpha_bar.len()
    }

    /// Whether the schedule is empty.
    pub fn is_empty(&self) -> bool {
        self.alpha_bar.is_empty()
    }

    /// ᾱ_t.
    pub fn alpha_bar(&self, t: usize) -> f64 {
        self.alpha_bar[t]
    }

    /// σ̃_t = σ_t/α_t = √((1 − ᾱ_t)/ᾱ_t), the VE noise level of timestep t.
    pub fn sigma(&self, t: usize) -> f64 {
        let a = self.alpha_bar[t];
        ((1.0 - a) / a).sqrt()
    }

    /// ω(t) for a weighting.
    pub fn weight(&self, t: usize, w: Weighting) -> f64 {
        match w {
            Weighting::Variance => 1.0 - self.alpha_bar[t],
            Weighting::Linear => self.sigma(t),
            Weighting::Unit => 1.0,
        }
    }

    /// `k` timesteps descending evenly from `t_max` to `t_min` (Alg. 2 runs the levels in
    /// descending order, as RED-diff found best).
    pub fn descending(t_max: usize, t_min: usize, k: usize) -> Vec<usize> {
        if k == 1 {
            return vec![t_max];
        }
        (0..k)
            .map(|i| (t_max as f64 - (t_max - t_min) as f64 * i as f64 / (k - 1) as f64).round() as usize)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_diffusion_endpoints() {
        // ᾱ_0 = 1 − 0.00085; ᾱ_999 ≈ 0.00466 (diffusers' PNDM/DDIM config for SD v1.x).
        let s = Ddpm::stable_diffusion(1000);
        assert!((s.alpha_bar(0) - 0.99915).abs() < 1e-12);
        assert!((s.alpha_bar(999) - 0.004660).abs() < 2e-5, "{}", s.alpha_bar(999));
        assert!((s.sigma(0) - (0.00085f64 / 0.99915).sqrt()).abs() < 1e-14);
        assert_eq!(Ddpm::descending(980, 20, 3), vec![980, 500, 20]);
    }
}

//! The toy of App. C.3.1 (Fig. 9): fit the means mᵢ of Gaussians N(mᵢ, s²) of fixed width to a
//! 1-D mixture p by the gradient flow of KL(N(mᵢ, s²) ‖ p), alone (setting 1, γ = 0) or coupled
//! through the repulsion of Eq. 3 (setting 2):
//!
//!   dmᵢ/dτ = −∇_{mᵢ} KL = E_{x∼N(mᵢ,s²)}[∇log p(x)] − γ ∇_{mᵢ} log Σⱼ k(mᵢ, mⱼ).
//!
//! The expectation is exact up to a Gauss–Hermite rule (the entropy of N(m, s²) does not depend on m).

use crate::repulsion::{grad_log_kde, Repulsion};
use anyhow::{ensure, Result};
use exact_denoisers::{softmax_in_place, GaussianMixture};
use gauss_quad::GaussHermite;
use std::num::NonZeroUsize;

/// The mean flow of fixed-width Gaussians towards a 1-D mixture.
pub struct MeanFlow {
    mixture: GaussianMixture,
    width: f64,
    nodes: Vec<(f64, f64)>,
}

impl MeanFlow {
    /// Fits N(m, width²) to `mixture` (1-D, every variance > 0) with a `nodes`-point Gauss–Hermite rule.
    pub fn new(mixture: GaussianMixture, width: f64, nodes: usize) -> Result<Self> {
        ensure!(mixture.dim() == 1, "mean flow: the toy is 1-D, the mixture has dimension {}", mixture.dim());
        ensure!(
            mixture.variances.iter().all(|&v| v > 0.0),
            "mean flow: the clean score needs every variance > 0"
        );
        ensure!(width > 0.0, "mean flow: width = {width} must be > 0");
        let rule = GaussHermite::new(NonZeroUsize::new(nodes.max(1)).expect("max(1) > 0"));
        Ok(MeanFlow {
            mixture,
            width,
            nodes: rule.as_node_weight_pairs().to_vec(),
        })
    }

    /// ∇log p(x) of the clean mixture: Σ_k r_k(x)(μ_k − x)/s_k².
    pub fn score(&self, x: f64) -> f64 {
        let mut r = self.mixture.log_joint(&[x], 0.0);
        softmax_in_place(&mut r);
        r.iter()
            .enumerate()
            .map(|(k, rk)| rk * (self.mixture.mean(k)[0] - x) / self.mixture.variances[k])
            .sum()
    }

    /// E_{x∼N(m, s²)}[∇log p(x)] = (1/√π) Σ w_k ∇log p(m + √2 s x_k).
    pub fn drift(&self, m: f64) -> f64 {
        let c = std::f64::consts::SQRT_2 * self.width;
        self.nodes.iter().map(|(x, w)| w * self.score(m + c * x)).sum::<f64>() / std::f64::consts::PI.sqrt()
    }

    /// `steps` explicit Euler steps of size `dt` of the coupled flow on `means` (changed in place).
    pub fn run(&self, means: &mut [f64], gamma: f64, rep: &Repulsion, dt: f64, steps: usize) -> Result<()> {
        for step in 0..steps {
            let r = if gamma != 0.0 {
                grad_log_kde(means, 1, 0.0, rep, None)
            } else {
                vec![0.0; means.len()]
            };
            let v: Vec<f64> = means.iter().zip(&r).map(|(&m, r)| self.drift(m) - gamma * r).collect();
            means.iter_mut().zip(&v).for_each(|(m, v)| *m += dt * v);
            ensure!(
                means.iter().all(|m| m.is_finite()),
                "mean flow diverged at step {step} (γ = {gamma}, dt = {dt})"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_on_one_gaussian_is_linear() {
        // p = N(μ, v): E_q[−(x − μ)/v] = −(m − μ)/v exactly.
        let f = MeanFlow::new(GaussianMixture::new(1, vec![1.0], vec![2.0], vec![0.25]), 0.5, 20).unwrap();
        for m in [-1.0, 0.3, 2.0, 5.0] {
            assert!((f.drift(m) + (m - 2.0) / 0.25).abs() < 1e-10, "m = {m}");
        }
    }

    #[test]
    fn independent_means_go_to_the_mode_on_their_side() {
        let p = GaussianMixture::new(1, vec![1.0, 1.0], vec![-2.0, 2.0], vec![0.25, 0.25]);
        let f = MeanFlow::new(p, 0.5, 40).unwrap();
        let mut m = [-0.3, 0.1];
        f.run(&mut m, 0.0, &Repulsion::code(), 0.01, 3000).unwrap();
        assert!((m[0] + 2.0).abs() < 1e-3 && (m[1] - 2.0).abs() < 1e-3, "{m:?}");
        // The drift vanishes at 0 by symmetry: a mean there stays.
        assert!(f.drift(0.0).abs() < 1e-12);
    }
}

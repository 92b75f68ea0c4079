//! The uniform distribution on a finite point set {x_k}: p_σ(x) = (1/N) Σ_k N(x; x_k, σ²I), whose
//! posterior p(x_k | x) = softmax_k(−‖x − x_k‖²/(2σ²)) gives D(x; σ) = Σ_k p(x_k | x) x_k.
//! This is also the STF target's reference-batch field (thesis Eq. 3.4) and the empirical
//! field the thesis's exact-score experiments use.

use crate::{logsumexp, softmax_in_place, squared_distance};
use diffusion::Denoiser;
use rayon::prelude::*;

/// A uniform distribution on finitely many points in ℝ^dim (rows of `points`).
#[derive(Clone, Debug)]
pub struct PointSet {
    dim: usize,
    points: Vec<f64>,
}

impl PointSet {
    /// A point set from row-major coordinates; panics when the length is not a multiple of `dim`.
    pub fn new(dim: usize, points: Vec<f64>) -> Self {
        assert!(
            dim > 0 && points.len().is_multiple_of(dim) && !points.is_empty(),
            "point set: {} values do not make rows of {dim}",
            points.len()
        );
        PointSet { dim, points }
    }

    /// Number of points N.
    pub fn len(&self) -> usize {
        self.points.len() / self.dim
    }

    /// Always false: a point set has at least one point.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The k-th point.
    pub fn point(&self, k: usize) -> &[f64] {
        &self.points[k * self.dim..(k + 1) * self.dim]
    }

    /// All points, row-major.
    pub fn points(&self) -> &[f64] {
        &self.points
    }

    /// Posterior logits −‖x − x_k‖²/(2σ²) of every point given the noisy x.
    pub fn posterior_logits(&self, x: &[f64], sigma: f64, out: &mut [f64]) {
        let inv = 0.5 / (sigma * sigma);
        for (k, o) in out.iter_mut().enumerate() {
            *o = -squared_distance(x, self.point(k)) * inv;
        }
    }

    /// The posterior p(x_k | x) at noise level σ.
    pub fn posterior(&self, x: &[f64], sigma: f64) -> Vec<f64> {
        let mut w = vec![0.0; self.len()];
        self.posterior_logits(x, sigma, &mut w);
        softmax_in_place(&mut w);
        w
    }

    /// log p_σ(x), the log-density of the noisy marginal.
    pub fn log_density(&self, x: &[f64], sigma: f64) -> f64 {
        let mut w = vec![0.0; self.len()];
        self.posterior_logits(x, sigma, &mut w);
        let d = self.dim as f64;
        logsumexp(&w) - (self.len() as f64).ln() - 0.5 * d * (2.0 * std::f64::consts::PI * sigma * sigma).ln()
    }

    fn denoise_one(&self, x: &[f64], sigma: f64, out: &mut [f64]) {
        let w = self.posterior(x, sigma);
        out.fill(0.0);
        for (k, &wk) in w.iter().enumerate() {
            if wk > 0.0 {
                for (o, p) in out.iter_mut().zip(self.point(k)) {
                    *o += wk * p;
                }
            }
        }
    }
}

impl Denoiser for PointSet {
    fn dim(&self) -> usize {
        self.dim
    }

    fn denoise(&self, x: &[f64], sigma: f64, out: &mut [f64]) -> anyhow::Result<()> {
        out.par_chunks_mut(self.dim)
            .zip(x.par_chunks(self.dim))
            .for_each(|(o, xi)| self.denoise_one(xi, sigma, o));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fd_score(p: &PointSet, x: &[f64], sigma: f64) -> Vec<f64> {
        let h = 1e-5;
        (0..x.len())
            .map(|i| {
                let mut a = x.to_vec();
                let mut b = x.to_vec();
                a[i] += h;
                b[i] -= h;
                (p.log_density(&a, sigma) - p.log_density(&b, sigma)) / (2.0 * h)
            })
            .collect()
    }

    #[test]
    fn score_matches_finite_differences_of_log_density() {
        let p = PointSet::new(2, vec![0.0, 0.0, 1.0, 0.5, -0.7, 1.2]);
        for &sigma in &[0.3, 1.0, 4.0] {
            let x = [0.2, 0.4];
            let mut s = [0.0; 2];
            p.score(&x, sigma, &mut s).unwrap();
            let fd = fd_score(&p, &x, sigma);
            for i in 0..2 {
                assert!((s[i] - fd[i]).abs() < 1e-6 * (1.0 + fd[i].abs()), "σ={sigma}: {} vs {}", s[i], fd[i]);
            }
        }
    }

    #[test]
    fn one_point_denoises_to_itself_and_tiny_sigma_picks_nearest() {
        let p = PointSet::new(3, vec![1.0, 2.0, 3.0]);
        let mut out = [0.0; 3];
        p.denoise(&[10.0, -4.0, 0.0], 0.01, &mut out).unwrap();
        assert_eq!(out, [1.0, 2.0, 3.0]);

        // 3072-D points at σ = 1e-6: every logit is about −10¹⁵ and a naive exp underflows to 0/0.
        let dim = 3072;
        let pts: Vec<f64> = (0..4 * dim).map(|i| ((i * 7919) % 101) as f64 / 50.0 - 1.0).collect();
        let p = PointSet::new(dim, pts);
        let mut x = p.point(2).to_vec();
        x[0] += 0.3;
        let mut out = vec![0.0; dim];
        p.denoise(&x, 1e-6, &mut out).unwrap();
        assert!(out.iter().zip(p.point(2)).all(|(a, b)| a == b));
    }

    #[test]
    fn large_sigma_denoises_to_the_mean() {
        let p = PointSet::new(1, vec![-1.0, 0.0, 4.0]);
        let mut out = [0.0];
        p.denoise(&[0.0], 1e4, &mut out).unwrap();
        assert!((out[0] - 1.0).abs() < 1e-6);
    }
}

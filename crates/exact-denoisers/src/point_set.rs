//! The uniform distribution on a finite point set {x_k}: p_σ(x) = (1/N) Σ_k N(x; x_k, σ²I), whose
//! posterior p(x_k | x) = softmax_k(−‖x − x_k‖²/(2σ²)) gives D(x; σ) = Σ_k p(x_k | x) x_k.
//! This is also the STF target's reference-batch field (thesis Eq. 3.4) and the empirical
//! field the thesis's exact-score experiments use.

use crate::{fixed_par, logsumexp, softmax_in_place, squared_distance};
use diffusion::Denoiser;
use faer::{linalg::matmul::matmul, Accum, MatMut, MatRef};
use rayon::prelude::*;

/// A uniform distribution on finitely many points in ℝ^dim (rows of `points`).
#[derive(Clone, Debug)]
pub struct PointSet {
    dim: usize,
    points: Vec<f64>,
    norms: Vec<f64>,
}

/// Rows per block of the batched path: bounds the n × N logit matrix held at once.
const BLOCK: usize = 256;

/// Largest logit error the batched path may make through cancellation in ‖x‖² − 2⟨x, y⟩ + ‖y‖²
/// (it then changes posterior weights by at most this relative amount).
const MAX_LOGIT_ERROR: f64 = 1e-9;

impl PointSet {
    /// A point set from row-major coordinates; panics when the length is not a multiple of `dim`.
    pub fn new(dim: usize, points: Vec<f64>) -> Self {
        assert!(
            dim > 0 && points.len().is_multiple_of(dim) && !points.is_empty(),
            "point set: {} values do not make rows of {dim}",
            points.len()
        );
        let norms = points.chunks_exact(dim).map(|p| p.iter().map(|v| v * v).sum()).collect();
        PointSet { dim, points, norms }
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

    /// D for a block of rows through two matrix products (distances by ‖x‖² − 2⟨x, y⟩ + ‖y‖², then
    /// the weighted average), when the cancellation in that expansion is provably negligible.
    fn denoise_block(&self, x: &[f64], sigma: f64, out: &mut [f64]) -> bool {
        let (d, n_pts, rows) = (self.dim, self.len(), x.len() / self.dim);
        let xnorm: Vec<f64> = x.chunks_exact(d).map(|r| r.iter().map(|v| v * v).sum()).collect();
        let largest = xnorm.iter().chain(&self.norms).fold(0.0f64, |m, v| m.max(*v));
        // Each term carries a rounding error of a few ulps of the largest squared norm.
        if 8.0 * f64::EPSILON * largest / (2.0 * sigma * sigma) > MAX_LOGIT_ERROR {
            return false;
        }
        let mut w = vec![0.0; rows * n_pts];
        let pts = MatRef::from_row_major_slice(&self.points, n_pts, d);
        matmul(
            MatMut::from_row_major_slice_mut(&mut w, rows, n_pts),
            Accum::Replace,
            MatRef::from_row_major_slice(x, rows, d),
            pts.transpose(),
            1.0,
            fixed_par(),
        );
        let inv = 0.5 / (sigma * sigma);
        w.par_chunks_mut(n_pts).zip(&xnorm).for_each(|(row, xn)| {
            crate::clear_avx_upper_state();
            row.iter_mut().zip(&self.norms).for_each(|(g, yn)| *g = -(xn - 2.0 * *g + yn).max(0.0) * inv);
            softmax_in_place(row);
        });
        matmul(
            MatMut::from_row_major_slice_mut(out, rows, d),
            Accum::Replace,
            MatRef::from_row_major_slice(&w, rows, n_pts),
            pts,
            1.0,
            fixed_par(),
        );
        true
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
        for (xb, ob) in x.chunks(BLOCK * self.dim).zip(out.chunks_mut(BLOCK * self.dim)) {
            if !self.denoise_block(xb, sigma, ob) {
                // Small σ with large norms: distances summed coordinate by coordinate instead.
                ob.par_chunks_mut(self.dim)
                    .zip(xb.par_chunks(self.dim))
                    .for_each(|(o, xi)| self.denoise_one(xi, sigma, o));
            }
        }
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
    fn batched_path_agrees_with_the_direct_sum() {
        // 300 rows (two blocks), 500 points in 20-D, σ where the matrix-product path is taken.
        let (d, n) = (20, 500);
        let pts: Vec<f64> = (0..n * d).map(|i| ((i * 7919 % 1009) as f64 / 504.5 - 1.0) * 2.0).collect();
        let p = PointSet::new(d, pts);
        let x: Vec<f64> = (0..300 * d).map(|i| ((i * 104729 % 997) as f64 / 498.5 - 1.0) * 2.5).collect();
        for &sigma in &[0.05, 0.5, 5.0] {
            let mut fast = vec![0.0; x.len()];
            p.denoise(&x, sigma, &mut fast).unwrap();
            let mut slow = vec![0.0; x.len()];
            x.chunks(d).zip(slow.chunks_mut(d)).for_each(|(xi, o)| p.denoise_one(xi, sigma, o));
            let err = fast.iter().zip(&slow).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            assert!(err < 1e-8, "σ = {sigma}: {err}");
        }
    }

    #[test]
    fn large_sigma_denoises_to_the_mean() {
        let p = PointSet::new(1, vec![-1.0, 0.0, 4.0]);
        let mut out = [0.0];
        p.denoise(&[0.0], 1e4, &mut out).unwrap();
        assert!((out[0] - 1.0).abs() < 1e-6);
    }
}

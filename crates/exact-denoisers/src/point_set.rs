//! The uniform distribution on a finite point set {x_k}: p_σ(x) = (1/N) Σ_k N(x; x_k, σ²I), whose
//! posterior p(x_k | x) = softmax_k(−‖x − x_k‖²/(2σ²)) gives D(x; σ) = Σ_k p(x_k | x) x_k.
//! This is also the STF target's reference-batch field (thesis Eq. 3.4) and the empirical
//! field the thesis's exact-score experiments use.

use crate::logspace::{softmax_truncated_in_place, SOFTMAX_CUTOFF};
use crate::{logsumexp, softmax_in_place, squared_distance};
use diffusion::Denoiser;
use faer::{linalg::matmul::matmul, Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

/// A uniform distribution on finitely many points in ℝ^dim (rows of `points`).
#[derive(Clone, Debug)]
pub struct PointSet {
    dim: usize,
    points: Vec<f64>,
    /// The points column-major (coordinate by coordinate), the layout the first product reads fastest.
    columns: Vec<f64>,
    norms: Vec<f64>,
    largest_norm: f64,
}

/// Rows of x per task of the batched path: their ROWS × N logits (512 KB for N = 2000) stay in the
/// core's cache from one matrix product to the other. A fixed split, so the result does not depend
/// on the number of threads (measured with 2000 points in 20-D: 16 rows take 8% longer, 64 and 128
/// about the same).
const ROWS: usize = 32;

/// Largest logit error the batched path may leave from cancellation in ‖x‖² − 2⟨x, y⟩ + ‖y‖²
/// (it then changes posterior weights by at most twice this relative amount); beyond it, the
/// logits that matter are recomputed as ‖x − y‖² (see [`PointSet::weigh_rows`]).
const MAX_LOGIT_ERROR: f64 = 1e-9;

/// A row's weighted average is summed directly over its nonzero weights when they are at most
/// 1/SPARSE of the points, and by the matrix product otherwise (measured: beyond about N/32
/// nonzero weights the product is faster).
const SPARSE: usize = 32;

impl PointSet {
    /// A point set from row-major coordinates; panics when the length is not a multiple of `dim`.
    pub fn new(dim: usize, points: Vec<f64>) -> Self {
        assert!(
            dim > 0 && points.len().is_multiple_of(dim) && !points.is_empty(),
            "point set: {} values do not make rows of {dim}",
            points.len()
        );
        let norms: Vec<f64> = points.chunks_exact(dim).map(|p| p.iter().map(|v| v * v).sum()).collect();
        let largest_norm = norms.iter().copied().fold(0.0, f64::max);
        let n = points.len() / dim;
        let columns = (0..dim * n).map(|i| points[(i % n) * dim + i / n]).collect();
        PointSet {
            dim,
            columns,
            points,
            norms,
            largest_norm,
        }
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

    /// D for up to [`ROWS`] rows through two matrix products: ⟨x, y_k⟩ for all pairs, the logits
    /// −(‖x‖² − 2⟨x, y_k⟩ + ‖y_k‖²)/(2σ²) and their truncated softmax ([`Self::weigh_rows`]), then
    /// the weighted average of the points. `g` has room for rows × N values.
    fn denoise_rows(&self, x: &[f64], sigma: f64, g: &mut [f64], out: &mut [f64]) {
        let (d, n_pts, rows) = (self.dim, self.len(), x.len() / self.dim);
        let g = &mut g[..rows * n_pts];
        matmul(
            MatMut::from_row_major_slice_mut(g, rows, n_pts),
            Accum::Replace,
            MatRef::from_row_major_slice(x, rows, d),
            MatRef::from_column_major_slice(&self.columns, n_pts, d).transpose(),
            1.0,
            Par::Seq,
        );
        crate::clear_avx_upper_state();
        let inv = 0.5 / (sigma * sigma);
        let dense = self.weigh_rows(x, inv, g, out);
        if !dense.is_empty() {
            let mut avg = vec![0.0; dense.len() * d];
            matmul(
                MatMut::from_row_major_slice_mut(&mut avg, dense.len(), d),
                Accum::Replace,
                MatRef::from_row_major_slice(&g[..dense.len() * n_pts], dense.len(), n_pts),
                MatRef::from_row_major_slice(&self.points, n_pts, d),
                1.0,
                Par::Seq,
            );
            for (r, a) in dense.iter().zip(avg.chunks_exact(d)) {
                out[r * d..(r + 1) * d].copy_from_slice(a);
            }
        }
    }

    /// Turns each row of `g` from ⟨x, y_k⟩ into the posterior weights, writes the weighted average
    /// of the rows with few nonzero weights into `out`, and returns the other rows, whose weights
    /// it moves to the front of `g` for the matrix product.
    ///
    /// Cancellation in ‖x‖² − 2⟨x, y⟩ + ‖y‖²: with γ_d = d·ε/(1 − d·ε), a sum of d products in any
    /// order (ours, or the matrix product's) is within γ_d of the sum of their absolute values
    /// (Higham, *Accuracy and Stability of Numerical Algorithms*, §3.1), and ⟨x, y⟩ ≤ (‖x‖² + ‖y‖²)/2.
    /// Adding the two roundings of the expansion, those of the direct ‖x − y‖² (at most γ_d of it,
    /// and it is at most 2(‖x‖² + ‖y‖²)) and those of the scaling, the approximate logit a_k is
    /// within δ = (4γ_d + 10ε)(‖x‖² + max_k ‖y_k‖²)/(2σ²) of e_k = −‖x − y_k‖²/(2σ²) summed
    /// coordinate by coordinate, as [`Self::posterior_logits`] does. When δ ≤ [`MAX_LOGIT_ERROR`]
    /// the a_k are used as they are. Otherwise the logits with a_k ≥ max a − CUTOFF − 2δ are
    /// recomputed as e_k: these include the largest e_k, M (its a_k ≥ M − δ ≥ max a − 2δ), and every
    /// other a_k and e_k lies below max a − CUTOFF − δ ≤ M − CUTOFF, so the truncated softmax
    /// gives those weight 0 either way and the weights are the ones of the e_k, whatever δ.
    fn weigh_rows(&self, x: &[f64], inv: f64, g: &mut [f64], out: &mut [f64]) -> Vec<usize> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, as just checked.
            return unsafe { self.weigh_rows_avx2(x, inv, g, out) };
        }
        self.weigh_rows_any(x, inv, g, out)
    }

    /// [`Self::weigh_rows_any`] compiled for 4-wide vectors (no FMA: the same bits as the baseline).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn weigh_rows_avx2(&self, x: &[f64], inv: f64, g: &mut [f64], out: &mut [f64]) -> Vec<usize> {
        self.weigh_rows_any(x, inv, g, out)
    }

    #[inline(always)]
    fn weigh_rows_any(&self, x: &[f64], inv: f64, g: &mut [f64], out: &mut [f64]) -> Vec<usize> {
        let (d, n_pts) = (self.dim, self.len());
        let gamma = d as f64 * f64::EPSILON / (1.0 - d as f64 * f64::EPSILON);
        let bound = 4.0 * gamma + 10.0 * f64::EPSILON;
        let mut dense = Vec::with_capacity(x.len() / d);
        for (r, (xi, o)) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)).enumerate() {
            let row = &mut g[r * n_pts..(r + 1) * n_pts];
            let xn: f64 = xi.iter().map(|v| v * v).sum();
            row.iter_mut().zip(&self.norms).for_each(|(g, yn)| *g = -(xn - 2.0 * *g + yn).max(0.0) * inv);
            let delta = bound * (xn + self.largest_norm) * inv;
            if delta > MAX_LOGIT_ERROR {
                let floor = crate::logspace::max(row) - SOFTMAX_CUTOFF - 2.0 * delta;
                for_each_at_least(row, floor, |k, a| *a = -squared_distance(xi, self.point(k)) * inv);
            }
            softmax_truncated_in_place(row);
            if row.iter().map(|w| (*w != 0.0) as usize).sum::<usize>() * SPARSE <= n_pts {
                // Few nonzero weights: their sum directly, in order of k.
                o.fill(0.0);
                for_each_at_least(row, f64::MIN_POSITIVE, |k, w| {
                    o.iter_mut().zip(self.point(k)).for_each(|(o, y)| *o += *w * y);
                });
            } else {
                g.copy_within(r * n_pts..(r + 1) * n_pts, dense.len() * n_pts);
                dense.push(r);
            }
        }
        dense
    }

    /// D at one x by the direct sum: the reference the batched path is tested against.
    #[cfg(test)]
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

/// Calls `f(k, &mut v[k])` for each k with v[k] ≥ `floor`, in increasing k. Tests 8 values at a
/// time first (vectorised), so that scattered hits among many misses cost little.
#[inline(always)]
fn for_each_at_least(v: &mut [f64], floor: f64, mut f: impl FnMut(usize, &mut f64)) {
    for (c, chunk) in v.chunks_mut(8).enumerate() {
        let mut hits = chunk.iter().enumerate().fold(0u32, |m, (j, a)| m | (((*a >= floor) as u32) << j));
        while hits != 0 {
            let j = hits.trailing_zeros() as usize;
            f(8 * c + j, &mut chunk[j]);
            hits &= hits - 1;
        }
    }
}

impl Denoiser for PointSet {
    fn dim(&self) -> usize {
        self.dim
    }

    fn denoise(&self, x: &[f64], sigma: f64, out: &mut [f64]) -> anyhow::Result<()> {
        // Parallel over fixed chunks of rows, each computed by one thread from start to end (its
        // products sequential), so the bits do not depend on the number of threads.
        let chunk = ROWS * self.dim;
        let buffer = (x.len() / self.dim).min(ROWS) * self.len();
        x.par_chunks(chunk)
            .zip(out.par_chunks_mut(chunk))
            .for_each_init(|| vec![0.0; buffer], |g, (xb, ob)| self.denoise_rows(xb, sigma, g, ob));
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

    /// 300 rows of x (nine full chunks and a partial one) and 500 points in 20-D, shifted by `shift`.
    fn bench_like(shift: f64) -> (PointSet, Vec<f64>) {
        let (d, n) = (20, 500);
        let pts: Vec<f64> = (0..n * d).map(|i| shift + ((i * 7919 % 1009) as f64 / 504.5 - 1.0) * 2.0).collect();
        let x = (0..300 * d).map(|i| shift + ((i * 104729 % 997) as f64 / 498.5 - 1.0) * 2.5).collect();
        (PointSet::new(d, pts), x)
    }

    #[test]
    fn batched_path_agrees_with_the_direct_sum() {
        // Small σ (where ‖x‖² − 2⟨x, y⟩ + ‖y‖² cancels and the logits near the top are recomputed),
        // large σ (every weight nonzero), and points 10³ away from the origin (cancellation even
        // at σ = 5). Each row must agree with the direct sum to 1e−8 of its largest coordinate.
        for shift in [0.0, 1e3] {
            let (p, x) = bench_like(shift);
            let d = p.dim();
            for sigma in [0.002, 0.01, 0.05, 0.5, 5.0] {
                let mut fast = vec![0.0; x.len()];
                p.denoise(&x, sigma, &mut fast).unwrap();
                for (i, (xi, f)) in x.chunks(d).zip(fast.chunks(d)).enumerate() {
                    let mut slow = vec![0.0; d];
                    p.denoise_one(xi, sigma, &mut slow);
                    let err = f.iter().zip(&slow).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
                    let size = slow.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                    assert!(err <= 1e-8 * size, "shift {shift}, σ = {sigma}, row {i}: {err:e} of {size}");
                }
            }
        }
    }

    #[test]
    fn the_same_bits_on_one_two_and_three_threads() {
        for shift in [0.0, 1e3] {
            let (p, x) = bench_like(shift);
            for sigma in [0.002, 0.05, 0.5, 5.0] {
                let outs: Vec<Vec<u64>> = [1, 2, 3]
                    .map(|threads| {
                        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                        let mut out = vec![0.0; x.len()];
                        pool.install(|| p.denoise(&x, sigma, &mut out)).unwrap();
                        out.iter().map(|v| v.to_bits()).collect()
                    })
                    .into();
                assert!(outs[1] == outs[0] && outs[2] == outs[0], "shift {shift}, σ = {sigma}");
            }
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

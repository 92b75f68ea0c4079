//! The variance study on a uniform finite point set {x_k}_{k=1}^N (the thesis's CIFAR-10-4096,
//! App. B.1.1 l.3841–3849), with the exact posterior w_k(x̃) = softmax_k(−‖x̃ − x_k‖²/(2σ²)):
//!   V_DSM(x̃)·σ⁴ = Tr Cov_w(x) = ½ Σ_{k,l} w_k w_l ‖x_k − x_l‖²  (no cancellation),
//!   D_f(p₀‖p_{0|t})(x̃) = Σ_k w_k f(1/(N w_k)),  D_f(p_{0|t}‖p₀)(x̃) = Σ_k f(N w_k)/N,
//!   V_STF(x̃; n): reference batches x₁ ~ w, x_{2..n} ~ U{data}, target covariance over redraws.
//! Distances from x̃ = x_J + σz to all points come from the pairwise squared distances and
//! u = Xz: ‖x̃ − x_k‖² = ‖x_J − x_k‖² + 2σ(u_J − u_k) + σ²‖z‖², one matrix product per t.

use crate::divergence::ln_f_of_ln;
use crate::summary::{trace_covariance, PerXtilde};
use exact_denoisers::{clear_avx_upper_state, fixed_par, logsumexp, softmax_in_place};
use faer::{linalg::matmul::matmul, Accum, Mat, MatMut, MatRef};
use rand::Rng as _;
use rayon::prelude::*;
use seeding::Stream;

/// A uniform point set prepared for the study: the points and all pairwise squared distances.
pub struct DiscreteSet {
    n: usize,
    dim: usize,
    points: Vec<f64>,
    sq_dists: Vec<f64>,
}

/// Sizes of the Monte Carlo at one t.
#[derive(Clone, Debug, PartialEq)]
pub struct DiscreteStudy {
    /// Noisy points x̃ per t (thesis: 200).
    pub xtildes: usize,
    /// Draws from the exact posterior per x̃ for the Monte Carlo V_DSM.
    pub inner: usize,
    /// How many of the x̃ also estimate V_STF.
    pub stf_xtildes: usize,
    /// Reference batches per x̃ for V_STF (at least 2).
    pub redraws: usize,
    /// Reference batch sizes n (ascending); batches of different n share their first draws.
    pub ns: Vec<usize>,
}

impl DiscreteSet {
    /// Prepares `points` (row-major, N × dim): one Gram matrix product, O(N²·dim).
    pub fn new(dim: usize, points: Vec<f64>) -> Self {
        let n = points.len() / dim;
        let x = MatRef::from_row_major_slice(&points, n, dim);
        let mut gram = Mat::<f64>::zeros(n, n);
        matmul(gram.as_mut(), Accum::Replace, x, x.transpose(), 1.0, fixed_par());
        let diag: Vec<f64> = (0..n).map(|k| gram[(k, k)]).collect();
        let mut sq_dists = vec![0.0; n * n];
        sq_dists.par_chunks_mut(n).enumerate().for_each(|(j, row)| {
            for (k, v) in row.iter_mut().enumerate() {
                *v = if j == k { 0.0 } else { (diag[j] + diag[k] - 2.0 * gram[(j, k)]).max(0.0) };
            }
        });
        DiscreteSet { n, dim, points, sq_dists }
    }

    /// Number of points N.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True for an empty set.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Dimension d.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// ‖x_j − x_k‖².
    pub fn sq_dist(&self, j: usize, k: usize) -> f64 {
        self.sq_dists[j * self.n + k]
    }

    fn point(&self, k: usize) -> &[f64] {
        &self.points[k * self.dim..(k + 1) * self.dim]
    }
}

/// Index of a categorical draw from probabilities `w` given u ∈ [0, 1).
fn categorical(w: &[f64], u: f64) -> usize {
    let mut acc = 0.0;
    for (k, wk) in w.iter().enumerate() {
        acc += wk;
        if u < acc {
            return k;
        }
    }
    w.len() - 1
}

impl DiscreteStudy {
    /// Every x̃ of one t at noise level σ, drawn from `stream` (x̃ i uses `stream.child(i)`).
    pub fn at(&self, set: &DiscreteSet, sigma: f64, stream: Stream) -> Vec<PerXtilde> {
        let (n, d, m) = (set.n, set.dim, self.xtildes);
        let s2 = sigma * sigma;
        // x̃_i = x_{J_i} + σ z_i.
        let draws: Vec<(usize, Vec<f64>)> = (0..m)
            .into_par_iter()
            .map(|i| {
                let mut rng = stream.child(i as u64).named("xtilde").rng();
                let j = rng.random_range(0..n);
                (j, seeding::normals(&mut rng, d))
            })
            .collect();
        let z: Vec<f64> = draws.iter().flat_map(|(_, z)| z.iter().copied()).collect();
        let mut u = Mat::<f64>::zeros(m, n);
        matmul(
            u.as_mut(),
            Accum::Replace,
            MatRef::from_row_major_slice(&z, m, d),
            MatRef::from_row_major_slice(&set.points, n, d).transpose(),
            1.0,
            fixed_par(),
        );

        // Posterior logits and weights, one row per x̃.
        let mut logits = vec![0.0; m * n];
        let mut weights = vec![0.0; m * n];
        let mut lse = vec![0.0; m];
        logits
            .par_chunks_mut(n)
            .zip(weights.par_chunks_mut(n))
            .zip(lse.par_iter_mut())
            .enumerate()
            .for_each(|(i, ((l, w), lse))| {
                clear_avx_upper_state();
                let (j, zi) = &draws[i];
                let zz: f64 = zi.iter().map(|v| v * v).sum();
                for k in 0..n {
                    let dist = set.sq_dist(*j, k) + 2.0 * sigma * (u[(i, *j)] - u[(i, k)]) + s2 * zz;
                    l[k] = -0.5 * dist / s2;
                }
                w.copy_from_slice(l);
                *lse = softmax_in_place(w);
            });
        // P = W·D², so that Σ_l w_l‖x_k − x_l‖² = P_ik.
        let mut p = vec![0.0; m * n];
        matmul(
            MatMut::from_row_major_slice_mut(&mut p, m, n),
            Accum::Replace,
            MatRef::from_row_major_slice(&weights, m, n),
            MatRef::from_row_major_slice(&set.sq_dists, n, n),
            1.0,
            fixed_par(),
        );

        (0..m)
            .into_par_iter()
            .map(|i| {
                clear_avx_upper_state();
                let w = &weights[i * n..(i + 1) * n];
                let l = &logits[i * n..(i + 1) * n];
                let pi = &p[i * n..(i + 1) * n];
                let trace = 0.5 * w.iter().zip(pi).map(|(a, b)| a * b).sum::<f64>();
                // ‖x_k − posterior mean‖² = P_ik − Tr Cov, for the Monte Carlo form of Eq. 3.3.
                let mut rng = stream.child(i as u64).named("inner").rng();
                let mc = (0..self.inner).map(|_| (pi[categorical(w, rng.random())] - trace).max(0.0)).sum::<f64>() / self.inner as f64;
                let nf = n as f64;
                let df_thm2: f64 = w
                    .iter()
                    .map(|&wk| {
                        if nf * wk <= 1.0 / 1.5 {
                            8.0 / (27.0 * nf) - wk / 3.0
                        } else {
                            wk * (nf * wk - 1.0).powi(2)
                        }
                    })
                    .sum();
                let ln_terms: Vec<f64> = l.iter().map(|lk| ln_f_of_ln(nf.ln() + lk - lse[i])).collect();
                let vstf = if i < self.stf_xtildes {
                    self.vstf(set, w, l, sigma, stream.child(i as u64).named("stf"))
                } else {
                    Vec::new()
                };
                PerXtilde {
                    vdsm_mc: mc / (s2 * s2),
                    vdsm_exact: trace / (s2 * s2),
                    ln_df_thm2: df_thm2.max(0.0).ln(),
                    ln_df_sec351: logsumexp(&ln_terms) - nf.ln(),
                    vstf,
                }
            })
            .collect()
    }

    fn vstf(&self, set: &DiscreteSet, w: &[f64], logits: &[f64], sigma: f64, stream: Stream) -> Vec<f64> {
        let (d, s2) = (set.dim, sigma * sigma);
        let n_max = *self.ns.last().expect("at least one n");
        let mut rng = stream.rng();
        let mut rows: Vec<Vec<f64>> = vec![Vec::with_capacity(self.redraws * d); self.ns.len()];
        for _ in 0..self.redraws {
            let mut idx = Vec::with_capacity(n_max);
            idx.push(categorical(w, rng.random()));
            idx.extend((1..n_max).map(|_| rng.random_range(0..set.n)));
            for (j, &n) in self.ns.iter().enumerate() {
                let mut wn: Vec<f64> = idx[..n].iter().map(|&k| logits[k]).collect();
                softmax_in_place(&mut wn);
                let top = wn.iter().copied().fold(0.0, f64::max);
                let mut t = vec![0.0; d];
                for (&wk, &k) in wn.iter().zip(&idx[..n]) {
                    // Weights below 1e-18 of the largest change no digit of the sum.
                    if wk > 1e-18 * top {
                        t.iter_mut().zip(set.point(k)).for_each(|(ti, x)| *ti += wk * x);
                    }
                }
                rows[j].extend(t);
            }
        }
        rows.iter().map(|r| trace_covariance(r, d) / (s2 * s2)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use exact_denoisers::PointSet;

    fn small_set() -> (usize, Vec<f64>) {
        let d = 5;
        let pts: Vec<f64> = (0..40 * d)
            .map(|i| ((i * 37 % 23) as f64 / 11.0 - 1.0) + if i / d < 20 { 2.0 } else { 0.0 })
            .collect();
        (d, pts)
    }

    #[test]
    fn exact_posterior_trace_matches_point_set_posterior() {
        let (d, pts) = small_set();
        let set = DiscreteSet::new(d, pts.clone());
        let ps = PointSet::new(d, pts);
        let study = DiscreteStudy {
            xtildes: 6,
            inner: 20_000,
            stf_xtildes: 0,
            redraws: 2,
            ns: vec![1],
        };
        let sigma = 0.8;
        let res = study.at(&set, sigma, Stream::new(1));
        // Rebuild the same x̃ from the same streams and compare with a direct computation.
        for (i, r) in res.iter().enumerate() {
            let mut rng = Stream::new(1).child(i as u64).named("xtilde").rng();
            let j = rng.random_range(0..set.len());
            let z = seeding::normals(&mut rng, d);
            let xt: Vec<f64> = ps.point(j).iter().zip(&z).map(|(a, b)| a + sigma * b).collect();
            let w = ps.posterior(&xt, sigma);
            let mut mean = vec![0.0; d];
            for (k, wk) in w.iter().enumerate() {
                mean.iter_mut().zip(ps.point(k)).for_each(|(m, x)| *m += wk * x);
            }
            let tr: f64 = (0..set.len()).map(|k| w[k] * exact_denoisers::squared_distance(ps.point(k), &mean)).sum();
            let exact = tr / sigma.powi(4);
            assert!((r.vdsm_exact - exact).abs() < 1e-9 * exact, "{} vs {exact}", r.vdsm_exact);
            assert!((r.vdsm_mc - exact).abs() < 0.05 * exact);
            // D_f(p₀‖p_{0|t}) directly from f.
            let n = set.len() as f64;
            let df: f64 = w.iter().map(|wk| wk * crate::divergence::f(1.0 / (n * wk))).sum();
            assert!((r.ln_df_thm2 - df.ln()).abs() < 1e-9);
            let df2: f64 = w.iter().map(|wk| crate::divergence::f(n * wk) / n).sum();
            assert!((r.ln_df_sec351 - df2.ln()).abs() < 1e-9);
        }
    }

    #[test]
    fn stf_with_one_reference_point_is_dsm_and_shrinks_with_n() {
        let (d, pts) = small_set();
        let set = DiscreteSet::new(d, pts);
        let study = DiscreteStudy {
            xtildes: 40,
            inner: 10,
            stf_xtildes: 40,
            redraws: 400,
            ns: vec![1, 8, 32],
        };
        let res = study.at(&set, 3.0, Stream::new(2));
        let mean = |f: &dyn Fn(&PerXtilde) -> f64| res.iter().map(f).sum::<f64>() / res.len() as f64;
        let (dsm, n1, n8, n32) = (mean(&|r| r.vdsm_exact), mean(&|r| r.vstf[0]), mean(&|r| r.vstf[1]), mean(&|r| r.vstf[2]));
        assert!((n1 - dsm).abs() < 0.05 * dsm, "{n1} vs {dsm}");
        assert!(n8 < n1 && n32 < n8, "{n1} {n8} {n32}");
    }
}

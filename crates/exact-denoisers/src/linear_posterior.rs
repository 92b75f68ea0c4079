//! The exact posterior of an isotropic Gaussian-mixture prior z ∼ Σ_k π_k N(μ_k, s_k² I) given a
//! linear Gaussian measurement y = B z + v, v ∼ N(0, σ_v² I_m): again a Gaussian mixture, with
//! per component (Bishop, PRML §2.3.3)
//!
//!   precision P_k = I/s_k² + BᵀB/σ_v²,   mean m_k = P_k⁻¹(μ_k/s_k² + Bᵀy/σ_v²),
//!   weight w_k ∝ π_k N(y; Bμ_k, s_k² BBᵀ + σ_v² I_m).
//!
//! Every P_k is diagonal in the eigenbasis U of BᵀB (eigenvalues λ_i), so one d × d
//! eigendecomposition serves all components, and the m × m evidence covariance is handled by
//! Woodbury and the matrix determinant lemma in d dimensions:
//!
//!   rᵀ(σ_v²I + s²BBᵀ)⁻¹r = ‖r‖²/σ_v² − (Bᵀr)ᵀP⁻¹(Bᵀr)/σ_v⁴,  log det = m log σ_v² + Σ_i log(1 + s²λ_i/σ_v²),
//!
//! with r = y − Bμ_k. This is the closed-form reference of the latent inverse-problem toys
//! (RSD Table 1 analog), where B = A W is the mask times the decoder.

use crate::{logsumexp, softmax_in_place, squared_distance, GaussianMixture};
use faer::{Mat, Side};

/// p(z | y) for a Gaussian-mixture prior and a linear Gaussian measurement.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearGaussianPosterior {
    dim: usize,
    /// Posterior component weights w_k (normalised).
    pub weights: Vec<f64>,
    /// Posterior component means m_k, row-major K × dim.
    pub means: Vec<f64>,
    /// The eigenbasis U of BᵀB, row-major dim × dim (column i is eigenvector i).
    basis: Vec<f64>,
    /// The eigenvalues of each P_k in that basis, row-major K × dim.
    precisions: Vec<f64>,
    /// log p(y), the evidence.
    pub log_evidence: f64,
}

impl LinearGaussianPosterior {
    /// The posterior of `prior` (every s_k² > 0) given y = B z + v, B row-major (y.len() × dim),
    /// v ∼ N(0, noise_var·I).
    pub fn new(prior: &GaussianMixture, b: &[f64], y: &[f64], noise_var: f64) -> Self {
        let (d, m) = (prior.dim(), y.len());
        assert!(b.len() == m * d, "posterior: B must be {m} × {d}, got {} values", b.len());
        assert!(
            noise_var > 0.0 && prior.variances.iter().all(|&s| s > 0.0),
            "posterior: σ_v² and every s_k² must be > 0"
        );
        let row = |r: usize| &b[r * d..(r + 1) * d];
        // Bᵀv for an m-vector v.
        let bt = |v: &[f64]| -> Vec<f64> { (0..d).map(|c| (0..m).map(|r| row(r)[c] * v[r]).sum()).collect() };
        let btb = Mat::from_fn(d, d, |i, j| (0..m).map(|r| row(r)[i] * row(r)[j]).sum::<f64>());
        let evd = btb.self_adjoint_eigen(Side::Lower).expect("the self-adjoint eigensolver converges");
        let (u, s) = (evd.U(), evd.S());
        let basis: Vec<f64> = (0..d).flat_map(|i| (0..d).map(move |j| u[(i, j)])).collect();
        // Rounding can leave a tiny negative eigenvalue of a rank-deficient BᵀB.
        let lambda: Vec<f64> = (0..d).map(|i| s[i].max(0.0)).collect();
        // Coordinates in the eigenbasis (Uᵀv) and back (U w).
        let to_eig = |v: &[f64]| -> Vec<f64> { (0..d).map(|j| (0..d).map(|i| basis[i * d + j] * v[i]).sum()).collect() };
        let from_eig = |w: &[f64]| -> Vec<f64> { (0..d).map(|i| (0..d).map(|j| basis[i * d + j] * w[j]).sum()).collect() };
        let bty = bt(y);
        let k = prior.components();
        let (mut means, mut precisions, mut logw) = (Vec::with_capacity(k * d), Vec::with_capacity(k * d), Vec::with_capacity(k));
        for c in 0..k {
            let (mu, s2) = (prior.mean(c), prior.variances[c]);
            let p: Vec<f64> = lambda.iter().map(|l| 1.0 / s2 + l / noise_var).collect();
            // m_k = U diag(1/p) Uᵀ (μ_k/s² + Bᵀy/σ_v²).
            let rhs: Vec<f64> = mu.iter().zip(&bty).map(|(a, b)| a / s2 + b / noise_var).collect();
            let mean = from_eig(&to_eig(&rhs).iter().zip(&p).map(|(w, p)| w / p).collect::<Vec<_>>());
            // log N(y; Bμ_k, s²BBᵀ + σ_v²I) by Woodbury and the determinant lemma.
            let r: Vec<f64> = (0..m).map(|i| y[i] - row(i).iter().zip(mu).map(|(a, b)| a * b).sum::<f64>()).collect();
            let btr = to_eig(&bt(&r));
            let quad = r.iter().map(|v| v * v).sum::<f64>() / noise_var - btr.iter().zip(&p).map(|(w, p)| w * w / p).sum::<f64>() / (noise_var * noise_var);
            let logdet = m as f64 * noise_var.ln() + lambda.iter().map(|l| (s2 * l / noise_var).ln_1p()).sum::<f64>();
            logw.push(prior.weights[c].ln() - 0.5 * (quad + logdet + m as f64 * (2.0 * std::f64::consts::PI).ln()));
            means.extend(mean);
            precisions.extend(p);
        }
        let log_evidence = logsumexp(&logw);
        softmax_in_place(&mut logw);
        LinearGaussianPosterior {
            dim: d,
            weights: logw,
            means,
            basis,
            precisions,
            log_evidence,
        }
    }

    /// Dimension of z.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of components K (those of the prior, some possibly of negligible weight).
    pub fn components(&self) -> usize {
        self.weights.len()
    }

    /// Mean of component k.
    pub fn mean(&self, k: usize) -> &[f64] {
        &self.means[k * self.dim..(k + 1) * self.dim]
    }

    /// Uᵀ(z − m_k): a point's offset from component k in the eigenbasis.
    fn offset(&self, z: &[f64], k: usize) -> Vec<f64> {
        let d = self.dim;
        (0..d).map(|j| (0..d).map(|i| self.basis[i * d + j] * (z[i] - self.mean(k)[i])).sum()).collect()
    }

    /// log w_k + log N(z; m_k, P_k⁻¹) for every component.
    pub fn log_joint(&self, z: &[f64]) -> Vec<f64> {
        let d = self.dim;
        (0..self.components())
            .map(|k| {
                let p = &self.precisions[k * d..(k + 1) * d];
                let quad: f64 = self.offset(z, k).iter().zip(p).map(|(w, p)| p * w * w).sum();
                let logdet: f64 = p.iter().map(|p| p.ln()).sum();
                self.weights[k].ln() - 0.5 * (quad - logdet + d as f64 * (2.0 * std::f64::consts::PI).ln())
            })
            .collect()
    }

    /// log p(z | y).
    pub fn log_density(&self, z: &[f64]) -> f64 {
        logsumexp(&self.log_joint(z))
    }

    /// One draw from a uniform u (component choice, as [`GaussianMixture::component_for`]) and a
    /// standard normal vector e: m_k + U diag(P_k^{−1/2}) e.
    pub fn sample_with(&self, u: f64, e: &[f64], out: &mut [f64]) {
        let d = self.dim;
        let mut acc = 0.0;
        let mut k = self.components() - 1;
        for (j, w) in self.weights.iter().enumerate() {
            acc += w;
            if u < acc {
                k = j;
                break;
            }
        }
        let p = &self.precisions[k * d..(k + 1) * d];
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.mean(k)[i] + (0..d).map(|j| self.basis[i * d + j] * e[j] / p[j].sqrt()).sum::<f64>();
        }
    }

    /// The components of weight ≥ `min_weight` (the posterior's modes for coverage counts).
    pub fn significant(&self, min_weight: f64) -> Vec<usize> {
        (0..self.components()).filter(|&k| self.weights[k] >= min_weight).collect()
    }

    /// Among `modes`, the one whose mean mapped by `map` (e.g. the decoder W) is nearest to `x`.
    pub fn nearest(&self, x: &[f64], modes: &[usize], map: impl Fn(&[f64]) -> Vec<f64>) -> usize {
        let mapped: Vec<(usize, f64)> = modes.iter().map(|&k| (k, squared_distance(x, &map(self.mean(k))))).collect();
        mapped.iter().min_by(|a, b| a.1.total_cmp(&b.1)).expect("at least one mode").0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prior() -> GaussianMixture {
        GaussianMixture::new(3, vec![0.2, 0.5, 0.3], vec![1.0, 0.0, -1.0, -1.0, 0.5, 0.0, 0.3, 2.0, 1.0], vec![0.3, 0.1, 0.6])
    }

    #[test]
    fn bayes_rule_holds_pointwise() {
        // p(z | y) p(y) = Σ_k π_k N(z; μ_k, s_k²I) N(y; Bz, σ_v²I) at any z, for a full B.
        let g = prior();
        let b = [0.7, -0.2, 0.4, 0.1, 1.1, -0.5, -0.6, 0.3, 0.9, 0.2, 0.2, 0.2, 1.5, 0.0, -0.3];
        let (y, nv) = ([0.4, -0.8, 1.2, 0.1, 0.9], 0.05);
        let post = LinearGaussianPosterior::new(&g, &b, &y, nv);
        assert!((post.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        for z in [[0.1, 0.2, 0.3], [1.0, -1.0, 0.0], [-0.4, 0.8, 1.7]] {
            let lik: f64 = (0..5)
                .map(|r| {
                    let bz: f64 = (0..3).map(|c| b[r * 3 + c] * z[c]).sum();
                    -0.5 * (y[r] - bz).powi(2) / nv - 0.5 * (2.0 * std::f64::consts::PI * nv).ln()
                })
                .sum();
            let want = g.log_density(&z, 0.0) + lik - post.log_evidence;
            assert!((post.log_density(&z) - want).abs() < 1e-9, "{} vs {want}", post.log_density(&z));
        }
    }

    #[test]
    fn a_half_mask_in_two_dimensions_matches_the_coordinatewise_formula() {
        // B = [1 0]: the first coordinate is N((σ_v²μ₁ + s²y)/(s² + σ_v²), s²σ_v²/(s² + σ_v²)), the
        // second keeps the prior's N(μ₂, s²), weights ∝ π_k N(y; μ_k1, s_k² + σ_v²).
        let g = GaussianMixture::new(2, vec![1.0, 2.0], vec![2.0, 2.0, -1.0, -2.0], vec![0.25, 0.5]);
        let (y, nv) = (1.3, 0.01);
        let post = LinearGaussianPosterior::new(&g, &[1.0, 0.0], &[y], nv);
        let mut lw: Vec<f64> = (0..2)
            .map(|k| {
                let v = g.variances[k] + nv;
                g.weights[k].ln() - 0.5 * (y - g.mean(k)[0]).powi(2) / v - 0.5 * v.ln()
            })
            .collect();
        softmax_in_place(&mut lw);
        for (k, w) in lw.iter().enumerate() {
            let (m, s2) = (g.mean(k), g.variances[k]);
            assert!((post.weights[k] - w).abs() < 1e-12);
            assert!((post.mean(k)[0] - (nv * m[0] + s2 * y) / (s2 + nv)).abs() < 1e-12);
            assert!((post.mean(k)[1] - m[1]).abs() < 1e-12);
        }
        // Draws with e = (1, 0) and (0, 1) move by one posterior s.d. along each axis.
        let mut out = [0.0; 2];
        post.sample_with(0.0, &[0.0, 1.0], &mut out);
        let moved = [out[0] - post.mean(0)[0], out[1] - post.mean(0)[1]];
        let sds = [(0.25 * nv / (0.25 + nv)).sqrt(), 0.5];
        assert!(
            (moved[0].abs() - sds[0]).abs() < 1e-12 && moved[1].abs() < 1e-12 || (moved[1].abs() - sds[1]).abs() < 1e-12 && moved[0].abs() < 1e-12,
            "{moved:?}"
        );
    }
}

//! Isotropic Gaussian mixtures p₀ = Σ_k π_k N(μ_k, s_k² I). Their noisy marginals are mixtures with
//! variances s_k² + σ², and the posterior of x₀ given x is again an isotropic mixture with
//! responsibilities r_k ∝ π_k N(x; μ_k, (s_k² + σ²)I), means (σ²μ_k + s_k² x)/(s_k² + σ²) and
//! variances s_k²σ²/(s_k² + σ²). D(x; σ) is that posterior's mean.

use crate::{logsumexp, softmax_in_place, squared_distance};
use diffusion::Denoiser;
use rayon::prelude::*;

/// An isotropic Gaussian mixture in ℝ^dim.
#[derive(Clone, Debug, PartialEq)]
pub struct GaussianMixture {
    dim: usize,
    /// Mixture weights π_k (normalised at construction).
    pub weights: Vec<f64>,
    /// Component means μ_k, row-major K × dim.
    pub means: Vec<f64>,
    /// Component variances s_k² (0 allowed: a point mass).
    pub variances: Vec<f64>,
}

impl GaussianMixture {
    /// A mixture from weights (any positive scale), row-major means and per-component variances.
    pub fn new(dim: usize, weights: Vec<f64>, means: Vec<f64>, variances: Vec<f64>) -> Self {
        let k = weights.len();
        assert!(
            k > 0 && means.len() == k * dim && variances.len() == k,
            "mixture: {k} weights, {} mean values for dim {dim}, {} variances",
            means.len(),
            variances.len()
        );
        assert!(
            weights.iter().all(|&w| w > 0.0) && variances.iter().all(|&v| v >= 0.0),
            "mixture: weights must be > 0 and variances ≥ 0"
        );
        let total: f64 = weights.iter().sum();
        GaussianMixture {
            dim,
            weights: weights.into_iter().map(|w| w / total).collect(),
            means,
            variances,
        }
    }

    /// Dimension of the space.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of components K.
    pub fn components(&self) -> usize {
        self.weights.len()
    }

    /// Mean of component k.
    pub fn mean(&self, k: usize) -> &[f64] {
        &self.means[k * self.dim..(k + 1) * self.dim]
    }

    /// log π_k + log N(x; μ_k, (s_k² + σ²)I) for every component.
    pub fn log_joint(&self, x: &[f64], sigma: f64) -> Vec<f64> {
        let d = self.dim as f64;
        (0..self.components())
            .map(|k| {
                let v = self.variances[k] + sigma * sigma;
                self.weights[k].ln() - 0.5 * squared_distance(x, self.mean(k)) / v - 0.5 * d * (2.0 * std::f64::consts::PI * v).ln()
            })
            .collect()
    }

    /// log p_σ(x).
    pub fn log_density(&self, x: &[f64], sigma: f64) -> f64 {
        logsumexp(&self.log_joint(x, sigma))
    }

    /// The posterior p(x₀ | x) at noise level σ, itself an isotropic mixture.
    pub fn posterior(&self, x: &[f64], sigma: f64) -> GaussianMixture {
        let mut r = self.log_joint(x, sigma);
        softmax_in_place(&mut r);
        let s2 = sigma * sigma;
        let mut means = Vec::with_capacity(self.means.len());
        let mut variances = Vec::with_capacity(r.len());
        for k in 0..self.components() {
            let v = self.variances[k];
            means.extend(self.mean(k).iter().zip(x).map(|(m, xi)| (s2 * m + v * xi) / (v + s2)));
            variances.push(v * s2 / (v + s2));
        }
        // Components whose responsibility underflowed to 0 carry no mass: drop them so π > 0 holds.
        let keep: Vec<usize> = (0..r.len()).filter(|&k| r[k] > 0.0).collect();
        GaussianMixture {
            dim: self.dim,
            weights: keep.iter().map(|&k| r[k]).collect(),
            means: keep.iter().flat_map(|&k| means[k * self.dim..(k + 1) * self.dim].iter().copied()).collect(),
            variances: keep.iter().map(|&k| variances[k]).collect(),
        }
    }

    /// The Jacobian ∇ₓ∇ₓ log p_σ(x) of the score, row-major dim × dim: with responsibilities r_k,
    /// v_k = s_k² + σ² and component scores s_k = (μ_k − x)/v_k, it is
    /// −Σ r_k I/v_k + Σ r_k s_k s_kᵀ − s̄ s̄ᵀ (s̄ = Σ r_k s_k): each component's −I/v_k plus the
    /// posterior covariance of the component scores.
    pub fn score_jacobian(&self, x: &[f64], sigma: f64) -> Vec<f64> {
        let d = self.dim;
        let mut r = self.log_joint(x, sigma);
        softmax_in_place(&mut r);
        let mut jac = vec![0.0; d * d];
        let mut mean_score = vec![0.0; d];
        for (k, &rk) in r.iter().enumerate().filter(|(_, &rk)| rk > 0.0) {
            let v = self.variances[k] + sigma * sigma;
            let sk: Vec<f64> = self.mean(k).iter().zip(x).map(|(m, xi)| (m - xi) / v).collect();
            for i in 0..d {
                jac[i * d + i] -= rk / v;
                for j in 0..d {
                    jac[i * d + j] += rk * sk[i] * sk[j];
                }
                mean_score[i] += rk * sk[i];
            }
        }
        for i in 0..d {
            for j in 0..d {
                jac[i * d + j] -= mean_score[i] * mean_score[j];
            }
        }
        jac
    }

    /// The mixture mean Σ π_k μ_k.
    pub fn overall_mean(&self) -> Vec<f64> {
        let mut m = vec![0.0; self.dim];
        for k in 0..self.components() {
            for (o, v) in m.iter_mut().zip(self.mean(k)) {
                *o += self.weights[k] * v;
            }
        }
        m
    }

    /// Trace of the mixture's covariance: Σ π_k (d s_k² + ‖μ_k‖²) − ‖Σ π_k μ_k‖².
    pub fn covariance_trace(&self) -> f64 {
        let m = self.overall_mean();
        let second: f64 = (0..self.components())
            .map(|k| self.weights[k] * (self.dim as f64 * self.variances[k] + self.mean(k).iter().map(|v| v * v).sum::<f64>()))
            .sum();
        second - m.iter().map(|v| v * v).sum::<f64>()
    }

    /// Picks a component index from a uniform draw u ∈ [0, 1).
    pub fn component_for(&self, u: f64) -> usize {
        let mut acc = 0.0;
        for (k, w) in self.weights.iter().enumerate() {
            acc += w;
            if u < acc {
                return k;
            }
        }
        self.components() - 1
    }

    /// One draw, from a uniform u (component choice) and a standard normal vector z.
    pub fn sample_with(&self, u: f64, z: &[f64], out: &mut [f64]) {
        let k = self.component_for(u);
        let s = self.variances[k].sqrt();
        for ((o, m), zi) in out.iter_mut().zip(self.mean(k)).zip(z) {
            *o = m + s * zi;
        }
    }
}

/// What [`GaussianMixture::posterior`] computes once per σ rather than once per point: the batched
/// denoiser evaluates the same expressions in the same order, so it returns the same bits as
/// `posterior(x, σ).overall_mean()` without allocating per point.
struct PosteriorConstants {
    /// log π_k.
    log_weight: Vec<f64>,
    /// s_k² + σ².
    variance: Vec<f64>,
    /// ½ d log(2π(s_k² + σ²)).
    log_normaliser: Vec<f64>,
    /// σ².
    s2: f64,
}

impl PosteriorConstants {
    fn new(g: &GaussianMixture, sigma: f64) -> Self {
        let d = g.dim as f64;
        let variance: Vec<f64> = g.variances.iter().map(|s| s + sigma * sigma).collect();
        PosteriorConstants {
            log_weight: g.weights.iter().map(|w| w.ln()).collect(),
            log_normaliser: variance.iter().map(|v| 0.5 * d * (2.0 * std::f64::consts::PI * v).ln()).collect(),
            variance,
            s2: sigma * sigma,
        }
    }

    /// Σ_k r_k (σ²μ_k + s_k² x)/(s_k² + σ²) into `out`, with `r` as scratch (K values).
    fn posterior_mean(&self, g: &GaussianMixture, x: &[f64], r: &mut [f64], out: &mut [f64]) {
        for (k, rk) in r.iter_mut().enumerate() {
            *rk = self.log_weight[k] - 0.5 * squared_distance(x, g.mean(k)) / self.variance[k] - self.log_normaliser[k];
        }
        softmax_in_place(r);
        out.fill(0.0);
        // Components whose responsibility underflowed to 0 are skipped, as `posterior` drops them.
        for (k, &rk) in r.iter().enumerate().filter(|(_, &rk)| rk > 0.0) {
            let v = g.variances[k];
            for ((o, m), xi) in out.iter_mut().zip(g.mean(k)).zip(x) {
                *o += rk * ((self.s2 * m + v * xi) / (v + self.s2));
            }
        }
    }
}

impl Denoiser for GaussianMixture {
    fn dim(&self) -> usize {
        self.dim
    }

    fn denoise(&self, x: &[f64], sigma: f64, out: &mut [f64]) -> anyhow::Result<()> {
        let consts = PosteriorConstants::new(self, sigma);
        out.par_chunks_mut(self.dim)
            .zip(x.par_chunks(self.dim))
            .for_each_init(|| vec![0.0; self.components()], |r, (o, xi)| consts.posterior_mean(self, xi, r, o));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_modes() -> GaussianMixture {
        GaussianMixture::new(2, vec![0.3, 0.7], vec![1.0, 0.0, -1.0, 0.5], vec![0.04, 0.25])
    }

    #[test]
    fn batched_denoiser_gives_the_posterior_mean_bit_for_bit() {
        // Includes a point far enough out that one responsibility underflows to 0.
        let g = GaussianMixture::new(2, vec![0.3, 0.7, 0.2], vec![1.0, 0.0, -1.0, 0.5, 40.0, 40.0], vec![0.04, 0.25, 0.0]);
        let x = [0.3, -0.2, 2.0, 1.5, -3.0, 0.1, 39.0, 41.0];
        for &sigma in &[0.01, 0.5, 3.0] {
            let mut out = [0.0; 8];
            g.denoise(&x, sigma, &mut out).unwrap();
            for (o, xi) in out.chunks(2).zip(x.chunks(2)) {
                let expected = g.posterior(xi, sigma).overall_mean();
                assert_eq!(o[0].to_bits(), expected[0].to_bits(), "σ = {sigma}");
                assert_eq!(o[1].to_bits(), expected[1].to_bits(), "σ = {sigma}");
            }
        }
    }

    #[test]
    fn score_jacobian_matches_finite_differences_of_the_score() {
        let g = GaussianMixture::new(2, vec![0.3, 0.5, 0.2], vec![1.0, 0.0, -1.0, 0.5, 0.2, -1.5], vec![0.04, 0.25, 0.1]);
        for &sigma in &[0.05, 0.4, 1.0, 3.0] {
            for x in [[0.3, -0.2], [0.0, 0.25], [-2.0, 1.0]] {
                let jac = g.score_jacobian(&x, sigma);
                let h = 1e-6;
                for j in 0..2 {
                    let (mut a, mut b) = (x, x);
                    a[j] += h;
                    b[j] -= h;
                    let (mut sa, mut sb) = ([0.0; 2], [0.0; 2]);
                    g.score(&a, sigma, &mut sa).unwrap();
                    g.score(&b, sigma, &mut sb).unwrap();
                    for i in 0..2 {
                        let fd = (sa[i] - sb[i]) / (2.0 * h);
                        assert!(
                            (jac[i * 2 + j] - fd).abs() < 1e-5 * (1.0 + fd.abs()),
                            "σ {sigma}, x {x:?}, ({i},{j}): {} vs {fd}",
                            jac[i * 2 + j]
                        );
                    }
                }
                // A Hessian of a log-density is symmetric.
                assert!((jac[1] - jac[2]).abs() < 1e-12 * (1.0 + jac[1].abs()));
            }
        }
    }

    #[test]
    fn single_gaussian_closed_form() {
        // D(x; σ) = (σ²μ + s²x)/(s² + σ²) for N(μ, s²I).
        let g = GaussianMixture::new(1, vec![1.0], vec![2.0], vec![0.5]);
        let mut out = [0.0];
        g.denoise(&[0.0], 1.5, &mut out).unwrap();
        assert!((out[0] - (2.25 * 2.0) / (0.5 + 2.25)).abs() < 1e-14);
    }

    #[test]
    fn score_matches_finite_differences() {
        let g = two_modes();
        for &sigma in &[0.05, 0.5, 3.0] {
            let x = [0.3, -0.2];
            let mut s = [0.0; 2];
            g.score(&x, sigma, &mut s).unwrap();
            for i in 0..2 {
                let h = 1e-5;
                let mut a = x;
                let mut b = x;
                a[i] += h;
                b[i] -= h;
                let fd = (g.log_density(&a, sigma) - g.log_density(&b, sigma)) / (2.0 * h);
                assert!((s[i] - fd).abs() < 1e-6 * (1.0 + fd.abs()), "σ={sigma}: {} vs {fd}", s[i]);
            }
        }
    }

    #[test]
    fn point_masses_agree_with_point_set() {
        let pts = vec![0.0, 1.0, 2.0, -1.0, 0.5, 0.5];
        let g = GaussianMixture::new(2, vec![1.0; 3], pts.clone(), vec![0.0; 3]);
        let p = crate::PointSet::new(2, pts);
        let x = [0.4, 0.1, -3.0, 2.0];
        let (mut a, mut b) = ([0.0; 4], [0.0; 4]);
        g.denoise(&x, 0.7, &mut a).unwrap();
        p.denoise(&x, 0.7, &mut b).unwrap();
        for i in 0..4 {
            assert!((a[i] - b[i]).abs() < 1e-13);
        }
    }

    #[test]
    fn far_modes_in_high_dimension_do_not_overflow() {
        let d = 3072;
        let mut means = vec![0.0; 2 * d];
        means[d..].fill(1.0);
        let g = GaussianMixture::new(d, vec![0.5, 0.5], means, vec![1e-8, 1e-8]);
        let x = vec![0.9; d];
        let mut out = vec![0.0; d];
        g.denoise(&x, 1e-3, &mut out).unwrap();
        assert!(out.iter().all(|v| v.is_finite() && (v - 1.0).abs() < 1e-3));
    }
}

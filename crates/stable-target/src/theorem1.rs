//! Theorem 1 (thesis l.661, proof App. A.1.2): the self-normalised STF target T_n at a fixed
//! (x̃, t), with x₁ ~ p_{0|t}(·|x̃) and x_{2..n} ~ p₀, is asymptotically normal around the score.
//! The thesis states the limit covariance Cov_{p₀}(∇_x̃ p_{t|0}(x̃|x))/p_t(x̃)² (Eq. 3.7). The delta
//! method for the ratio A_n/B_n, A_n = (1/n)Σ p_{t|0}(x̃|x_k)∇log p_{t|0}(x̃|x_k), B_n = (1/n)Σ p_{t|0}(x̃|x_k),
//! gives Cov_{p₀}(∇_x̃ p_{t|0} − p_{t|0}∇log p_t)/p_t² instead (spec §1.2 note, §6 item 6): the two
//! differ unless the score vanishes at x̃. Here p₀ is a 1-D mixture, so both are exact 1-D integrals.
//!
//! Bias: with x₁ from the posterior the target is exactly unbiased for every n. The joint density
//! (φ(x₁)/p_t)Πp₀(x_k) may be symmetrised over which point carries φ, because T_n is symmetric in
//! its points; the symmetrised density is (Σ_k φ(x_k))/(n p_t)·Πp₀, which cancels T_n's denominator
//! and leaves E[T_n] = E_{p₀}[φ g]/p_t = ∇log p_t. The O(1/n) bias belongs to plain self-normalised
//! importance sampling with all n points from p₀, which [`Theorem1Setup::exact_mean`] also computes.

use crate::quadrature::standard_normal_expectation;
use exact_denoisers::{softmax_in_place, GaussianMixture};
use rand::Rng as _;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use seeding::{Rng, Stream};

/// The fixed point of the study: a 1-D mixture p₀, the noisy point x̃ and the noise level σ.
#[derive(Clone, Debug)]
pub struct Theorem1Setup {
    /// The data distribution (dimension 1).
    pub p0: GaussianMixture,
    /// The noisy point x̃.
    pub xt: f64,
    /// σ_t.
    pub sigma: f64,
}

/// Population quantities at (x̃, σ), all exact.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Theorem1Limits {
    /// ∇log p_t(x̃), the quantity the target estimates.
    pub score: f64,
    /// The thesis's limit variance Var_{p₀}(∇_x̃ p_{t|0})/p_t² (Eq. 3.7).
    pub var_thesis: f64,
    /// The delta-method limit variance Var_{p₀}(∇_x̃ p_{t|0} − p_{t|0}·score)/p_t².
    pub var_delta: f64,
}

/// Monte Carlo of T_n for one n.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Theorem1Point {
    /// Reference batch size.
    pub n: usize,
    /// E[T_n] − score.
    pub bias: f64,
    /// Standard error of the bias.
    pub bias_se: f64,
    /// n·Var(T_n).
    pub scaled_var: f64,
    /// Standard error of n·Var(T_n).
    pub scaled_var_se: f64,
}

impl Theorem1Setup {
    fn kernel(&self, x: f64) -> f64 {
        let s2 = self.sigma * self.sigma;
        (-(self.xt - x).powi(2) / (2.0 * s2)).exp() / (2.0 * std::f64::consts::PI * s2).sqrt()
    }

    /// E_{p₀}[h(x)] by quadrature over each component.
    fn expect(&self, h: impl Fn(f64) -> f64) -> f64 {
        (0..self.p0.components())
            .map(|k| {
                let (m, s) = (self.p0.mean(k)[0], self.p0.variances[k].sqrt());
                self.p0.weights[k] * standard_normal_expectation(|z| h(m + s * z))
            })
            .sum()
    }

    /// The exact limits of Theorem 1 and of the delta method.
    pub fn limits(&self) -> Theorem1Limits {
        let s2 = self.sigma * self.sigma;
        let phi = |x: f64| self.kernel(x);
        let g = |x: f64| self.kernel(x) * (x - self.xt) / s2;
        let b = self.expect(phi);
        let a = self.expect(g);
        let score = a / b;
        let (eg2, egp, ep2) = (self.expect(|x| g(x) * g(x)), self.expect(|x| g(x) * phi(x)), self.expect(|x| phi(x) * phi(x)));
        Theorem1Limits {
            score,
            var_thesis: (eg2 - a * a) / (b * b),
            var_delta: (eg2 - 2.0 * score * egp + score * score * ep2) / (b * b),
        }
    }

    /// E[T_n] for each n, exactly (to quadrature precision), by the Laplace identity
    /// 1/S = ∫₀^∞ e^{−uS} du with S = Σ_j φ(x_j), φ(x) = p_{t|0}(x̃|x), g(x) = (x − x̃)/σ²:
    ///   E[T_n] = ∫₀^∞ ( A_q(u) M_p(u)^{n−1} + (n − 1) A_p(u) M_q(u) M_p(u)^{n−2} ) du,
    /// M_p = E_{p₀}[e^{−uφ}], A_p = E_{p₀}[φ g e^{−uφ}], and the q-versions under the posterior
    /// q = p₀φ/p_t that x₁ is drawn from. The u-integral runs over ln u ∈ [−40, 25] by the
    /// trapezoid rule; the integrand is smooth in ln u and vanishes at both ends.
    ///
    /// With `first_from_posterior = false` all n points come from p₀ and the integrand is n·A_p·M_p^{n−1}.
    pub fn exact_mean(&self, ns: &[usize], first_from_posterior: bool) -> Vec<f64> {
        let s2 = self.sigma * self.sigma;
        let phi = |x: f64| self.kernel(x);
        let g = |x: f64| (x - self.xt) / s2;
        let b = self.expect(phi);
        let h = 0.02;
        let steps = (65.0 / h) as usize;
        let mut acc = vec![0.0; ns.len()];
        for i in 0..=steps {
            let u = (-40.0 + i as f64 * h).exp();
            let w = if i == 0 || i == steps { 0.5 } else { 1.0 };
            let mp = self.expect(|x| (-u * phi(x)).exp());
            let mq = self.expect(|x| phi(x) * (-u * phi(x)).exp()) / b;
            let ap = self.expect(|x| phi(x) * g(x) * (-u * phi(x)).exp());
            let aq = self.expect(|x| phi(x) * phi(x) * g(x) * (-u * phi(x)).exp()) / b;
            for (a, &n) in acc.iter_mut().zip(ns) {
                let nf = n as f64;
                let term = if !first_from_posterior {
                    nf * ap * mp.powf(nf - 1.0)
                } else if n >= 2 {
                    aq * mp.powf(nf - 1.0) + (nf - 1.0) * ap * mq * mp.powf(nf - 2.0)
                } else {
                    aq
                };
                *a += w * h * u * term;
            }
        }
        acc
    }

    /// One draw of the STF target T_n (Eq. 3.4 with x₁ from the posterior, Eq. 3.5), or of plain
    /// self-normalised importance sampling when `first_from_posterior` is false.
    pub fn target(&self, n: usize, first_from_posterior: bool, rng: &mut Rng) -> f64 {
        let post = self.p0.posterior(&[self.xt], self.sigma);
        let draw = |p: &GaussianMixture, rng: &mut Rng| {
            let k = p.component_for(rng.random());
            let z: f64 = StandardNormal.sample(rng);
            p.mean(k)[0] + p.variances[k].sqrt() * z
        };
        let xs: Vec<f64> = (0..n)
            .map(|k| {
                if k == 0 && first_from_posterior {
                    draw(&post, rng)
                } else {
                    draw(&self.p0, rng)
                }
            })
            .collect();
        let s2 = self.sigma * self.sigma;
        let mut w: Vec<f64> = xs.iter().map(|x| -(self.xt - x).powi(2) / (2.0 * s2)).collect();
        softmax_in_place(&mut w);
        w.iter().zip(&xs).map(|(wk, x)| wk * (x - self.xt) / s2).sum()
    }

    /// Bias and scaled variance of T_n from `replicates` draws (replicate r uses `stream.child(r)`).
    pub fn monte_carlo(&self, n: usize, replicates: usize, first_from_posterior: bool, stream: Stream, score: f64) -> Theorem1Point {
        let ts: Vec<f64> = (0..replicates)
            .into_par_iter()
            .map(|r| self.target(n, first_from_posterior, &mut stream.child(r as u64).rng()))
            .collect();
        let e = metrics::Estimate::of(&ts);
        let (var, var_se) = metrics::variance_with_se(&ts);
        Theorem1Point {
            n,
            bias: e.mean - score,
            bias_se: e.se,
            scaled_var: n as f64 * var,
            scaled_var_se: n as f64 * var_se,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(xt: f64) -> Theorem1Setup {
        Theorem1Setup {
            p0: GaussianMixture::new(1, vec![0.7, 0.3], vec![-1.0, 1.5], vec![0.09, 0.09]),
            xt,
            sigma: 0.8,
        }
    }

    #[test]
    fn score_is_the_mixture_score_and_formulas_agree_where_it_vanishes() {
        let s = setup(0.3);
        let lim = s.limits();
        let mut sc = [0.0];
        diffusion::Denoiser::score(&s.p0, &[0.3], 0.8, &mut sc).unwrap();
        assert!((lim.score - sc[0]).abs() < 1e-10);
        // A symmetric mixture at its centre: score 0, so the delta method and Eq. 3.7 coincide.
        let sym = Theorem1Setup {
            p0: GaussianMixture::new(1, vec![0.5, 0.5], vec![-1.0, 1.0], vec![0.1, 0.1]),
            xt: 0.0,
            sigma: 0.7,
        };
        let l = sym.limits();
        assert!(l.score.abs() < 1e-12 && (l.var_thesis - l.var_delta).abs() < 1e-10 * l.var_delta);
        assert!((lim.var_thesis - lim.var_delta).abs() > 0.01 * lim.var_delta);
    }

    #[test]
    fn stf_target_is_unbiased_and_plain_self_normalisation_is_biased_like_one_over_n() {
        let s = setup(0.3);
        let lim = s.limits();
        let stf = s.exact_mean(&[1, 3, 50, 1000], true);
        assert!(stf.iter().all(|m| (m - lim.score).abs() < 1e-9), "{stf:?} vs {}", lim.score);
        let iid = s.exact_mean(&[3, 50, 1000, 2000], false);
        for (k, &n) in [3usize, 50].iter().enumerate() {
            for (ffp, exact) in [(true, stf[k + 1]), (false, iid[k])] {
                let p = s.monte_carlo(n, 40_000, ffp, Stream::new(7 + n as u64), lim.score);
                assert!(
                    (p.bias - (exact - lim.score)).abs() < 4.0 * p.bias_se,
                    "n={n}, posterior first {ffp}: MC {} ± {} vs exact {}",
                    p.bias,
                    p.bias_se,
                    exact - lim.score
                );
            }
        }
        let (b1, b2) = (iid[2] - lim.score, iid[3] - lim.score);
        assert!(b1.abs() > 1e-6 && (1000.0 * b1 - 2000.0 * b2).abs() < 0.01 * (1000.0 * b1).abs(), "{b1} {b2}");
    }

    #[test]
    fn one_reference_point_is_the_dsm_target() {
        // n = 1: T = (x₁ − x̃)/σ² with x₁ from the posterior, so E[T] is the score exactly.
        let s = setup(0.3);
        let lim = s.limits();
        let p = s.monte_carlo(1, 40_000, true, Stream::new(4), lim.score);
        assert!(p.bias.abs() < 4.0 * p.bias_se, "bias {} ± {}", p.bias, p.bias_se);
    }
}

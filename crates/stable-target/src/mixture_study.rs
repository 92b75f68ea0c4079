//! The variance study (Eq. 3.3, Theorem 2) on an isotropic Gaussian mixture p₀, estimated as in
//! App. B.1.1: for each x̃ ~ p_t, `inner` draws from the exact posterior p_{0|t}(·|x̃) and from p₀,
//! and for V_STF `redraws` reference batches x₁ ~ p_{0|t}(·|x̃), x_{2..n} ~ p₀ (Eq. 3.5's sampling
//! order, App. A.1.1). All draws use [`Span`]: exact in distribution at q + 1 numbers per draw.

use crate::divergence::ln_f_of_ln;
use crate::span::{Reduced, Span};
use crate::summary::{trace_covariance, PerXtilde};
use exact_denoisers::{log_mean_exp, softmax_in_place, GaussianMixture};
use rand::Rng as _;
use seeding::Rng;

/// Sizes of the Monte Carlo at one x̃.
#[derive(Clone, Debug, PartialEq)]
pub struct MixtureStudy {
    /// Draws from the posterior and from p₀ for V_DSM and D_f (thesis: 1000).
    pub inner: usize,
    /// Reference batches drawn per x̃ for V_STF (at least 2).
    pub redraws: usize,
    /// Reference batch sizes n (ascending); the batches of different n share their first draws.
    pub ns: Vec<usize>,
}

/// A mixture with its components' coordinates in the span of its means and x̃.
struct Reduction {
    span: Span,
    xt: Vec<f64>,
    means: Vec<Vec<f64>>,
}

impl Reduction {
    fn new(p: &GaussianMixture, xt: &[f64]) -> Self {
        let mut vs: Vec<&[f64]> = (0..p.components()).map(|k| p.mean(k)).collect();
        vs.push(xt);
        let span = Span::new(p.dim(), &vs);
        let means = (0..p.components()).map(|k| span.coords(p.mean(k))).collect();
        Reduction {
            xt: span.coords(xt),
            span,
            means,
        }
    }

    fn draw(&self, p: &GaussianMixture, means: &[Vec<f64>], rng: &mut Rng) -> Reduced {
        let k = p.component_for(rng.random());
        self.span.draw(&means[k], p.variances[k], rng)
    }
}

impl MixtureStudy {
    /// Everything x̃ contributes at noise level σ; `with_stf` also estimates V_STF(n) there.
    pub fn at(&self, p0: &GaussianMixture, xt: &[f64], sigma: f64, with_stf: bool, rng: &mut Rng) -> PerXtilde {
        let d = p0.dim() as f64;
        let s2 = sigma * sigma;
        let red = Reduction::new(p0, xt);
        let post = p0.posterior(xt, sigma);
        let post_means: Vec<Vec<f64>> = (0..post.components()).map(|k| red.span.coords(post.mean(k))).collect();
        let post_mean = red.span.coords(&post.overall_mean());
        let score: Vec<f64> = post_mean.iter().zip(&red.xt).map(|(m, x)| (m - x) / s2).collect();
        let ln_pt = p0.log_density(xt, sigma);
        let ln_kernel_const = -0.5 * d * (2.0 * std::f64::consts::PI * s2).ln();
        let ln_kernel = |x: &Reduced| -0.5 * x.dist_sq_to(&red.xt) / s2 + ln_kernel_const;

        // Eq. 3.3 second form, and D_f(p₀‖p_{0|t}) = E_{p_{0|t}} f(p_t(x̃)/p_{t|0}(x̃|x)).
        let mut vdsm = 0.0;
        let mut ln_f_post = Vec::with_capacity(self.inner);
        for _ in 0..self.inner {
            let x = red.draw(&post, &post_means, rng);
            let target: Vec<f64> = x.coords.iter().zip(&red.xt).map(|(a, b)| (a - b) / s2).collect();
            vdsm += target.iter().zip(&score).map(|(a, b)| (a - b) * (a - b)).sum::<f64>() + x.perp_sq / (s2 * s2);
            ln_f_post.push(ln_f_of_ln(ln_pt - ln_kernel(&x)));
        }
        // D_f(p_{0|t}‖p₀) = E_{p₀} f(p_{t|0}(x̃|x)/p_t(x̃)).
        let ln_f_prior: Vec<f64> = (0..self.inner).map(|_| ln_f_of_ln(ln_kernel(&red.draw(p0, &red.means, rng)) - ln_pt)).collect();

        let vstf = if with_stf {
            self.vstf(p0, &post, &post_means, &red, sigma, rng)
        } else {
            Vec::new()
        };
        PerXtilde {
            vdsm_mc: vdsm / self.inner as f64,
            vdsm_exact: post.covariance_trace() / (s2 * s2),
            ln_df_thm2: log_mean_exp(&ln_f_post),
            ln_df_sec351: log_mean_exp(&ln_f_prior),
            vstf,
        }
    }

    /// Tr Cov of the STF target for each n. The target's component orthogonal to the span is
    /// Σ_k w_k √v_k ρ_k^{1/2} u_k with independent uniform directions u_k, so its contribution is
    /// replaced by its conditional expectation Σ_k w_k² v_k ρ_k (Rao–Blackwell): unbiased, and
    /// exact in distribution without drawing 64-dimensional vectors.
    fn vstf(&self, p0: &GaussianMixture, post: &GaussianMixture, post_means: &[Vec<f64>], red: &Reduction, sigma: f64, rng: &mut Rng) -> Vec<f64> {
        let s2 = sigma * sigma;
        let q = red.span.rank();
        let n_max = *self.ns.last().expect("at least one n");
        let mut span_rows: Vec<Vec<f64>> = vec![Vec::with_capacity(self.redraws * q); self.ns.len()];
        let mut perp: Vec<f64> = vec![0.0; self.ns.len()];
        let mut logits = vec![0.0; n_max];
        for _ in 0..self.redraws {
            let mut batch = Vec::with_capacity(n_max);
            batch.push(red.draw(post, post_means, rng));
            batch.extend((1..n_max).map(|_| red.draw(p0, &red.means, rng)));
            for (j, &n) in self.ns.iter().enumerate() {
                let w = &mut logits[..n];
                for (l, x) in w.iter_mut().zip(&batch) {
                    *l = -0.5 * x.dist_sq_to(&red.xt) / s2;
                }
                softmax_in_place(w);
                let mut t = vec![0.0; q];
                let mut perp_part = 0.0;
                for (wk, x) in w.iter().zip(&batch) {
                    t.iter_mut().zip(&x.coords).for_each(|(ti, c)| *ti += wk * c);
                    perp_part += wk * wk * x.perp_sq;
                }
                span_rows[j].extend(t);
                perp[j] += perp_part / self.redraws as f64;
            }
        }
        span_rows
            .iter()
            .zip(&perp)
            .map(|(rows, p)| (trace_covariance(rows, q) + p) / (s2 * s2))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use seeding::Stream;

    #[test]
    fn inner_monte_carlo_agrees_with_exact_posterior_and_n1_is_dsm() {
        let p0 = crate::two_gaussians::TwoGaussians {
            dim: 8,
            mean_coord: 0.3,
            sigma_hat: 0.1,
        }
        .mixture();
        let study = MixtureStudy {
            inner: 4000,
            redraws: 4000,
            ns: vec![1, 4],
        };
        let xt = vec![0.05; 8];
        let r = study.at(&p0, &xt, 0.5, true, &mut Stream::new(5).rng());
        assert!((r.vdsm_mc - r.vdsm_exact).abs() < 0.05 * r.vdsm_exact, "{} vs {}", r.vdsm_mc, r.vdsm_exact);
        // n = 1: the STF target is the DSM target, so its covariance trace is V_DSM(x̃).
        assert!((r.vstf[0] - r.vdsm_exact).abs() < 0.06 * r.vdsm_exact, "{} vs {}", r.vstf[0], r.vdsm_exact);
        assert!(r.vstf[1] < r.vstf[0]);
    }

    #[test]
    fn vstf_matches_brute_force_full_dimensional_draws() {
        // Independent computation: draw 8-D reference batches explicitly and take the covariance trace.
        let tg = crate::two_gaussians::TwoGaussians {
            dim: 8,
            mean_coord: 0.3,
            sigma_hat: 0.2,
        };
        let p0 = tg.mixture();
        let (sigma, n) = (0.6, 3);
        let xt = vec![0.1, -0.2, 0.3, 0.0, 0.05, 0.1, -0.1, 0.2];
        let mut rng = Stream::new(9).rng();
        let post = p0.posterior(&xt, sigma);
        let draws = 40_000;
        let mut rows = Vec::with_capacity(draws * 8);
        for _ in 0..draws {
            let mut batch = Vec::new();
            for k in 0..n {
                let z = seeding::normals(&mut rng, 8);
                let mut x = vec![0.0; 8];
                if k == 0 {
                    post.sample_with(rng.random(), &z, &mut x)
                } else {
                    p0.sample_with(rng.random(), &z, &mut x)
                }
                batch.extend(x);
            }
            let refs = exact_denoisers::PointSet::new(8, batch);
            let mut s = vec![0.0; 8];
            diffusion::Denoiser::score(&refs, &xt, sigma, &mut s).unwrap();
            rows.extend(s);
        }
        let brute = trace_covariance(&rows, 8);
        let study = MixtureStudy {
            inner: 10,
            redraws: draws,
            ns: vec![n],
        };
        let ours = study.at(&p0, &xt, sigma, true, &mut Stream::new(10).rng()).vstf[0];
        assert!((ours - brute).abs() < 0.03 * brute, "{ours} vs {brute}");
    }
}

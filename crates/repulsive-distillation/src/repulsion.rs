//! The repulsion of Eq. 3: γ∇_{xᵢ} log Σⱼ k(xᵢ, xⱼ), the gradient of a kernel density estimate at
//! each particle (D'Angelo & Fortuin), with the RBF k = exp(−‖f(xᵢ) − f(xⱼ)‖²/hᵢ) on the
//! coordinates (f = id) or on a differentiable feature map f (the paper's DINO on the decoded
//! noisy latent). The distances, bandwidths and Σⱼ ∇k come from `particle_guidance::rbf` and
//! `particle_guidance::Bandwidth`; only the division by Σⱼ k (the log) and the chain rule through
//! f are added here.

use exact_denoisers::{softmax_in_place, GaussianMixture};
use particle_guidance::{rbf, Bandwidth};

/// A differentiable feature map f: ℝ^dim_in → ℝ^dim_out, evaluated at a noise level σ.
pub trait FeatureMap: Sync {
    /// Input dimension.
    fn dim_in(&self) -> usize;
    /// Output dimension.
    fn dim_out(&self) -> usize;
    /// f(x) for one point.
    fn features(&self, x: &[f64], sigma: f64, out: &mut [f64]);
    /// J_f(x)ᵀ v for one point (a vector–Jacobian product, what backprop through DINO computes).
    fn vjp(&self, x: &[f64], sigma: f64, v: &[f64], out: &mut [f64]);
}

/// The kernel density estimate a particle is repelled from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Repulsion {
    /// How hᵢ is chosen; [`Bandwidth::MedianCode`] is the RSD code's hᵢ = medianⱼ dᵢⱼ²/ln(N − 1).
    pub bandwidth: Bandwidth,
    /// Whether Σⱼ includes j = i (k = 1): Eq. 3 as printed sums over all j; the code sums j ≠ i.
    pub include_self: bool,
}

impl Repulsion {
    /// The RSD code's kernel: median bandwidth per particle, j ≠ i.
    pub fn code() -> Self {
        Repulsion {
            bandwidth: Bandwidth::MedianCode,
            include_self: false,
        }
    }
}

/// ∇_{xᵢ} log Σⱼ k(xᵢ, xⱼ) for every particle of one set (row-major n × dim), hᵢ held constant
/// (as SVGD and the code do), at noise level σ (read by σ-dependent bandwidths and feature maps).
/// A particle whose bandwidth is not finite (too few particles for the median rule) gets zero.
pub fn grad_log_kde(set: &[f64], dim: usize, sigma: f64, rep: &Repulsion, features: Option<&dyn FeatureMap>) -> Vec<f64> {
    let n = set.len() / dim;
    let (u, du) = match features {
        None => (set.to_vec(), dim),
        Some(f) => {
            assert_eq!(f.dim_in(), dim, "feature map takes {} coordinates, particles have {dim}", f.dim_in());
            let du = f.dim_out();
            let mut u = vec![0.0; n * du];
            for (x, o) in set.chunks_exact(dim).zip(u.chunks_exact_mut(du)) {
                f.features(x, sigma, o);
            }
            (u, du)
        }
    };
    let d2 = rbf::squared_distances(&u, du);
    let h = rep.bandwidth.per_particle(&d2, n, sigma);
    // −∇_{uᵢ} Σⱼ k = Σⱼ (2/hᵢ)(uᵢ − uⱼ) kᵢⱼ.
    let push = rbf::repulsion(&u, du, &d2, &h);
    let mut gu = vec![0.0; n * du];
    for i in 0..n {
        if !(h[i] > 0.0 && h[i].is_finite()) {
            continue;
        }
        let sum: f64 = (0..n).filter(|&j| j != i).map(|j| (-d2[i * n + j] / h[i]).exp()).sum::<f64>() + f64::from(u8::from(rep.include_self));
        if sum > 0.0 {
            for c in 0..du {
                gu[i * du + c] = -push[i * du + c] / sum;
            }
        }
    }
    match features {
        None => gu,
        Some(f) => {
            let mut gx = vec![0.0; set.len()];
            for i in 0..n {
                f.vjp(&set[i * dim..(i + 1) * dim], sigma, &gu[i * du..(i + 1) * du], &mut gx[i * dim..(i + 1) * dim]);
            }
            gx
        }
    }
}

/// A semantic feature map for mixture targets: the posterior mode probabilities
/// f_k(x) = p(k | x; σ) of a Gaussian mixture at the particle's noise level, the toy's stand-in
/// for DINO features (which say *what* an image shows, not where its pixels are).
pub struct Responsibilities<'a> {
    /// The mixture whose modes are the semantic classes.
    pub mixture: &'a GaussianMixture,
}

impl Responsibilities<'_> {
    fn probabilities(&self, x: &[f64], sigma: f64) -> Vec<f64> {
        let mut r = self.mixture.log_joint(x, sigma);
        softmax_in_place(&mut r);
        r
    }
}

impl FeatureMap for Responsibilities<'_> {
    fn dim_in(&self) -> usize {
        self.mixture.dim()
    }

    fn dim_out(&self) -> usize {
        self.mixture.components()
    }

    fn features(&self, x: &[f64], sigma: f64, out: &mut [f64]) {
        out.copy_from_slice(&self.probabilities(x, sigma));
    }

    fn vjp(&self, x: &[f64], sigma: f64, v: &[f64], out: &mut [f64]) {
        // ∂r_k/∂x = r_k (g_k − Σ_l r_l g_l) with g_k = ∇log N(x; μ_k, (s_k² + σ²)I) = (μ_k − x)/(s_k² + σ²),
        // so Jᵀv = Σ_k r_k v_k g_k − (Σ_k r_k v_k) Σ_l r_l g_l.
        let r = self.probabilities(x, sigma);
        let rv: f64 = r.iter().zip(v).map(|(a, b)| a * b).sum();
        out.iter_mut().for_each(|o| *o = 0.0);
        for (k, &rk) in r.iter().enumerate() {
            let var = self.mixture.variances[k] + sigma * sigma;
            let coef = rk * (v[k] - rv) / var;
            for ((o, m), xi) in out.iter_mut().zip(self.mixture.mean(k)).zip(x) {
                *o += coef * (m - xi);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_kde(set: &[f64], dim: usize, i: usize, h: f64, include_self: bool, f: Option<&dyn FeatureMap>, sigma: f64) -> f64 {
        let n = set.len() / dim;
        let feat = |x: &[f64]| -> Vec<f64> {
            match f {
                None => x.to_vec(),
                Some(f) => {
                    let mut o = vec![0.0; f.dim_out()];
                    f.features(x, sigma, &mut o);
                    o
                }
            }
        };
        let ui = feat(&set[i * dim..(i + 1) * dim]);
        (0..n)
            .filter(|&j| include_self || j != i)
            .map(|j| (-exact_denoisers::squared_distance(&ui, &feat(&set[j * dim..(j + 1) * dim])) / h).exp())
            .sum::<f64>()
            .ln()
    }

    fn check_fd(f: Option<&dyn FeatureMap>, include_self: bool) {
        let set = [0.3, -0.2, 1.1, 0.4, -0.7, 0.9, 0.2, 1.5];
        let (dim, h, sigma) = (2, 0.8, 0.6);
        let rep = Repulsion {
            bandwidth: Bandwidth::Fixed(h),
            include_self,
        };
        let g = grad_log_kde(&set, dim, sigma, &rep, f);
        for i in 0..4 {
            for c in 0..dim {
                let e = 1e-6;
                let (mut a, mut b) = (set, set);
                a[i * dim + c] += e;
                b[i * dim + c] -= e;
                let fd = (log_kde(&a, dim, i, h, include_self, f, sigma) - log_kde(&b, dim, i, h, include_self, f, sigma)) / (2.0 * e);
                assert!(
                    (g[i * dim + c] - fd).abs() < 1e-7 * (1.0 + fd.abs()),
                    "particle {i} coord {c}: {} vs {fd}",
                    g[i * dim + c]
                );
            }
        }
    }

    #[test]
    fn euclidean_gradient_matches_finite_differences() {
        check_fd(None, false);
        check_fd(None, true);
    }

    #[test]
    fn feature_gradient_matches_finite_differences() {
        let g = GaussianMixture::new(2, vec![0.5, 0.3, 0.2], vec![1.0, 0.0, -1.0, 0.5, 0.0, 2.0], vec![0.1, 0.2, 0.3]);
        let f = Responsibilities { mixture: &g };
        check_fd(Some(&f), false);
        check_fd(Some(&f), true);
    }

    #[test]
    fn two_particles_with_the_code_rule_feel_nothing_and_the_paper_rule_a_coulomb_force() {
        let set = [0.0, 2.0];
        assert_eq!(grad_log_kde(&set, 1, 1.0, &Repulsion::code(), None), vec![0.0, 0.0]);
        // h = d²/ln 2, k = 1/2: ∇log(1 + k) = −(2/h)(xᵢ − xⱼ)k/(1 + k) = −(2 ln 2/3)(xᵢ − xⱼ)/d².
        let rep = Repulsion {
            bandwidth: Bandwidth::MedianPaper,
            include_self: true,
        };
        let g = grad_log_kde(&set, 1, 1.0, &rep, None);
        let want = 2.0 * 2f64.ln() / 3.0 * 2.0 / 4.0;
        assert!((g[0] - want).abs() < 1e-14 && (g[1] + want).abs() < 1e-14, "{g:?}");
    }
}

//! The RBF kernel on a feature map, k(xᵢ, xⱼ) = exp(−‖g(xᵢ) − g(xⱼ)‖²/h) (thesis B.4.2, l.4689: the DINO kernel on the
//! x₀-prediction, its gradient taken through the map "by forward-mode auto-diff"): the repulsion −∇_{xᵢ} Σⱼ k is the
//! feature-space repulsion pulled back by the Jacobian of g at xᵢ, Jᵢᵀ Σⱼ (2/hᵢ)(g(xᵢ) − g(xⱼ)) kᵢⱼ.

use crate::{rbf, Bandwidth};

/// −∇_{xᵢ} Σⱼ exp(−‖g(xᵢ) − g(xⱼ)‖²/hᵢ) for every particle of one set, from the features g(xᵢ) (row-major n × fdim),
/// the Jacobians ∂g/∂x at each particle (n blocks of fdim × dim, row-major) and the bandwidth rule applied to the
/// feature distances at noise level σ (hᵢ held constant, as for the Euclidean kernel). Returns n × dim values.
pub fn feature_repulsion(features: &[f64], fdim: usize, jacobians: &[f64], dim: usize, bandwidth: &Bandwidth, sigma: f64) -> Vec<f64> {
    let n = features.len() / fdim;
    assert_eq!(
        jacobians.len(),
        n * fdim * dim,
        "feature repulsion: {} Jacobian values for {n} particles",
        jacobians.len()
    );
    let sq = rbf::squared_distances(features, fdim);
    let h = bandwidth.per_particle(&sq, n, sigma);
    let rho = rbf::repulsion(features, fdim, &sq, &h);
    let mut out = vec![0.0; n * dim];
    for i in 0..n {
        let jac = &jacobians[i * fdim * dim..(i + 1) * fdim * dim];
        let o = &mut out[i * dim..(i + 1) * dim];
        for (f, r) in rho[i * fdim..(i + 1) * fdim].iter().enumerate() {
            for (oc, jc) in o.iter_mut().zip(&jac[f * dim..(f + 1) * dim]) {
                *oc += r * jc;
            }
        }
    }
    out
}

/// The Jacobians of x ↦ g(x̂₀(x)) with x̂₀ = D(x; σ) the Tweedie estimate (l.4689: the kernel acts on the
/// x₀-prediction, not on the noisy state): the chain rule J_g(x̂₀)·J_D(x) per particle, from `feature_jacobians`
/// (n blocks fdim × dim, taken at x̂₀) and `denoiser_jacobians` (n blocks dim × dim, taken at x; for an exact
/// mixture J_D = I + σ²∇ₓs). Feed the result to [`feature_repulsion`] with the features g(x̂₀).
pub fn through_tweedie(feature_jacobians: &[f64], denoiser_jacobians: &[f64], fdim: usize, dim: usize) -> Vec<f64> {
    let n = denoiser_jacobians.len() / (dim * dim);
    assert_eq!(
        feature_jacobians.len(),
        n * fdim * dim,
        "Tweedie chain rule: Jacobian blocks of different counts"
    );
    let mut out = vec![0.0; n * fdim * dim];
    for i in 0..n {
        let (jg, jd) = (
            &feature_jacobians[i * fdim * dim..(i + 1) * fdim * dim],
            &denoiser_jacobians[i * dim * dim..(i + 1) * dim * dim],
        );
        for f in 0..fdim {
            for c in 0..dim {
                out[i * fdim * dim + f * dim + c] = (0..dim).map(|k| jg[f * dim + k] * jd[k * dim + c]).sum();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A nonlinear map ℝ² → ℝ³ with its Jacobian.
    fn g(x: &[f64]) -> [f64; 3] {
        [x[0].sin(), x[0] * x[1], (0.5 * x[1]).cos()]
    }

    fn jac(x: &[f64]) -> [f64; 6] {
        [x[0].cos(), 0.0, x[1], x[0], 0.0, -0.5 * (0.5 * x[1]).sin()]
    }

    #[test]
    fn repulsion_is_minus_the_gradient_of_the_feature_kernel_row_sum() {
        let x = [0.3, -0.7, 1.1, 0.4, -0.5, 0.9, 0.2, 1.5];
        let n = 4;
        let feats = |y: &[f64]| -> Vec<f64> { y.chunks(2).flat_map(g).collect() };
        let jacs: Vec<f64> = x.chunks(2).flat_map(jac).collect();
        let h = 0.6;
        let rep = feature_repulsion(&feats(&x), 3, &jacs, 2, &Bandwidth::Fixed(h), 1.0);
        let row_sum = |y: &[f64], i: usize| rbf::row_sum(&feats(y), 3, i, h);
        let eps = 1e-6;
        for i in 0..n {
            for c in 0..2 {
                let (mut a, mut b) = (x.to_vec(), x.to_vec());
                a[2 * i + c] += eps;
                b[2 * i + c] -= eps;
                let fd = -(row_sum(&a, i) - row_sum(&b, i)) / (2.0 * eps);
                assert!(
                    (rep[2 * i + c] - fd).abs() < 1e-7 * (1.0 + fd.abs()),
                    "particle {i}, coordinate {c}: {} vs {fd}",
                    rep[2 * i + c]
                );
            }
        }
    }

    #[test]
    fn through_tweedie_the_repulsion_is_minus_the_gradient_of_the_kernel_on_the_x0_prediction() {
        // k(g(D(xᵢ)), g(D(xⱼ))) with the exact denoiser of a 2-D mixture, D = x + σ²s, J_D = I + σ²∇s.
        let mix = exact_denoisers::GaussianMixture::new(2, vec![0.4, 0.6], vec![1.0, 0.5, -0.8, -0.2], vec![0.05, 0.1]);
        let sigma = 0.7;
        let x = [0.3, -0.7, 1.1, 0.4, -0.5, 0.9, 0.2, 1.5];
        let den = |y: &[f64]| -> Vec<f64> {
            let mut d = vec![0.0; y.len()];
            diffusion::Denoiser::denoise(&mix, y, sigma, &mut d).unwrap();
            d
        };
        let feats = |y: &[f64]| -> Vec<f64> { den(y).chunks(2).flat_map(g).collect() };
        let x0 = den(&x);
        let jg: Vec<f64> = x0.chunks(2).flat_map(jac).collect();
        let jd: Vec<f64> = x
            .chunks(2)
            .flat_map(|p| {
                let h = mix.score_jacobian(p, sigma);
                [
                    1.0 + sigma * sigma * h[0],
                    sigma * sigma * h[1],
                    sigma * sigma * h[2],
                    1.0 + sigma * sigma * h[3],
                ]
            })
            .collect();
        let h = 0.6;
        let rep = feature_repulsion(&feats(&x), 3, &through_tweedie(&jg, &jd, 3, 2), 2, &Bandwidth::Fixed(h), sigma);
        let eps = 1e-6;
        for i in 0..4 {
            for c in 0..2 {
                let (mut a, mut b) = (x.to_vec(), x.to_vec());
                a[2 * i + c] += eps;
                b[2 * i + c] -= eps;
                let fd = -(rbf::row_sum(&feats(&a), 3, i, h) - rbf::row_sum(&feats(&b), 3, i, h)) / (2.0 * eps);
                assert!(
                    (rep[2 * i + c] - fd).abs() < 1e-6 * (1.0 + fd.abs()),
                    "particle {i}, coordinate {c}: {} vs {fd}",
                    rep[2 * i + c]
                );
            }
        }
    }

    #[test]
    fn the_identity_map_is_the_euclidean_kernel() {
        let x = [0.3, -0.7, 1.1, 0.4, -0.5, 0.9];
        let eye: Vec<f64> = (0..3).flat_map(|_| [1.0, 0.0, 0.0, 1.0]).collect();
        let bw = Bandwidth::MedianPaper;
        let a = feature_repulsion(&x, 2, &eye, 2, &bw, 1.0);
        let sq = rbf::squared_distances(&x, 2);
        let b = rbf::repulsion(&x, 2, &sq, &bw.per_particle(&sq, 3, 1.0));
        assert_eq!(a, b);
    }
}

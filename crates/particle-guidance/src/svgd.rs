//! Stein variational gradient descent, the baseline PG is compared with (PG paper Eq. 2; thesis
//! Eq. 6.2, App. A.3.5): x_i ← x_i + ε ψ(x_i) with
//!
//!   ψ(x_i) = 1/(n−1) Σ_j [ k(x_j, x_i) ∇log p(x_j) + ∇_{x_j} k(x_j, x_i) ],
//!
//! the paper's 1/(n−1) normalisation (standard SVGD uses 1/n). Unlike PG, the driving term is a
//! kernel-weighted average of the scores of nearby particles, not the particle's own score.
//!
//! [`sample_svgd_guidance`] is the SVGD-guidance baseline of the PG paper (Fig. B.26; the authors'
//! pipeline with `svgd=True`): the reverse diffusion of [`sample_pg`](crate::sample_pg) with the
//! extra drift α(σ)·ψ(xᵢ), ψ the SVGD direction of Eq. 6.2 built from the diffused scores of the set.

use crate::{rbf, sampler::sample_guided, Bandwidth, Kernel, ParticleGuidance, Repulsion, Scheme};
use anyhow::{bail, ensure, Result};
use diffusion::Denoiser;
use rayon::prelude::*;
use samplers::Particles;

/// ψ(x_i) for every particle of a set (row-major n × dim), given the score at each particle and
/// the RBF bandwidth rule (evaluated at noise level `sigma`, which only σ-dependent rules read).
/// A single particle has the one term k(x, x)∇log p(x) = ∇log p(x) (the bandwidth rules give it
/// h = ∞ and no repulsion), divided by max(n − 1, 1) = 1: SVGD is then gradient ascent on log p.
pub fn svgd_direction(set: &[f64], dim: usize, scores: &[f64], bandwidth: &Bandwidth, sigma: f64) -> Vec<f64> {
    let n = set.len() / dim;
    assert!(n >= 1, "SVGD needs at least one particle");
    let sq = rbf::squared_distances(set, dim);
    let h = bandwidth.per_particle(&sq, n, sigma);
    // Σ_j ∇_{x_j} k(x_j, x_i) = Σ_j (2/h)(x_i − x_j) k_ij: the repulsion of the RBF kernel.
    let mut psi = rbf::repulsion(set, dim, &sq, &h);
    for i in 0..n {
        for j in 0..n {
            let k = if h[i] > 0.0 && h[i].is_finite() {
                (-sq[i * n + j] / h[i]).exp()
            } else {
                f64::from(i == j)
            };
            for c in 0..dim {
                psi[i * dim + c] += k * scores[j * dim + c];
            }
        }
    }
    let norm = (n - 1).max(1) as f64;
    psi.iter_mut().for_each(|v| *v /= norm);
    psi
}

/// `iterations` SVGD steps of size `step` on `set`, with the score of `den` at noise level
/// `sigma` (a small σ targets the clean distribution).
pub fn svgd(den: &dyn Denoiser, set: &mut [f64], sigma: f64, step: f64, iterations: usize, bandwidth: &Bandwidth) -> Result<()> {
    let dim = den.dim();
    let mut scores = vec![0.0; set.len()];
    for it in 0..iterations {
        den.score(set, sigma, &mut scores)?;
        let psi = svgd_direction(set, dim, &scores, bandwidth, sigma);
        set.iter_mut().zip(&psi).for_each(|(x, p)| *x += step * p);
        ensure!(set.iter().all(|v| v.is_finite()), "svgd: a particle diverged at iteration {it} (step {step})");
    }
    Ok(())
}

/// SVGD-guidance (PG paper Eq. 3 read as a guidance term, as the authors' `svgd=True` code and
/// Fig. B.26 use it): every set of `pg.set_size` particles follows the reverse process of `scheme`
/// with the drift c·(sᵢ + α(σ)ψᵢ), ψᵢ = 1/(n−1) Σⱼ [k(xⱼ, xᵢ) sⱼ + ∇_{xⱼ}k(xⱼ, xᵢ)] (Eq. 6.2) with
/// the diffused scores sⱼ = (D(xⱼ; σ) − xⱼ)/σ² of the set and the RBF kernel of `pg.kernel`. The
/// weight, its σ power and threshold are those of `pg`; where α(σ) = 0 the step is the plain one,
/// bit for bit. Only [`Kernel::Rbf`] has the kernel values ψ needs; other kernels are an error.
pub fn sample_svgd_guidance(den: &dyn Denoiser, p: &mut Particles, grid: &[f64], pg: &ParticleGuidance, scheme: Scheme) -> Result<()> {
    let Kernel::Rbf(bandwidth) = pg.kernel else {
        bail!("SVGD-guidance: kernel {:?} is not supported (use the RBF kernel)", pg.kernel)
    };
    let dim = p.dim;
    let block = pg.set_size * dim;
    sample_guided(den, p, grid, scheme, "SVGD-guidance", |x, d, t| {
        if pg.set_size == 0 || !x.len().is_multiple_of(block) {
            bail!(
                "SVGD-guidance: {} values are not whole sets of {} particles in dimension {dim}",
                x.len(),
                pg.set_size
            );
        }
        let alpha = pg.weight(t);
        if alpha == 0.0 {
            return Ok(None);
        }
        // s = (D − x)/σ² (EDM convention of diffusion::Denoiser).
        let scores: Vec<f64> = x.iter().zip(d).map(|(xi, di)| (di - xi) / (t * t)).collect();
        let psi: Vec<Vec<f64>> = x
            .par_chunks(block)
            .zip(scores.par_chunks(block))
            .map(|(set, s)| svgd_direction(set, dim, s, &bandwidth, t))
            .collect();
        Ok(Some((alpha, Repulsion::Displacement(psi.concat()))))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use exact_denoisers::GaussianMixture;

    #[test]
    fn two_particles_by_hand() {
        // 1-D, h = 1: k = e^{−d²}, ψ_1 = k·s_2 + s_1 + 2(x_1 − x_2)k (n − 1 = 1).
        let set = [0.0, 0.5];
        let scores = [1.0, -2.0];
        let psi = svgd_direction(&set, 1, &scores, &Bandwidth::Fixed(1.0), 1.0);
        let k = (-0.25f64).exp();
        assert!((psi[0] - (1.0 + k * -2.0 + 2.0 * (0.0 - 0.5) * k)).abs() < 1e-15);
        assert!((psi[1] - (-2.0 + k * 1.0 + 2.0 * (0.5 - 0.0) * k)).abs() < 1e-15);
    }

    #[test]
    fn particles_settle_on_a_gaussian_target() {
        // N(2, 0.5²): SVGD's fixed point with the median bandwidth has the target's mean and
        // nearly its variance (the finite-n kernel bias shrinks it a little).
        let target = GaussianMixture::new(1, vec![1.0], vec![2.0], vec![0.25]);
        let mut set: Vec<f64> = (0..100).map(|i| -1.0 + 2.0 * i as f64 / 99.0).collect();
        svgd(&target, &mut set, 1e-3, 0.05, 3000, &Bandwidth::MedianPaper).unwrap();
        let mean = set.iter().sum::<f64>() / 100.0;
        let var = set.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / 100.0;
        assert!((mean - 2.0).abs() < 0.01, "mean {mean}");
        assert!((var / 0.25 - 1.0).abs() < 0.2, "variance {var}");
    }

    #[test]
    fn one_particle_is_gradient_ascent_on_log_p() {
        // ψ(x) = k(x, x)∇log p(x)/max(n − 1, 1) = ∇log p(x): SVGD is x ← x + ε∇log p(x), bit for bit.
        let target = GaussianMixture::new(2, vec![1.0, 2.0], vec![-1.0, 0.5, 1.5, -0.3], vec![0.2, 0.1]);
        for bw in [Bandwidth::MedianPaper, Bandwidth::MedianCode, Bandwidth::Fixed(0.3)] {
            let mut x = vec![0.4, 0.9];
            svgd(&target, &mut x, 0.05, 0.01, 50, &bw).unwrap();
            let mut y = vec![0.4, 0.9];
            let mut s = vec![0.0; 2];
            for _ in 0..50 {
                target.score(&y, 0.05, &mut s).unwrap();
                y.iter_mut().zip(&s).for_each(|(v, g)| *v += 0.01 * g);
            }
            assert_eq!(x, y, "{bw:?}");
        }
    }

    mod guidance {
        use super::*;
        use samplers::{euler_maruyama::sample_euler_maruyama, grid::edm_main};
        use seeding::Stream;

        fn ring() -> GaussianMixture {
            let means = (0..6).flat_map(|j| {
                let a = std::f64::consts::PI * j as f64 / 3.0;
                [a.cos(), a.sin()]
            });
            GaussianMixture::new(2, vec![1.0; 6], means.collect(), vec![0.01; 6])
        }

        #[test]
        fn zero_weight_is_the_plain_sampler_bit_for_bit() {
            let den = ring();
            let grid = edm_main(0.01, 2.0, 20, 7.0);
            for beta in [0.0, 1.0] {
                for bw in [Bandwidth::MedianPaper, Bandwidth::MedianCode, Bandwidth::Sigma { scale: 1.0, power: 1.0 }] {
                    let stream = Stream::new(8);
                    let mut plain = Particles::from_prior(24, 2, 2.0, stream);
                    sample_euler_maruyama(&den, &mut plain, &grid, beta).unwrap();
                    let mut g = Particles::from_prior(24, 2, 2.0, stream);
                    let pg = ParticleGuidance::constant(Kernel::Rbf(bw), 0.0, 6);
                    sample_svgd_guidance(&den, &mut g, &grid, &pg, Scheme::Sigma { beta }).unwrap();
                    assert_eq!(plain.nfe, g.nfe);
                    assert!(plain.x.iter().zip(&g.x).all(|(a, b)| a.to_bits() == b.to_bits()), "β = {beta}, {bw:?}");
                }
            }
        }

        #[test]
        fn one_ode_step_adds_alpha_times_the_svgd_direction() {
            // Euler in σ, β = 0: x' = x + σh(s + αψ), h = σ − σ_next, ψ from Eq. 6.2 by hand.
            let den = ring();
            let x0 = vec![0.3, 0.1, -0.5, 0.7, 0.9, -0.2];
            let (t, t_next, alpha, h_bw) = (0.8, 0.6, 2.5, 0.7);
            let mut p = Particles::from_states(2, x0.clone(), Stream::new(1));
            let pg = ParticleGuidance::constant(Kernel::Rbf(Bandwidth::Fixed(h_bw)), alpha, 3);
            sample_svgd_guidance(&den, &mut p, &[t, t_next], &pg, Scheme::ode()).unwrap();
            let mut s = vec![0.0; 6];
            den.score(&x0, t, &mut s).unwrap();
            for i in 0..3 {
                for c in 0..2 {
                    let mut psi = 0.0;
                    for j in 0..3 {
                        let d2 = (x0[2 * i] - x0[2 * j]).powi(2) + (x0[2 * i + 1] - x0[2 * j + 1]).powi(2);
                        let k = (-d2 / h_bw).exp();
                        psi += k * s[2 * j + c] + 2.0 / h_bw * (x0[2 * i + c] - x0[2 * j + c]) * k;
                    }
                    psi /= 2.0;
                    let want = x0[2 * i + c] + t * (t - t_next) * (s[2 * i + c] + alpha * psi);
                    assert!(
                        (p.x[2 * i + c] - want).abs() < 1e-12,
                        "particle {i}, coordinate {c}: {} vs {want}",
                        p.x[2 * i + c]
                    );
                }
            }
        }

        #[test]
        fn kernels_without_values_are_refused() {
            let den = ring();
            let mut p = Particles::from_prior(4, 2, 1.0, Stream::new(2));
            let pg = ParticleGuidance::constant(Kernel::Modulus(Bandwidth::Fixed(1.0)), 1.0, 2);
            let e = sample_svgd_guidance(&den, &mut p, &[1.0, 0.5], &pg, Scheme::ode()).unwrap_err();
            assert!(e.to_string().contains("not supported"), "{e}");
        }
    }
}

//! The PG sampler (thesis Eq. 6.4; the authors' `particle_reverse_diffusion`): every set of
//! particles follows the reverse process with the extra drift α(σ)·r, r = −∇_{xᵢ} Σⱼ k(xᵢ, xⱼ).

use crate::{ParticleGuidance, Repulsion, Scheme};
use anyhow::Result;
use diffusion::Denoiser;
use rayon::prelude::*;
use samplers::Particles;

/// Moves `p` along the decreasing σ-`grid` (1 NFE per step). With α(σ) = 0 on a step, the step is
/// the plain one: [`Scheme::Sigma`] is then bit for bit `samplers::euler_maruyama` with the same β.
pub fn sample_pg(den: &dyn Denoiser, p: &mut Particles, grid: &[f64], pg: &ParticleGuidance, scheme: Scheme) -> Result<()> {
    let dim = p.dim;
    sample_guided(den, p, grid, scheme, "particle guidance", |x, _d, t| pg.repulsion(x, dim, t))
}

/// The reverse process of `scheme` along `grid` with an extra drift c·α·g per step, where
/// `guidance(x, D(x; σ), σ)` returns α and g (or `None` for the plain step). Shared by PG (g the
/// kernel repulsion), SVGD-guidance (g the SVGD direction) and guidance a caller builds itself
/// (e.g. a feature-space kernel through [`crate::feature`]), so all reduce to the same plain step.
/// `name` labels divergence errors.
pub fn sample_guided(
    den: &dyn Denoiser,
    p: &mut Particles,
    grid: &[f64],
    scheme: Scheme,
    name: &str,
    guidance: impl Fn(&[f64], &[f64], f64) -> Result<Option<(f64, Repulsion)>>,
) -> Result<()> {
    let dim = p.dim;
    for (i, w) in grid.windows(2).enumerate() {
        let (t, t_next) = (w[0], w[1]);
        let x = std::mem::take(&mut p.x);
        let d = p.denoise(den, &x, t)?;
        let guidance = guidance(&x, &d, t)?;
        // c·(s + α r) is the drift: σ s = (D − x)/σ, so (1 + β)σh·s = (1 + β)h(D − x)/σ.
        let (c, noise) = match scheme {
            Scheme::Sigma { beta } => {
                let h = t - t_next;
                p.x = x.iter().zip(&d).map(|(xi, di)| xi + (1.0 + beta) * h * (di - xi) / t).collect();
                ((1.0 + beta) * t * h, if beta > 0.0 && t_next > 0.0 { (2.0 * beta * t * h).sqrt() } else { 0.0 })
            }
            Scheme::Variance { drift, noise } => {
                let dv = t * t - t_next * t_next;
                p.x = x.iter().zip(&d).map(|(xi, di)| xi + drift * dv * (di - xi) / (t * t)).collect();
                (drift * dv, noise * dv.sqrt())
            }
        };
        if let Some((alpha, g)) = guidance {
            apply_guidance(&mut p.x, &x, dim, c * alpha, &g);
        }
        if noise > 0.0 {
            p.add_noise(noise);
        }
        p.check(name, i, t_next)?;
    }
    Ok(())
}

/// Adds one step's guidance to the new states `new` of particles that were at `old` (both
/// row-major, `dim` per row): a displacement `step`·r, or, for an angular velocity ω, the rotation
/// of the old state by `step`·ω about the origin. `step` is the step's drift factor times α, the
/// factor the score has in the same step, so log Φ enters as the score does (Eq. 6.4). Shared by
/// the VE/σ steps above and the VP steps of [`crate::vp`].
pub(crate) fn apply_guidance(new: &mut [f64], old: &[f64], dim: usize, step: f64, guidance: &Repulsion) {
    match guidance {
        Repulsion::Displacement(r) => new.iter_mut().zip(r).for_each(|(xi, ri)| *xi += step * ri),
        // The notebook rotates the old state, then adds the score step computed at it:
        // R(cαω)x + c s(x) = R(cαω)x + (new − x).
        Repulsion::Rotation(omega) => {
            new.par_chunks_mut(dim)
                .zip(old.par_chunks(dim))
                .zip(omega.par_iter())
                .for_each(|((new, old), om)| {
                    // Only the first two coordinates turn; the others add o − o as the full rotated point would.
                    let turned = crate::radial::rotated(old, step * om);
                    for (k, (n, o)) in new.iter_mut().zip(old).enumerate() {
                        *n += turned.get(k).unwrap_or(o) - o;
                    }
                });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{geometric_variance_grid, Angular, Bandwidth, Kernel};
    use exact_denoisers::GaussianMixture;
    use samplers::{euler_maruyama::sample_euler_maruyama, grid::edm_main};
    use seeding::Stream;

    fn ring(k: usize) -> GaussianMixture {
        let means = (0..k).flat_map(|j| {
            let a = 2.0 * std::f64::consts::PI * j as f64 / k as f64;
            [a.cos(), a.sin()]
        });
        GaussianMixture::new(2, vec![1.0; k], means.collect(), vec![0.005; k])
    }

    fn kernels() -> Vec<Kernel> {
        vec![
            Kernel::Rbf(Bandwidth::Sigma { scale: 1.0, power: 1.0 }),
            Kernel::Rbf(Bandwidth::MedianPaper),
            Kernel::Rbf(Bandwidth::MedianCode),
            Kernel::Radial {
                bandwidth: Bandwidth::Sigma {
                    scale: std::f64::consts::PI,
                    power: 1.0,
                },
                apply: Angular::Rotation,
            },
            Kernel::Radial {
                bandwidth: Bandwidth::MedianPaper,
                apply: Angular::Gradient,
            },
        ]
    }

    #[test]
    fn zero_weight_reproduces_euler_maruyama_bit_for_bit() {
        let den = ring(10);
        let grid = edm_main(0.01, 2.0, 25, 7.0);
        for beta in [0.0, 1.0, 0.5] {
            for kernel in kernels() {
                let stream = Stream::new(3);
                let mut plain = Particles::from_prior(40, 2, 2.0, stream);
                sample_euler_maruyama(&den, &mut plain, &grid, beta).unwrap();
                let mut pg = Particles::from_prior(40, 2, 2.0, stream);
                sample_pg(&den, &mut pg, &grid, &ParticleGuidance::constant(kernel, 0.0, 10), Scheme::Sigma { beta }).unwrap();
                assert_eq!(plain.nfe, pg.nfe);
                assert!(plain.x.iter().zip(&pg.x).all(|(a, b)| a.to_bits() == b.to_bits()), "β = {beta}, {kernel:?}");
            }
        }
    }

    #[test]
    fn guidance_below_its_threshold_does_nothing() {
        let den = ring(10);
        let grid = edm_main(0.01, 2.0, 25, 7.0);
        let stream = Stream::new(4);
        let mut plain = Particles::from_prior(20, 2, 2.0, stream);
        sample_euler_maruyama(&den, &mut plain, &grid, 1.0).unwrap();
        let mut pg = ParticleGuidance::constant(kernels()[0], 50.0, 10);
        pg.sigma_threshold = 2.5;
        let mut guided = Particles::from_prior(20, 2, 2.0, stream);
        sample_pg(&den, &mut guided, &grid, &pg, Scheme::sde()).unwrap();
        assert_eq!(plain.x, guided.x);
    }

    #[test]
    fn unguided_notebook_particles_are_independent_and_sets_never_interact() {
        let den = ring(10);
        let grid = geometric_variance_grid(1e-3, 1.0, 60);
        let run = |n: usize, kernel: Kernel, alpha: f64| {
            let mut p = Particles::from_prior(n, 2, 1.0, Stream::new(5));
            sample_pg(
                &den,
                &mut p,
                &grid,
                &ParticleGuidance::constant(kernel, alpha, if alpha == 0.0 { 1 } else { 5 }),
                Scheme::notebook(0.3),
            )
            .unwrap();
            p.x
        };
        // Without guidance each particle evolves alone: the first rows of a larger batch are a smaller batch.
        assert_eq!(run(20, kernels()[0], 0.0)[..14], run(7, kernels()[0], 0.0)[..]);
        // With guidance, a set of 5 does not feel the other sets of the batch.
        for kernel in kernels() {
            assert_eq!(run(15, kernel, 2.0)[..10], run(5, kernel, 2.0)[..], "{kernel:?}");
        }
    }

    #[test]
    fn repulsion_spreads_a_set_over_more_modes() {
        // 10 particles, 10 modes: the radial kernel at the notebook's largest weight finds (nearly) all.
        let den = ring(10);
        let grid = geometric_variance_grid(1e-3, 1.0, 200);
        let centres = den.means.clone();
        let modes = |alpha: f64| -> f64 {
            let k = Kernel::Radial {
                bandwidth: Bandwidth::Sigma {
                    scale: std::f64::consts::PI,
                    power: 1.0,
                },
                apply: Angular::Rotation,
            };
            let mut p = Particles::from_prior(20 * 10, 2, 1.0, Stream::new(6));
            sample_pg(&den, &mut p, &grid, &ParticleGuidance::constant(k, alpha, 10), Scheme::notebook(0.1)).unwrap();
            p.x.chunks(20).map(|set| crate::coverage::modes_recovered(set, 2, &centres) as f64).sum::<f64>() / 20.0
        };
        let (iid, pg) = (modes(0.0), modes(100.0));
        assert!(iid < 8.0 && pg > 9.5, "i.i.d. {iid}, PG {pg}");
    }
}

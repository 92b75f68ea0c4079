//! Particle guidance in VP coordinates x_t = α_t x₀ + σ_t n (Eq. 6.4 with the VP drift and
//! diffusion; the coordinates of Stable Diffusion's latents, where the PG paper's pixel kernel acts):
//!
//!   dxᵢ = [f xᵢ − ½(1 + β) g² (∇log p_t(xᵢ) − α(σ) ∇_{xᵢ} Σⱼ k(xᵢ, xⱼ))] dt + √β g dw̄,
//!
//! β = 1 the PG reverse SDE, β = 0 its probability-flow ODE. The stepper is the samplers crate's
//! Euler–Maruyama in t for any schedule x = s(t)(x̂ + σ(t)n) ([`samplers::scheduled`]; α_t = s,
//! σ_t = sσ); the kernel, the weight α(σ) with its threshold and the way a displacement or a
//! rotation is applied are the VE sampler's ([`crate::ParticleGuidance`], [`crate::sampler`]). Only
//! the coordinates differ: the kernel sees the VP state x, and α(σ), its threshold and σ-dependent
//! bandwidths read σ = σ_t/α_t, the VE-equivalent level, so a weight means the same in both forms;
//! the notebook's rotation (the angle as a coordinate of its own) turns by the same angle as in the
//! VE form.
//!
//! Under x_VE = x_VP/α_t the two processes are the same process whenever the potential is the same
//! function of x_VE, i.e. for kernels invariant under scaling the set (the median-heuristic
//! bandwidths, the angle kernel): ∇_{x_VP} = (1/s)∇_{x̂} and g² = 2s²σ̇σ turn the VP drift into the VE
//! one, 2σσ̇(∇log p + ∇log Φ). A fixed or σ-power bandwidth on x_VP is a different potential.

use crate::sampler::apply_guidance;
use crate::{ParticleGuidance, Repulsion};
use anyhow::Result;
use diffusion::{Denoiser, Schedule};
use samplers::scheduled::sample_scheduled_em;
use samplers::Particles;

/// PG on `steps` equal steps in t from t_start down to t_end of `schedule` with noise multiplier
/// β (`steps` NFE), particles in x̂ = x/s on entry and return. With α(σ) = 0 on every step it is
/// the plain sampler: at β = 1 bit for bit `samplers::scheduled::sample_scheduled_sde`.
#[allow(clippy::too_many_arguments)]
pub fn sample_pg_vp(
    den: &dyn Denoiser,
    schedule: &dyn Schedule,
    p: &mut Particles,
    t_start: f64,
    t_end: f64,
    steps: usize,
    beta: f64,
    pg: &ParticleGuidance,
) -> Result<()> {
    let dim = p.dim;
    sample_scheduled_em(den, schedule, p, t_start, t_end, steps, beta, |new, step| {
        // Eq. 6.4: log Φ = −(α/2) Σᵢⱼ k enters the drift as the score does, c·α·(−∇Σⱼk). An angle
        // is a coordinate of its own that α_t does not scale: it turns by the x̂-coordinates' factor
        // c/s², as in the VE form (a displacement in x = s x̂ carries the factor s² of g²).
        if let Some((alpha, g)) = pg.repulsion(step.x, dim, step.sigma)? {
            let factor = match g {
                Repulsion::Displacement(_) => step.drift,
                Repulsion::Rotation(_) => step.drift / (step.scale * step.scale),
            };
            apply_guidance(new, step.x, dim, factor * alpha, &g);
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{rbf, sample_pg, Angular, Bandwidth, Kernel, Scheme};
    use diffusion::VpLinear;
    use exact_denoisers::GaussianMixture;
    use samplers::scheduled::sample_scheduled_sde;
    use seeding::Stream;

    fn ring(k: usize, variance: f64) -> GaussianMixture {
        let means = (0..k).flat_map(|j| {
            let a = 2.0 * std::f64::consts::PI * j as f64 / k as f64;
            [a.cos(), a.sin()]
        });
        GaussianMixture::new(2, vec![1.0; k], means.collect(), vec![variance; k])
    }

    /// Kernels whose potential is invariant under scaling the set (so VP and VE are one process).
    fn scale_free_kernels() -> Vec<Kernel> {
        vec![
            Kernel::Rbf(Bandwidth::MedianPaper),
            Kernel::Rbf(Bandwidth::MedianCode),
            Kernel::Radial {
                bandwidth: Bandwidth::Fixed(0.5),
                apply: Angular::Rotation,
            },
        ]
    }

    #[test]
    fn zero_weight_is_the_plain_vp_sampler_bit_for_bit() {
        let den = ring(6, 0.02);
        let vp = VpLinear::default();
        let mut kernels = scale_free_kernels();
        kernels.push(Kernel::Rbf(Bandwidth::Sigma { scale: 1.0, power: 1.0 }));
        for kernel in kernels {
            for (alpha, threshold) in [(0.0, 0.0), (5.0, 1e9)] {
                let stream = Stream::new(11);
                let mut plain = Particles::from_prior(30, 2, vp.sigma(1.0), stream);
                sample_scheduled_sde(&den, &vp, &mut plain, 1.0, 1e-2, 60).unwrap();
                let mut pg = ParticleGuidance::constant(kernel, alpha, 5);
                pg.sigma_threshold = threshold;
                let mut guided = Particles::from_prior(30, 2, vp.sigma(1.0), stream);
                sample_pg_vp(&den, &vp, &mut guided, 1.0, 1e-2, 60, 1.0, &pg).unwrap();
                assert_eq!(plain.nfe, guided.nfe);
                assert!(
                    plain.x.iter().zip(&guided.x).all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{kernel:?}, α = {alpha}, threshold {threshold}"
                );
            }
        }
    }

    /// The median over particles of ‖x_VP/α_t − x_VE‖ at t_end after `steps` steps, for noise
    /// multiplier β. The median, not the mean: on the SDE a fraction O(h) of paths near a split
    /// between modes ends in different modes under the two discretisations, an O(1) gap that would
    /// make a mean converge at order ½ whatever the typical path does.
    fn vp_minus_ve(kernel: Kernel, beta: f64, steps: usize) -> f64 {
        let (den, vp, n) = (ring(4, 0.05), VpLinear::default(), 5);
        // From σ(0.4) ≈ 2, not σ(1) ≈ 152: there a constant α turns the angle kernel's particles by
        // thousands of radians per step, a chaos no step size resolves.
        let (t0, t1) = (0.4, 0.02);
        let pg = ParticleGuidance::constant(kernel, 0.8, n);
        let stream = Stream::new(7);
        let mut a = Particles::from_prior(100 * n, 2, vp.sigma(t0), stream);
        sample_pg_vp(&den, &vp, &mut a, t0, t1, steps, beta, &pg).unwrap();
        // The VE form on the same times, σ_k = σ(t_k); the same noise draws, one per step but the last.
        let h = (t0 - t1) / steps as f64;
        let grid: Vec<f64> = (0..=steps).map(|i| vp.sigma(t0 - h * i as f64)).collect();
        let mut b = Particles::from_prior(100 * n, 2, vp.sigma(t0), stream);
        if beta == 0.0 {
            sample_pg(&den, &mut b, &grid, &pg, Scheme::ode()).unwrap();
        } else {
            // All steps but the last with noise (Euler–Maruyama in σ); the last one, like the VP
            // sampler's, with the full SDE drift and no noise (the same drift factor σ² − σ_next²).
            sample_pg(&den, &mut b, &grid[..steps], &pg, Scheme::Sigma { beta }).unwrap();
            sample_pg(&den, &mut b, &grid[steps - 1..], &pg, Scheme::Variance { drift: 1.0, noise: 0.0 }).unwrap();
        }
        let mut gap: Vec<f64> =
            a.x.chunks(2)
                .zip(b.x.chunks(2))
                .map(|(u, v)| exact_denoisers::squared_distance(u, v).sqrt())
                .collect();
        gap.sort_by(f64::total_cmp);
        gap[gap.len() / 2]
    }

    #[test]
    fn with_the_exact_score_the_vp_form_maps_to_the_ve_form_at_first_order() {
        // Both discretise one process (module doc): their gap is the discretisation error, O(h) for
        // Euler on the ODE and for Euler–Maruyama with additive noise on the SDE (strong order 1) on
        // the typical path (the median; see `vp_minus_ve`). From 200 steps on: at 100 the SDE gap is
        // still pre-asymptotic (it falls threefold to 200 steps).
        for kernel in scale_free_kernels() {
            for beta in [0.0, 1.0] {
                let gaps: Vec<f64> = [200, 400, 800].iter().map(|&n| vp_minus_ve(kernel, beta, n)).collect();
                let order = ((gaps[0] / gaps[1]).log2() + (gaps[1] / gaps[2]).log2()) / 2.0;
                assert!(
                    (0.8..1.2).contains(&order) && gaps[2] < 0.05,
                    "{kernel:?}, β = {beta}: gaps {gaps:?}, order {order}"
                );
            }
        }
    }

    #[test]
    fn the_vp_guidance_drift_is_minus_the_gradient_of_the_potential() {
        // One noise-free step from t₀ to t₁ with and without guidance: the difference in x = s x̂ is
        // c·α·r with c = ½(1 + β)g²(t₀)h, and r must be −∇_{xᵢ}(½Σᵢⱼ k) by finite differences
        // (bandwidth frozen at the state's median, as the kernel holds it within a step).
        let (den, vp, n) = (ring(4, 0.05), VpLinear::default(), 5);
        let (t0, t1, alpha, beta) = (0.4, 0.38, 0.7, 1.0);
        let kernel = Kernel::Rbf(Bandwidth::MedianPaper);
        let start = vec![0.9, 0.1, -0.2, 1.1, 0.4, -0.8, -1.0, -0.3, 0.2, 0.5];
        let run = |a: f64| {
            let mut p = Particles::from_states(2, start.clone(), Stream::new(1));
            sample_pg_vp(&den, &vp, &mut p, t0, t1, 1, beta, &ParticleGuidance::constant(kernel, a, n)).unwrap();
            p.x
        };
        let (guided, plain) = (run(alpha), run(0.0));
        let s0 = vp.scale(t0);
        let x: Vec<f64> = start.iter().map(|v| v * s0).collect();
        let g2 = 2.0 * s0 * s0 * vp.sigma_deriv(t0) * vp.sigma(t0);
        let c = 0.5 * (1.0 + beta) * g2 * (t0 - t1);
        let h = Bandwidth::MedianPaper.per_particle(&rbf::squared_distances(&x, 2), n, vp.sigma(t0))[0];
        let potential = |y: &[f64]| 0.5 * (0..n).map(|i| rbf::row_sum(y, 2, i, h)).sum::<f64>();
        for q in 0..x.len() {
            let moved = (guided[q] - plain[q]) * vp.scale(t1);
            let e = 1e-6;
            let (mut a, mut b) = (x.clone(), x.clone());
            a[q] += e;
            b[q] -= e;
            let fd = -(potential(&a) - potential(&b)) / (2.0 * e);
            assert!(
                (moved - c * alpha * fd).abs() < 1e-7 * (1.0 + (c * alpha * fd).abs()),
                "coordinate {q}: {moved} vs {}",
                c * alpha * fd
            );
        }
    }
}

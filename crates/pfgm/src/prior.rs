//! The PFGM prior on the plane z = z_max (thesis Prop. 6, A.4.2): the radial projection of the
//! uniform distribution on the upper hemisphere, p(x) = 2 z_max/(S_N(1)(‖x‖² + z_max²)^{(N+1)/2}).
//!
//! This is the PFGM++ kernel around the origin with D = 1 and r = z_max, so its radius law
//! p(R) ∝ R^{N−1}/(R² + z_max²)^{(N+1)/2} (A.68) and its sampler (Beta(N/2, 1/2) → beta-prime, in
//! the Gamma-ratio form) are those of `pfgmpp` at D = 1, σ = z_max.

use pfgmpp::Kernel;
use seeding::Rng;

/// The hemisphere prior of PFGM in N dimensions at z = `z_max`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HemispherePrior {
    /// N, the data dimension.
    pub n: usize,
    /// The height of the plane the samples start on.
    pub z_max: f64,
}

impl HemispherePrior {
    /// The prior in `n` dimensions at `z_max` > 0.
    pub fn new(n: usize, z_max: f64) -> Self {
        assert!(n >= 1 && z_max > 0.0, "PFGM prior needs N ≥ 1 and z_max > 0 (N = {n}, z_max = {z_max})");
        HemispherePrior { n, z_max }
    }

    fn kernel(&self) -> Kernel {
        Kernel::new(self.n, 1.0)
    }

    /// ln p_prior(x) (Prop. 6).
    pub fn log_density(&self, x: &[f64]) -> f64 {
        self.kernel().log_density(x, &vec![0.0; self.n], self.z_max)
    }

    /// ln p(R) of the radius R = ‖x‖ (A.68), normalised.
    pub fn radius_log_density(&self, radius: f64) -> f64 {
        self.kernel().radius_log_density(radius, self.z_max)
    }

    /// P(‖x‖ ≤ `radius`).
    pub fn radius_cdf(&self, radius: f64) -> f64 {
        self.kernel().radius_cdf(radius, self.z_max)
    }
}

/// A draw x ~ p_prior in `n` dimensions at `z_max`, its norm clipped to at most `max_norm` (the
/// authors clip it to 3000 on CIFAR-10, Sec. 7.3.3; `f64::INFINITY` for none). The radius law is
/// heavy-tailed (E R = ∞ for N = 1, and p(R) ∝ R^{−2} as R → ∞ for every N).
pub fn sample_prior(rng: &mut Rng, n: usize, z_max: f64, max_norm: f64) -> Vec<f64> {
    let mut x = pfgmpp::sample_prior(rng, n, 1.0, z_max);
    let norm = x.iter().map(|v| v * v).sum::<f64>().sqrt();
    if norm > max_norm {
        x.iter_mut().for_each(|v| *v *= max_norm / norm);
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use seeding::Stream;

    /// √n times the Kolmogorov–Smirnov distance of samples to a distribution function.
    fn ks(v: Vec<f64>, cdf: impl Fn(f64) -> f64) -> f64 {
        metrics::ks_distance(&v, cdf) * (v.len() as f64).sqrt()
    }

    #[test]
    fn projecting_the_uniform_hemisphere_gives_the_radius_law_and_the_sampler_draws_it() {
        // K–S at the 0.1% level (√n·D_n < 1.95), fixed streams.
        let count = 20_000;
        for (n, z_max) in [(2usize, 1.0), (3, 40.0), (20, 5.0), (64, 40.0)] {
            let prior = HemispherePrior::new(n, z_max);
            let root = Stream::new(3).named("hemisphere");
            // Uniform on the upper hemisphere of ℝ^{N+1}, projected from the origin onto z = z_max.
            let projected: Vec<f64> = (0..count)
                .map(|i| {
                    let u = seeding::normals(&mut root.child(i as u64).rng(), n + 1);
                    let x_norm = u[..n].iter().map(|v| v * v).sum::<f64>().sqrt();
                    z_max * x_norm / u[n].abs()
                })
                .collect();
            let stat = ks(projected, |r| prior.radius_cdf(r));
            assert!(stat < 1.95, "projection, N = {n}: √n·KS = {stat}");
            let drawn: Vec<f64> = (0..count)
                .map(|i| {
                    let x = sample_prior(&mut root.named("draw").child(i as u64).rng(), n, z_max, f64::INFINITY);
                    x.iter().map(|v| v * v).sum::<f64>().sqrt()
                })
                .collect();
            let stat = ks(drawn, |r| prior.radius_cdf(r));
            assert!(stat < 1.95, "sampler, N = {n}: √n·KS = {stat}");
        }
    }

    #[test]
    fn the_density_is_the_half_space_poisson_kernel() {
        // Γ((N+1)/2)/π^{(N+1)/2} · z/(z² + ‖x‖²)^{(N+1)/2} for N = 2: z/(2π (z² + ‖x‖²)^{3/2}).
        let prior = HemispherePrior::new(2, 3.0);
        let x = [1.0, -2.0];
        let want = (3.0 / (2.0 * std::f64::consts::PI * (9.0f64 + 5.0).powf(1.5))).ln();
        assert!((prior.log_density(&x) - want).abs() < 1e-12);
        // Clipping keeps the direction.
        let mut rng = Stream::new(1).rng();
        let x = sample_prior(&mut rng, 5, 100.0, 1.0);
        assert!((x.iter().map(|v| v * v).sum::<f64>().sqrt() - 1.0).abs() < 1e-12);
    }
}

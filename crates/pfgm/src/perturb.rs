//! PFGM's training perturbation (thesis Eq. 7.5, Alg. 3, l.1603–1643; authors'
//! `utils_poisson.forward_pz`): with ε = (ε_x, ε_z) ~ N(0, σ² I_{N+1}), m ~ U[0, M] and u uniform
//! on the unit sphere S^{N−1} of ℝ^N,
//!
//!   y = x + ‖ε_x‖ (1 + τ)^m u,   z = |ε_z| (1 + τ)^m.
//!
//! Alg. 3 writes u ~ U(S_N(1)) "from the unit ball" (spec §7 item 1); we read it, as Eq. 7.5 and the
//! code do, as the unit sphere in ℝ^N (a normalised Gaussian). The code's `restrict_M` option —
//! draw m ~ U[0, 0.7M] instead when |ε_z| < 0.005 — is [`Perturbation::restrict`].

use rand::Rng as _;
use seeding::{fill_normal, Rng};

/// Alg. 3's hyper-parameters.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Perturbation {
    /// σ, the base noise scale (0.01 in the thesis).
    pub sigma: f64,
    /// τ, the growth rate of the scale with m (0.03).
    pub tau: f64,
    /// M, the largest exponent (291 for CIFAR-10).
    pub m_max: f64,
    /// (threshold, fraction): when |ε_z| < threshold, m ~ U[0, fraction·M] (the code's 0.005, 0.7); `None` for plain Alg. 3.
    pub restrict: Option<(f64, f64)>,
}

/// One perturbed training point.
#[derive(Clone, Debug, PartialEq)]
pub struct Perturbed {
    /// y, the perturbed data coordinates.
    pub y: Vec<f64>,
    /// z > 0, the augmented coordinate.
    pub z: f64,
    /// The exponent m that was drawn.
    pub m: f64,
}

impl Perturbation {
    /// Perturbs the data point `x` (Alg. 3, lines 2–5). Draws, in order: ε_x (N normals), ε_z,
    /// the direction (N normals), m.
    pub fn perturb(&self, rng: &mut Rng, x: &[f64]) -> Perturbed {
        assert!(
            self.sigma > 0.0 && self.tau > 0.0 && self.m_max >= 0.0,
            "PFGM perturbation needs σ > 0, τ > 0, M ≥ 0 (σ = {}, τ = {}, M = {})",
            self.sigma,
            self.tau,
            self.m_max
        );
        let n = x.len();
        let mut eps = vec![0.0; n];
        fill_normal(rng, &mut eps);
        let eps_x = self.sigma * eps.iter().map(|v| v * v).sum::<f64>().sqrt();
        let eps_z = self.sigma * seeding::normals(rng, 1)[0].abs();
        // u uniform on S^{N−1}: a normalised standard normal vector.
        fill_normal(rng, &mut eps);
        let u_norm = eps.iter().map(|v| v * v).sum::<f64>().sqrt();
        let top = match self.restrict {
            Some((threshold, fraction)) if eps_z < threshold => fraction * self.m_max,
            _ => self.m_max,
        };
        let m = top * rng.random::<f64>();
        let grow = (m * self.tau.ln_1p()).exp();
        let y = x.iter().zip(&eps).map(|(xi, ui)| xi + eps_x * grow * ui / u_norm).collect();
        Perturbed { y, z: eps_z * grow, m }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use seeding::Stream;
    use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

    /// √n times the Kolmogorov–Smirnov distance of samples to a distribution function.
    fn ks(v: Vec<f64>, cdf: impl Fn(f64) -> f64) -> f64 {
        metrics::ks_distance(&v, cdf) * (v.len() as f64).sqrt()
    }

    #[test]
    fn the_perturbation_follows_eq_7_5() {
        // Given m, ‖y − x‖/(σ(1+τ)^m) ~ χ_N and z/(σ(1+τ)^m) ~ |N(0, 1)|; m ~ U[0, M]; the
        // direction is uniform (its mean vanishes). K–S at the 0.1% level (√n·D < 1.95), fixed streams.
        let count = 20_000;
        for n in [1usize, 3, 64] {
            let cfg = Perturbation {
                sigma: 0.01,
                tau: 0.03,
                m_max: 291.0,
                restrict: None,
            };
            let x: Vec<f64> = (0..n).map(|j| (j as f64).sin()).collect();
            let root = Stream::new(5).named("alg-3");
            let draws: Vec<Perturbed> = (0..count).map(|i| cfg.perturb(&mut root.child(i as u64).rng(), &x)).collect();
            let scale = |m: f64| cfg.sigma * (1.0 + cfg.tau).powf(m);
            let chi2 = ChiSquared::new(n as f64).unwrap();
            let r2: Vec<f64> = draws
                .iter()
                .map(|d| d.y.iter().zip(&x).map(|(a, b)| (a - b) * (a - b)).sum::<f64>() / scale(d.m).powi(2))
                .collect();
            let stat = ks(r2, |v| chi2.cdf(v));
            assert!(stat < 1.95, "N = {n}: radius √n·KS = {stat}");
            let normal = Normal::standard();
            let zs: Vec<f64> = draws.iter().map(|d| d.z / scale(d.m)).collect();
            let stat = ks(zs, |v| 2.0 * normal.cdf(v) - 1.0);
            assert!(stat < 1.95, "N = {n}: z √n·KS = {stat}");
            let stat = ks(draws.iter().map(|d| d.m).collect(), |v| (v / cfg.m_max).clamp(0.0, 1.0));
            assert!(stat < 1.95, "N = {n}: m √n·KS = {stat}");
            // Mean unit direction: each coordinate has variance 1/N, so the mean is within 4/√(N·count).
            for j in 0..n {
                let mean = draws
                    .iter()
                    .map(|d| {
                        let r = d.y.iter().zip(&x).map(|(a, b)| (a - b) * (a - b)).sum::<f64>().sqrt();
                        (d.y[j] - x[j]) / r
                    })
                    .sum::<f64>()
                    / count as f64;
                assert!(mean.abs() < 4.0 / ((n * count) as f64).sqrt(), "N = {n}: mean direction {mean}");
            }
        }
    }

    #[test]
    fn the_codes_restriction_caps_m_for_small_noise() {
        let cfg = Perturbation {
            sigma: 1.0,
            tau: 0.03,
            m_max: 100.0,
            restrict: Some((f64::INFINITY, 0.7)),
        };
        let root = Stream::new(1);
        assert!((0..2000).all(|i| cfg.perturb(&mut root.child(i).rng(), &[0.0, 0.0]).m <= 70.0));
        let plain = Perturbation { restrict: None, ..cfg };
        assert!((0..2000).any(|i| plain.perturb(&mut root.child(i).rng(), &[0.0, 0.0]).m > 70.0));
    }
}

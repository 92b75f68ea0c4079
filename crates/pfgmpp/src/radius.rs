//! Sampling the perturbation kernel and the prior (thesis B.6.2, l.5140–5163; Alg. 12 and 14).
//!
//! The authors draw B ~ Beta(N/2, D/2) and set R = r·√(B/(1 − B)). With B = G_N/(G_N + G_D) for
//! independent G_N ~ Gamma(N/2, 1), G_D ~ Gamma(D/2, 1), this is R = r·√(G_N/G_D); written as
//! R = σ·√(G_N/(G_D/D)) with r = σ√D it involves no 1 − B near 0 and no r² of 10¹⁰, so it is exact
//! from D = 1 to D = 3·10⁶ and beyond, and at D = ∞ (G_D/D → ½) it is σ·χ_N.

use rand_distr::{Distribution, Gamma};
use seeding::Rng;

/// A draw of R = ‖x − y‖ for x ~ p_r(·|y) at r = σ√D, in N dimensions (`d = ∞`: σ·χ_N).
pub fn sample_radius(rng: &mut Rng, n: usize, d: f64, sigma: f64) -> f64 {
    let g_n = Gamma::new(0.5 * n as f64, 1.0).expect("N ≥ 1").sample(rng);
    if d.is_infinite() {
        return sigma * (2.0 * g_n).sqrt();
    }
    let g_d = Gamma::new(0.5 * d, 1.0).expect("D > 0").sample(rng);
    sigma * (g_n / (g_d / d)).sqrt()
}

/// A draw of x ~ p_r(·|y) at r = σ√D: y + R·u with u uniform on the unit sphere (a normalised
/// Gaussian vector, Alg. 12), written into `out` (the length of `y`).
pub fn perturb(rng: &mut Rng, y: &[f64], d: f64, sigma: f64, out: &mut [f64]) {
    seeding::fill_normal(rng, out);
    let norm = out.iter().map(|v| v * v).sum::<f64>().sqrt();
    let radius = sample_radius(rng, y.len(), d, sigma);
    for (o, yi) in out.iter_mut().zip(y) {
        *o = yi + radius * *o / norm;
    }
}

/// A draw from the prior p_{r_max} at r_max = σ_max√D (Alg. 14): the kernel around the origin.
pub fn sample_prior(rng: &mut Rng, n: usize, d: f64, sigma_max: f64) -> Vec<f64> {
    let mut x = vec![0.0; n];
    perturb(rng, &vec![0.0; n], d, sigma_max, &mut x);
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Kernel;
    use seeding::Stream;

    /// Mean and unbiased variance.
    fn mean_var(v: &[f64]) -> (f64, f64) {
        let n = v.len() as f64;
        let m = v.iter().sum::<f64>() / n;
        (m, v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0))
    }

    fn radii(n: usize, d: f64, sigma: f64, count: usize, tag: &str) -> Vec<f64> {
        let root = Stream::new(11).named(tag);
        (0..count).map(|i| sample_radius(&mut root.child(i as u64).rng(), n, d, sigma)).collect()
    }

    /// Kolmogorov–Smirnov distance sup |F_n − F| of samples to a distribution function.
    fn ks(mut v: Vec<f64>, cdf: impl Fn(f64) -> f64) -> f64 {
        v.sort_by(f64::total_cmp);
        let n = v.len() as f64;
        v.iter()
            .enumerate()
            .map(|(i, x)| {
                let f = cdf(*x);
                (f - i as f64 / n).abs().max(((i + 1) as f64 / n - f).abs())
            })
            .fold(0.0, f64::max)
    }

    #[test]
    fn radius_law_is_the_beta_prime_law() {
        // K–S at the 0.1% level: √n·D_n < 1.95. Fixed streams, so the test is deterministic.
        let count = 20_000;
        for (n, d) in [(1, 1.0), (20, 1.0), (20, 8.0), (3, 0.5), (20, 2048.0), (20, f64::INFINITY)] {
            let k = Kernel::new(n, d);
            let stat = ks(radii(n, d, 0.8, count, "ks"), |r| k.radius_cdf(r, 0.8)) * (count as f64).sqrt();
            assert!(stat < 1.95, "N = {n}, D = {d}: √n·KS = {stat}");
        }
    }

    #[test]
    fn radius_moments_match_the_closed_forms_up_to_three_million_dimensions() {
        let count = 40_000;
        for d in [16.0, 2048.0, 3.0e6, 3.072e6, f64::INFINITY] {
            let k = Kernel::new(20, d);
            let r = radii(20, d, 2.0, count, "moments");
            assert!(r.iter().all(|v| v.is_finite() && *v > 0.0));
            let sq: Vec<f64> = r.iter().map(|v| v * v).collect();
            let (m, v) = mean_var(&sq);
            let (em, ev) = (k.radius_squared_mean(2.0), k.radius_squared_variance(2.0));
            // Standard errors of the sample mean and variance (the latter from the fourth moment,
            // bounded here by 3× its Gaussian value for these near-χ² laws).
            let z_mean = (m - em) / (ev / count as f64).sqrt();
            let z_var = (v - ev) / (ev * (6.0 / count as f64).sqrt());
            assert!(z_mean.abs() < 4.0, "D = {d}: E R² {m} vs {em}");
            assert!(z_var.abs() < 4.0, "D = {d}: Var R² {v} vs {ev}");
            let (rm, _) = mean_var(&r);
            let (er, er2) = (k.radius_mean(2.0), k.radius_squared_mean(2.0));
            let z_r = (rm - er) / ((er2 - er * er) / count as f64).sqrt();
            assert!(z_r.abs() < 4.0, "D = {d}: E R {rm} vs {er}");
        }
    }

    #[test]
    fn perturbation_has_the_radius_and_an_isotropic_direction() {
        let root = Stream::new(3);
        let y = [1.0, -2.0, 0.5];
        let mut mean = [0.0; 3];
        for i in 0..20_000 {
            let mut x = [0.0; 3];
            perturb(&mut root.child(i).rng(), &y, 4.0, 0.5, &mut x);
            for j in 0..3 {
                mean[j] += (x[j] - y[j]) / 20_000.0;
            }
        }
        // The law is symmetric about y; E‖x − y‖² = σ²·N·D/(D − 2) = 1.5, so each coordinate's s.e. is ≈ 0.005.
        assert!(mean.iter().all(|m| m.abs() < 0.03), "{mean:?}");
        let prior = sample_prior(&mut root.rng(), 5, 1e6, 80.0);
        assert_eq!(prior.len(), 5);
        assert!(prior.iter().all(|v| v.is_finite()));
    }
}

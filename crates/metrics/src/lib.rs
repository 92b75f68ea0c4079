//! Statistics and distances used to score experiments: Monte Carlo means with standard errors, rate fits,
//! the Kolmogorov–Smirnov distance to a distribution function, distances between point sets (exact W1 by assignment, sliced W2, MMD², the energy distance, the Fréchet distance of fitted Gaussians), and cosine similarities of feature vectors.
//!
//! Point sets are row-major `f64` slices with a given dimension: point i is `points[i*dim..(i+1)*dim]`.

pub mod assignment;
pub mod energy;
mod euclidean;
pub mod frechet;
pub mod ks;
pub mod mmd;
pub mod similarity;
pub mod sliced;

pub use assignment::{min_cost_assignment, w1_exact, w2_exact, W1Matching};
pub use energy::{energy_distance, energy_distance_from_distances};
pub use frechet::{frechet_distance, GaussianMoments};
pub use ks::ks_distance;
pub use mmd::{mmd_squared, GaussianMixtureKernel, MmdSquared};
pub use similarity::{cosine_similarity, in_batch_similarity};
pub use sliced::{sliced_w2, sliced_w2_along, w2_squared_1d};

use statrs::statistics::Statistics;

/// A Monte Carlo estimate: the sample mean, its standard error and the sample size.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// Sample mean.
    pub mean: f64,
    /// Standard error of the mean, s/√n (NaN for fewer than two samples).
    pub se: f64,
    /// Number of samples.
    pub n: usize,
}

impl Estimate {
    /// The mean and standard error of i.i.d. samples.
    pub fn of(samples: &[f64]) -> Self {
        let n = samples.len();
        let mean = samples.mean();
        let se = if n > 1 { samples.std_dev() / (n as f64).sqrt() } else { f64::NAN };
        Estimate { mean, se, n }
    }

    /// |self − value| in units of the standard error.
    pub fn z_score(&self, value: f64) -> f64 {
        (self.mean - value).abs() / self.se
    }
}

/// The unbiased variance of samples and the standard error of that variance, √((m₄ − s⁴)/n),
/// from the sample fourth central moment (valid for any distribution with a fourth moment).
pub fn variance_with_se(samples: &[f64]) -> (f64, f64) {
    let n = samples.len() as f64;
    let m = samples.mean();
    let var = samples.variance();
    let m4 = samples.iter().map(|x| (x - m).powi(4)).sum::<f64>() / n;
    (var, ((m4 - var * var).max(0.0) / n).sqrt())
}

/// Least-squares slope of ln y against ln x: the observed rate of a power law y ∝ x^slope.
pub fn loglog_slope(x: &[f64], y: &[f64]) -> f64 {
    assert_eq!(x.len(), y.len());
    let lx: Vec<f64> = x.iter().map(|v| v.ln()).collect();
    let ly: Vec<f64> = y.iter().map(|v| v.ln()).collect();
    let (mx, my) = (lx.iter().mean(), ly.iter().mean());
    let sxy: f64 = lx.iter().zip(&ly).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = lx.iter().map(|a| (a - mx) * (a - mx)).sum();
    sxy / sxx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_of_known_samples() {
        let e = Estimate::of(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(e.mean, 2.5);
        // s = √(5/3), se = s/2.
        assert!((e.se - (5.0f64 / 3.0).sqrt() / 2.0).abs() < 1e-15);
        assert!((e.z_score(3.5) - 1.0 / e.se).abs() < 1e-12);
    }

    #[test]
    fn slope_of_exact_power_law() {
        let x = [1.0, 2.0, 4.0, 8.0];
        let y: Vec<f64> = x.iter().map(|v: &f64| 3.0 * v.powf(-1.5)).collect();
        assert!((loglog_slope(&x, &y) + 1.5).abs() < 1e-12);
    }

    #[test]
    fn variance_se_of_two_point_distribution() {
        // ±1 with equal counts: var = n/(n−1), m₄ = 1, se = √((1 − var²)/n) → clamps at 0 for small n.
        let v: Vec<f64> = (0..1000).map(|i| if i % 2 == 0 { 1.0 } else { -1.0 }).collect();
        let (var, se) = variance_with_se(&v);
        assert!((var - 1000.0 / 999.0).abs() < 1e-12);
        assert_eq!(se, 0.0);
    }
}

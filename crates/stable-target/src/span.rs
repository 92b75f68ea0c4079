//! Exact reduced draws from isotropic Gaussians. Every quantity of the variance study on an
//! isotropic mixture depends on a draw x = m + √v·ε only through its coordinates in a small fixed
//! subspace S (spanned by the component means and x̃, which contains m) and the squared norm of
//! its component orthogonal to S. With q = dim S, ε's coordinates in S are q standard normals and
//! ‖ε_⊥‖² ~ χ²_{d−q}, independently; so a 64-dimensional draw costs q + 1 random numbers, exactly
//! in distribution.

use rand_distr::{ChiSquared, Distribution, StandardNormal};
use seeding::Rng;

/// An orthonormal basis of a small subspace of ℝ^d.
#[derive(Clone, Debug)]
pub struct Span {
    dim: usize,
    basis: Vec<Vec<f64>>,
    chi2: Option<ChiSquared<f64>>,
}

/// A point given by its coordinates in a [`Span`] and the squared norm of its orthogonal part.
#[derive(Clone, Debug, PartialEq)]
pub struct Reduced {
    /// Coordinates in the span's basis.
    pub coords: Vec<f64>,
    /// ‖x_⊥‖².
    pub perp_sq: f64,
}

impl Span {
    /// Gram–Schmidt on `vectors` (each of length `dim`), dropping those already in the span.
    pub fn new(dim: usize, vectors: &[&[f64]]) -> Self {
        let mut basis: Vec<Vec<f64>> = Vec::new();
        for v in vectors {
            let mut u = v.to_vec();
            // Two passes of modified Gram–Schmidt keep the basis orthonormal to rounding.
            for _ in 0..2 {
                for b in &basis {
                    let c: f64 = u.iter().zip(b).map(|(a, b)| a * b).sum();
                    u.iter_mut().zip(b).for_each(|(a, b)| *a -= c * b);
                }
            }
            let norm = u.iter().map(|a| a * a).sum::<f64>().sqrt();
            let scale = v.iter().map(|a| a * a).sum::<f64>().sqrt();
            if norm > 1e-10 * scale.max(f64::MIN_POSITIVE) && norm > 0.0 {
                u.iter_mut().for_each(|a| *a /= norm);
                basis.push(u);
            }
        }
        let rest = dim - basis.len();
        let chi2 = (rest > 0).then(|| ChiSquared::new(rest as f64).expect("positive degrees of freedom"));
        Span { dim, basis, chi2 }
    }

    /// q, the dimension of the span.
    pub fn rank(&self) -> usize {
        self.basis.len()
    }

    /// The ambient dimension d.
    pub fn ambient(&self) -> usize {
        self.dim
    }

    /// Coordinates of a vector assumed to lie in the span.
    pub fn coords(&self, v: &[f64]) -> Vec<f64> {
        self.basis.iter().map(|b| b.iter().zip(v).map(|(a, c)| a * c).sum()).collect()
    }

    /// A draw of m + √v·ε, ε ~ N(0, I_d), with m given by its coordinates.
    pub fn draw(&self, m: &[f64], v: f64, rng: &mut Rng) -> Reduced {
        let s = v.sqrt();
        let coords = m
            .iter()
            .map(|mi| {
                let z: f64 = StandardNormal.sample(rng);
                mi + s * z
            })
            .collect();
        let perp_sq = self.chi2.as_ref().map_or(0.0, |c| v * c.sample(rng));
        Reduced { coords, perp_sq }
    }
}

impl Reduced {
    /// ‖self − y‖² for y in the span (given by coordinates).
    pub fn dist_sq_to(&self, y: &[f64]) -> f64 {
        self.coords.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum::<f64>() + self.perp_sq
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use seeding::Stream;

    #[test]
    fn reduced_draws_match_full_draws_in_distribution() {
        // E‖x − y‖² = ‖m − y‖² + d·v for x ~ N(m, vI); check the reduced draw's mean and variance.
        let d = 64;
        let mu: Vec<f64> = vec![0.1; d];
        let y: Vec<f64> = (0..d).map(|i| (i as f64).sin()).collect();
        let span = Span::new(d, &[&mu, &y]);
        assert_eq!(span.rank(), 2);
        let (mc, yc) = (span.coords(&mu), span.coords(&y));
        let v = 0.3;
        let mut rng = Stream::new(3).rng();
        let n = 200_000;
        let vals: Vec<f64> = (0..n).map(|_| span.draw(&mc, v, &mut rng).dist_sq_to(&yc)).collect();
        let mean = vals.iter().sum::<f64>() / n as f64;
        let dist0: f64 = mu.iter().zip(&y).map(|(a, b)| (a - b) * (a - b)).sum();
        let expect = dist0 + d as f64 * v;
        // Var‖x−y‖² = 2dv² + 4v‖m−y‖²; tolerance 4 standard errors.
        let se = ((2.0 * d as f64 * v * v + 4.0 * v * dist0) / n as f64).sqrt();
        assert!((mean - expect).abs() < 4.0 * se, "{mean} vs {expect} ± {se}");
    }

    #[test]
    fn coordinates_reproduce_norms() {
        let a = [3.0, 0.0, 4.0];
        let b = [1.0, 1.0, 0.0];
        let s = Span::new(3, &[&a, &b, &[2.0, -1.0, 4.0]]);
        assert_eq!(s.rank(), 2);
        let c = s.coords(&a);
        assert!((c.iter().map(|x| x * x).sum::<f64>() - 25.0).abs() < 1e-12);
    }
}

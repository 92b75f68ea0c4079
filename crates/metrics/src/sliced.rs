//! Sliced Wasserstein-2 distance between two point sets, of possibly different sizes.
//!
//! SW2(μ, ν)² = E_θ W2²(θ#μ, θ#ν), θ uniform on the unit sphere and θ#μ the law of θ·X
//! (Rabin, Peyré, Delon & Bernot 2011, *Wasserstein barycenter and its application to texture
//! mixing*; Bonneel, Rabin, Peyré & Pfister 2015, *Sliced and Radon Wasserstein barycenters of
//! measures*). The expectation is replaced by the mean over L directions, and each 1-D
//! term is exact: in one dimension W2² is the L² distance between quantile functions (Peyré &
//! Cuturi, *Computational Optimal Transport*, 2019, Sec. 2.6).

use crate::euclidean::point_count;
use rayon::prelude::*;

/// Exact W2² between the empirical distributions of two samples of real numbers, uniform weights.
///
/// W2² = ∫₀¹ (F⁻¹(t) − G⁻¹(t))² dt, with F⁻¹ the left-continuous quantile function, which is the
/// step function a_(i) on ((i)/n, (i+1)/n] for the sorted sample. Both step functions are constant
/// between consecutive points of the merged grid {i/n} ∪ {j/m}, so the integral is a finite sum.
/// Breakpoints are compared as integers (i·m against j·n) so equal ones are never split by rounding.
pub fn w2_squared_1d(a: &[f64], b: &[f64]) -> f64 {
    assert!(!a.is_empty() && !b.is_empty(), "W2 needs two non-empty samples");
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_unstable_by(f64::total_cmp);
    b.sort_unstable_by(f64::total_cmp);
    w2_squared_sorted(&a, &b)
}

/// [`w2_squared_1d`] for samples already sorted in increasing order.
fn w2_squared_sorted(a: &[f64], b: &[f64]) -> f64 {
    let (n, m) = (a.len(), b.len());
    // Positions on [0, 1] in units of 1/(n·m): the breakpoint after a_(i) is (i+1)·m.
    let (mut i, mut j, mut at) = (0, 0, 0);
    let mut sum = 0.0;
    while i < n && j < m {
        let (end_a, end_b) = ((i + 1) * m, (j + 1) * n);
        let end = end_a.min(end_b);
        let d = a[i] - b[j];
        sum += (end - at) as f64 * d * d;
        at = end;
        if end_a == end {
            i += 1;
        }
        if end_b == end {
            j += 1;
        }
    }
    sum / (n as f64 * m as f64)
}

/// Sliced W2 between the rows of `x` and of `y` (row-major, `dim` coordinates per point) along
/// the given `directions` (row-major, `dim` coordinates each, each of unit length):
/// √( mean over directions θ of W2²(θ·x, θ·y) ).
///
/// Use it to compare several sets against one reference along common directions, which removes
/// the direction sampling noise from their differences.
pub fn sliced_w2_along(x: &[f64], y: &[f64], dim: usize, directions: &[f64]) -> f64 {
    let count = point_count(directions, dim);
    assert!(count > 0, "sliced W2 needs at least one direction");
    assert!(point_count(x, dim) > 0 && point_count(y, dim) > 0, "sliced W2 needs two non-empty point sets");
    let project = |points: &[f64], theta: &[f64]| -> Vec<f64> {
        let mut p: Vec<f64> = points.chunks_exact(dim).map(|row| row.iter().zip(theta).map(|(a, b)| a * b).sum()).collect();
        p.sort_unstable_by(f64::total_cmp);
        p
    };
    // Collect per direction, then sum in order: the same bytes whatever the thread count.
    let per_direction: Vec<f64> = directions
        .par_chunks_exact(dim)
        .map(|theta| w2_squared_sorted(&project(x, theta), &project(y, theta)))
        .collect();
    (per_direction.iter().sum::<f64>() / count as f64).sqrt()
}

/// Sliced W2 between the rows of `x` and of `y` over `n_directions` directions drawn uniformly on
/// the unit sphere of R^dim from `rng` (a normalised standard normal vector is uniform on the
/// sphere: Muller 1959, *A note on a method for generating points uniformly on N-dimensional
/// spheres*).
pub fn sliced_w2(x: &[f64], y: &[f64], dim: usize, n_directions: usize, rng: &mut seeding::Rng) -> f64 {
    let mut directions = seeding::normals(rng, n_directions * dim);
    for theta in directions.chunks_exact_mut(dim) {
        let norm = theta.iter().map(|t| t * t).sum::<f64>().sqrt();
        theta.iter_mut().for_each(|t| *t /= norm);
    }
    sliced_w2_along(x, y, dim, &directions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use seeding::Stream;

    #[test]
    fn one_dimensional_w2_of_equal_sizes_is_the_sorted_matching() {
        let a = [3.0, -1.0, 0.5];
        let b = [0.0, 2.0, 1.0];
        // Sorted: (−1, 0.5, 3) against (0, 1, 2).
        let expected = (1.0 + 0.25 + 1.0) / 3.0;
        assert!((w2_squared_1d(&a, &b) - expected).abs() < 1e-15);
    }

    #[test]
    fn one_dimensional_w2_of_unequal_sizes_integrates_the_quantile_functions() {
        // a = {0, 1} has quantile 0 on (0, 1/2], 1 on (1/2, 1]; b = {0, 3, 6} has 0, 3, 6 on thirds.
        // Pieces: (0, 1/3] 0 vs 0, (1/3, 1/2] 0 vs 3, (1/2, 2/3] 1 vs 3, (2/3, 1] 1 vs 6.
        let expected = 9.0 / 6.0 + 4.0 / 6.0 + 25.0 / 3.0;
        assert!((w2_squared_1d(&[1.0, 0.0], &[6.0, 0.0, 3.0]) - expected).abs() < 1e-14);
        // A sample and its duplicate describe the same distribution.
        let s = [0.3, -2.0, 1.7, 0.0];
        let doubled: Vec<f64> = s.iter().chain(&s).copied().collect();
        assert!(w2_squared_1d(&s, &doubled).abs() < 1e-15);
    }

    #[test]
    fn sliced_w2_in_one_dimension_is_the_exact_w2() {
        let mut rng = Stream::new(21).rng();
        let x = seeding::normals(&mut rng, 400);
        let y: Vec<f64> = seeding::normals(&mut rng, 250).iter().map(|v| 2.0 * v + 0.5).collect();
        // The only unit directions in R^1 are ±1, and W2 is invariant under the reflection.
        let exact = w2_squared_1d(&x, &y).sqrt();
        assert!((sliced_w2(&x, &y, 1, 7, &mut rng) - exact).abs() < 1e-12);
    }

    #[test]
    fn identical_sets_are_at_distance_zero() {
        let mut rng = Stream::new(22).rng();
        let x = seeding::normals(&mut rng, 300 * 4);
        assert_eq!(sliced_w2(&x, &x, 4, 50, &mut rng), 0.0);
    }

    #[test]
    fn translated_set_along_given_directions_is_exact() {
        // Projection preserves order, so the 1-D plan is the identity and W2²(θ·x, θ·x + θ·s) = (θ·s)².
        let dim = 3;
        let mut rng = Stream::new(23).rng();
        let x = seeding::normals(&mut rng, 200 * dim);
        let shift = [1.0, -2.0, 0.5];
        let y: Vec<f64> = x.iter().enumerate().map(|(k, v)| v + shift[k % dim]).collect();
        let s = 1.0 / 2f64.sqrt();
        let directions = [1.0, 0.0, 0.0, 0.0, s, s];
        let expected = ((1.0 + (-2.0 * s + 0.5 * s).powi(2)) / 2.0).sqrt();
        assert!((sliced_w2_along(&x, &y, dim, &directions) - expected).abs() < 1e-12);
    }

    #[test]
    fn translated_set_over_random_directions_gives_shift_over_root_dim() {
        // E(θ·s)² = |s|²/d for θ uniform on the sphere. Per direction (θ·e)² has variance
        // 3/(d(d+2)) − 1/d² (Var of θ₁², from E θ₁⁴ = 3/(d(d+2))), so with L directions the mean has
        // standard error √((3/(d(d+2)) − 1/d²)/L)·|s|².
        let (dim, n_directions) = (5, 20_000);
        let mut rng = Stream::new(24).rng();
        let x = seeding::normals(&mut rng, 50 * dim);
        let shift = [0.5, -1.0, 2.0, 0.0, 1.5];
        let y: Vec<f64> = x.iter().enumerate().map(|(k, v)| v + shift[k % dim]).collect();
        let s2: f64 = shift.iter().map(|v| v * v).sum();
        let d = dim as f64;
        let se = ((3.0 / (d * (d + 2.0)) - 1.0 / (d * d)) / n_directions as f64).sqrt() * s2;
        let sw2 = sliced_w2(&x, &y, dim, n_directions, &mut rng).powi(2);
        assert!((sw2 - s2 / d).abs() < 4.0 * se, "SW2² {sw2} vs {} (se {se})", s2 / d);
    }
}

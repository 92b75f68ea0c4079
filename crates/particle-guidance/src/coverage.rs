//! How many modes a sample covers: the combinatorics of Props. 4–5 (thesis App. A.3.6, l.3054–3084;
//! Fig. B.18) for i.i.d. draws from N equiprobable bins, their Monte Carlo versions, and the mode
//! count of Fig. B.20 (distinct nearest centres).

use exact_denoisers::squared_distance;
use rand::Rng as _;
use seeding::Rng;

/// Prop. 4: the expected number of distinct bins among x i.i.d. uniform draws from N bins,
/// N(1 − ((N − 1)/N)^x), computed as −N·expm1(x·ln(1 − 1/N)) to keep its digits for large N.
pub fn expected_distinct(bins: usize, draws: f64) -> f64 {
    if bins == 1 || draws == 0.0 {
        return if draws > 0.0 { 1.0 } else { 0.0 };
    }
    let n = bins as f64;
    -n * (draws * (-1.0 / n).ln_1p()).exp_m1()
}

/// Prop. 5 (coupon collector): the expected number of i.i.d. uniform draws until all N bins are seen, N·H_N.
pub fn coupon_collector_mean(bins: usize) -> f64 {
    // Smallest terms first.
    bins as f64 * (1..=bins).rev().map(|k| 1.0 / k as f64).sum::<f64>()
}

/// The number of distinct values among `labels` ∈ [0, bins).
pub fn distinct(labels: impl IntoIterator<Item = usize>, bins: usize) -> usize {
    let mut seen = vec![false; bins];
    labels.into_iter().filter(|&l| !std::mem::replace(&mut seen[l], true)).count()
}

/// One Monte Carlo draw of Prop. 4's count: distinct bins among `draws` uniform draws from `bins`.
pub fn sample_distinct(rng: &mut Rng, bins: usize, draws: usize) -> usize {
    distinct((0..draws).map(|_| rng.random_range(0..bins)), bins)
}

/// One Monte Carlo draw of Prop. 5's time: uniform draws from `bins` until every bin has been seen.
pub fn sample_cover_time(rng: &mut Rng, bins: usize) -> usize {
    let (mut seen, mut left, mut draws) = (vec![false; bins], bins, 0);
    while left > 0 {
        draws += 1;
        if !std::mem::replace(&mut seen[rng.random_range(0..bins)], true) {
            left -= 1;
        }
    }
    draws
}

/// The index of the centre (row-major K × dim) nearest to `point` (the first on a tie, as `np.argmin`).
pub fn nearest(point: &[f64], centres: &[f64], dim: usize) -> usize {
    centres
        .chunks(dim)
        .map(|c| squared_distance(point, c))
        .enumerate()
        .fold((0, f64::INFINITY), |best, (k, d)| if d < best.1 { (k, d) } else { best })
        .0
}

/// Fig. B.20's metric (the notebook's `count_different_centers`): the number of distinct centres
/// nearest to the points of a set.
pub fn modes_recovered(set: &[f64], dim: usize, centres: &[f64]) -> usize {
    distinct(set.chunks(dim).map(|p| nearest(p, centres, dim)), centres.len() / dim)
}

#[cfg(test)]
mod tests {
    use super::*;
    use seeding::Stream;

    #[test]
    fn the_thesis_numbers() {
        // "for N = 10 we would expect 10·(1 − 0.9^10) ≈ 6.51"; "E[L_{10|0}] ≈ 29.29".
        assert!((expected_distinct(10, 10.0) - 10.0 * (1.0 - 0.9f64.powi(10))).abs() < 1e-13);
        assert!((expected_distinct(10, 10.0) - 6.513_215_599).abs() < 1e-9);
        assert!((coupon_collector_mean(10) - 7381.0 / 252.0).abs() < 1e-12, "10·H₁₀ = 10·7381/2520");
        assert_eq!(expected_distinct(1, 3.0), 1.0);
        assert_eq!(expected_distinct(7, 0.0), 0.0);
        // The fraction tends to 1 − 1/e.
        assert!((expected_distinct(1_000_000, 1e6) / 1e6 - (1.0 - (-1f64).exp())).abs() < 1e-6);
    }

    #[test]
    fn monte_carlo_agrees_with_the_formulas() {
        let mut rng = Stream::new(1).rng();
        let reps = 20_000;
        let m: f64 = (0..reps).map(|_| sample_distinct(&mut rng, 10, 10) as f64).sum::<f64>() / reps as f64;
        // sd of the count ≈ 0.95: s.e. ≈ 0.007.
        assert!((m - expected_distinct(10, 10.0)).abs() < 0.04, "{m}");
        let t: f64 = (0..reps).map(|_| sample_cover_time(&mut rng, 10) as f64).sum::<f64>() / reps as f64;
        // sd ≈ 11.2: s.e. ≈ 0.08.
        assert!((t - coupon_collector_mean(10)).abs() < 0.4, "{t}");
    }

    #[test]
    fn distinct_nearest_centres() {
        let centres = [1.0, 0.0, 0.0, 1.0, -1.0, 0.0];
        let set = [0.9, 0.1, 1.2, -0.1, -0.8, 0.2, 0.1, 0.7];
        assert_eq!(nearest(&set[4..6], &centres, 2), 2);
        assert_eq!(modes_recovered(&set, 2, &centres), 3);
        assert_eq!(modes_recovered(&set[..4], 2, &centres), 1);
    }
}

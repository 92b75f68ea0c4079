//! Point sets stored as rows of a row-major `f64` slice, and the Euclidean geometry between rows.

/// Number of lanes in the interleaved sums below.
const LANES: usize = 8;

/// The number of points in a row-major set of `dim`-dimensional points.
///
/// Panics if `dim` is zero or the slice length is not a multiple of `dim`: a silent truncation
/// would compare the wrong coordinates.
pub(crate) fn point_count(points: &[f64], dim: usize) -> usize {
    assert!(dim > 0, "point dimension must be positive");
    assert!(points.len().is_multiple_of(dim), "{} values do not form rows of dimension {dim}", points.len());
    points.len() / dim
}

/// ‖a − b‖², summed in eight interleaved partial sums.
///
/// Why the lanes: a single running sum is one serial chain of additions that the compiler may not
/// reorder (f64 addition is not associative), so it cannot use SIMD. Fixed lanes vectorise, and
/// the result still depends only on the inputs, never on the target or the thread count.
pub(crate) fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0; LANES];
    let (a_body, a_tail) = a.split_at(a.len() - a.len() % LANES);
    let (b_body, b_tail) = b.split_at(a_body.len());
    for (ca, cb) in a_body.chunks_exact(LANES).zip(b_body.chunks_exact(LANES)) {
        for k in 0..LANES {
            let d = ca[k] - cb[k];
            acc[k] += d * d;
        }
    }
    let tail: f64 = a_tail.iter().zip(b_tail).map(|(x, y)| (x - y) * (x - y)).sum();
    acc.iter().sum::<f64>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squared_distance_matches_naive_sum_for_every_tail_length() {
        for dim in 0..20 {
            let a: Vec<f64> = (0..dim).map(|k| (k as f64 * 0.37).sin()).collect();
            let b: Vec<f64> = (0..dim).map(|k| (k as f64 * 0.11).cos()).collect();
            let naive: f64 = a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum();
            assert!((squared_distance(&a, &b) - naive).abs() <= 1e-14 * (1.0 + naive), "dim {dim}");
        }
    }

    #[test]
    #[should_panic(expected = "do not form rows")]
    fn ragged_point_set_is_rejected() {
        point_count(&[1.0, 2.0, 3.0], 2);
    }
}

//! Where clean training batches come from: any [`CleanData`] source, e.g. a finite [`TrainingSet`]
//! sampled with replacement or an exact sampler of a synthetic distribution.

use anyhow::{ensure, Result};
use rand::Rng as _;

/// A source of clean data points y ~ p_data.
pub trait CleanData: Sync {
    /// The dimension of one point.
    fn dim(&self) -> usize;

    /// `n` points, row-major (`n × dim`), drawn with `rng` only, so a batch depends on nothing but the stream it came from.
    fn batch(&self, rng: &mut seeding::Rng, n: usize) -> Vec<f64>;
}

/// A finite training set; batches are drawn uniformly with replacement (EDM's infinite sampler
/// shuffles instead, but with-replacement draws make step s depend only on step s's stream).
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingSet {
    dim: usize,
    points: Vec<f64>,
}

impl TrainingSet {
    /// A set of `points.len() / dim` points given row-major.
    pub fn new(dim: usize, points: Vec<f64>) -> Result<Self> {
        ensure!(
            dim > 0 && !points.is_empty() && points.len().is_multiple_of(dim),
            "training set: {} values do not make whole points of dimension {dim}",
            points.len()
        );
        Ok(TrainingSet { dim, points })
    }

    /// The number of points.
    pub fn len(&self) -> usize {
        self.points.len() / self.dim
    }

    /// Always false: a set holds at least one point.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The points, row-major.
    pub fn points(&self) -> &[f64] {
        &self.points
    }
}

impl CleanData for TrainingSet {
    fn dim(&self) -> usize {
        self.dim
    }

    fn batch(&self, rng: &mut seeding::Rng, n: usize) -> Vec<f64> {
        let mut out = Vec::with_capacity(n * self.dim);
        for _ in 0..n {
            let i = rng.random_range(0..self.len());
            out.extend_from_slice(&self.points[i * self.dim..(i + 1) * self.dim]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_rows_of_the_set_and_depend_only_on_the_stream() {
        let set = TrainingSet::new(2, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        let s = seeding::Stream::new(9);
        let a = set.batch(&mut s.rng(), 50);
        assert_eq!(a, set.batch(&mut s.rng(), 50));
        assert!(a.chunks(2).all(|p| p[1] == p[0] + 1.0 && p[0] % 2.0 == 0.0));
        assert!(TrainingSet::new(2, vec![1.0; 3]).is_err());
    }
}

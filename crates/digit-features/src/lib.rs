//! The FD-digits metric: a small classifier trained here on the UCI digits, whose penultimate features feed a Fréchet distance.
//!
//! Reported as "FD-digits", never as FID: the feature extractor is ours (an MLP 64 → 128 → 64 →
//! 10 trained deterministically from a seed in seconds), not the Inception network, so values are
//! comparable with one another and not with the papers' FID columns.

pub mod classifier;
pub mod committed;

pub use classifier::{Classifier, TrainConfig};

use anyhow::Result;

/// FD-digits between two sets of 8×8 digit images (row-major rows of 64 values in [−1, 1]).
pub fn fd_digits(classifier: &Classifier, a: &[f64], b: &[f64]) -> Result<f64> {
    let dim = classifier::FEATURES;
    let (fa, fb) = (classifier.features(a)?, classifier.features(b)?);
    Ok(metrics::frechet_distance(
        &metrics::GaussianMoments::of(&fa, dim),
        &metrics::GaussianMoments::of(&fb, dim),
    ))
}

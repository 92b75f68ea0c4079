//! Small real image sets (digits, MNIST-5k, LFW) obtained offline-friendly, and synthetic high-dimensional sets.
//!
//! Images come back as candle tensors (N, C, H, W) in f32, scaled to [−1, 1] like EDM's data,
//! with labels where the set has them; [`ImageSet::rows_f64`] gives the flat f64 rows that the
//! exact fields use.

pub mod fetch;
pub mod images;
pub mod synthetic;

pub use fetch::{DatasetFile, DIGITS, LFW, MNIST_5K};
pub use images::{digits, lfw, mnist_5k, ImageSet};
pub use synthetic::{clustered_images, pfgmpp_two_clusters, restart_mixture_20d, ClusteredImages, PFGMPP_TOY_DIM};

use std::path::{Path, PathBuf};

/// The `datasets/` folder at the workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets")
}

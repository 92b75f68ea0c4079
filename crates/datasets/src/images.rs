//! Loaders for the real image sets, scaled to [−1, 1].

use crate::fetch::{DatasetFile, DIGITS, LFW, MNIST_5K};
use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, Tensor};
use polars::prelude::{CsvReadOptions, DataType, SerReader};
use std::io::{Cursor, Read};
use std::path::Path;

/// A set of images with optional labels.
#[derive(Clone, Debug)]
pub struct ImageSet {
    /// Images (N, C, H, W), f32 in [−1, 1].
    pub images: Tensor,
    /// Class labels, when the set has them.
    pub labels: Option<Vec<u8>>,
}

impl ImageSet {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.images.dims()[0]
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The images as flat f64 rows (N × C·H·W), for the exact fields.
    pub fn rows_f64(&self) -> Result<Vec<f64>> {
        Ok(self.images.flatten_all()?.to_dtype(DType::F64)?.to_vec1::<f64>()?)
    }
}

/// Reads a gzipped headerless numeric CSV whose last column is a label.
fn read_labelled_csv_gz(path: &Path, side: usize, max_value: f64) -> Result<ImageSet> {
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path)?)
        .read_to_end(&mut bytes)
        .with_context(|| format!("decompressing {}", path.display()))?;
    let df = CsvReadOptions::default()
        .with_has_header(false)
        .into_reader_with_file_handle(Cursor::new(bytes))
        .finish()
        .with_context(|| format!("parsing {}", path.display()))?;
    let (n, cols) = (df.height(), df.width());
    if cols != side * side + 1 {
        bail!("{} has {cols} columns, expected {} pixels and a label", path.display(), side * side);
    }
    let mut pixels = vec![0f32; n * side * side];
    let mut labels = vec![0u8; n];
    for (j, c) in df.columns().iter().enumerate() {
        let values = c.as_materialized_series().cast(&DataType::Float64)?;
        for (i, v) in values.f64()?.iter().enumerate() {
            let v = v.with_context(|| format!("{}: empty cell at row {i}, column {j}", path.display()))?;
            if j + 1 == cols {
                labels[i] = v as u8;
            } else {
                pixels[i * side * side + j] = (2.0 * v / max_value - 1.0) as f32;
            }
        }
    }
    Ok(ImageSet {
        images: Tensor::from_vec(pixels, (n, 1, side, side), &Device::Cpu)?,
        labels: Some(labels),
    })
}

fn obtain(file: &DatasetFile, root: &Path) -> Result<std::path::PathBuf> {
    file.obtain(root)
}

/// The 1797 UCI digits, (1797, 1, 8, 8), labels 0–9.
pub fn digits(root: &Path) -> Result<ImageSet> {
    read_labelled_csv_gz(&obtain(&DIGITS, root)?, 8, 16.0)
}

/// The 5000 MNIST images, (5000, 1, 28, 28), labels 0–9.
pub fn mnist_5k(root: &Path) -> Result<ImageSet> {
    read_labelled_csv_gz(&obtain(&MNIST_5K, root)?, 28, 255.0)
}

/// The 200 LFW faces, (200, 1, 25, 25), no labels.
pub fn lfw(root: &Path) -> Result<ImageSet> {
    let path = obtain(&LFW, root)?;
    let t = Tensor::read_npy(&path).with_context(|| format!("reading {}", path.display()))?;
    let (n, h, w) = t.dims3()?;
    let images = ((t.to_dtype(DType::F32)? * 2.0)? - 1.0)?.reshape((n, 1, h, w))?;
    Ok(ImageSet { images, labels: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_shape_labels_range_and_checksum() {
        let set = digits(&crate::root()).unwrap();
        assert_eq!(set.images.dims(), &[1797, 1, 8, 8]);
        let labels = set.labels.as_ref().unwrap();
        let mut counts = [0usize; 10];
        labels.iter().for_each(|&l| counts[l as usize] += 1);
        assert!(counts.iter().all(|&c| (170..=190).contains(&c)), "{counts:?}");
        let rows = set.rows_f64().unwrap();
        let (lo, hi) = rows.iter().fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        assert_eq!((lo, hi), (-1.0, 1.0));
    }

    #[test]
    fn corrupted_file_is_refused_with_instructions() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("digits.csv.gz"), b"not the digits").unwrap();
        let err = format!("{:#}", digits(dir.path()).unwrap_err());
        assert!(err.contains("sha256") && err.contains("cargo xtask datasets"), "{err}");
    }
}

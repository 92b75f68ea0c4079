//! What an experiment produces after all its cells.

use artifacts::Tables;
use figures::{Figure, HeatMapFigure, ImageGrid};

/// A computed number that references in the declaration can be compared with.
#[derive(Clone, Debug, PartialEq)]
pub struct Quantity {
    /// Key used by `[[references]] key = …`.
    pub key: String,
    /// Our value.
    pub value: f64,
    /// Its Monte Carlo standard error, where it has one.
    pub se: Option<f64>,
}

impl Quantity {
    /// A quantity without a standard error.
    pub fn exact(key: impl Into<String>, value: f64) -> Self {
        Quantity {
            key: key.into(),
            value,
            se: None,
        }
    }

    /// A Monte Carlo quantity with its standard error.
    pub fn mc(key: impl Into<String>, value: f64, se: f64) -> Self {
        Quantity {
            key: key.into(),
            value,
            se: Some(se),
        }
    }
}

/// The outputs of an experiment.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Final tables, written as `results/<id>/<name>.csv`.
    pub tables: Tables,
    /// Computed quantities (also written to `summary.csv` with the verdicts).
    pub quantities: Vec<Quantity>,
    /// Figures: the empty name is `figures/<id>`, others `figures/<id>-<name>`.
    pub figures: Vec<(String, Figure)>,
    /// Sample images, written as `figures/<id>-<name>.png`.
    pub images: Vec<(String, ImageGrid)>,
    /// Heat maps, named like `figures` (PNG and SVG).
    pub heatmaps: Vec<(String, HeatMapFigure)>,
    /// Lines printed after the side-by-side table (readings of errata, settled questions).
    pub notes: Vec<String>,
}

//! Paper-style figures drawn with plotters (PNG and SVG) using a bundled font.
//!
//! Experiments describe a figure as data ([`Figure`] → [`Panel`]s → [`Series`]); this crate
//! renders it. The DejaVu Sans font is compiled in (`assets/`, Bitstream Vera licence) and
//! registered with plotters' `ab_glyph` backend, so text renders on a machine without fontconfig.
//! Sample images are drawn as an [`ImageGrid`] (PNG); grids of values as [`HeatMap`] panels
//! ([`HeatMapFigure`], PNG and SVG) with a colour bar.

pub mod heatmap;
pub mod image_grid;
pub mod render;
pub mod spec;

pub use heatmap::{write_heatmaps, Colormap, HeatMap, HeatMapFigure};
pub use image_grid::{write_image_grid, ImageGrid};
pub use render::{render_png, render_svg, write_figure};
pub use spec::{Figure, Panel, Series, Style};

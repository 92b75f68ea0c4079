//! Heat maps: a grid of cells coloured by value, with labelled rows and columns, a colour bar and
//! (where the cells are large enough to read) each cell's value printed in it. The PG paper's
//! Fig. B.20 right (modes recovered over repulsion × noise weights) is one. PNG and SVG like the
//! line panels of [`crate::render`], with the same font and atomic writes.

use crate::render::{ensure_font, write_png_svg};
use anyhow::{anyhow, ensure, Result};
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// How values map to colours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Colormap {
    /// matplotlib's viridis (perceptually uniform; the notebook's default).
    Viridis,
    /// Blue–white–red, centred on the middle of the range (for differences).
    Diverging,
}

impl Colormap {
    /// The colour of u ∈ [0, 1] (clamped), by linear interpolation between anchors.
    pub fn color(&self, u: f64) -> RGBColor {
        const VIRIDIS: [(u8, u8, u8); 9] = [
            (68, 1, 84),
            (71, 45, 123),
            (59, 82, 139),
            (44, 114, 142),
            (33, 145, 140),
            (39, 173, 129),
            (92, 200, 99),
            (170, 220, 50),
            (253, 231, 37),
        ];
        const DIVERGING: [(u8, u8, u8); 5] = [(33, 102, 172), (146, 197, 222), (247, 247, 247), (244, 165, 130), (178, 24, 43)];
        let anchors: &[(u8, u8, u8)] = match self {
            Colormap::Viridis => &VIRIDIS,
            Colormap::Diverging => &DIVERGING,
        };
        let u = if u.is_finite() { u.clamp(0.0, 1.0) } else { 0.0 };
        let pos = u * (anchors.len() - 1) as f64;
        let k = (pos.floor() as usize).min(anchors.len() - 2);
        let f = pos - k as f64;
        let mix = |a: u8, b: u8| (a as f64 + f * (b as f64 - a as f64)).round() as u8;
        let (a, b) = (anchors[k], anchors[k + 1]);
        RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }
}

/// One heat-map panel: `values` row-major, row 0 drawn at the bottom.
#[derive(Clone, Debug, PartialEq)]
pub struct HeatMap {
    /// Panel title.
    pub title: String,
    /// Label of the column axis.
    pub x_label: String,
    /// Label of the row axis.
    pub y_label: String,
    /// One label per column.
    pub columns: Vec<String>,
    /// One label per row (row 0 at the bottom).
    pub rows: Vec<String>,
    /// rows × columns values, row-major; non-finite cells are drawn grey and left blank.
    pub values: Vec<f64>,
    /// The value range of the colour bar; `None` spans the finite values.
    pub range: Option<(f64, f64)>,
    /// The colour map.
    pub colormap: Colormap,
    /// Label of the colour bar.
    pub colorbar_label: String,
    /// Decimals of the printed cell values.
    pub decimals: usize,
}

/// Heat-map panels on a grid.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HeatMapFigure {
    /// Overall title.
    pub title: String,
    /// Panels, row by row.
    pub panels: Vec<HeatMap>,
    /// Panels per row.
    pub columns: usize,
}

const PANEL_W: u32 = 620;
const PANEL_H: u32 = 460;
const COLORBAR_W: u32 = 96;
/// The smallest cell, in pixels, whose value is printed.
const LEGIBLE: (u32, u32) = (30, 14);

impl HeatMap {
    fn check(&self) -> Result<()> {
        ensure!(
            !self.rows.is_empty() && !self.columns.is_empty() && self.values.len() == self.rows.len() * self.columns.len(),
            "heat map `{}`: {} values for {} rows × {} columns",
            self.title,
            self.values.len(),
            self.rows.len(),
            self.columns.len()
        );
        Ok(())
    }

    /// The colour-bar range: the declared one, or the finite values' (widened when they are all equal).
    pub fn value_range(&self) -> (f64, f64) {
        if let Some(r) = self.range {
            return r;
        }
        let finite = self.values.iter().copied().filter(|v| v.is_finite());
        let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
        if !lo.is_finite() {
            (0.0, 1.0)
        } else if hi > lo {
            (lo, hi)
        } else {
            (lo - 0.5, hi + 0.5)
        }
    }

    fn unit(&self, v: f64) -> f64 {
        let (lo, hi) = self.value_range();
        (v - lo) / (hi - lo)
    }
}

fn draw_heatmap<DB: DrawingBackend>(area: &DrawingArea<DB, plotters::coord::Shift>, map: &HeatMap) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing heat map `{}`: {e:?}", map.title);
    map.check()?;
    let (w, _) = area.dim_in_pixel();
    let (cells, bar) = area.split_horizontally(w.saturating_sub(COLORBAR_W));
    let (nc, nr) = (map.columns.len() as i32, map.rows.len() as i32);
    let label = |labels: &[String], v: &SegmentValue<i32>| match v {
        SegmentValue::CenterOf(i) => labels.get(*i as usize).cloned().unwrap_or_default(),
        _ => String::new(),
    };
    let mut chart = ChartBuilder::on(&cells)
        .caption(&map.title, ("sans-serif", 17))
        .margin(10)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d((0..nc - 1).into_segmented(), (0..nr - 1).into_segmented())
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(map.columns.len() + 1)
        .y_labels(map.rows.len() + 1)
        .x_label_formatter(&|v| label(&map.columns, v))
        .y_label_formatter(&|v| label(&map.rows, v))
        .x_desc(&map.x_label)
        .y_desc(&map.y_label)
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 15))
        .draw()
        .map_err(err)?;
    let (pw, ph) = chart.plotting_area().dim_in_pixel();
    let legible = pw / nc as u32 >= LEGIBLE.0 && ph / nr as u32 >= LEGIBLE.1;
    let font = (ph / nr as u32).clamp(9, 13);
    for r in 0..nr {
        for c in 0..nc {
            let v = map.values[(r * nc + c) as usize];
            let fill = if v.is_finite() {
                map.colormap.color(map.unit(v))
            } else {
                RGBColor(200, 200, 200)
            };
            // Segment i spans Exact(i) to Exact(i + 1), the last one to the axis end (Last).
            let edge = |i: i32, n: i32| if i + 1 == n { SegmentValue::Last } else { SegmentValue::Exact(i + 1) };
            let corners = [(SegmentValue::Exact(c), SegmentValue::Exact(r)), (edge(c, nc), edge(r, nr))];
            chart.draw_series(std::iter::once(Rectangle::new(corners, fill.filled()))).map_err(err)?;
            if legible && v.is_finite() {
                // Dark text on light cells, light text on dark ones (Rec. 601 luma).
                let luma = 0.299 * fill.0 as f64 + 0.587 * fill.1 as f64 + 0.114 * fill.2 as f64;
                let ink = if luma > 140.0 { BLACK } else { WHITE };
                let style = ("sans-serif", font).into_font().color(&ink).pos(Pos::new(HPos::Center, VPos::Center));
                let text = format!("{v:.prec$}", prec = map.decimals);
                chart
                    .draw_series(std::iter::once(Text::new(text, (SegmentValue::CenterOf(c), SegmentValue::CenterOf(r)), style)))
                    .map_err(err)?;
            }
        }
    }
    draw_colorbar(&bar, map)
}

/// A vertical bar of the colour map over the value range, with ticks and the bar's label.
fn draw_colorbar<DB: DrawingBackend>(area: &DrawingArea<DB, plotters::coord::Shift>, map: &HeatMap) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing the colour bar of `{}`: {e:?}", map.title);
    let (lo, hi) = map.value_range();
    let mut chart = ChartBuilder::on(area)
        .margin_top(37)
        .margin_bottom(54)
        .margin_right(8)
        .y_label_area_size(58)
        .build_cartesian_2d(0f64..1f64, lo..hi)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(0)
        .y_labels(6)
        // A tick a rounding error away from zero prints as 0.
        .y_label_formatter(&|v| crate::render::tick(if v.abs() < 1e-9 * (hi - lo) { &0.0 } else { v }))
        .y_desc(&map.colorbar_label)
        .label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    let steps = 100;
    let bars = (0..steps).map(|k| {
        let (a, b) = (lo + (hi - lo) * k as f64 / steps as f64, lo + (hi - lo) * (k + 1) as f64 / steps as f64);
        Rectangle::new([(0.0, a), (1.0, b)], map.colormap.color((k as f64 + 0.5) / steps as f64).filled())
    });
    chart.draw_series(bars).map_err(err)?;
    Ok(())
}

fn size(fig: &HeatMapFigure) -> (u32, u32) {
    let cols = fig.columns.max(1).min(fig.panels.len().max(1));
    let rows = fig.panels.len().div_ceil(cols).max(1);
    (PANEL_W * cols as u32, PANEL_H * rows as u32 + 40)
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, plotters::coord::Shift>, fig: &HeatMapFigure) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing heat-map figure `{}`: {e:?}", fig.title);
    root.fill(&WHITE).map_err(err)?;
    let root = root.titled(&fig.title, ("sans-serif", 20)).map_err(err)?;
    let cols = fig.columns.max(1).min(fig.panels.len().max(1));
    let rows = fig.panels.len().div_ceil(cols).max(1);
    for (map, area) in fig.panels.iter().zip(root.split_evenly((rows, cols)).iter()) {
        draw_heatmap(area, map)?;
    }
    root.present().map_err(err)?;
    Ok(())
}

/// Renders the heat maps as PNG to `path`.
pub fn render_heatmaps_png(fig: &HeatMapFigure, path: &Path) -> Result<()> {
    ensure_font();
    draw(BitMapBackend::new(path, size(fig)).into_drawing_area(), fig)
}

/// Renders the heat maps as an SVG document.
pub fn render_heatmaps_svg(fig: &HeatMapFigure) -> Result<String> {
    ensure_font();
    let mut s = String::new();
    draw(SVGBackend::with_string(&mut s, size(fig)).into_drawing_area(), fig)?;
    Ok(s)
}

/// Writes `<stem>.png` and `<stem>.svg` atomically, as [`crate::write_figure`] does.
pub fn write_heatmaps(fig: &HeatMapFigure, stem: &Path) -> Result<Vec<std::path::PathBuf>> {
    write_png_svg(stem, |p| render_heatmaps_png(fig, p), || render_heatmaps_svg(fig))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(values: Vec<f64>) -> HeatMap {
        HeatMap {
            title: "modes".into(),
            x_label: "noise weight".into(),
            y_label: "repulsion weight".into(),
            columns: vec!["0.01".into(), "0.1".into(), "1".into()],
            rows: vec!["a".into(), "b".into()],
            values,
            range: None,
            colormap: Colormap::Viridis,
            colorbar_label: "modes recovered".into(),
            decimals: 2,
        }
    }

    #[test]
    fn colormaps_hit_their_anchors_and_clamp() {
        assert_eq!(Colormap::Viridis.color(0.0), RGBColor(68, 1, 84));
        assert_eq!(Colormap::Viridis.color(1.0), RGBColor(253, 231, 37));
        assert_eq!(Colormap::Viridis.color(7.0), Colormap::Viridis.color(1.0));
        assert_eq!(Colormap::Diverging.color(0.5), RGBColor(247, 247, 247));
        assert_eq!(Colormap::Viridis.color(f64::NAN), Colormap::Viridis.color(0.0));
    }

    #[test]
    fn ranges_default_to_the_finite_values() {
        assert_eq!(map(vec![6.5, 7.0, f64::NAN, 8.0, 9.5, 10.0]).value_range(), (6.5, 10.0));
        assert_eq!(map(vec![3.0; 6]).value_range(), (2.5, 3.5));
        let mut m = map(vec![1.0; 6]);
        m.range = Some((6.3, 10.0));
        assert_eq!(m.value_range(), (6.3, 10.0));
    }

    #[test]
    fn renders_png_and_svg_with_printed_values_and_rejects_a_ragged_grid() {
        let fig = HeatMapFigure {
            title: "test".into(),
            panels: vec![map(vec![6.5, 7.0, f64::NAN, 8.0, 9.5, 10.0])],
            columns: 1,
        };
        let dir = tempfile::tempdir().unwrap();
        let files = write_heatmaps(&fig, &dir.path().join("fig-b.20-heatmaps")).unwrap();
        assert!(files[0].ends_with("fig-b.20-heatmaps.png") && files[1].ends_with("fig-b.20-heatmaps.svg"));
        assert!(std::fs::metadata(&files[0]).unwrap().len() > 1000);
        let svg = std::fs::read_to_string(&files[1]).unwrap();
        // Every finite cell's value, the row and column labels and the colour bar's label are text.
        for t in ["6.50", "7.00", "8.00", "9.50", "10.00", "0.01", "repulsion weight", "modes recovered"] {
            assert!(svg.contains(t), "{t} missing from the SVG");
        }
        let bad = HeatMapFigure {
            panels: vec![map(vec![1.0; 5])],
            ..fig
        };
        assert!(render_heatmaps_svg(&bad).is_err());
    }
}

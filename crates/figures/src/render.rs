//! Rendering a [`Figure`] to PNG and SVG with plotters.

use crate::spec::{Figure, Panel, Style};
use anyhow::{anyhow, Result};
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use std::path::Path;
use std::sync::Once;

static FONT: Once = Once::new();

pub(crate) fn ensure_font() {
    FONT.call_once(|| {
        // The bytes are a valid TTF compiled into the binary; failure would be a build defect.
        let _ = register_font("sans-serif", FontStyle::Normal, include_bytes!("../assets/DejaVuSans.ttf"));
    });
}

/// Colour `i` of a ten-colour qualitative palette (matplotlib's tab10 order).
fn color(i: usize) -> RGBColor {
    const TAB10: [(u8, u8, u8); 10] = [
        (31, 119, 180),
        (255, 127, 14),
        (44, 160, 44),
        (214, 39, 40),
        (148, 103, 189),
        (140, 86, 75),
        (227, 119, 194),
        (127, 127, 127),
        (188, 189, 34),
        (23, 190, 207),
    ];
    let (r, g, b) = TAB10[i % 10];
    RGBColor(r, g, b)
}

/// Tick labels: plain for moderate magnitudes with four significant digits (so that ticks 0.0015
/// and 0.0016 stay apart), scientific with one digit otherwise.
pub(crate) fn tick(v: &f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if !(1e-3..1e4).contains(&a) {
        format!("{v:.0e}")
    } else {
        let decimals = (3 - a.log10().floor() as i32).clamp(0, 8) as usize;
        let s = format!("{v:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    }
}

const PANEL_W: u32 = 560;
const PANEL_H: u32 = 420;

fn size(fig: &Figure) -> (u32, u32) {
    let cols = fig.columns.max(1).min(fig.panels.len().max(1));
    let rows = fig.panels.len().div_ceil(cols).max(1);
    (PANEL_W * cols as u32, PANEL_H * rows as u32 + 40)
}

fn draw_panel<DB, X, Y>(area: &DrawingArea<DB, plotters::coord::Shift>, panel: &Panel, xr: X, yr: Y) -> Result<()>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing panel `{}`: {e:?}", panel.title);
    let ((x0, _), (y0, _)) = panel.ranges();
    // On log axes, points below the shown range are dropped rather than drawn off the chart.
    let lo = (x0, y0);
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", 17))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(xr, yr)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .x_desc(&panel.x_label)
        .y_desc(&panel.y_label)
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 15))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err)?;
    for s in &panel.series {
        let c = color(s.color);
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite() && (!panel.x_log || *x >= lo.0) && (!panel.y_log || *y >= lo.1))
            .collect();
        let legend_style = c.stroke_width(2);
        // A series without a label draws no legend entry (e.g. the second and later of many paths).
        let labelled = !s.label.is_empty();
        match s.style {
            Style::Line | Style::LineMarkers => {
                let anno = chart.draw_series(LineSeries::new(pts.clone(), c.stroke_width(2))).map_err(err)?;
                if labelled {
                    anno.label(&s.label)
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], legend_style));
                }
                if s.style == Style::LineMarkers {
                    chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled()))).map_err(err)?;
                }
            }
            Style::Markers => {
                let anno = chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled()))).map_err(err)?;
                if labelled {
                    anno.label(&s.label).legend(move |(x, y)| Circle::new((x + 9, y), 3, c.filled()));
                }
            }
            Style::Dashed => {
                let anno = chart.draw_series(DashedLineSeries::new(pts.clone(), 7, 5, c.stroke_width(2))).map_err(err)?;
                if labelled {
                    anno.label(&s.label)
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], legend_style));
                }
            }
        }
    }
    if panel.series.iter().any(|s| !s.label.is_empty()) {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font(("sans-serif", 12))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .draw()
            .map_err(err)?;
    }
    Ok(())
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, plotters::coord::Shift>, fig: &Figure) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing figure `{}`: {e:?}", fig.title);
    root.fill(&WHITE).map_err(err)?;
    let root = root.titled(&fig.title, ("sans-serif", 20)).map_err(err)?;
    let cols = fig.columns.max(1).min(fig.panels.len().max(1));
    let rows = fig.panels.len().div_ceil(cols).max(1);
    let areas = root.split_evenly((rows, cols));
    for (panel, area) in fig.panels.iter().zip(areas.iter()) {
        let ((x0, x1), (y0, y1)) = panel.ranges();
        match (panel.x_log, panel.y_log) {
            (false, false) => draw_panel(area, panel, x0..x1, y0..y1)?,
            (true, false) => draw_panel(area, panel, (x0..x1).log_scale(), y0..y1)?,
            (false, true) => draw_panel(area, panel, x0..x1, (y0..y1).log_scale())?,
            (true, true) => draw_panel(area, panel, (x0..x1).log_scale(), (y0..y1).log_scale())?,
        }
    }
    root.present().map_err(err)?;
    Ok(())
}

/// Renders the figure as PNG to `path`.
pub fn render_png(fig: &Figure, path: &Path) -> Result<()> {
    ensure_font();
    draw(BitMapBackend::new(path, size(fig)).into_drawing_area(), fig)
}

/// Renders the figure as an SVG document.
pub fn render_svg(fig: &Figure) -> Result<String> {
    let mut s = String::new();
    draw(SVGBackend::with_string(&mut s, size(fig)).into_drawing_area(), fig)?;
    Ok(s)
}

/// Writes `<stem>.png` and `<stem>.svg` atomically (temporary file, then rename). The stem is
/// taken whole: ids such as `fig-3.3` contain dots that are not extensions.
pub fn write_figure(fig: &Figure, stem: &Path) -> Result<Vec<std::path::PathBuf>> {
    write_png_svg(stem, |p| render_png(fig, p), || render_svg(fig))
}

/// Writes `<stem>.png` by `png(path)` and `<stem>.svg` from `svg()`, each to a temporary file
/// renamed into place, so that a reader never sees a half-written figure.
pub(crate) fn write_png_svg(stem: &Path, png: impl Fn(&Path) -> Result<()>, svg: impl Fn() -> Result<String>) -> Result<Vec<std::path::PathBuf>> {
    let dir = stem.parent().unwrap_or(Path::new("."));
    let name = stem
        .file_name()
        .and_then(|s| s.to_str())
        .ok_or_else(|| anyhow!("figure path {} has no file name", stem.display()))?;
    std::fs::create_dir_all(dir).map_err(|e| anyhow!("cannot create the figure folder {}: {e}", dir.display()))?;
    let (png_path, svg_path) = (dir.join(format!("{name}.png")), dir.join(format!("{name}.svg")));
    let tmp = dir.join(format!(".{name}.{}.tmp.png", std::process::id()));
    png(&tmp)?;
    std::fs::rename(&tmp, &png_path)?;
    let tmp = dir.join(format!(".{name}.{}.tmp.svg", std::process::id()));
    std::fs::write(&tmp, svg()?)?;
    std::fs::rename(&tmp, &svg_path)?;
    Ok(vec![png_path, svg_path])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Series;

    #[test]
    fn tick_labels_keep_four_significant_digits() {
        assert_eq!(tick(&0.0016), "0.0016");
        assert_eq!(tick(&0.00155), "0.00155");
        assert_eq!(tick(&0.5), "0.5");
        assert_eq!(tick(&12.5), "12.5");
        assert_eq!(tick(&2000.0), "2000");
        assert_eq!(tick(&1e-5), "1e-5");
        assert_eq!(tick(&-0.25), "-0.25");
    }

    #[test]
    fn renders_text_and_log_axes_without_fontconfig() {
        let fig = Figure {
            title: "test".into(),
            columns: 2,
            panels: vec![
                Panel {
                    title: "lin".into(),
                    x_label: "t".into(),
                    y_label: "V".into(),
                    series: vec![Series::new("a", &[0.0, 1.0], &[1.0, 2.0], Style::Line, 0)],
                    ..Default::default()
                },
                Panel {
                    title: "log".into(),
                    x_label: "n".into(),
                    y_label: "V".into(),
                    x_log: true,
                    y_log: true,
                    series: vec![Series::new("b", &[1.0, 10.0, 0.0, 20.0], &[1.0, 0.1, 5.0, 1e-300], Style::Dashed, 1)],
                },
            ],
        };
        let dir = tempfile::tempdir().unwrap();
        let files = write_figure(&fig, &dir.path().join("fig-3.3")).unwrap();
        assert!(files[0].ends_with("fig-3.3.png") && files[1].ends_with("fig-3.3.svg"));
        assert!(std::fs::metadata(&files[0]).unwrap().len() > 1000);
        let svg = std::fs::read_to_string(&files[1]).unwrap();
        assert!(svg.contains("<svg") && svg.contains("lin"));
    }
}

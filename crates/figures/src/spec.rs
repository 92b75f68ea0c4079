//! The description of a figure: panels of named series.

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// A solid line.
    Line,
    /// A solid line with markers.
    LineMarkers,
    /// Markers only.
    Markers,
    /// A dashed line, used for the paper's reference values and for bounds.
    Dashed,
}

/// One named series of (x, y) points.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// Points; non-finite ones are skipped.
    pub points: Vec<(f64, f64)>,
    /// Drawing style.
    pub style: Style,
    /// Index into the palette (same index, same colour across panels).
    pub color: usize,
}

impl Series {
    /// A series from x and y columns.
    pub fn new(label: impl Into<String>, xs: &[f64], ys: &[f64], style: Style, color: usize) -> Self {
        Series {
            label: label.into(),
            points: xs.iter().copied().zip(ys.iter().copied()).collect(),
            style,
            color,
        }
    }
}

/// The widest span of a logarithmic axis, in decades.
pub const MAX_DECADES: i32 = 14;

/// One panel: axes with labels (units included) and series.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Panel {
    /// Panel title.
    pub title: String,
    /// x-axis label with units.
    pub x_label: String,
    /// y-axis label with units.
    pub y_label: String,
    /// Logarithmic x axis.
    pub x_log: bool,
    /// Logarithmic y axis.
    pub y_log: bool,
    /// The series.
    pub series: Vec<Series>,
}

/// A figure: panels on a grid.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Figure {
    /// Overall title.
    pub title: String,
    /// Panels, row by row.
    pub panels: Vec<Panel>,
    /// Panels per row.
    pub columns: usize,
}

impl Panel {
    /// The data range over finite points (positive ones only on log axes), padded a little.
    pub fn ranges(&self) -> ((f64, f64), (f64, f64)) {
        let pts = self
            .series
            .iter()
            .flat_map(|s| s.points.iter())
            .filter(|(x, y)| x.is_finite() && y.is_finite() && (!self.x_log || *x > 0.0) && (!self.y_log || *y > 0.0));
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(x, y) in pts {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        if x0 > x1 {
            return ((0.0, 1.0), (0.0, 1.0));
        }
        // plotters' log axis cannot lay out ticks over hundreds of decades: show at most
        // MAX_DECADES below the largest value (smaller values are clipped by the renderer).
        if self.y_log {
            y0 = y0.max(y1 * 10f64.powi(-MAX_DECADES));
        }
        if self.x_log {
            x0 = x0.max(x1 * 10f64.powi(-MAX_DECADES));
        }
        let pad = |lo: f64, hi: f64, log: bool| {
            if log {
                let (a, b) = (lo.ln(), hi.ln().max(lo.ln() + 1e-9));
                let p = 0.05 * (b - a).max(0.1);
                ((a - p).exp(), (b + p).exp())
            } else {
                let p = 0.05 * (hi - lo).max(1e-12 * hi.abs().max(1.0));
                (lo - p, hi + p)
            }
        };
        (pad(x0, x1, self.x_log), pad(y0, y1, self.y_log))
    }
}

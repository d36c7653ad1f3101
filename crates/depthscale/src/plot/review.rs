//! What a drawn figure shows, recorded for a mechanical review (issue 25 §5).
//!
//! While a figure's PNG is drawn, the plot helpers report here every text size they use, each
//! panel's legend box and the pixels its lines and markers cover, and any band point they could
//! not draw. Nothing is recorded unless a test asked for it with [`capture`] on the same thread,
//! so figures cost the same as before. [`FigureReview::problems`] turns a record into the
//! complaints a reviewer would make: a legend over data, text too small at the size the report
//! shows the figure, a band point dropped or clamped.

// The reading side is used by the figure-review tests only.
#![cfg_attr(not(test), allow(dead_code))]

use std::cell::RefCell;
use std::path::{Path, PathBuf};

/// An axis-aligned pixel rectangle of a figure, `[x0, x1) x [y0, y1)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PixelRect {
    /// Left edge.
    pub x0: i32,
    /// Top edge.
    pub y0: i32,
    /// Right edge (exclusive).
    pub x1: i32,
    /// Bottom edge (exclusive).
    pub y1: i32,
}

impl PixelRect {
    /// Whether pixel `p` lies inside.
    pub fn contains(&self, p: (i32, i32)) -> bool {
        (self.x0..self.x1).contains(&p.0) && (self.y0..self.y1).contains(&p.1)
    }
}

/// One panel as drawn.
#[derive(Debug, Clone, Default)]
pub(crate) struct PanelReview {
    /// The panel title.
    pub title: String,
    /// The legend box, if the panel has a legend.
    pub legend: Option<PixelRect>,
    /// Pixels covered by the panel's lines (sampled every few pixels) and markers.
    pub data: Vec<(i32, i32)>,
    /// Band points that could not be drawn as given (an edge non-positive on a log axis).
    pub band_points_not_drawn: usize,
}

/// One figure as drawn.
#[derive(Debug, Clone, Default)]
pub(crate) struct FigureReview {
    /// The figure's stem (`<stem>.png`).
    pub stem: PathBuf,
    /// Size in pixels.
    pub size: (u32, u32),
    /// The smallest plotters font size used (see [`PX_PER_FONT_SIZE`]).
    pub min_text_px: f64,
    /// The panels, in drawing order.
    pub panels: Vec<PanelReview>,
}

/// The width at which `report.html` shows figures (its `max-width: 60rem`).
pub(crate) const REPORT_WIDTH_PX: u32 = 960;

/// The smallest text a reader should have to read in the report, in screen pixels (about 6 pt).
pub(crate) const MIN_SHOWN_TEXT_PX: f64 = 8.0;

/// Pixels of rendered text per unit of a plotters font size: plotters draws a size-`s` font
/// `s / 1.24` pixels high (the `font-size` it writes into SVG, the format the report embeds).
pub(crate) const PX_PER_FONT_SIZE: f64 = 1.0 / 1.24;

impl FigureReview {
    /// The smallest text size as shown in the report (figures wider than the report are
    /// scaled down to its width).
    pub fn min_shown_text_px(&self) -> f64 {
        let scale = (REPORT_WIDTH_PX as f64 / self.size.0.max(1) as f64).min(1.0);
        self.min_text_px * PX_PER_FONT_SIZE * scale
    }

    /// What a reviewer would flag, one line each (empty: nothing).
    pub fn problems(&self) -> Vec<String> {
        let name = self.stem.display();
        let mut out = Vec::new();
        let shown = self.min_shown_text_px();
        if shown < MIN_SHOWN_TEXT_PX {
            out.push(format!(
                "{name}: text {shown:.1} px at the report's {REPORT_WIDTH_PX} px (figure {} px wide), below {MIN_SHOWN_TEXT_PX} px",
                self.size.0
            ));
        }
        for p in &self.panels {
            if let Some(r) = p.legend {
                let covered = p.data.iter().filter(|q| r.contains(**q)).count();
                if covered > 0 {
                    out.push(format!(
                        "{name}, panel `{}`: legend box covers {covered} data pixels",
                        p.title
                    ));
                }
            }
            if p.band_points_not_drawn > 0 {
                out.push(format!(
                    "{name}, panel `{}`: {} band points not drawable on the log axis (give log-space bands)",
                    p.title, p.band_points_not_drawn
                ));
            }
        }
        out
    }
}

thread_local! {
    /// `Some` while [`capture`] records on this thread: the finished figures and the one being
    /// drawn.
    static RECORD: RefCell<Option<(Vec<FigureReview>, Option<FigureReview>)>> =
        const { RefCell::new(None) };
}

/// Runs `f` and returns what every figure drawn by it on this thread showed.
#[cfg(test)]
pub(crate) fn capture<T>(f: impl FnOnce() -> T) -> (T, Vec<FigureReview>) {
    RECORD.with(|r| *r.borrow_mut() = Some((Vec::new(), None)));
    let value = f();
    let figures = RECORD
        .with(|r| r.borrow_mut().take())
        .map(|(done, _)| done)
        .unwrap_or_default();
    (value, figures)
}

/// Applies `f` to the figure being recorded, if any.
fn with_current(f: impl FnOnce(&mut FigureReview)) {
    RECORD.with(|r| {
        if let Some((_, Some(fig))) = r.borrow_mut().as_mut() {
            f(fig);
        }
    });
}

/// Starts recording the figure `stem` of `size` (when capturing).
pub(super) fn begin(stem: &Path, size: (u32, u32)) {
    RECORD.with(|r| {
        if let Some((_, current)) = r.borrow_mut().as_mut() {
            *current = Some(FigureReview {
                stem: stem.to_path_buf(),
                size,
                min_text_px: f64::INFINITY,
                panels: Vec::new(),
            });
        }
    });
}

/// Finishes the figure being recorded.
pub(super) fn end() {
    RECORD.with(|r| {
        if let Some((done, current)) = r.borrow_mut().as_mut()
            && let Some(fig) = current.take()
        {
            done.push(fig);
        }
    });
}

/// Records that text of `size` pixels is drawn.
pub(super) fn text(size: f64) {
    with_current(|f| f.min_text_px = f.min_text_px.min(size));
}

/// Records a new panel titled `title`; later calls describe it.
pub(super) fn panel(title: &str) {
    with_current(|f| {
        f.panels.push(PanelReview {
            title: title.to_string(),
            ..PanelReview::default()
        })
    });
}

/// Applies `g` to the current panel, if recording.
pub(super) fn with_panel(g: impl FnOnce(&mut PanelReview)) {
    with_current(|f| {
        if let Some(p) = f.panels.last_mut() {
            g(p);
        }
    });
}

/// Whether a figure is being recorded (so callers can skip computing what they would report).
pub(super) fn active() -> bool {
    RECORD.with(|r| matches!(r.borrow().as_ref(), Some((_, Some(_)))))
}

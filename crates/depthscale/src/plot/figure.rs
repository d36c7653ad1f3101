//! Figure layout and output: one drawing routine rendered to both PNG and SVG.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::font;
use crate::experiment::output::{replace_with, write_atomic};
use crate::{Error, Result};

/// What a drawing routine returns for backend `DB`.
pub(super) type DrawResult<DB> =
    std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A figure that can draw itself on any plotters backend.
pub(super) trait Figure {
    /// Size in pixels.
    fn size(&self) -> (u32, u32);
    /// Draws the whole figure onto `root`.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB>;
}

/// Draws every panel of a figure laid out on `grid`: the title, then `draw(area, panel, notes,
/// lines)` for each panel with its notes (`notes_of`) and the largest note count of the figure
/// (so that every panel's plot area starts at the same height).
pub(super) fn draw_panels<DB: DrawingBackend, P>(
    grid: &Grid,
    root: &DrawingArea<DB, Shift>,
    title: &str,
    panels: &[P],
    notes_of: fn(&P) -> Vec<String>,
    draw: impl Fn(&DrawingArea<DB, Shift>, &P, &[String], usize) -> DrawResult<DB>,
) -> DrawResult<DB> {
    let notes: Vec<Vec<String>> = panels.iter().map(notes_of).collect();
    let lines = notes.iter().map(Vec::len).max().unwrap_or(0);
    for ((area, panel), notes) in grid.areas(root, title)?.iter().zip(panels).zip(&notes) {
        draw(area, panel, notes, lines)?;
    }
    Ok(())
}

/// Height of the figure title strip.
const TITLE_H: u32 = 44;

/// `stem` with `.ext` appended (not replacing any dot already in the file name).
pub(super) fn with_suffix(stem: &Path, ext: &str) -> PathBuf {
    let mut s = OsString::from(stem.as_os_str());
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

/// Renders `fig` to `<stem>.png` and `<stem>.svg`, creating the parent directory if needed.
/// Each file is written to a new temporary file and renamed over its name, never through a
/// symbolic link (see [`crate::experiment::output::replace_with`]).
pub(super) fn write(stem: &Path, fig: &impl Figure) -> Result<()> {
    let plot_err = |path: &Path, message: String| Error::Plot {
        path: path.to_path_buf(),
        message,
    };
    font::ensure_registered().map_err(|m| plot_err(stem, m))?;
    if let Some(dir) = stem.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let size = fig.size();
    let png = with_suffix(stem, "png");
    super::review::begin(stem, size);
    let drawn = replace_with(&png, |tmp, file| {
        drop(file);
        // the bitmap encoder picks PNG from the temporary's extension and overwrites the new,
        // empty regular file made for it
        let root = BitMapBackend::new(tmp, size).into_drawing_area();
        fig.draw(&root)
            .and_then(|()| root.present())
            .map_err(|e| plot_err(&png, e.to_string()))?;
        drop(root);
        sync_file(tmp)
    });
    super::review::end();
    drawn?;
    let svg = with_suffix(stem, "svg");
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        fig.draw(&root)
            .and_then(|()| root.present())
            .map_err(|e| plot_err(&svg, e.to_string()))?;
    }
    write_atomic(&svg, text)
}

/// Fsyncs the file at `path`.
fn sync_file(path: &Path) -> Result<()> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(path, e))
}

/// A grid of equally sized panels.
#[derive(Debug, Clone, Copy)]
pub(super) struct Grid {
    /// Number of panels drawn.
    pub n: usize,
    /// Panels per row.
    pub cols: usize,
    /// Rows of panels.
    pub rows: usize,
    /// Panel width in pixels.
    pub panel_w: u32,
    /// Panel height in pixels.
    pub panel_h: u32,
    /// Whether a figure title strip sits above the panels.
    pub titled: bool,
}

impl Grid {
    /// Lays out `n` panels in rows of at most `max_cols`: a row is about 1200 px wide (wider when
    /// panels would otherwise be narrower than `min_w`), and panels are `aspect` times as high as
    /// wide, clamped to `[min_h, max_h]`.
    pub fn new(
        n: usize,
        max_cols: usize,
        title: &str,
        min_w: u32,
        aspect: f64,
        h: (u32, u32),
    ) -> Self {
        let cols = n.clamp(1, max_cols.max(1));
        let rows = n.max(1).div_ceil(cols);
        let panel_w = (1200 / cols as u32).max(min_w);
        let panel_h = ((panel_w as f64 * aspect) as u32).clamp(h.0, h.1);
        Self {
            n,
            cols,
            rows,
            panel_w,
            panel_h,
            titled: !title.is_empty(),
        }
    }

    /// Size of the whole figure.
    pub fn size(&self) -> (u32, u32) {
        let title = if self.titled { TITLE_H } else { 8 };
        (
            self.panel_w * self.cols as u32,
            self.panel_h * self.rows as u32 + title,
        )
    }

    /// Clears `root`, draws the figure title and returns one area per panel (or, with no panels,
    /// draws a "no panels" note and returns none).
    pub fn areas<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        title: &str,
    ) -> std::result::Result<Vec<DrawingArea<DB, Shift>>, DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        let (head, body) = root.split_vertically(if self.titled { TITLE_H } else { 8 });
        font::draw_centered(&head, title, 12, font::FIGURE_TITLE, true, BLACK)?;
        if self.n == 0 {
            font::draw_centered(&body, "no panels", 40, font::SMALL, false, BLACK)?;
            return Ok(Vec::new());
        }
        let mut areas = body.split_evenly((self.rows, self.cols));
        areas.truncate(self.n);
        Ok(areas)
    }
}

/// Draws a panel title and its notes (smaller, grey, one line each) at the top of `area` and
/// returns the area below a header of room for `lines` notes (the most any panel of the figure
/// has, so that the plots of a row line up).
pub(super) fn panel_header<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    notes: &[String],
    lines: usize,
) -> std::result::Result<DrawingArea<DB, Shift>, DrawingAreaErrorKind<DB::ErrorType>> {
    let title_h = 42;
    let h = title_h + 20 * lines.max(notes.len()) as i32 + 4;
    let (head, rest) = area.split_vertically(h);
    super::review::panel(title);
    font::draw_centered(&head, title, 14, font::PANEL_TITLE, false, BLACK)?;
    for (i, note) in notes.iter().enumerate() {
        let grey = RGBColor(90, 90, 90);
        font::draw_centered(
            &head,
            note,
            title_h + 20 * i as i32,
            font::SMALL,
            false,
            grey,
        )?;
    }
    Ok(rest)
}

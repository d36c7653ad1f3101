//! The embedded DejaVu Sans font and text helpers shared by all figures.

use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, FontTransform, register_font};

use super::figure::DrawResult;

/// The font family every text element uses, registered from the `dejavu` crate's bytes. The
/// name is written verbatim into SVG `font-family` attributes, hence the CSS fallback list.
pub(super) const FAMILY: &str = "DejaVu Sans, sans-serif";

/// Figure title size in pixels.
pub(super) const FIGURE_TITLE: f64 = 26.0;
/// Panel title size in pixels.
pub(super) const PANEL_TITLE: f64 = 22.0;
/// Axis label (description) size in pixels.
pub(super) const LABEL: f64 = 18.0;
/// Tick label size in pixels.
pub(super) const TICK: f64 = 15.0;
/// Notes and legend entries, in pixels.
pub(super) const SMALL: f64 = 15.0;

/// Registers DejaVu Sans (regular and bold) with plotters, once per process.
///
/// The regular face is also registered as `sans-serif`, the family plotters falls back to for
/// any text whose style was not set explicitly.
pub(super) fn ensure_registered() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            let bad = |_| "the embedded DejaVu Sans font could not be parsed".to_string();
            register_font(FAMILY, FontStyle::Normal, dejavu::sans::regular()).map_err(bad)?;
            register_font(FAMILY, FontStyle::Bold, dejavu::sans::bold()).map_err(bad)?;
            register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular()).map_err(bad)?;
            Ok(())
        })
        .clone()
}

/// A text style in the figure font.
pub(super) fn style(size: f64, bold: bool, color: RGBColor) -> TextStyle<'static> {
    super::review::text(size);
    let font_style = if bold {
        FontStyle::Bold
    } else {
        FontStyle::Normal
    };
    TextStyle {
        font: (FAMILY, size, font_style).into_font(),
        color: color.to_backend_color(),
        pos: Pos::new(HPos::Left, VPos::Top),
    }
}

/// The width in pixels of `text` drawn in `style` on `area`.
pub(super) fn text_width<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    text: &str,
    style: &TextStyle,
) -> Result<u32, DrawingAreaErrorKind<DB::ErrorType>> {
    if text.is_empty() {
        return Ok(0);
    }
    Ok(area.estimate_text_size(text, style)?.0)
}

/// `text` with every control character replaced by U+FFFD: plotters escapes `<`, `>`, `&`
/// and quotes in SVG text, but XML cannot hold most control characters at all.
pub(super) fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().any(char::is_control) {
        text.chars()
            .map(|c| if c.is_control() { '\u{fffd}' } else { c })
            .collect::<String>()
            .into()
    } else {
        text.into()
    }
}

/// Fits `text` into `avail` pixels: shrinks the font from `size` down to 70% of it, then
/// truncates with an ellipsis. Returns the text to draw ([`printable`]) and its style.
pub(super) fn fit<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    text: &str,
    size: f64,
    bold: bool,
    color: RGBColor,
    avail: u32,
) -> Result<(String, TextStyle<'static>), DrawingAreaErrorKind<DB::ErrorType>> {
    let text = &*printable(text);
    let mut chosen = size;
    while chosen > 0.7 * size && text_width(area, text, &style(chosen, bold, color))? > avail {
        chosen -= 1.0;
    }
    let st = style(chosen, bold, color);
    if text_width(area, text, &st)? <= avail {
        return Ok((text.to_string(), st));
    }
    // The longest prefix (at least one character) that fits with an ellipsis, by bisection:
    // O(n log n) in the text's length, so a very long label cannot stall a figure.
    let chars: Vec<char> = text.chars().collect();
    let with_ellipsis = |k: usize| chars[..k].iter().collect::<String>() + "…";
    let (mut lo, mut hi) = (1, chars.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if text_width(area, &with_ellipsis(mid), &st)? <= avail {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    Ok((with_ellipsis(lo), st))
}

/// Draws `text` horizontally centred on `area` with its top at `y`, fitted to the width.
pub(super) fn draw_centered<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    text: &str,
    y: i32,
    size: f64,
    bold: bool,
    color: RGBColor,
) -> DrawResult<DB> {
    if text.is_empty() {
        return Ok(());
    }
    let avail = area.dim_in_pixel().0.saturating_sub(16);
    let (shown, st) = fit(area, text, size, bold, color, avail)?;
    let x = area.dim_in_pixel().0 as i32 / 2;
    area.draw_text(&shown, &st.pos(Pos::new(HPos::Center, VPos::Top)), (x, y))?;
    Ok(())
}

/// Draws `text` rotated to read bottom-to-top, centred at height `y`, its left (upper) side at
/// `x`, fitted to `avail` pixels of height.
pub(super) fn draw_vertical<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    text: &str,
    (x, y): (i32, i32),
    avail: u32,
) -> DrawResult<DB> {
    if text.is_empty() {
        return Ok(());
    }
    let (shown, st) = fit(area, text, LABEL, false, BLACK, avail)?;
    let st = st
        .transform(FontTransform::Rotate270)
        .pos(Pos::new(HPos::Center, VPos::Top));
    area.draw_text(&shown, &st, (x, y))?;
    Ok(())
}

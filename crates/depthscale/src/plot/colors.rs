//! Colour maps and palettes.

use plotters::style::RGBColor;
use plotters::style::colors::colormaps::{ColorMap, DerivedColorMap, ViridisRGB};
use std::sync::OnceLock;

/// Light grey used for NaN heatmap cells.
pub(super) const NAN_GREY: RGBColor = RGBColor(200, 200, 200);

/// Blue-white-red, after ColorBrewer RdBu (reversed so that low is blue), with a pure white
/// centre. plotters ships no diverging map, so its samples are listed here and interpolated by
/// plotters' `DerivedColorMap`.
const DIVERGING: [RGBColor; 11] = [
    RGBColor(5, 48, 97),
    RGBColor(33, 102, 172),
    RGBColor(67, 147, 195),
    RGBColor(146, 197, 222),
    RGBColor(209, 229, 240),
    RGBColor(255, 255, 255),
    RGBColor(253, 219, 199),
    RGBColor(244, 165, 130),
    RGBColor(214, 96, 77),
    RGBColor(178, 24, 43),
    RGBColor(103, 0, 31),
];

/// Line colours: matplotlib's tab10, the qualitative palette readers of ML papers know (plotters'
/// `Palette99` and `full_palette` hold other colours).
const LINES: [(u8, u8, u8); 10] = [
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

/// Colours for lines drawn over a heatmap (each is drawn on a white halo).
const OVERLAYS: [(u8, u8, u8); 5] = [
    (0, 0, 0),
    (255, 127, 14),
    (23, 190, 207),
    (227, 119, 194),
    (44, 160, 44),
];

/// The diverging map, built once.
fn diverging_map() -> &'static DerivedColorMap<RGBColor> {
    static MAP: OnceLock<DerivedColorMap<RGBColor>> = OnceLock::new();
    MAP.get_or_init(|| DerivedColorMap::new(&DIVERGING))
}

/// `t` clamped to `[0, 1]`, `None` for NaN (plotters' maps need a number).
fn unit(t: f64) -> Option<f64> {
    (!t.is_nan()).then(|| t.clamp(0.0, 1.0))
}

/// Diverging blue-white-red map: `t = 0` is dark blue `(5, 48, 97)`, `t = 0.5` is white,
/// `t = 1` is dark red `(103, 0, 31)`. `t` is clamped to `[0, 1]`; NaN gives light grey.
pub fn diverging_color(t: f64) -> RGBColor {
    unit(t).map_or(NAN_GREY, |t| diverging_map().get_color(t))
}

/// Sequential viridis map (plotters' `ViridisRGB`): `t = 0` is dark purple `(68, 1, 84)`,
/// `t = 1` is yellow `(254, 232, 37)`. `t` is clamped; NaN gives light grey.
pub fn sequential_color(t: f64) -> RGBColor {
    unit(t).map_or(NAN_GREY, ViridisRGB::get_color)
}

/// The colour of the `i`-th line of a panel.
pub(super) fn line_color(i: usize) -> RGBColor {
    let (r, g, b) = LINES[i % LINES.len()];
    RGBColor(r, g, b)
}

/// The colour of the `i`-th overlay line of a heatmap.
pub(super) fn overlay_color(i: usize) -> RGBColor {
    let (r, g, b) = OVERLAYS[i % OVERLAYS.len()];
    RGBColor(r, g, b)
}

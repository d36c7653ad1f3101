//! Colour maps and palettes.

use plotters::style::RGBColor;

/// Light grey used for NaN heatmap cells.
pub(super) const NAN_GREY: RGBColor = RGBColor(200, 200, 200);

/// Blue-white-red, after ColorBrewer RdBu (reversed so that low is blue), with a pure white centre.
const DIVERGING: [(u8, u8, u8); 11] = [
    (5, 48, 97),
    (33, 102, 172),
    (67, 147, 195),
    (146, 197, 222),
    (209, 229, 240),
    (255, 255, 255),
    (253, 219, 199),
    (244, 165, 130),
    (214, 96, 77),
    (178, 24, 43),
    (103, 0, 31),
];

/// matplotlib's viridis sampled at k/8.
const VIRIDIS: [(u8, u8, u8); 9] = [
    (68, 1, 84),
    (71, 44, 122),
    (59, 82, 139),
    (44, 114, 142),
    (33, 145, 140),
    (40, 174, 128),
    (94, 201, 98),
    (173, 220, 48),
    (253, 231, 37),
];

/// Line colours (matplotlib's tab10).
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

fn interpolate(table: &[(u8, u8, u8)], t: f64) -> RGBColor {
    if t.is_nan() {
        return NAN_GREY;
    }
    let s = t.clamp(0.0, 1.0) * (table.len() - 1) as f64;
    let i = (s.floor() as usize).min(table.len() - 2);
    let f = s - i as f64;
    let mix = |a: u8, b: u8| (a as f64 + f * (b as f64 - a as f64)).round() as u8;
    let (a, b) = (table[i], table[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Diverging blue-white-red map: `t = 0` is dark blue `(5, 48, 97)`, `t = 0.5` is white,
/// `t = 1` is dark red `(103, 0, 31)`. `t` is clamped to `[0, 1]`; NaN gives light grey.
pub fn diverging_color(t: f64) -> RGBColor {
    interpolate(&DIVERGING, t)
}

/// Sequential viridis map: `t = 0` is dark purple `(68, 1, 84)`, `t = 0.5` is teal
/// `(33, 145, 140)`, `t = 1` is yellow `(253, 231, 37)`. `t` is clamped; NaN gives light grey.
pub fn sequential_color(t: f64) -> RGBColor {
    interpolate(&VIRIDIS, t)
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

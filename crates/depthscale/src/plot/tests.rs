//! Rendering tests: every figure kind writes a PNG and an SVG, also for hostile data.

use super::*;

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];

/// Asserts that `<stem>.png` is a non-trivial PNG and `<stem>.svg` an SVG document.
fn assert_written(stem: &Path) {
    let png = std::fs::read(figure::with_suffix(stem, "png")).expect("png written");
    assert_eq!(png[..8], PNG_SIGNATURE);
    assert!(png.len() > 5_000, "png only {} bytes", png.len());
    let svg = std::fs::read_to_string(figure::with_suffix(stem, "svg")).expect("svg written");
    assert!(svg.contains("<svg"));
    assert!(svg.contains("DejaVu Sans"));
}

/// A decoded 8-bit RGB or RGBA PNG (the only kinds plotters writes): width, height and one
/// `[r, g, b]` per pixel, row by row. A minimal reader for tests (flate2 is a dependency
/// already): chunks, zlib, the five scanline filters; no interlacing.
pub(super) struct Pixels {
    pub width: usize,
    pub height: usize,
    pub rgb: Vec<[u8; 3]>,
}

impl Pixels {
    /// Reads `<stem>.png`.
    pub fn read(stem: &Path) -> Pixels {
        use std::io::Read as _;
        let png = std::fs::read(figure::with_suffix(stem, "png")).expect("png written");
        assert_eq!(png[..8], PNG_SIGNATURE);
        let (mut at, mut idat, mut header) = (8, Vec::new(), None);
        while at + 8 <= png.len() {
            let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
            let kind = &png[at + 4..at + 8];
            let data = &png[at + 8..at + 8 + len];
            match kind {
                b"IHDR" => header = Some(data.to_vec()),
                b"IDAT" => idat.extend_from_slice(data),
                _ => {}
            }
            at += 12 + len;
        }
        let h = header.expect("IHDR");
        let width = u32::from_be_bytes(h[0..4].try_into().unwrap()) as usize;
        let height = u32::from_be_bytes(h[4..8].try_into().unwrap()) as usize;
        assert_eq!((h[8], h[12]), (8, 0), "8-bit, not interlaced");
        let bpp = match h[9] {
            2 => 3,
            6 => 4,
            t => panic!("colour type {t}"),
        };
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(&idat[..])
            .read_to_end(&mut raw)
            .unwrap();
        let stride = width * bpp;
        assert_eq!(raw.len(), height * (stride + 1));
        let mut prev = vec![0u8; stride];
        let mut rgb = Vec::with_capacity(width * height);
        for row in raw.chunks_exact(stride + 1) {
            let (filter, line) = (row[0], &row[1..]);
            let mut cur = vec![0u8; stride];
            for i in 0..stride {
                let a = if i >= bpp { cur[i - bpp] } else { 0 };
                let (b, c) = (prev[i], if i >= bpp { prev[i - bpp] } else { 0 });
                let predicted = match filter {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                    4 => {
                        let p = i16::from(a) + i16::from(b) - i16::from(c);
                        let (pa, pb, pc) = (
                            (p - i16::from(a)).abs(),
                            (p - i16::from(b)).abs(),
                            (p - i16::from(c)).abs(),
                        );
                        if pa <= pb && pa <= pc {
                            a
                        } else if pb <= pc {
                            b
                        } else {
                            c
                        }
                    }
                    f => panic!("filter {f}"),
                };
                cur[i] = line[i].wrapping_add(predicted);
            }
            rgb.extend(cur.chunks_exact(bpp).map(|p| [p[0], p[1], p[2]]));
            prev = cur;
        }
        Pixels { width, height, rgb }
    }

    /// The colour at column `x`, row `y`.
    pub fn at(&self, x: usize, y: usize) -> [u8; 3] {
        self.rgb[y * self.width + x]
    }

    /// The `(x, y)` of every pixel of exactly colour `c`.
    pub fn find(&self, c: RGBColor) -> Vec<(usize, usize)> {
        (0..self.rgb.len())
            .filter(|&i| self.rgb[i] == [c.0, c.1, c.2])
            .map(|i| (i % self.width, i / self.width))
            .collect()
    }
}

/// The mean column of a set of pixels.
fn mean_x(p: &[(usize, usize)]) -> f64 {
    p.iter().map(|q| q.0 as f64).sum::<f64>() / p.len() as f64
}

/// Whether the SVG draws the text `t` (plotters writes `>`, newline, the text, newline).
fn svg_has_text(svg: &str, t: &str) -> bool {
    svg.contains(&format!(">\n{t}\n</text>")) || svg.contains(&format!(">{t}</text>"))
}

/// `#RRGGBB` as plotters writes colours into an SVG.
fn svg_hex(c: RGBColor) -> String {
    format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
}

fn curve(label: &str, f: impl Fn(f64) -> f64) -> Series {
    let x: Vec<f64> = (1..=40).map(|i| i as f64 / 4.0).collect();
    let y: Vec<f64> = x.iter().map(|&v| f(v)).collect();
    Series {
        label: label.into(),
        band: Some((
            y.iter().map(|v| v * 0.9).collect(),
            y.iter().map(|v| v * 1.1).collect(),
        )),
        x,
        y,
        ..Series::default()
    }
}

#[test]
fn color_maps_hit_their_ends_and_middle() {
    assert_eq!(diverging_color(0.0), RGBColor(5, 48, 97));
    assert_eq!(diverging_color(0.5), RGBColor(255, 255, 255));
    assert_eq!(diverging_color(1.0), RGBColor(103, 0, 31));
    assert_eq!(diverging_color(-3.0), diverging_color(0.0));
    assert_eq!(sequential_color(0.0), RGBColor(68, 1, 84));
    // plotters' viridis: 8 samples, t = 0.5 halfway between (39, 127, 143) and (31, 162, 136)
    assert_eq!(sequential_color(0.5), RGBColor(35, 145, 140));
    assert_eq!(sequential_color(1.0), RGBColor(254, 232, 37));
    assert_eq!(sequential_color(f64::NAN), RGBColor(200, 200, 200));
    assert_eq!(diverging_color(f64::NAN), RGBColor(200, 200, 200));
    // the second of the eleven diverging samples
    assert_eq!(diverging_color(0.1), RGBColor(33, 102, 172));
    assert_eq!(sequential_color(2.0), sequential_color(1.0));
}

#[test]
fn line_panels_write_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let stem = dir.path().join("sub").join("lines");
    let mut dashed = curve("sqrt", f64::sqrt);
    dashed.style = LineStyle::Dashed;
    dashed.markers = true;
    let panels = vec![
        Panel {
            x_ticks: None,
            notes: Vec::new(),
            title: "two curves".into(),
            x_label: "depth L".into(),
            y_label: "value".into(),
            log_x: true,
            log_y: true,
            series: vec![curve("square", |v| v * v), dashed],
        },
        Panel {
            title: "one curve".into(),
            series: vec![curve("", f64::sin)],
            ..Panel::default()
        },
    ];
    line_panels(&stem, "lines", &panels, 2).unwrap();
    assert_written(&stem);
    // the picture: each panel's first curve in tab10 blue, the second in orange; the panels
    // side by side (the left one holds both colours, the right one only blue)
    let px = Pixels::read(&stem);
    let blue = px.find(colors::line_color(0));
    let orange = px.find(colors::line_color(1));
    assert!(
        blue.len() > 200 && orange.len() > 200,
        "{} blue, {} orange pixels",
        blue.len(),
        orange.len()
    );
    let half = px.width / 2;
    assert!(
        orange.iter().all(|p| p.0 < half),
        "the second curve only in the left panel"
    );
    assert!(blue.iter().any(|p| p.0 < half) && blue.iter().any(|p| p.0 > half));
    // the square (blue, left panel) rises on its log-log axes: its right end sits higher
    // (a smaller row) than its left end
    // (the median row of its pixels in the panel's left third against its right third: the
    // legend's short swatch does not move a median)
    let median_row = |from: usize, to: usize| -> usize {
        let mut rows: Vec<usize> = blue
            .iter()
            .filter(|p| (from..to).contains(&p.0))
            .map(|p| p.1)
            .collect();
        rows.sort_unstable();
        rows[rows.len() / 2]
    };
    let (left, right) = (median_row(0, half / 3), median_row(2 * half / 3, half));
    assert!(
        right + 100 < left,
        "square rises: median rows {left} (left), {right} (right)"
    );
    let svg = std::fs::read_to_string(figure::with_suffix(&stem, "svg")).unwrap();
    for text in [
        "depth L",
        "value",
        "two curves",
        "one curve",
        "square",
        "sqrt",
    ] {
        assert!(svg_has_text(&svg, text), "{text} missing from the svg");
    }
    for c in [colors::line_color(0), colors::line_color(1)] {
        assert!(
            svg.contains(&svg_hex(c)),
            "{} missing from the svg",
            svg_hex(c)
        );
    }
}

/// Issue 20, item 23: text with control characters (which XML cannot hold) and markup still
/// gives a well-formed SVG: the characters are replaced, the markup escaped.
#[test]
fn svg_text_is_escaped_and_control_characters_are_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let stem = dir.path().join("text");
    let nasty = "a\u{1b}b\u{0}<c>&\"d'\u{7}";
    let panels = vec![Panel {
        title: nasty.into(),
        x_label: nasty.into(),
        y_label: nasty.into(),
        series: vec![curve(nasty, f64::sqrt)],
        ..Panel::default()
    }];
    line_panels(&stem, nasty, &panels, 1).unwrap();
    let hist = dir.path().join("hist");
    histograms(
        &hist,
        nasty,
        &[Histogram {
            title: nasty.into(),
            x_label: nasty.into(),
            values: vec![1.0, 2.0, 2.5],
            ..Histogram::default()
        }],
    )
    .unwrap();
    for stem in [stem, hist] {
        let svg = std::fs::read_to_string(figure::with_suffix(&stem, "svg")).unwrap();
        let bad: Vec<char> = svg
            .chars()
            .filter(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
            .collect();
        assert!(bad.is_empty(), "{bad:?} in {}", stem.display());
        assert!(!svg.contains("<c>"), "unescaped markup");
        assert!(svg.contains("&lt;c&gt;"));
    }
}

/// Panels full of NaN, infinities, non-positive values on log axes and empty series.
fn hostile_panels() -> Vec<Panel> {
    let bad = Series {
        label: "bad".into(),
        x: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        y: vec![1.0, f64::NAN, f64::INFINITY, -2.0, 0.0, 3.0],
        band: Some((vec![f64::NAN; 6], vec![1.0; 6])),
        ..Series::default()
    };
    let flat = Series {
        label: "flat".into(),
        x: vec![2.0; 3],
        y: vec![5.0; 3],
        ..Series::default()
    };
    let nothing = Series {
        label: "nothing".into(),
        x: vec![f64::NAN; 4],
        y: vec![f64::NEG_INFINITY; 4],
        ..Series::default()
    };
    vec![
        Panel {
            title: "mixed".into(),
            log_y: true,
            series: vec![bad.clone(), flat.clone()],
            ..Panel::default()
        },
        Panel {
            title: "flat only".into(),
            series: vec![flat],
            ..Panel::default()
        },
        Panel {
            title: "no data".into(),
            log_x: true,
            series: vec![nothing, Series::default()],
            ..Panel::default()
        },
        Panel::default(),
    ]
}

#[test]
fn line_panels_survive_hostile_data() {
    let dir = tempfile::tempdir().unwrap();
    let stem = dir.path().join("hostile.v2");
    let panels = hostile_panels();
    line_panels(&stem, "", &panels, 0).unwrap();
    assert_written(&stem);
    line_panels(&dir.path().join("none"), "nothing at all", &[], 3).unwrap();
    assert_written(&dir.path().join("none"));
}

#[test]
fn mismatched_series_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let panel = Panel {
        series: vec![Series {
            x: vec![1.0, 2.0],
            y: vec![1.0],
            ..Series::default()
        }],
        ..Panel::default()
    };
    let err = line_panels(&dir.path().join("x"), "", &[panel], 1).unwrap_err();
    assert!(matches!(err, Error::Plot { .. }), "{err}");
}

#[test]
fn histograms_write_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let stem = dir.path().join("hist");
    let mut values: Vec<f64> = (0..500)
        .map(|i| ((i as f64) * 0.37).sin() * 3.0 + 4.0)
        .collect();
    values.extend([f64::NAN, f64::INFINITY, -1.0]);
    let panels = vec![
        Histogram {
            title: "linear".into(),
            x_label: "v".into(),
            values: values.clone(),
            bins: 30,
            log_x: false,
        },
        Histogram {
            title: "log".into(),
            x_label: "v".into(),
            values,
            bins: 20,
            log_x: true,
        },
        Histogram {
            title: "empty".into(),
            values: vec![f64::NAN],
            ..Histogram::default()
        },
        Histogram {
            title: "constant".into(),
            values: vec![2.5; 10],
            bins: 0,
            ..Histogram::default()
        },
    ];
    histograms(&stem, "histograms", &panels).unwrap();
    assert_written(&stem);
    // bars are filled steel blue, three panels a row. The linear panel (top left) spans the
    // values -1..7; 4 + 3 sin piles up at the sine's ends (an arcsine law), so its bars near 1
    // and 7 stand far taller than those near the middle value 4
    let px = Pixels::read(&stem);
    let bars = px.find(RGBColor(70, 130, 180));
    let (cw, hh) = (px.width / 3, px.height / 2);
    let first: Vec<(usize, usize)> = bars
        .iter()
        .copied()
        .filter(|p| p.0 < cw && p.1 < hh)
        .collect();
    assert!(
        first.len() > 2_000,
        "{} bar pixels in the linear panel",
        first.len()
    );
    let x0 = first.iter().map(|p| p.0).min().unwrap() as f64;
    let x1 = first.iter().map(|p| p.0).max().unwrap() as f64;
    // the highest bar top (smallest row) over the values lo..hi
    let top = |lo: f64, hi: f64| -> usize {
        let at = |v: f64| (x0 + (v + 1.0) / 8.0 * (x1 - x0)) as usize;
        first
            .iter()
            .filter(|p| (at(lo)..=at(hi)).contains(&p.0))
            .map(|p| p.1)
            .min()
            .unwrap_or(usize::MAX)
    };
    let (near_one, middle, near_seven) = (top(0.7, 1.3), top(3.7, 4.3), top(6.6, 7.0));
    assert!(
        near_one + 30 < middle && near_seven + 30 < middle,
        "bar tops (rows): {near_one} near 1, {middle} near 4, {near_seven} near 7"
    );
    // the empty panel (top right) draws no bar; the constant one (bottom left) does
    assert!(
        !bars.iter().any(|p| p.0 > 2 * cw && p.1 < hh),
        "bars in the empty panel"
    );
    assert!(
        bars.iter().any(|p| p.0 < cw && p.1 > hh),
        "no bar in the constant panel"
    );
}

/// A 51 x 70 heatmap with NaN and infinite cells, an overlay leaving the map, a reversed axis,
/// an invalid colour range and an empty panel.
fn hostile_heatmaps() -> Vec<Heatmap> {
    let x: Vec<f64> = (0..51).map(|i| 0.02 * i as f64).collect();
    let y: Vec<f64> = (0..70).map(|j| 1.0 + (j as f64).powi(2)).collect();
    let mut values: Vec<f64> = y
        .iter()
        .flat_map(|&b| x.iter().map(move |&a| (a - 0.5) * b.ln()))
        .collect();
    values[0] = f64::NAN;
    values[1] = f64::INFINITY;
    values[2] = f64::NEG_INFINITY;
    let overlay = Series {
        label: "boundary".into(),
        x: vec![0.5, 0.5, 2.0],
        y: vec![-100.0, 3000.0, 5000.0],
        ..Series::default()
    };
    vec![
        Heatmap {
            annotate: None,
            notes: Vec::new(),
            title: "diverging".into(),
            x_label: "beta".into(),
            y_label: "L".into(),
            x: x.clone(),
            y: y.clone(),
            values: values.clone(),
            range: (-2.0, 2.0),
            diverging: true,
            colorbar_label: "log ratio".into(),
            overlays: vec![overlay],
        },
        Heatmap {
            title: "sequential, bad range".into(),
            x: x.iter().rev().copied().collect(),
            y,
            values,
            range: (f64::NAN, 1.0),
            ..Heatmap::default()
        },
        Heatmap {
            title: "empty".into(),
            ..Heatmap::default()
        },
    ]
}

#[test]
fn heatmap_51x70_with_non_finite_cells_renders() {
    let dir = tempfile::tempdir().unwrap();
    let stem = dir.path().join("heat");
    let panels = hostile_heatmaps();
    heatmaps(&stem, "heatmaps", &panels).unwrap();
    assert_written(&stem);
    // the diverging panel: cells (a - 1/2) ln b saturate the range (-2, 2), so both ends of the
    // map are drawn, the blue end left of beta = 1/2, the red end right of it; NaN cells grey
    let px = Pixels::read(&stem);
    let blue = px.find(diverging_color(0.0));
    let red = px.find(diverging_color(1.0));
    assert!(
        blue.len() > 500 && red.len() > 500,
        "{} blue, {} red",
        blue.len(),
        red.len()
    );
    assert!(
        mean_x(&blue) + 50.0 < mean_x(&red),
        "blue at {}, red at {}",
        mean_x(&blue),
        mean_x(&red)
    );
    assert!(!px.find(colors::NAN_GREY).is_empty(), "NaN cells not grey");
    let svg = std::fs::read_to_string(figure::with_suffix(&stem, "svg")).unwrap();
    for text in ["log ratio", "beta", "diverging"] {
        assert!(svg_has_text(&svg, text), "{text} missing from the svg");
    }
}

#[test]
fn heatmap_with_wrong_sizes_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = Heatmap {
        x: vec![0.0, 1.0],
        y: vec![0.0],
        values: vec![1.0],
        ..Heatmap::default()
    };
    assert!(heatmaps(&dir.path().join("h"), "", &[bad]).is_err());
}

/// Renders one realistic example of each figure kind into `$DEPTHSCALE_PLOT_EXAMPLES`
/// (default `/tmp/plot-examples`) for looking at: `cargo test -p depthscale plot::tests::examples -- --ignored`.
#[test]
#[ignore]
fn examples() {
    let dir = std::path::PathBuf::from(
        std::env::var("DEPTHSCALE_PLOT_EXAMPLES").unwrap_or_else(|_| "/tmp/plot-examples".into()),
    );
    line_panels(
        &dir.join("hostile_lines"),
        "Hostile data",
        &hostile_panels(),
        2,
    )
    .unwrap();
    heatmaps(
        &dir.join("hostile_heatmaps"),
        "Hostile heatmaps",
        &hostile_heatmaps(),
    )
    .unwrap();
    let depths: Vec<f64> = (0..12).map(|k| 2f64.powi(k)).collect();
    let mk = |label: &str, beta: f64, style: LineStyle| {
        let y: Vec<f64> = depths
            .iter()
            .map(|l| l.powf(1.0 - 2.0 * beta) + 0.05)
            .collect();
        Series {
            label: label.into(),
            band: Some((
                y.iter().map(|v| v * 0.8).collect(),
                y.iter().map(|v| v * 1.25).collect(),
            )),
            x: depths.clone(),
            y,
            style,
            markers: true,
        }
    };
    let mut broken = mk("diverges", 0.2, LineStyle::Solid);
    broken.y[9] = f64::INFINITY;
    broken.y[10] = f64::NAN;
    let xs: Vec<f64> = (0..200).map(|i| i as f64 / 199.0).collect();
    let panels = vec![
        Panel {
            x_ticks: None,
            notes: Vec::new(),
            title: "Output variance vs depth".into(),
            x_label: "depth L".into(),
            y_label: "Var(h_L) / Var(h_0)".into(),
            log_x: true,
            log_y: true,
            series: vec![
                mk("β = 0.25", 0.25, LineStyle::Solid),
                mk("β = 0.5", 0.5, LineStyle::Dashed),
                mk("β = 1", 1.0, LineStyle::Solid),
                broken,
            ],
        },
        Panel {
            title: "Hidden state along depth (one sample path of a very long run)".into(),
            x_label: "layer fraction k/L".into(),
            y_label: "h_k[0]".into(),
            series: vec![Series {
                label: "path".into(),
                x: xs.clone(),
                y: xs
                    .iter()
                    .map(|t| (12.0 * t).sin() * (-t).exp() * 1e-4)
                    .collect(),
                ..Series::default()
            }],
            ..Panel::default()
        },
        Panel {
            title: "All NaN".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            series: vec![Series {
                label: "nan".into(),
                x: vec![1.0, 2.0],
                y: vec![f64::NAN; 2],
                ..Series::default()
            }],
            ..Panel::default()
        },
    ];
    line_panels(
        &dir.join("lines"),
        "Scaling of the forward pass with depth",
        &panels,
        2,
    )
    .unwrap();
    let row: Vec<Panel> = (0..4)
        .map(|k| Panel {
            title: format!("width d = {}", 16 << k),
            x_label: "training step".into(),
            y_label: "loss".into(),
            log_y: true,
            series: vec![Series {
                label: "train".into(),
                x: xs.iter().map(|t| t * 1e4).collect(),
                y: xs
                    .iter()
                    .map(|t| (-(k as f64 + 1.0) * 3.0 * t).exp() + 1e-3)
                    .collect(),
                ..Series::default()
            }],
            ..Panel::default()
        })
        .collect();
    line_panels(&dir.join("lines_row"), "Four narrow panels", &row, 4).unwrap();

    let mut state = 12345u64;
    let mut uniform = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let normals: Vec<f64> = (0..4000)
        .map(|_| (-2.0 * uniform().ln()).sqrt() * (std::f64::consts::TAU * uniform()).cos())
        .collect();
    let mut lognormal: Vec<f64> = normals.iter().map(|z| (1.5 * z).exp() * 1e-3).collect();
    lognormal.extend([f64::NAN, f64::INFINITY, 0.0, -1.0]);
    histograms(
        &dir.join("histograms"),
        "Weight statistics at initialization",
        &[
            Histogram {
                title: "entries of W_k".into(),
                x_label: "value".into(),
                values: normals.clone(),
                bins: 40,
                log_x: false,
            },
            Histogram {
                title: "gradient norms".into(),
                x_label: "‖∇‖".into(),
                values: lognormal,
                bins: 40,
                log_x: true,
            },
            Histogram {
                title: "large values".into(),
                x_label: "value".into(),
                values: normals.iter().map(|z| 2e6 + 3e5 * z).collect(),
                bins: 25,
                log_x: false,
            },
        ],
    )
    .unwrap();

    let betas: Vec<f64> = (0..51).map(|i| 0.02 * i as f64).collect();
    let hursts: Vec<f64> = (0..70)
        .map(|j| 0.01 + 0.98 * (j as f64 / 69.0).powf(1.5))
        .collect();
    let mut values: Vec<f64> = hursts
        .iter()
        .flat_map(|&h| {
            betas
                .iter()
                .map(move |&b| ((b + h - 1.0) * 4.0).tanh() * 1.3)
        })
        .collect();
    values[0] = f64::NAN;
    values[60] = f64::NAN;
    values[51 * 69 + 50] = f64::INFINITY;
    values[51 * 69] = f64::NEG_INFINITY;
    let acc: Vec<f64> = hursts
        .iter()
        .flat_map(|&h| {
            betas
                .iter()
                .map(move |&b| 0.5 + 0.45 * (-(b - h).powi(2) * 8.0).exp())
        })
        .collect();
    let boundary = Series {
        label: "β + H = 1".into(),
        x: hursts.iter().map(|h| 1.0 - h).collect(),
        y: hursts.clone(),
        ..Series::default()
    };
    let critical = Series {
        label: "β = 1/2".into(),
        x: vec![0.5, 0.5],
        y: vec![-1.0, 2.0],
        style: LineStyle::Dashed,
        ..Series::default()
    };
    heatmaps(
        &dir.join("heatmaps"),
        "Regimes over (β, H)",
        &[
            Heatmap {
                annotate: None,
                notes: Vec::new(),
                title: "log-ratio of output norms".into(),
                x_label: "scaling exponent β".into(),
                y_label: "Hurst index H".into(),
                x: betas.clone(),
                y: hursts.clone(),
                values,
                range: (-1.0, 1.0),
                diverging: true,
                colorbar_label: "log₁₀ ‖h_L‖ / ‖h_0‖".into(),
                overlays: vec![boundary, critical],
            },
            Heatmap {
                annotate: None,
                notes: Vec::new(),
                title: "test accuracy".into(),
                x_label: "scaling exponent β".into(),
                y_label: "Hurst index H".into(),
                x: betas.clone(),
                y: hursts.clone(),
                values: acc.clone(),
                range: (0.5, 1.0),
                diverging: false,
                colorbar_label: "accuracy".into(),
                overlays: Vec::new(),
            },
        ],
    )
    .unwrap();
    heatmaps(
        &dir.join("heatmap_single"),
        "",
        &[Heatmap {
            annotate: None,
            notes: Vec::new(),
            title: "test accuracy (single panel, no figure title)".into(),
            x_label: "scaling exponent β".into(),
            y_label: "Hurst index H".into(),
            x: betas,
            y: hursts,
            values: acc,
            range: (0.5, 1.0),
            diverging: false,
            colorbar_label: "accuracy".into(),
            overlays: Vec::new(),
        }],
    )
    .unwrap();
}

/// A panel whose lines pass through all four corners and the middle of every edge: no legend
/// position is free, so the legend needs headroom.
fn crowded_panel(log_y: bool) -> Panel {
    let x: Vec<f64> = (0..=40).map(|i| 1.0 + i as f64).collect();
    let wave = |phase: f64| -> Vec<f64> {
        x.iter()
            .map(|v| 2.0 + (v / 41.0 * 2.0 * std::f64::consts::PI * 2.0 + phase).sin())
            .collect()
    };
    let series = (0..4)
        .map(|k| Series {
            label: format!("curve {k}"),
            x: x.clone(),
            y: wave(k as f64 * std::f64::consts::FRAC_PI_2),
            markers: k % 2 == 0,
            ..Series::default()
        })
        .collect();
    Panel {
        title: "crowded".into(),
        x_label: "x".into(),
        y_label: "y".into(),
        log_y,
        series,
        ..Panel::default()
    }
}

#[test]
fn review_finds_no_legend_over_data_when_every_corner_is_taken() {
    let dir = tempfile::tempdir().unwrap();
    let panels = vec![
        crowded_panel(false),
        crowded_panel(true),
        crowded_panel(false),
    ];
    let (written, figs) = review::capture(|| line_panels(&dir.path().join("c"), "t", &panels, 3));
    written.unwrap();
    assert_eq!(figs.len(), 1);
    let f = &figs[0];
    assert_eq!(f.panels.len(), 3);
    for p in &f.panels {
        assert!(p.legend.is_some(), "a legend per panel");
        assert!(p.data.len() > 100, "data pixels recorded");
    }
    assert_eq!(f.problems(), Vec::<String>::new());
}

#[test]
fn review_flags_small_text_dropped_bands_and_a_legend_with_no_room() {
    let dir = tempfile::tempdir().unwrap();
    // 12 panels in rows of 6 (today's coord_check): 2580 px wide, shown at 960
    let one = Panel {
        title: "l1 of h_L, t = 0 (standard explodes: not drawn)".into(),
        log_y: true,
        series: vec![curve("a", f64::sqrt), curve("b", f64::ln_1p)],
        ..Panel::default()
    };
    let many = vec![one; 12];
    let (_, figs) =
        review::capture(|| line_panels(&dir.path().join("many"), "t", &many, 6).unwrap());
    let problems = figs[0].problems();
    assert!(problems.iter().any(|p| p.contains("text")), "{problems:?}");
    // a linear band mean -+ half-width on a log axis (today's ode/errors.png)
    let mut s = curve("mismatched", |v| v);
    s.band = Some((
        s.y.iter().map(|v| v - 2.0 * v).collect(),
        s.y.iter().map(|v| v + 2.0 * v).collect(),
    ));
    let log_band = Panel {
        title: "log band".into(),
        log_y: true,
        series: vec![s, curve("other", f64::sqrt)],
        ..Panel::default()
    };
    let (_, figs) =
        review::capture(|| line_panels(&dir.path().join("band"), "t", &[log_band], 1).unwrap());
    let problems = figs[0].problems();
    assert!(problems.iter().any(|p| p.contains("band")), "{problems:?}");
    // a legend of 14 entries fits neither beside nor above data that fills the panel
    let mut full = crowded_panel(false);
    for k in 4..14 {
        full.series.push(Series {
            label: format!("curve {k}"),
            x: full.series[0].x.clone(),
            y: full.series[k % 4]
                .y
                .iter()
                .map(|v| v + 0.01 * k as f64)
                .collect(),
            ..Series::default()
        });
    }
    let (_, figs) = review::capture(|| {
        line_panels(&dir.path().join("legend"), "t", &[full.clone(), full], 2).unwrap()
    });
    let problems = figs[0].problems();
    assert!(
        problems.iter().any(|p| p.contains("legend")),
        "{problems:?}"
    );
}

#[test]
fn heatmap_cells_are_annotated_and_the_overlay_legend_avoids_the_lines() {
    let dir = tempfile::tempdir().unwrap();
    let x: Vec<f64> = (0..5).map(|i| 0.1 + 0.2 * i as f64).collect();
    let y = x.clone();
    let h = Heatmap {
        title: "accuracy".into(),
        x: x.clone(),
        y: y.clone(),
        values: (0..25).map(|i| i as f64 / 24.0).collect(),
        range: (0.0, 1.0),
        annotate: Some(2),
        overlays: vec![Series {
            label: "beta = max(H, 1/2)".into(),
            y: x.iter().map(|h| h.max(0.5)).collect(),
            x,
            style: LineStyle::Dashed,
            ..Series::default()
        }],
        ..Heatmap::default()
    };
    let (_, figs) = review::capture(|| heatmaps(&dir.path().join("h"), "t", &[h]).unwrap());
    assert_eq!(figs[0].problems(), Vec::<String>::new());
    let svg = std::fs::read_to_string(dir.path().join("h.svg")).unwrap();
    let svg = svg.replace('\n', "");
    // every cell's value is written in it
    for v in ["0.00", "0.50", "1.00"] {
        assert!(svg.contains(&format!(">{v}</text>")), "{v} annotated");
    }
}

/// Issue 25 leftover: the colour bar's tick labels stand clear of the bar. In the decoded PNG,
/// right of the bar's frame: tick marks only for the first `BAR_TICK` columns, then a white gap,
/// then the labels' dark text (plotters' own sizing drew 1-pixel ticks and labels 2 pixels from
/// the bar).
#[test]
fn colour_bar_labels_stand_clear_of_the_bar() {
    let dir = tempfile::tempdir().unwrap();
    let stem = dir.path().join("bar");
    let panel = Heatmap {
        title: "bar".into(),
        x: vec![0.0, 1.0, 2.0],
        y: vec![0.0, 1.0],
        values: vec![-1.0, 0.0, 1.0, 0.5, -0.5, 0.25],
        range: (-1.0, 1.0),
        diverging: true,
        ..Heatmap::default()
    };
    heatmaps(&stem, "", &[panel]).unwrap();
    let px = Pixels::read(&stem);
    // the bar's 17th slice of 128 (between the ticks at -1 and -0.5), right of every cell
    let slice = px.find(diverging_color(16.5 / 128.0));
    let inner = slice.iter().map(|p| p.0).max().expect("the bar is drawn");
    let row = slice.iter().find(|p| p.0 == inner).unwrap().1;
    let dark = |c: [u8; 3]| u32::from(c[0]) + u32::from(c[1]) + u32::from(c[2]) < 300;
    let mut edge = inner + 1;
    while edge + 1 < px.width && dark(px.at(edge + 1, row)) {
        edge += 1;
    }
    assert!(
        dark(px.at(edge, row)),
        "the bar's frame right of its colours"
    );
    // the bar's rows: where its frame is drawn
    let rows: Vec<usize> = (0..px.height).filter(|&y| dark(px.at(edge, y))).collect();
    assert!(rows.len() > 100, "{} frame rows", rows.len());
    let tick = heatmap::BAR_TICK as usize;
    let ink_in = |cols: std::ops::Range<usize>| -> usize {
        rows.iter()
            .flat_map(|&y| cols.clone().map(move |x| (x, y)))
            .filter(|&(x, y)| px.at(x, y) != [255, 255, 255])
            .count()
    };
    assert_eq!(
        ink_in(edge + tick + 2..edge + 2 * tick - 1),
        0,
        "text too close to the bar"
    );
    assert!(
        ink_in(edge + 2 * tick - 1..edge + 2 * tick + 30) > 30,
        "tick labels drawn"
    );
}

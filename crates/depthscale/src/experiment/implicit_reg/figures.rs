//! The figures of the `implicit-regularization` experiment, drawn from its tables only:
//! `depth_scaling.png/svg` (the paper's two panels: the largest increment between consecutive
//! layers, and the distance to the reference network, against the depth, with fitted slopes)
//! and `training.png/svg` (loss, largest increment and distance along training, per depth).

use super::{ImplicitRegConfig, Row, Tables};
use crate::Result;
use crate::experiment::RunContext;
use crate::limits::Fit;
use crate::plot::{LineStyle, Panel, Series, line_panels};

fn xs(depths: &[usize]) -> Vec<f64> {
    depths.iter().map(|&l| l as f64).collect()
}

fn measured(label: &str, depths: &[usize], y: &[f64]) -> Series {
    Series {
        label: label.into(),
        x: xs(depths),
        y: y.to_vec(),
        markers: true,
        ..Series::default()
    }
}

fn fitted(depths: &[usize], fit: Option<Fit>) -> Option<Series> {
    let f = fit?;
    let x = xs(depths);
    let y = x
        .iter()
        .map(|v| 10f64.powf(f.intercept + f.slope * v.log10()))
        .collect();
    Some(Series {
        label: format!("fitted slope {:+.3}", f.slope),
        x,
        y,
        style: LineStyle::Dashed,
        ..Series::default()
    })
}

/// One series per network of `rows` (`depths`, the reference last) of `f` along training.
fn along_training(
    depths: &[usize],
    rows: &[Vec<Row>],
    f: &dyn Fn(&Row) -> Option<f64>,
) -> Vec<Series> {
    depths
        .iter()
        .zip(rows)
        .filter_map(|(l, r)| {
            let y: Vec<f64> = r.iter().map(|x| f(x).unwrap_or(f64::NAN)).collect();
            y.iter().any(|v| v.is_finite()).then(|| Series {
                label: format!("L = {l}"),
                x: (0..r.len()).map(|t| t as f64).collect(),
                y,
                style: if std::ptr::eq(r, rows.last().expect("rows")) {
                    LineStyle::Dashed
                } else {
                    LineStyle::Solid
                },
                ..Series::default()
            })
        })
        .collect()
}

/// Draws both figures.
pub(super) fn draw(
    ctx: &RunContext,
    cfg: &ImplicitRegConfig,
    t: &Tables,
    rows: &[Vec<Row>],
) -> Result<()> {
    let head = format!(
        "x_(k+1) = x_k + V_k {}(W_k x_k) / L, d = {}, m = {}, {} samples, {} GD steps at lr = {} L",
        cfg.activation, cfg.width, cfg.inner_width, cfg.samples, cfg.steps, cfg.lr
    );
    let d = &t.depths;
    let mut inc = vec![measured("max over k and steps", d, &t.max_inc)];
    inc.extend(fitted(d, t.inc_fit));
    let mut dist = vec![measured("root mean square over k", d, &t.dist_rms)];
    dist.extend(fitted(d, t.dist_fit));
    dist.push(Series {
        style: LineStyle::Dashed,
        ..measured(
            &format!(
                "max over k (slope {})",
                t.sup_fit
                    .map_or("n/a".into(), |f| format!("{:+.3}", f.slope))
            ),
            d,
            &t.dist_sup,
        )
    });
    line_panels(
        &ctx.path("depth_scaling"),
        &head,
        &[
            Panel {
                x_ticks: None,
                notes: Vec::new(),
                title: "largest increment between consecutive layers".into(),
                x_label: "depth L".into(),
                y_label: "max_(k,t) ||Z_(k+1)(t) - Z_k(t)||_F".into(),
                log_x: true,
                log_y: true,
                series: inc,
            },
            Panel {
                x_ticks: None,
                notes: Vec::new(),
                title: format!(
                    "distance to the depth-{} network at t = k/L (max over steps)",
                    cfg.reference_depth
                ),
                x_label: "depth L".into(),
                y_label: "||Z^L - Z^ref||".into(),
                log_x: true,
                log_y: true,
                series: dist,
            },
        ],
        2,
    )?;
    let mut all = d.clone();
    all.push(cfg.reference_depth);
    line_panels(
        &ctx.path("training"),
        &head,
        &[
            Panel {
                x_ticks: None,
                notes: Vec::new(),
                title: "training loss".into(),
                x_label: "gradient step".into(),
                y_label: "mean squared error".into(),
                log_x: false,
                log_y: true,
                series: along_training(&all, rows, &|r| Some(r.loss)),
            },
            Panel {
                x_ticks: None,
                notes: Vec::new(),
                title: "largest increment between consecutive layers".into(),
                x_label: "gradient step".into(),
                y_label: "max_k ||Z_(k+1) - Z_k||_F".into(),
                log_x: false,
                log_y: true,
                series: along_training(&all, rows, &|r| Some(r.inc.z)),
            },
            Panel {
                x_ticks: None,
                notes: Vec::new(),
                title: "distance to the reference (root mean square over k)".into(),
                x_label: "gradient step".into(),
                y_label: "||Z^L - Z^ref||".into(),
                log_x: false,
                log_y: true,
                series: along_training(&all, rows, &|r| r.dist.map(|x| x.rms)),
            },
        ],
        3,
    )
}

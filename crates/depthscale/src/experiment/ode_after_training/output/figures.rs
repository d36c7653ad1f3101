//! Stage 3, figures: `gaps.png/svg`, drawn from `results.csv` and `fits.csv` as read back from
//! the run directory.

use super::super::OdeAfterTrainingConfig;
use super::fits::{self, FitRow};
use super::rows::{self, ResultRow};
use crate::Result;
use crate::experiment::RunContext;
use crate::plot::{self, LineStyle, Panel, Series};

/// The figure's title: the config's, or one naming the training protocol.
fn title(cfg: &OdeAfterTrainingConfig) -> String {
    if cfg.title.is_empty() {
        format!(
            "Trained weights as depth doubles: d = {}, {} epoch{} of {} at lr {}",
            cfg.width,
            cfg.epochs,
            if cfg.epochs == 1 { "" } else { "s" },
            cfg.optimizer,
            cfg.lr
        )
    } else {
        cfg.title.clone()
    }
}

/// Whether the `results.csv` row `r` belongs to the `fits.csv` row `f` (same key columns).
fn same_case(r: &ResultRow, f: &FitRow) -> bool {
    r.beta == f.beta && r.init == f.init && r.activation == f.activation
}

/// `gaps.png/svg`: the max gap of `V` against `L`, one panel per `(beta, init)` and one curve
/// per activation (in the order of `fits.csv`) with its fitted slope in the legend; a diverged
/// pair is a gap in its curve. Reads `results.csv` (`pairs` rows) and `fits.csv` (`cases`
/// rows) from the run directory.
pub(super) fn gaps(
    cfg: &OdeAfterTrainingConfig,
    ctx: &RunContext,
    pairs: usize,
    cases: usize,
) -> Result<()> {
    let results = rows::read_results(&ctx.dir, pairs)?;
    let fits = fits::read(&ctx.dir, cases)?;
    let mut groups: Vec<(f64, &str)> = Vec::new();
    let mut panels: Vec<Panel> = Vec::new();
    for f in &fits {
        let mine: Vec<&ResultRow> = results.iter().filter(|r| same_case(r, f)).collect();
        let at = match groups.iter().position(|g| g.0 == f.beta && g.1 == f.init) {
            Some(at) => at,
            None => {
                groups.push((f.beta, &f.init));
                panels.push(Panel {
                    x_ticks: None,
                    notes: Vec::new(),
                    title: format!("beta = {}, init = {}", f.beta, f.init),
                    x_label: "depth L".into(),
                    y_label: "max_k ||V^L_2k - V^(L/2)_k||_F".into(),
                    log_x: true,
                    log_y: true,
                    series: Vec::new(),
                });
                groups.len() - 1
            }
        };
        panels[at].series.push(Series {
            label: format!(
                "{} (slope {})",
                f.activation,
                f.slope_max_gap_v
                    .map_or("n/a: diverged".into(), |v| format!("{v:.2}"))
            ),
            // diverged pairs are left out (a gap, not a point)
            x: mine.iter().map(|r| r.depth as f64).collect(),
            y: mine
                .iter()
                .map(|r| if r.diverged { f64::NAN } else { r.max_gap_v })
                .collect(),
            band: None,
            style: LineStyle::Solid,
            markers: true,
        });
    }
    plot::line_panels(&ctx.path("gaps"), &title(cfg), &panels, 2)
}

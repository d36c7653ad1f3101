//! Stage 1, rows: draw the networks, probe them in batches, one [`Row`] per column.

use super::{Laws, Plan};
use crate::Result;
use crate::experiment::RunContext;
use crate::experiment::store::{self, Record, float, opt_float};
use crate::kernels::{Backend, BackendChoice, with_backend};
use crate::model::{Dims, DrawStream, NetworkStreams, TensorKind};
use crate::paths::{Init, PathCache};
use crate::probe::{ProbeMeasure, Prober};
use crate::progress::{Progress, check_cancelled};
use rand::Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::ops::Range;
use std::time::Instant;

/// Memory budget of one worker's tape chunk (pre-activations of a chunk of columns of one
/// network), in bytes: it sets how many columns a stack call advances per network.
const TAPE_BUDGET_BYTES: usize = 256 << 20;

/// Memory budget of one worker's batch (weights and tape chunk of the networks probed
/// together), in bytes: it sets how many draws share one stack call (at least one). On the CPU
/// a batch buys no speed (its networks run one after the other), so the budget only keeps the
/// batch about as large as one deep network; a device backend, which advances the networks of
/// a batch together, wants it as large as its memory allows.
pub(super) const BATCH_BUDGET_BYTES: usize = 32 << 20;

/// One measured column.
#[derive(Clone, Copy, Debug)]
pub(super) struct Row {
    pub depth: usize,
    pub hurst: Option<f64>,
    pub beta: f64,
    pub draw: usize,
    pub sample: usize,
    pub m: ProbeMeasure,
}

/// What stage 1 produced.
pub(super) struct Measured {
    /// Every column, in job order (depth, hurst, draw, beta, sample).
    pub rows: Vec<Row>,
    /// Number of weight draws.
    pub draws: usize,
    /// Number of batches (draws probed together).
    pub batches: usize,
    /// The backend's description.
    pub backend: String,
    /// Wall-clock seconds of the probing.
    pub seconds: f64,
}

/// The draws of one `(depth, hurst)` probed together.
struct Batch {
    depth: usize,
    laws: Laws,
    draws: Range<usize>,
}

/// Columns per network per stack call: the tape of the deepest network stays within
/// [`TAPE_BUDGET_BYTES`].
pub(super) fn max_columns(plan: &Plan) -> usize {
    let max_depth = *plan.depths.iter().max().expect("non-empty grid");
    let per_column = 8usize.saturating_mul(max_depth).saturating_mul(plan.width);
    (TAPE_BUDGET_BYTES / per_column.max(1)).clamp(8, 1024)
}

/// The batches of the experiment: for every `(depth, hurst)`, its draws in runs of as many as
/// fit [`BATCH_BUDGET_BYTES`] together.
fn batches(plan: &Plan) -> Vec<Batch> {
    let chunk = plan.columns().min(max_columns(plan));
    let mut out = Vec::new();
    for &depth in &plan.depths {
        let (d, l) = (plan.width, depth);
        let weights =
            d * plan.n_in + l * d * d * (1 + usize::from(plan.block.inner)) + plan.n_out * d;
        let per_network = 8 * (weights + l * d * chunk);
        let size = (BATCH_BUDGET_BYTES / per_network).clamp(1, plan.draws);
        for &laws in &plan.laws {
            for start in (0..plan.draws).step_by(size) {
                out.push(Batch {
                    depth,
                    laws,
                    draws: start..(start + size).min(plan.draws),
                });
            }
        }
    }
    out
}

/// The streams of draw `draw` at `(depth, hurst)`.
fn streams(seed: u64, depth: usize, hurst: Option<f64>, draw: usize) -> NetworkStreams {
    NetworkStreams::new(
        seed,
        &[
            depth as u64,
            hurst.map_or(u64::MAX, f64::to_bits),
            draw as u64,
        ],
    )
}

/// Probes every column of the plan on `backend`, batch by batch in parallel.
pub(super) fn measure(
    seed: u64,
    plan: &Plan,
    backend: &BackendChoice,
    progress: &dyn Progress,
) -> Result<Measured> {
    with_backend!(backend, be => measure_on(be.clone(), seed, plan, progress))
}

/// [`measure`] on the backend `backend`.
fn measure_on<B: Backend<f64>>(
    backend: B,
    seed: u64,
    plan: &Plan,
    progress: &dyn Progress,
) -> Result<Measured> {
    let cache = PathCache::new();
    let jobs = batches(plan);
    let columns = plan.columns();
    let total = (plan.depths.len() * plan.laws.len() * plan.draws * columns) as u64;
    let max_columns = max_columns(plan);
    progress.start("probing networks", total);
    let start = Instant::now();
    let job = |prober: &mut Prober<B>, job: &Batch| {
        check_cancelled(progress)?;
        let rows = run_batch(seed, plan, prober, &cache, job);
        progress.advance((job.draws.len() * columns) as u64);
        rows
    };
    // a single batch runs on the calling thread: no hand-over to the pool for tiny calls
    let per_job: Vec<Vec<Row>> = if let [only] = jobs.as_slice() {
        vec![job(
            &mut Prober::with_backend(backend.clone(), max_columns),
            only,
        )?]
    } else {
        jobs.par_iter()
            .map_init(|| Prober::with_backend(backend.clone(), max_columns), job)
            .collect::<Result<_>>()?
    };
    progress.finish();
    Ok(Measured {
        rows: per_job.into_iter().flatten().collect(),
        draws: plan.depths.len() * plan.laws.len() * plan.draws,
        batches: jobs.len(),
        backend: Backend::<f64>::describe(&backend),
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Samples the networks of one batch straight into the prober's storage, draws their inputs
/// and targets, and probes them together.
fn run_batch<B: Backend<f64>>(
    seed: u64,
    plan: &Plan,
    prober: &mut Prober<B>,
    cache: &PathCache,
    job: &Batch,
) -> Result<Vec<Row>> {
    let Batch { depth, laws, .. } = *job;
    let draws = job.draws.clone();
    let dims = Dims {
        n_in: plan.n_in,
        width: plan.width,
        n_out: plan.n_out,
        depth,
        inner_width: plan.width,
    };
    let d = plan.width;
    let nets = prober.load(plan.block, dims, draws.len())?;
    for (kind, stream, law, layers, rows, cols) in [
        (
            TensorKind::Embed,
            DrawStream::Embed,
            Some(Init::Uniform),
            1,
            d,
            plan.n_in,
        ),
        (TensorKind::V, DrawStream::V, Some(laws.v), depth, d, d),
        (TensorKind::W, DrawStream::W, laws.w, depth, d, d),
        (
            TensorKind::Readout,
            DrawStream::Readout,
            Some(Init::Uniform),
            1,
            plan.n_out,
            d,
        ),
    ] {
        let Some(law) = law else { continue };
        let len = layers * rows * cols;
        nets.write(kind, |host| -> Result<()> {
            for (out, draw) in host.chunks_exact_mut(len).zip(draws.clone()) {
                let mut rng = streams(seed, depth, laws.hurst, draw).stream(stream);
                law.sample_stack(layers, rows, cols, cache, &mut rng, out)?;
            }
            Ok(())
        })?;
    }
    let n = plan.columns();
    let mut alpha = Vec::with_capacity(n);
    for &b in &plan.betas {
        alpha.extend(std::iter::repeat_n(
            crate::train::residual_scale(depth, b),
            plan.samples,
        ));
    }
    let uniform = |which: DrawStream, len: usize| -> Vec<f64> {
        draws
            .clone()
            .flat_map(|draw| {
                let mut rng = streams(seed, depth, laws.hurst, draw).stream(which);
                (0..len).map(move |_| rng.random::<f64>())
            })
            .collect()
    };
    let x = uniform(DrawStream::Inputs, plan.n_in * n);
    let y = uniform(DrawStream::Targets, plan.n_out * n);
    let mut out = Vec::with_capacity(draws.len() * n);
    prober.probe(&alpha, &x, &y, &mut out);
    Ok(out
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            let c = i % n;
            Row {
                depth,
                hurst: laws.hurst,
                beta: plan.betas[c / plan.samples],
                draw: draws.start + i / n,
                sample: c % plan.samples,
                m,
            }
        })
        .collect())
}

/// [`run_batch`] for the draws `draws` of `(depth, laws)`.
#[cfg(test)]
pub(super) fn run_batch_for_tests(
    seed: u64,
    plan: &Plan,
    prober: &mut Prober,
    cache: &PathCache,
    depth: usize,
    laws: Laws,
    draws: Range<usize>,
) -> Vec<Row> {
    let job = Batch { depth, laws, draws };
    run_batch(seed, plan, prober, cache, &job).unwrap()
}

/// A row of `results.csv`: one measured column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct ResultRow {
    pub depth: usize,
    pub width: usize,
    #[serde(with = "float")]
    pub beta: f64,
    /// Hurst index of the correlated law (empty for i.i.d. weights).
    #[serde(with = "opt_float")]
    pub hurst: Option<f64>,
    pub draw: usize,
    pub sample: usize,
    /// The law of `V`.
    pub init_v: String,
    /// The law of `W` (empty where the block has none).
    pub init_w: String,
    #[serde(with = "float")]
    pub h_ratio: f64,
    #[serde(with = "float")]
    pub h_diff: f64,
    #[serde(with = "float")]
    pub g_ratio: f64,
    #[serde(with = "float")]
    pub g_diff: f64,
}

impl Record for ResultRow {
    const COLUMNS: &'static [&'static str] = &[
        "depth", "width", "beta", "hurst", "draw", "sample", "init_v", "init_w", "h_ratio",
        "h_diff", "g_ratio", "g_diff",
    ];
}

/// Writes `results.csv`, one line per row.
pub(super) fn write_results(ctx: &RunContext, plan: &Plan, rows: &[Row]) -> Result<()> {
    let names: HashMap<Option<u64>, (String, String)> = plan
        .laws
        .iter()
        .map(|l| {
            (
                l.hurst.map(f64::to_bits),
                (
                    l.v.to_string(),
                    l.w.map(|w| w.to_string()).unwrap_or_default(),
                ),
            )
        })
        .collect();
    let table: Vec<ResultRow> = rows
        .iter()
        .map(|r| {
            let (init_v, init_w) = &names[&r.hurst.map(f64::to_bits)];
            ResultRow {
                depth: r.depth,
                width: plan.width,
                beta: r.beta,
                hurst: r.hurst,
                draw: r.draw,
                sample: r.sample,
                init_v: init_v.clone(),
                init_w: init_w.clone(),
                h_ratio: r.m.h_ratio,
                h_diff: r.m.h_diff,
                g_ratio: r.m.g_ratio,
                g_diff: r.m.g_diff,
            }
        })
        .collect();
    store::rewrite(&ctx.path("results.csv"), &table)
}

//! `depthscale._core`: the Rust functions behind the `depthscale` Python package.
//!
//! Every function validates through the library (errors: see [`convert::py_err`]), releases
//! the GIL around the work and stops on Ctrl-C between jobs ([`cancel`]); large results are
//! handed to NumPy without a copy (`into_pyarray` on the vectors the library produced), inputs
//! are borrowed as read-only arrays. The Python layer (`python/depthscale/__init__.py`) adds
//! the documented keyword API, DataFrames and the `Run` object.

mod cancel;
mod convert;
mod nets;
mod ode;

use convert::{dict_to_table, py_err, table_to_dict, to_toml};
use depthscale::experiment::{
    self, ConfigSource, Experiment, PRESETS, ProbeConfig, RunOptions, TrainRunConfig,
};
use depthscale::paths::Init;
use numpy::ndarray::Array;
use numpy::{IntoPyArray, PyArray3};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// Work below this many multiply-adds runs inline (no watcher thread; Ctrl-C is checked when
/// it returns): about a millisecond.
const TINY_WORK: f64 = 2e6;

/// The library version.
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// `(name, description)` of every shipped preset.
#[pyfunction]
fn presets() -> Vec<(&'static str, String)> {
    PRESETS
        .iter()
        .map(|p| (p.name, p.description().to_string()))
        .collect()
}

/// The TOML text of a preset, `None` for an unknown name.
#[pyfunction]
fn preset_toml(name: &str) -> Option<&'static str> {
    experiment::preset(name).map(|p| p.toml)
}

/// Parses TOML text into a dict.
#[pyfunction]
fn read_toml<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyDict>> {
    let t: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    table_to_dict(py, &t)
}

/// The `--set` assignments of `set`: a dict `{key: value}` or a list of `"key=value"`.
fn overrides(set: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<String>> {
    let Some(set) = set.filter(|s| !s.is_none()) else {
        return Ok(Vec::new());
    };
    if let Ok(d) = set.cast::<PyDict>() {
        let mut out = Vec::new();
        for (k, v) in d.iter() {
            let key: String = k.extract()?;
            out.push(format!("{key}={}", to_toml(&key, &v)?));
        }
        return Ok(out);
    }
    if let Ok(s) = set.extract::<String>() {
        return Ok(vec![s]);
    }
    set.extract::<Vec<String>>().map_err(|_| {
        pyo3::exceptions::PyValueError::new_err(
            "invalid `set`: expected a dict {key: value} or a list of \"key=value\" strings",
        )
    })
}

/// Runs `f` on a pool of `threads` threads (`None`: the global pool).
fn with_threads<T: Send>(
    threads: Option<usize>,
    f: impl FnOnce() -> depthscale::Result<T> + Send,
) -> depthscale::Result<T> {
    match threads {
        None => f(),
        Some(n) => {
            depthscale::budget::check_threads("threads", n)?;
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| depthscale::Error::config("threads", e.to_string()))?;
            pool.install(f)
        }
    }
}

/// Runs a preset or config file exactly as `depthscale run` does; returns the output
/// directory and the text of `summary.json`'s JSON. Without `out`, the directory is
/// [`default_out`]'s (never an existing one). `progress`: see [`cancel::run_with_progress`].
#[pyfunction]
#[pyo3(signature = (source, out=None, quick=false, set=None, threads=None, force=false, progress=None))]
#[allow(clippy::too_many_arguments)]
fn run(
    py: Python<'_>,
    source: &str,
    out: Option<std::path::PathBuf>,
    quick: bool,
    set: Option<&Bound<'_, PyAny>>,
    threads: Option<usize>,
    force: bool,
    progress: Option<&Bound<'_, PyAny>>,
) -> PyResult<(String, String)> {
    let config = ConfigSource::resolve(source).map_err(|e| py_err(e, None))?;
    let out = out.unwrap_or_else(|| default_out(&config.name));
    let opts = RunOptions {
        overrides: overrides(set)?,
        quick,
        out: Some(out),
        force,
        ..RunOptions::default()
    };
    let report = cancel::run_with_progress(py, false, progress, |progress| {
        with_threads(threads, || experiment::run(config, &opts, progress))
    })?
    .map_err(|e| py_err(e, Some(&format!("experiment {source}"))))?;
    Ok((report.dir.display().to_string(), report.summary.to_string()))
}

/// `runs/<name>-<UTC timestamp>`, or with the first suffix `-2`, `-3`, ... that names nothing
/// yet (so runs started within the same second never collide).
fn default_out(name: &str) -> std::path::PathBuf {
    let base = format!("{name}-{}", experiment::utc_timestamp());
    let runs = std::path::Path::new("runs");
    let free = |p: &std::path::Path| p.symlink_metadata().is_err();
    let first = runs.join(&base);
    if free(&first) {
        return first;
    }
    (2u64..)
        .map(|i| runs.join(format!("{base}-{i}")))
        .find(|p| free(p))
        .expect("an unused suffix")
}

/// Reproduces the paper as `depthscale reproduce` does, into `out`; returns the directory
/// and the text of its `summary.json` (the claims). `progress`: see
/// [`cancel::run_with_progress`].
#[pyfunction]
#[pyo3(signature = (out, quick=false, only=None, redo=None, seed=None, force=false, dataset=None, data_dir=None, threads=None, progress=None))]
#[allow(clippy::too_many_arguments)]
fn reproduce(
    py: Python<'_>,
    out: std::path::PathBuf,
    quick: bool,
    only: Option<Vec<String>>,
    redo: Option<Vec<String>>,
    seed: Option<u64>,
    force: bool,
    dataset: Option<String>,
    data_dir: Option<String>,
    threads: Option<usize>,
    progress: Option<&Bound<'_, PyAny>>,
) -> PyResult<(String, String)> {
    use depthscale::experiment::reproduce as rep;
    let data = match (dataset, data_dir) {
        (None, None) => None,
        (Some(name), None) if name == "mnist-10k" => None,
        (Some(name), Some(dir)) => Some((name, dir)),
        (Some(name), None) => {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "invalid `data_dir`: dataset {name:?} needs `data_dir`, the directory holding its files; only mnist-10k is bundled"
            )));
        }
        (None, Some(_)) => {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "invalid `dataset`: `data_dir` needs `dataset` (mnist, fashion-mnist or cifar10)",
            ));
        }
    };
    let opts = rep::ReproduceOptions {
        quick,
        out,
        only,
        redo: redo.unwrap_or_default(),
        data,
        force,
        seed,
        ..rep::ReproduceOptions::default()
    };
    let report = cancel::run_with_progress(py, false, progress, |progress| {
        with_threads(threads, || rep::reproduce(&opts, progress))
    })?
    .map_err(|e| py_err(e, Some("reproduce")))?;
    let summary = rep::summary_json(&report, quick);
    Ok((report.dir.display().to_string(), summary.to_string()))
}

/// Probes a grid (the fields of a `probe` config, as a dict) in memory; returns the columns
/// as NumPy arrays and the seconds of the probing itself.
#[pyfunction]
#[pyo3(signature = (config, threads=None, progress=None))]
fn probe<'py>(
    py: Python<'py>,
    config: &Bound<'py, PyDict>,
    threads: Option<usize>,
    progress: Option<&Bound<'py, PyAny>>,
) -> PyResult<(Bound<'py, PyDict>, f64)> {
    let table = dict_to_table(config, None)?;
    let cfg: ProbeConfig = experiment::typed(table).map_err(|e| py_err(e, None))?;
    cfg.validate().map_err(|e| py_err(e, None))?;
    let work = probe_work(&cfg);
    let t = cancel::run_with_progress(py, work < TINY_WORK, progress, |progress| {
        with_threads(threads, || cfg.measure(progress))
    })?
    .map_err(|e| py_err(e, None))?;
    let d = PyDict::new(py);
    d.set_item("beta", t.beta.into_pyarray(py))?;
    d.set_item("draw", t.draw.into_pyarray(py))?;
    d.set_item("sample", t.sample.into_pyarray(py))?;
    d.set_item("depth", t.depth.into_pyarray(py))?;
    if let Some(h) = t.hurst {
        d.set_item("hurst", h.into_pyarray(py))?;
    }
    d.set_item("h_ratio", t.h_ratio.into_pyarray(py))?;
    d.set_item("h_diff", t.h_diff.into_pyarray(py))?;
    d.set_item("g_ratio", t.g_ratio.into_pyarray(py))?;
    d.set_item("g_diff", t.g_diff.into_pyarray(py))?;
    Ok((d, t.seconds))
}

/// Multiply-adds of a validated probe config, roughly (forward and backward).
fn probe_work(cfg: &ProbeConfig) -> f64 {
    let count = |g: &experiment::Grid, f: &str| g.values(f).map_or(1, |v| v.len()) as f64;
    let depth_sum: f64 = cfg
        .depth
        .values("depth")
        .map_or(1.0, |v| v.iter().sum::<f64>());
    let hursts = cfg.hurst.as_ref().map_or(1.0, |h| count(h, "hurst"));
    let columns = count(&cfg.beta, "beta") * cfg.samples as f64 * cfg.draws as f64;
    4.0 * depth_sum * (cfg.width as f64).powi(2) * columns * hursts
}

/// `depth x rows x cols` weights drawn from `init` with `rng::stream(seed, &[])`
/// ([`depthscale::paths::draw_stack`]: sizes and memory checked, stopped by Ctrl-C).
#[pyfunction]
fn weights<'py>(
    py: Python<'py>,
    init: &str,
    depth: usize,
    rows: usize,
    cols: usize,
    seed: u64,
) -> PyResult<Bound<'py, PyArray3<f64>>> {
    let law: Init = init.parse().map_err(|e| py_err(e, None))?;
    let len = depth.saturating_mul(rows).saturating_mul(cols);
    let tiny = (len as f64) < TINY_WORK / 20.0 && !law.is_correlated();
    let out = cancel::run(py, tiny, |progress| {
        let mut rng = depthscale::rng::stream(seed, &[]);
        depthscale::paths::draw_stack(law, depth, rows, cols, &mut rng, progress)
    })?
    .map_err(|e| py_err(e, None))?;
    let arr = Array::from_shape_vec((depth, rows, cols), out)
        .expect("the stack has depth x rows x cols values");
    Ok(arr.into_pyarray(py))
}

/// `paths` independent unit-variance fractional Gaussian noise paths of length `n` (Hurst
/// index `hurst`), as a `(paths, n)` array: the library's fBm sampler (Davies-Harte) with
/// `rng::stream(seed, &[])`, i.e. `weights("fbm(H)", n, paths, 1, seed)` transposed
/// ([`depthscale::paths::fbm::fgn_rows`]: sizes and memory checked, stopped by Ctrl-C).
#[pyfunction]
fn fbm<'py>(
    py: Python<'py>,
    n: usize,
    hurst: f64,
    paths: usize,
    seed: u64,
) -> PyResult<Bound<'py, numpy::PyArray2<f64>>> {
    Init::Fbm { hurst }
        .validate("hurst")
        .map_err(|e| py_err(e, None))?;
    let tiny = (n.saturating_mul(paths) as f64) < TINY_WORK / 20.0;
    let out = cancel::run(py, tiny, |progress| {
        let mut rng = depthscale::rng::stream(seed, &[]);
        depthscale::paths::fbm::fgn_rows(n, hurst, paths, &mut rng, progress)
    })?
    .map_err(|e| py_err(e, None))?;
    let arr = Array::from_shape_vec((paths, n), out).expect("paths x n values");
    Ok(arr.into_pyarray(py))
}

/// Trains (the fields of a `train` config, as a dict) in memory; returns a dict with the
/// per-epoch metrics, `diverged`, the dataset's name, and the networks before and after.
#[pyfunction]
#[pyo3(signature = (config, save=None, threads=None, overwrite=false, progress=None))]
fn train<'py>(
    py: Python<'py>,
    config: &Bound<'py, PyDict>,
    save: Option<std::path::PathBuf>,
    threads: Option<usize>,
    overwrite: bool,
    progress: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let table = dict_to_table(config, None)?;
    let cfg: TrainRunConfig = experiment::typed(table).map_err(|e| py_err(e, None))?;
    cfg.validate().map_err(|e| py_err(e, None))?;
    if let Some(path) = &save {
        // refused before training, and again when saving
        depthscale::train::check_save_path(path, overwrite).map_err(|e| py_err(e, None))?;
    }
    let (tc, dataset, out) = cancel::run_with_progress(py, false, progress, |progress| {
        with_threads(threads, || cfg.train_in_memory(progress))
    })?
    .map_err(|e| py_err(e, None))?;
    if let Some(path) = &save {
        let mut extra = std::collections::BTreeMap::new();
        extra.insert("state".to_string(), "trained".to_string());
        extra.insert("dataset".to_string(), dataset.clone());
        extra.insert("init_v".to_string(), tc.init_v.to_string());
        extra.insert("seed".to_string(), tc.seed.to_string());
        depthscale::train::save_checkpoint(path, &out.trained, tc.beta, &extra, overwrite)
            .map_err(|e| py_err(e, None))?;
    }
    let d = PyDict::new(py);
    let m = &out.metrics;
    let col = |f: fn(&depthscale::train::EpochMetrics) -> f64| m.iter().map(f).collect::<Vec<_>>();
    let schedule = tc.schedule();
    d.set_item(
        "epoch",
        m.iter()
            .map(|e| e.epoch as u64)
            .collect::<Vec<_>>()
            .into_pyarray(py),
    )?;
    d.set_item(
        "lr",
        m.iter()
            .map(|e| schedule.lr(e.epoch - 1))
            .collect::<Vec<_>>()
            .into_pyarray(py),
    )?;
    d.set_item("train_loss", col(|e| e.train_loss).into_pyarray(py))?;
    d.set_item("test_loss", col(|e| e.test_loss).into_pyarray(py))?;
    d.set_item("test_accuracy", col(|e| e.test_accuracy).into_pyarray(py))?;
    d.set_item("seconds", col(|e| e.seconds).into_pyarray(py))?;
    d.set_item("diverged", out.diverged)?;
    d.set_item("dataset", dataset)?;
    d.set_item(
        "alpha",
        depthscale::train::residual_scale(tc.depth, tc.beta),
    )?;
    d.set_item("initial", nets::params_dict(py, out.initial)?)?;
    d.set_item("trained", nets::params_dict(py, out.trained)?)?;
    d.set_item("checkpoint", save.map(|p| p.display().to_string()))?;
    Ok(d)
}

/// The Python module `depthscale._core`.
#[pymodule]
#[pyo3(name = "_core")]
fn core_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add_function(wrap_pyfunction!(presets, m)?)?;
    m.add_function(wrap_pyfunction!(preset_toml, m)?)?;
    m.add_function(wrap_pyfunction!(read_toml, m)?)?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(reproduce, m)?)?;
    m.add_function(wrap_pyfunction!(probe, m)?)?;
    m.add_function(wrap_pyfunction!(weights, m)?)?;
    m.add_function(wrap_pyfunction!(fbm, m)?)?;
    m.add_function(wrap_pyfunction!(train, m)?)?;
    m.add_function(wrap_pyfunction!(nets::trajectory, m)?)?;
    m.add_function(wrap_pyfunction!(ode::ode_net, m)?)?;
    m.add_function(wrap_pyfunction!(ode::ode_gradients, m)?)?;
    m.add_function(wrap_pyfunction!(ode::ode_series, m)?)?;
    m.add("KINDS", PyList::new(m.py(), experiment::KINDS)?)?;
    m.add("TooLargeError", convert::too_large_error(m.py())?)?;
    Ok(())
}

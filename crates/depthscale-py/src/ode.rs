//! The continuous-depth model of [`depthscale::adjoint`] across the boundary (issue 23): a
//! random [`OdeNet`] as a dict of NumPy arrays ([`ode_net`]), and the loss gradient of a net
//! given as such a dict, by back-propagation, checkpointing and the adjoint method
//! ([`ode_gradients`]), and one trajectory's fit at irregular times ([`ode_series`]).
//!
//! Dict layout (all `float64`, C order): `embed (d, n_in)`, `readout (n_out, d)`, and the
//! path, either piecewise (`v`, and `w` unless `W = I`, `(L, d, d)`) or Fourier (`v_cos`,
//! `v_sin` `(terms, d, d)` with `v_omega (terms,)`, the same with `w_` for `W`).

use crate::cancel;
use crate::convert::py_err;
use depthscale::adjoint::{
    GradientMethod, Observations, OdeDims, OdeGrads, OdeNet, PathKind, Scheme, Solve, Tolerances,
    WeightPath, adjoint_adaptive, iid_net, loss_and_grad, series_loss_and_grad, smooth_net,
};
use depthscale::limits::FourierPath;
use depthscale::model::Activation;
use depthscale::{Error, Result};
use numpy::ndarray::Array;
use numpy::{
    IntoPyArray, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;

fn config_err(field: &str, message: String) -> PyErr {
    py_err(Error::config(field, message), None)
}

/// `values` as an array of `shape` (moved).
fn array<'py>(py: Python<'py>, values: Vec<f64>, shape: &[usize]) -> Bound<'py, PyAny> {
    Array::from_shape_vec(shape.to_vec(), values)
        .expect("a tensor of its declared shape")
        .into_pyarray(py)
        .into_any()
}

/// The path's parameter names and shapes, in the order of [`WeightPath::params`].
fn path_layout(path: &WeightPath) -> Vec<(&'static str, Vec<usize>)> {
    let d = path.dim();
    let inner = path.has_inner();
    match path.kind() {
        PathKind::Piecewise { layers } => {
            let mut out = vec![("v", vec![*layers, d, d])];
            if inner {
                out.push(("w", vec![*layers, d, d]));
            }
            out
        }
        PathKind::Fourier { omega_v, omega_w } => {
            let mut out = vec![
                ("v_cos", vec![omega_v.len(), d, d]),
                ("v_sin", vec![omega_v.len(), d, d]),
            ];
            if inner {
                out.push(("w_cos", vec![omega_w.len(), d, d]));
                out.push(("w_sin", vec![omega_w.len(), d, d]));
            }
            out
        }
    }
}

/// Writes `embed`, `readout` and the path's tensors (`params` split by [`path_layout`]) into
/// `out`.
fn put_params(
    py: Python<'_>,
    out: &Bound<'_, PyDict>,
    path: &WeightPath,
    embed: Vec<f64>,
    readout: Vec<f64>,
    params: &[f64],
    shapes: (usize, usize, usize),
) -> PyResult<()> {
    let (n_in, d, n_out) = shapes;
    out.set_item("embed", array(py, embed, &[d, n_in]))?;
    out.set_item("readout", array(py, readout, &[n_out, d]))?;
    let mut rest = params;
    for (name, shape) in path_layout(path) {
        let (head, tail) = rest.split_at(shape.iter().product());
        out.set_item(name, array(py, head.to_vec(), &shape))?;
        rest = tail;
    }
    Ok(())
}

/// A random continuous-depth net as a dict (module docs): smooth RBF weights of `bandwidth`
/// (`layers = None`) or i.i.d. piecewise-constant weights over `layers` layers at residual
/// exponent `beta`; `inner`: whether the field has `W(t)`.
#[pyfunction]
#[pyo3(signature = (n_in, width, n_out, layers=None, beta=1.0, bandwidth=0.5, inner=true, activation="tanh", seed=0))]
#[allow(clippy::too_many_arguments)]
pub fn ode_net<'py>(
    py: Python<'py>,
    n_in: usize,
    width: usize,
    n_out: usize,
    layers: Option<usize>,
    beta: f64,
    bandwidth: f64,
    inner: bool,
    activation: &str,
    seed: u64,
) -> PyResult<Bound<'py, PyDict>> {
    for (field, v) in [
        ("n_in", n_in),
        ("width", width),
        ("n_out", n_out),
        ("layers", layers.unwrap_or(1)),
    ] {
        if v == 0 {
            return Err(config_err(field, "must be >= 1, got 0".into()));
        }
    }
    let activation: Activation = activation.parse().map_err(|e| py_err(e, None))?;
    let dims = OdeDims { n_in, width, n_out };
    let net = match layers {
        Some(l) => iid_net(dims, l, beta, inner, activation, seed),
        None => {
            smooth_net(dims, bandwidth, inner, activation, seed).map_err(|e| py_err(e, None))?
        }
    };
    let out = PyDict::new(py);
    if let PathKind::Fourier { omega_v, omega_w } = net.path.kind() {
        out.set_item("v_omega", omega_v.clone().into_pyarray(py))?;
        if inner {
            out.set_item("w_omega", omega_w.clone().into_pyarray(py))?;
        }
    }
    let params = net.path.params().to_vec();
    put_params(
        py,
        &out,
        &net.path,
        net.embed,
        net.readout,
        &params,
        (n_in, width, n_out),
    )?;
    Ok(out)
}

/// A required float64 array of `ndim` dimensions from `net[name]`, as (shape, values).
fn tensor(net: &Bound<'_, PyDict>, name: &str) -> PyResult<Option<(Vec<usize>, Vec<f64>)>> {
    let Some(v) = net.get_item(name)? else {
        return Ok(None);
    };
    let arr = v
        .cast::<numpy::PyArrayDyn<f64>>()
        .map_err(|_| config_err(name, "must be a float64 NumPy array".into()))?;
    let ro = arr.readonly();
    let values = ro.as_array().iter().copied().collect();
    Ok(Some((ro.shape().to_vec(), values)))
}

fn need(net: &Bound<'_, PyDict>, name: &str) -> PyResult<(Vec<usize>, Vec<f64>)> {
    tensor(net, name)?.ok_or_else(|| config_err(name, "missing from `net`".into()))
}

fn expect_shape(name: &str, got: &[usize], want: &[usize]) -> PyResult<()> {
    if got == want {
        Ok(())
    } else {
        Err(config_err(
            name,
            format!("expected shape {want:?}, got {got:?}"),
        ))
    }
}

/// The Fourier path of one matrix from `net[{p}_cos]`, `[{p}_sin]`, `[{p}_omega]`.
fn fourier(net: &Bound<'_, PyDict>, p: &str, d: usize) -> PyResult<Option<FourierPath>> {
    let Some((shape, a)) = tensor(net, &format!("{p}_cos"))? else {
        return Ok(None);
    };
    let (sshape, c) = need(net, &format!("{p}_sin"))?;
    let (oshape, omega) = need(net, &format!("{p}_omega"))?;
    let terms = oshape.first().copied().unwrap_or(0);
    expect_shape(&format!("{p}_omega"), &oshape, &[terms])?;
    expect_shape(&format!("{p}_cos"), &shape, &[terms, d, d])?;
    expect_shape(&format!("{p}_sin"), &sshape, &[terms, d, d])?;
    if terms == 0 || omega.iter().any(|w| !(w.is_finite() && *w >= 0.0)) {
        return Err(config_err(
            &format!("{p}_omega"),
            "must hold at least one finite non-negative frequency".into(),
        ));
    }
    Ok(Some(FourierPath::from_coefficients(d, omega, a, c)))
}

/// The [`OdeNet`] of a dict (module docs).
fn net_from_dict(net: &Bound<'_, PyDict>, activation: Activation) -> PyResult<OdeNet> {
    let (eshape, embed) = need(net, "embed")?;
    let [d, n_in] = eshape[..] else {
        return Err(config_err(
            "embed",
            format!("must be (d, n_in), got {eshape:?}"),
        ));
    };
    let (rshape, readout) = need(net, "readout")?;
    let n_out = rshape.first().copied().unwrap_or(0);
    expect_shape("readout", &rshape, &[n_out, d])?;
    if d == 0 || n_in == 0 || n_out == 0 {
        return Err(config_err("embed", "needs d, n_in, n_out >= 1".into()));
    }
    let path = if let Some((vshape, v)) = tensor(net, "v")? {
        let l = vshape.first().copied().unwrap_or(0);
        expect_shape("v", &vshape, &[l, d, d])?;
        if l == 0 {
            return Err(config_err("v", "needs L >= 1 layers".into()));
        }
        let w = match tensor(net, "w")? {
            Some((wshape, w)) => {
                expect_shape("w", &wshape, &[l, d, d])?;
                Some(w)
            }
            None => None,
        };
        WeightPath::piecewise(d, &v, w.as_deref())
    } else {
        let v = fourier(net, "v", d)?.ok_or_else(|| {
            config_err(
                "net",
                "needs `v` (L, d, d) or `v_cos`, `v_sin`, `v_omega`".into(),
            )
        })?;
        let w = fourier(net, "w", d)?;
        WeightPath::fourier(&v, w.as_ref())
    };
    Ok(OdeNet {
        n_in,
        n_out,
        embed,
        readout,
        path,
        activation,
    })
}

fn parse_scheme(s: &str) -> Result<Scheme> {
    Scheme::ALL
        .into_iter()
        .find(|m| m.name() == s)
        .ok_or_else(|| {
            Error::config(
                "scheme",
                format!("unknown scheme {s:?}; accepted: euler, heun, rk4, dopri5"),
            )
        })
}

/// One method's result: the loss, the gradient's tensors, and the diagnostics.
struct Computed {
    method: String,
    loss: f64,
    grads: OdeGrads,
    peak_states: usize,
    h0_error: f64,
    steps: Option<(usize, usize)>,
}

/// The loss and its gradient for each of `methods` (`backprop`, `checkpoint`, `adjoint`) of
/// the net `net` (a dict, module docs) on the batch `x (n, n_in)` with integer `labels (n,)`:
/// `scheme` on `steps` uniform steps, or, for `adjoint` with `rtol` and `atol`, adaptive
/// Dormand-Prince. Returns `{method: {loss, embed, readout, <path tensors>, peak_states,
/// h0_error}}` (adaptive adjoint: also `forward_steps`, `backward_steps`).
#[pyfunction]
#[pyo3(signature = (net, x, labels, methods, activation="tanh", scheme="euler", steps=None, rtol=None, atol=None))]
#[allow(clippy::too_many_arguments)]
pub fn ode_gradients<'py>(
    py: Python<'py>,
    net: &Bound<'py, PyDict>,
    x: PyReadonlyArray2<'py, f64>,
    labels: PyReadonlyArray1<'py, i64>,
    methods: Vec<String>,
    activation: &str,
    scheme: &str,
    steps: Option<usize>,
    rtol: Option<f64>,
    atol: Option<f64>,
) -> PyResult<Bound<'py, PyDict>> {
    let activation: Activation = activation.parse().map_err(|e| py_err(e, None))?;
    let model = net_from_dict(net, activation)?;
    let scheme = parse_scheme(scheme).map_err(|e| py_err(e, None))?;
    let n = labels.shape()[0];
    expect_shape("x", x.shape(), &[n, model.n_in])?;
    let xs: Vec<f64> = x.as_array().iter().copied().collect();
    let mut ys = Vec::with_capacity(n);
    for &y in labels.as_array() {
        match u8::try_from(y) {
            Ok(v) if usize::from(v) < model.n_out => ys.push(v),
            _ => {
                return Err(config_err(
                    "labels",
                    format!("must lie in 0..{}, got {y}", model.n_out),
                ));
            }
        }
    }
    let tol = match (rtol, atol) {
        (Some(rtol), Some(atol)) => Some(Tolerances { rtol, atol }),
        (None, None) => None,
        _ => {
            return Err(config_err(
                "rtol",
                "give both rtol and atol, or neither".into(),
            ));
        }
    };
    let mut parsed = Vec::new();
    for m in &methods {
        let g: GradientMethod = m.parse().map_err(|e| py_err(e, None))?;
        let fixed = !(g == GradientMethod::Adjoint && tol.is_some());
        if fixed && steps.is_none() {
            return Err(config_err(
                "steps",
                format!("needed for the fixed-step method {m}"),
            ));
        }
        parsed.push((m.clone(), g, fixed));
    }
    let work = |_: &cancel::Cancel| -> Result<Vec<Computed>> {
        parsed
            .iter()
            .map(|(name, g, fixed)| {
                if *fixed {
                    let solve = Solve {
                        scheme,
                        steps: steps.unwrap_or(0),
                    };
                    let r = loss_and_grad(&model, &xs, &ys, solve, *g)?;
                    Ok(Computed {
                        method: name.clone(),
                        loss: r.loss,
                        grads: r.grads,
                        peak_states: r.peak_states,
                        h0_error: r.h0_error,
                        steps: None,
                    })
                } else {
                    let tol = tol.expect("adaptive only with tolerances");
                    let r = adjoint_adaptive(&model, &xs, &ys, tol)?;
                    Ok(Computed {
                        method: name.clone(),
                        loss: r.report.loss,
                        grads: r.report.grads,
                        peak_states: r.report.peak_states,
                        h0_error: r.report.h0_error,
                        steps: Some((r.forward_steps, r.backward_steps)),
                    })
                }
            })
            .collect()
    };
    let computed = cancel::run(py, false, work)?.map_err(|e| py_err(e, None))?;
    let out = PyDict::new(py);
    for c in computed {
        let d = PyDict::new(py);
        d.set_item("loss", c.loss)?;
        put_params(
            py,
            &d,
            &model.path,
            c.grads.embed,
            c.grads.readout,
            &c.grads.path,
            (model.n_in, model.dim(), model.n_out),
        )?;
        d.set_item("peak_states", c.peak_states)?;
        d.set_item("h0_error", c.h0_error)?;
        if let Some((f, b)) = c.steps {
            d.set_item("forward_steps", f)?;
            d.set_item("backward_steps", b)?;
        }
        out.set_item(c.method, d)?;
    }
    Ok(out)
}

/// One trajectory (`adjoint::series`): the squared error of `B h(t_i)` against `values
/// (len(times), n_out)` from `h(0) = A x0`, with steps of at most `max_dt`, and, with a
/// `method` (`backprop` or `adjoint`), its gradient. Returns `{loss, predictions (len(times),
/// n_out)}` plus the gradient's tensors under the net's keys.
#[pyfunction]
#[pyo3(signature = (net, x0, times, values, method=None, activation="tanh", scheme="euler", max_dt=0.01))]
#[allow(clippy::too_many_arguments)]
pub fn ode_series<'py>(
    py: Python<'py>,
    net: &Bound<'py, PyDict>,
    x0: PyReadonlyArray1<'py, f64>,
    times: PyReadonlyArray1<'py, f64>,
    values: Option<PyReadonlyArray2<'py, f64>>,
    method: Option<&str>,
    activation: &str,
    scheme: &str,
    max_dt: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let activation: Activation = activation.parse().map_err(|e| py_err(e, None))?;
    let model = net_from_dict(net, activation)?;
    let scheme = parse_scheme(scheme).map_err(|e| py_err(e, None))?;
    let method: Option<GradientMethod> = method
        .map(str::parse)
        .transpose()
        .map_err(|e| py_err(e, None))?;
    let n_t = times.shape()[0];
    let x0: Vec<f64> = x0.as_array().iter().copied().collect();
    let times: Vec<f64> = times.as_array().iter().copied().collect();
    let values: Vec<f64> = match &values {
        Some(v) => {
            expect_shape("values", v.shape(), &[n_t, model.n_out])?;
            v.as_array().iter().copied().collect()
        }
        None if method.is_none() => vec![0.0; n_t * model.n_out],
        None => return Err(config_err("values", "needed for a gradient".into())),
    };
    let obs = Observations {
        x0: &x0,
        times: &times,
        values: &values,
    };
    let r = cancel::run(py, true, |_| {
        series_loss_and_grad(&model, &obs, scheme, max_dt, method)
    })?
    .map_err(|e| py_err(e, None))?;
    let out = PyDict::new(py);
    out.set_item("loss", r.loss)?;
    out.set_item("predictions", array(py, r.predictions, &[n_t, model.n_out]))?;
    if method.is_some() {
        put_params(
            py,
            &out,
            &model.path,
            r.grads.embed,
            r.grads.readout,
            &r.grads.path,
            (model.n_in, model.dim(), model.n_out),
        )?;
    }
    Ok(out)
}

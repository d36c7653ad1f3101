//! Networks across the boundary: NumPy weight stacks to a library [`ResNet`] (for
//! [`trajectory`]) and trained networks back to NumPy arrays.

use crate::cancel;
use crate::convert::py_err;
use depthscale::Error;
use depthscale::model::{Activation, BiasPosition, BlockSpec, Dims, ResNet};
use numpy::ndarray::Array;
use numpy::{
    IntoPyArray, PyReadonlyArray1, PyReadonlyArray2, PyReadonlyArray3, PyUntypedArrayMethods,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The tensors of a network as NumPy arrays: `embed (d, n_in)`, `v (L, d, m)`, `w (L, m, d)`
/// when the block has it (`m`: the inner width), `bias (L, m or d)` when it has one, `readout (n_out, d)`; moved, not
/// copied.
pub fn params_dict<T: numpy::Element + depthscale::Float>(
    py: Python<'_>,
    net: ResNet<T>,
) -> PyResult<Bound<'_, PyDict>> {
    let Dims {
        n_in,
        width: d,
        n_out,
        depth: l,
        inner_width: m,
    } = net.dims;
    let bias_len = net.dims.bias_len(&net.block);
    let block = net.block;
    let p = net.params;
    let out = PyDict::new(py);
    let shaped = |v: Vec<T>, shape: &[usize]| {
        Array::from_shape_vec(shape.to_vec(), v).expect("a tensor of its declared shape")
    };
    out.set_item("embed", shaped(p.embed, &[d, n_in]).into_pyarray(py))?;
    out.set_item("v", shaped(p.v, &[l, d, m]).into_pyarray(py))?;
    if block.inner {
        out.set_item("w", shaped(p.w, &[l, m, d]).into_pyarray(py))?;
    }
    if block.has_bias() {
        out.set_item("bias", shaped(p.bias, &[l, bias_len]).into_pyarray(py))?;
    }
    out.set_item("readout", shaped(p.readout, &[n_out, d]).into_pyarray(py))?;
    Ok(out)
}

fn shape_err(field: &str, message: String) -> PyErr {
    py_err(Error::config(field, message), None)
}

/// A contiguous view of a read-only array, or an error naming `field`.
fn slice<'a, D: numpy::ndarray::Dimension>(
    field: &str,
    a: &'a numpy::PyReadonlyArray<'_, f64, D>,
) -> PyResult<&'a [f64]> {
    a.as_slice()
        .map_err(|_| shape_err(field, "must be a C-contiguous float64 array".into()))
}

/// Hidden states `h_0..h_L` and gradients `p_0..p_L` of the network `(embed, v, w, bias,
/// readout)` (`v (L, d, m)`, `w (L, m, d)`: `m` the inner width, `d` without `w`) on inputs `x (n, n_in)` with targets `y (n, n_out)`, column `c` scaled by
/// `alpha[c]`; returns a dict of `h (L+1, n, d)`, `p (L+1, n, d)`, `output (n, n_out)`,
/// `loss (n)`.
#[pyfunction]
#[pyo3(signature = (v, w, bias, embed, readout, activation, alpha, x, y))]
#[allow(clippy::too_many_arguments)]
pub fn trajectory<'py>(
    py: Python<'py>,
    v: PyReadonlyArray3<'py, f64>,
    w: Option<PyReadonlyArray3<'py, f64>>,
    bias: Option<PyReadonlyArray2<'py, f64>>,
    embed: PyReadonlyArray2<'py, f64>,
    readout: PyReadonlyArray2<'py, f64>,
    activation: &str,
    alpha: PyReadonlyArray1<'py, f64>,
    x: PyReadonlyArray2<'py, f64>,
    y: PyReadonlyArray2<'py, f64>,
) -> PyResult<Bound<'py, PyDict>> {
    let activation: Activation = activation.parse().map_err(|e| py_err(e, None))?;
    let [l, d, m] = *v.shape() else {
        unreachable!("a 3-d array")
    };
    if w.is_none() && d != m {
        return Err(shape_err(
            "v",
            format!("must be (L, d, d) without inner weights w, got ({l}, {d}, {m})"),
        ));
    }
    let expect = |field: &str, got: &[usize], want: &[usize]| -> PyResult<()> {
        if got == want {
            Ok(())
        } else {
            Err(shape_err(
                field,
                format!("expected shape {want:?} (from v of shape ({l}, {d}, {m})), got {got:?}"),
            ))
        }
    };
    let [_, n_in] = *embed.shape() else {
        unreachable!("a 2-d array")
    };
    expect("embed", embed.shape(), &[d, n_in])?;
    let [n_out, _] = *readout.shape() else {
        unreachable!("a 2-d array")
    };
    expect("readout", readout.shape(), &[n_out, d])?;
    if let Some(w) = &w {
        expect("w", w.shape(), &[l, m, d])?;
    }
    if let Some(b) = &bias {
        expect("bias", b.shape(), &[l, d])?;
    }
    let n = alpha.shape()[0];
    expect("x", x.shape(), &[n, n_in])?;
    expect("y", y.shape(), &[n, n_out])?;
    let block = BlockSpec {
        inner: w.is_some(),
        bias: if bias.is_some() {
            BiasPosition::Outside
        } else {
            BiasPosition::None
        },
        activation,
    };
    let dims = Dims::new(n_in, d, n_out, l).with_inner_width(m);
    // before the network's copy: the states of every layer may not fit
    depthscale::budget::check_memory(&depthscale::probe::trajectory_footprint(&dims, n))
        .map_err(|e| py_err(e, None))?;
    let mut net = ResNet::<f64>::zeros(block, dims).map_err(|e| py_err(e, None))?;
    net.params.embed.copy_from_slice(slice("embed", &embed)?);
    net.params.v.copy_from_slice(slice("v", &v)?);
    if let Some(w) = &w {
        net.params.w.copy_from_slice(slice("w", w)?);
    }
    if let Some(b) = &bias {
        net.params.bias.copy_from_slice(slice("bias", b)?);
    }
    net.params
        .readout
        .copy_from_slice(slice("readout", &readout)?);
    let (alpha, x, y) = (slice("alpha", &alpha)?, slice("x", &x)?, slice("y", &y)?);
    let tiny = [l, d, m, n].iter().map(|&k| k as f64).product::<f64>() * 4.0 < crate::TINY_WORK;
    let t = cancel::run(py, tiny, |progress| {
        depthscale::probe::trajectory(&net, alpha, x, y, progress)
    })?
    .map_err(|e| py_err(e, None))?;
    let out = PyDict::new(py);
    let states = |v: Vec<f64>| Array::from_shape_vec((l + 1, n, d), v).expect("(L+1, n, d)");
    out.set_item("h", states(t.h).into_pyarray(py))?;
    out.set_item("p", states(t.p).into_pyarray(py))?;
    out.set_item(
        "output",
        Array::from_shape_vec((n, n_out), t.output)
            .expect("(n, n_out)")
            .into_pyarray(py),
    )?;
    out.set_item("loss", t.loss.into_pyarray(py))?;
    Ok(out)
}

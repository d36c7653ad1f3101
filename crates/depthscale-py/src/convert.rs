//! Conversions at the edge: Python values to TOML config values and back, library errors to
//! Python exceptions.

use depthscale::Error;
use pyo3::exceptions::{PyKeyboardInterrupt, PyMemoryError, PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType};

/// `depthscale.TooLargeError`: a size over what the machine (or a limit) allows. A subclass of
/// both `MemoryError` (what it is) and `ValueError` (what a too-large argument was before).
static TOO_LARGE: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// The class `TooLargeError(MemoryError, ValueError)`, made once.
pub fn too_large_error(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    TOO_LARGE
        .get_or_try_init(py, || {
            let bases = (
                py.get_type::<PyMemoryError>(),
                py.get_type::<PyValueError>(),
            );
            let attrs = PyDict::new(py);
            attrs.set_item("__module__", "depthscale")?;
            attrs.set_item(
                "__doc__",
                "A size, or the memory it needs, is over what this machine or a limit allows; \
                 the message names the argument to shrink. Both a MemoryError and a ValueError.",
            )?;
            let ty = py
                .get_type::<PyType>()
                .call1(("TooLargeError", bases, attrs))?
                .cast_into::<PyType>()?;
            Ok::<_, PyErr>(ty.unbind())
        })
        .map(|t| t.bind(py))
}

/// The error's one-line message (what the CLI prints after `error: `, with the CLI's flags
/// written as the Python arguments that mean them, [`python_names`]), `context` first, as the
/// exception the binding documents: `OSError` for files and directories, `KeyboardInterrupt`
/// for a cancelled call, [`too_large_error`] for sizes over the machine or a limit,
/// `ValueError` for everything else (bad config values).
pub fn py_err(err: Error, context: Option<&str>) -> PyErr {
    let text = match context {
        Some(c) => format!("{c}: {err}"),
        None => err.to_string(),
    };
    let text = python_names(&text.split_whitespace().collect::<Vec<_>>().join(" "));
    match err {
        Error::Io { .. } | Error::Data { .. } | Error::InUse { .. } => PyOSError::new_err(text),
        Error::Interrupted => PyKeyboardInterrupt::new_err(text),
        Error::TooLarge { .. } => Python::attach(|py| match too_large_error(py) {
            Ok(ty) => PyErr::from_type(ty.clone(), text),
            Err(_) => PyMemoryError::new_err(text),
        }),
        _ => PyValueError::new_err(text),
    }
}

/// The CLI flags that name a Python argument, and how the Python call writes them (`""`: the
/// argument's name alone; a flag taking preset names is written with its next word as a list).
const FLAGS: &[(&str, &str)] = &[
    ("--force", "force=True"),
    ("--quick", "quick=True"),
    ("--out", "out"),
    ("--set", "set"),
    ("--threads", "threads"),
    ("--redo", "redo"),
    ("--only", "only"),
];

/// `text` with the CLI's flags written as the Python arguments that mean them: `pass --force`
/// becomes `pass force=True`, `` invalid `--out` `` `` invalid `out` ``, `--redo fig6`
/// `redo=["fig6"]`. Words are split on single spaces (the message is one line).
pub fn python_names(text: &str) -> String {
    let words: Vec<&str> = text.split(' ').collect();
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        let start = w
            .find("--")
            .filter(|&k| w[..k].chars().all(|c| "`('\"".contains(c)));
        let Some(k) = start else {
            out.push(w.to_owned());
            i += 1;
            continue;
        };
        let flag_end = w[k + 2..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .map_or(w.len(), |e| k + 2 + e);
        let (pre, flag, post) = (&w[..k], &w[k..flag_end], &w[flag_end..]);
        let Some(&(_, py)) = FLAGS.iter().find(|(f, _)| *f == flag) else {
            out.push(w.to_owned());
            i += 1;
            continue;
        };
        let takes_names = matches!(flag, "--redo" | "--only");
        let next = words.get(i + 1).copied().unwrap_or("");
        let name_end = next
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .unwrap_or(next.len());
        if takes_names && post.is_empty() && name_end > 0 {
            out.push(format!(
                "{pre}{py}=[{:?}]{}",
                &next[..name_end],
                &next[name_end..]
            ));
            i += 2;
        } else {
            out.push(format!("{pre}{py}{post}"));
            i += 1;
        }
    }
    out.join(" ")
}

/// How deeply lists and dicts may nest in a value given to a config (a grid in a dict is two
/// levels; TOML configs never need more than a few). Deeper values, self-referencing ones
/// included, are refused before they can exhaust the stack.
pub const MAX_NESTING: usize = 32;

/// A Python value as a TOML value (`field` names it in errors): bool, int, float, str, lists
/// and tuples (NumPy arrays too), dicts, NumPy scalars; nested at most [`MAX_NESTING`] deep.
pub fn to_toml(field: &str, v: &Bound<'_, PyAny>) -> PyResult<toml::Value> {
    to_toml_at(field, v, 0)
}

fn to_toml_at(field: &str, v: &Bound<'_, PyAny>, depth: usize) -> PyResult<toml::Value> {
    if depth > MAX_NESTING {
        // the top-level field: a self-referencing dict would make the path endless
        let field = field.split('.').next().unwrap_or(field);
        return Err(PyValueError::new_err(format!(
            "invalid `{field}`: lists and dicts nested too deep (more than {MAX_NESTING} levels; \
             a list or dict that contains itself?)"
        )));
    }
    if v.is_instance_of::<PyBool>() {
        return Ok(toml::Value::Boolean(v.extract()?));
    }
    if v.is_instance_of::<PyInt>() {
        return v.extract::<i64>().map(toml::Value::Integer).map_err(|_| {
            PyValueError::new_err(format!(
                "invalid `{field}`: integer {v} is out of range: config integers are 64-bit"
            ))
        });
    }
    if v.is_instance_of::<PyFloat>() {
        return Ok(toml::Value::Float(v.extract()?));
    }
    if v.is_instance_of::<PyString>() {
        return Ok(toml::Value::String(v.extract()?));
    }
    if let Ok(d) = v.cast::<PyDict>() {
        return Ok(toml::Value::Table(table_at(d, Some(field), depth + 1)?));
    }
    if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() || v.hasattr("tolist")? {
        // NumPy scalars have `tolist` too and give a plain int or float
        let items = if v.hasattr("tolist")? {
            v.call_method0("tolist")?
        } else {
            v.clone()
        };
        if !(items.is_instance_of::<PyList>() || items.is_instance_of::<PyTuple>()) {
            return to_toml_at(field, &items, depth + 1);
        }
        let mut out = Vec::new();
        for item in items.try_iter()? {
            out.push(to_toml_at(field, &item?, depth + 1)?);
        }
        return Ok(toml::Value::Array(out));
    }
    let type_name = v.get_type().name()?;
    Err(PyValueError::new_err(format!(
        "invalid `{field}`: unsupported value {v} of type {type_name}; accepted: bool, int, float, str, lists and dicts of them"
    )))
}

/// A dict of config fields as a TOML table; `None` values are left out (the field's default).
pub fn dict_to_table(d: &Bound<'_, PyDict>, parent: Option<&str>) -> PyResult<toml::Table> {
    table_at(d, parent, 0)
}

fn table_at(d: &Bound<'_, PyDict>, parent: Option<&str>, depth: usize) -> PyResult<toml::Table> {
    let mut t = toml::Table::new();
    for (k, v) in d.iter() {
        let key: String = k.extract()?;
        if v.is_none() {
            continue;
        }
        let field = match parent {
            Some(p) => format!("{p}.{key}"),
            None => key.clone(),
        };
        t.insert(key, to_toml_at(&field, &v, depth)?);
    }
    Ok(t)
}

/// A TOML value as a Python value (datetimes as strings).
pub fn from_toml<'py>(py: Python<'py>, v: &toml::Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        toml::Value::String(s) => s.into_pyobject(py)?.into_any(),
        toml::Value::Integer(i) => i.into_pyobject(py)?.into_any(),
        toml::Value::Float(f) => f.into_pyobject(py)?.into_any(),
        toml::Value::Boolean(b) => PyBool::new(py, *b).to_owned().into_any(),
        toml::Value::Datetime(d) => d.to_string().into_pyobject(py)?.into_any(),
        toml::Value::Array(a) => {
            let items = a
                .iter()
                .map(|x| from_toml(py, x))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any()
        }
        toml::Value::Table(t) => table_to_dict(py, t)?.into_any(),
    })
}

/// A TOML table as a Python dict.
pub fn table_to_dict<'py>(py: Python<'py>, t: &toml::Table) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in t {
        d.set_item(k, from_toml(py, v)?)?;
    }
    Ok(d)
}

//! Saving and loading `f32` ResNets as safetensors files.
//!
//! # Format (version 1)
//!
//! A standard [safetensors](https://github.com/huggingface/safetensors) file; every tensor is
//! `F32`, little-endian, row-major (C order):
//!
//! | tensor    | shape           | content                                    |
//! |-----------|-----------------|--------------------------------------------|
//! | `embed`   | `[d, n_in]`     | embedding `A`                              |
//! | `v`       | `[L, d, d]`     | residual weights `V_1..V_L`                |
//! | `w`       | `[L, d, d]`     | inner weights `W_1..W_L` (only for `res3`) |
//! | `bias`    | `[L, d]`        | biases `b_1..b_L` (only with a bias)       |
//! | `readout` | `[n_out, d]`    | readout `B`                                |
//!
//! The header's `__metadata__` (string to string) holds:
//! `format = "depthscale.resnet"`, `format_version = "1"`, the block spec
//! (`inner = "true" | "false"`, `bias = "none" | "inside" | "outside"`, `activation` as parsed
//! by [`Activation`]'s `FromStr`, e.g. `"relu"`), the dims (`n_in`, `width`, `n_out`, `depth`
//! as decimal integers), `beta` (shortest round-trip decimal of the `f64`), and any extra
//! caller-supplied keys (which may not reuse those names).

use crate::model::{Activation, BiasPosition, BlockSpec, Dims, ResNet};
use crate::{Error, Result};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The value of the `format` metadata key.
pub const FORMAT: &str = "depthscale.resnet";

/// The format version written by [`save_checkpoint`] (and the only one read).
pub const FORMAT_VERSION: u32 = 1;

/// Metadata keys reserved by the format.
const RESERVED: [&str; 10] = [
    "format",
    "format_version",
    "inner",
    "bias",
    "activation",
    "n_in",
    "width",
    "n_out",
    "depth",
    "beta",
];

/// What a checkpoint says besides the network itself.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckpointMetadata {
    /// The format version of the file.
    pub format_version: u32,
    /// The residual scale exponent the network was trained with.
    pub beta: f64,
    /// The caller's extra keys.
    pub extra: BTreeMap<String, String>,
}

fn bias_name(b: BiasPosition) -> &'static str {
    match b {
        BiasPosition::None => "none",
        BiasPosition::Inside => "inside",
        BiasPosition::Outside => "outside",
    }
}

fn le_bytes(x: &[f32]) -> Vec<u8> {
    x.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Refuses to save a checkpoint at `path` when something is there that is not a regular file
/// (a symbolic link, directory, FIFO, socket or device: never replaced), or a regular file
/// and `overwrite` is false. One-line [`Error::Config`] naming the `save` field.
pub fn check_save_path(path: &Path, overwrite: bool) -> Result<()> {
    use crate::experiment::output::non_regular;
    if let Some(what) = non_regular(path)? {
        return Err(Error::config(
            "save",
            format!(
                "{} is {what}, not a regular file; a checkpoint is never written over one: choose another path",
                path.display()
            ),
        ));
    }
    if !overwrite && path.exists() {
        return Err(Error::config(
            "save",
            format!(
                "{} already exists; pass overwrite=True to replace it, or choose another path",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// Writes `net` (trained with exponent `beta`) to `path`, with `extra` metadata keys, through
/// the atomic writer ([`crate::experiment::output::replace_with`]: a new temporary file next
/// to `path`, fsynced, renamed over it); what is at `path` is
/// checked first with [`check_save_path`] (an existing regular file is replaced only with
/// `overwrite`; anything else never).
pub fn save_checkpoint(
    path: &Path,
    net: &ResNet<f32>,
    beta: f64,
    extra: &BTreeMap<String, String>,
    overwrite: bool,
) -> Result<()> {
    check_save_path(path, overwrite)?;
    if let Some(k) = extra.keys().find(|k| RESERVED.contains(&k.as_str())) {
        return Err(Error::config(
            "metadata",
            format!("key {k:?} is reserved by the checkpoint format ({RESERVED:?})"),
        ));
    }
    let Dims {
        n_in,
        width: d,
        n_out,
        depth: l,
        inner_width,
    } = net.dims;
    if inner_width != d {
        return Err(Error::config(
            "inner_width",
            format!(
                "checkpoints hold square layers only (inner_width = width = {d}), got {inner_width}"
            ),
        ));
    }
    let mut meta: HashMap<String, String> = extra.clone().into_iter().collect();
    for (k, v) in [
        ("format", FORMAT.to_string()),
        ("format_version", FORMAT_VERSION.to_string()),
        ("inner", net.block.inner.to_string()),
        ("bias", bias_name(net.block.bias).to_string()),
        ("activation", net.block.activation.to_string()),
        ("n_in", n_in.to_string()),
        ("width", d.to_string()),
        ("n_out", n_out.to_string()),
        ("depth", l.to_string()),
        ("beta", format!("{beta:?}")),
    ] {
        meta.insert(k.to_string(), v);
    }
    let p = &net.params;
    let mut tensors: Vec<(&str, Vec<usize>, Vec<u8>)> = vec![
        ("embed", vec![d, n_in], le_bytes(&p.embed)),
        ("v", vec![l, d, d], le_bytes(&p.v)),
        ("readout", vec![n_out, d], le_bytes(&p.readout)),
    ];
    if net.block.inner {
        tensors.push(("w", vec![l, d, d], le_bytes(&p.w)));
    }
    if net.block.has_bias() {
        tensors.push(("bias", vec![l, d], le_bytes(&p.bias)));
    }
    let views = tensors
        .iter()
        .map(|(name, shape, bytes)| {
            TensorView::new(Dtype::F32, shape.clone(), bytes).map(|v| (*name, v))
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::data(path, format!("inconsistent network tensors: {e}")))?;
    let bytes = safetensors::serialize(views, Some(meta))
        .map_err(|e| Error::data(path, format!("cannot serialize: {e}")))?;
    // the one atomic writer; `path` is checked again just before the rename (the training may
    // have taken hours)
    crate::experiment::output::replace_with(path, |tmp, mut file| {
        std::io::Write::write_all(&mut file, &bytes)
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io(tmp, e))?;
        drop(file);
        check_save_path(path, overwrite)
    })
}

/// Reads a network written by [`save_checkpoint`]; a malformed file gives [`Error::Data`].
///
/// Only a regular file no larger than the memory available is read, and nothing is allocated
/// for the network before its tensors are found in the file with the shapes the metadata
/// declares: the memory used is bounded by the file's size.
pub fn load_checkpoint(path: &Path) -> Result<(ResNet<f32>, CheckpointMetadata)> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(Error::data(path, "not a regular file"));
    }
    if let Some(limit) = crate::budget::Limits::detect(path)?.memory
        && meta.len() > limit.bytes
    {
        return Err(Error::too_large(
            "checkpoint",
            format!(
                "{} holds {}, more than the {} {}",
                path.display(),
                crate::budget::human(u128::from(meta.len())),
                crate::budget::human(u128::from(limit.bytes)),
                limit.source
            ),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode_checkpoint(&bytes, path)
}

/// Decodes the bytes of a checkpoint file (`origin` names it in errors); see
/// [`load_checkpoint`].
pub fn decode_checkpoint(bytes: &[u8], origin: &Path) -> Result<(ResNet<f32>, CheckpointMetadata)> {
    let path = origin;
    let bad = |msg: String| Error::data(path, msg);
    let (_, header) = SafeTensors::read_metadata(bytes)
        .map_err(|e| bad(format!("not a safetensors file: {e}")))?;
    let mut meta = header.metadata().clone().unwrap_or_default();
    let mut take = |key: &str| {
        meta.remove(key)
            .ok_or_else(|| bad(format!("metadata key {key:?} is missing")))
    };
    let format = take("format")?;
    if format != FORMAT {
        return Err(bad(format!("format is {format:?}, expected {FORMAT:?}")));
    }
    let version = take("format_version")?;
    if version != FORMAT_VERSION.to_string() {
        return Err(bad(format!(
            "format version {version:?} is not supported (this build reads {FORMAT_VERSION})"
        )));
    }
    let inner = match take("inner")?.as_str() {
        "true" => true,
        "false" => false,
        s => return Err(bad(format!("`inner` must be true or false, got {s:?}"))),
    };
    let bias = match take("bias")?.as_str() {
        "none" => BiasPosition::None,
        "inside" => BiasPosition::Inside,
        "outside" => BiasPosition::Outside,
        s => {
            return Err(bad(format!(
                "`bias` must be none, inside or outside, got {s:?}"
            )));
        }
    };
    let activation: Activation = take("activation")?
        .parse()
        .map_err(|e| bad(format!("{e}")))?;
    let mut dim = |key: &str| -> Result<usize> {
        let s = take(key)?;
        s.parse()
            .map_err(|_| bad(format!("`{key}` must be an integer, got {s:?}")))
    };
    let dims = Dims::new(dim("n_in")?, dim("width")?, dim("n_out")?, dim("depth")?);
    let beta_s = take("beta")?;
    let beta: f64 = beta_s
        .parse()
        .map_err(|_| bad(format!("`beta` must be a number, got {beta_s:?}")))?;
    let block = BlockSpec {
        inner,
        bias,
        activation,
    };
    dims.validate().map_err(|e| bad(e.to_string()))?;
    let (d, l) = (dims.width, dims.depth);
    let mut expected: Vec<(&str, Vec<usize>)> = vec![
        ("embed", vec![d, dims.n_in]),
        ("v", vec![l, d, d]),
        ("readout", vec![dims.n_out, d]),
    ];
    if inner {
        expected.push(("w", vec![l, d, d]));
    }
    if block.has_bias() {
        expected.push(("bias", vec![l, d]));
    }
    let st =
        SafeTensors::deserialize(bytes).map_err(|e| bad(format!("not a safetensors file: {e}")))?;
    if st.len() != expected.len() {
        return Err(bad(format!(
            "expected tensors {:?}, found {:?}",
            expected.iter().map(|e| e.0).collect::<Vec<_>>(),
            st.names()
        )));
    }
    // Every tensor is present with its declared shape (so its data is in the file) before
    // anything is allocated.
    let mut views = Vec::with_capacity(expected.len());
    for (name, shape) in &expected {
        let t = st
            .tensor(name)
            .map_err(|_| bad(format!("tensor {name:?} is missing")))?;
        if t.dtype() != Dtype::F32 || t.shape() != shape.as_slice() {
            return Err(bad(format!(
                "tensor {name:?} is {:?} {:?}, expected F32 {shape:?}",
                t.dtype(),
                t.shape()
            )));
        }
        views.push((*name, t));
    }
    let mut net = ResNet::zeros(block, dims).map_err(|e| bad(e.to_string()))?;
    for (name, t) in views {
        let dst = match name {
            "embed" => &mut net.params.embed,
            "v" => &mut net.params.v,
            "w" => &mut net.params.w,
            "bias" => &mut net.params.bias,
            _ => &mut net.params.readout,
        };
        for (x, b) in dst.iter_mut().zip(t.data().chunks_exact(4)) {
            *x = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
    }
    let extra = meta.into_iter().collect();
    Ok((
        net,
        CheckpointMetadata {
            format_version: FORMAT_VERSION,
            beta,
            extra,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Activation;

    fn net(block: BlockSpec) -> ResNet<f32> {
        let dims = Dims {
            n_in: 4,
            width: 3,
            n_out: 2,
            depth: 5,
            inner_width: 3,
        };
        let mut net = ResNet::zeros(block, dims).unwrap();
        for (i, t) in net.params.tensors_mut().into_iter().enumerate() {
            for (j, x) in t.iter_mut().enumerate() {
                *x = (i * 100 + j) as f32 * 0.37 - 5.0;
            }
        }
        net
    }

    #[test]
    fn round_trips_every_block_and_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("net.safetensors");
        let blocks = [
            BlockSpec {
                inner: false,
                bias: BiasPosition::Outside,
                activation: Activation::Relu,
            },
            BlockSpec {
                inner: true,
                bias: BiasPosition::Inside,
                activation: Activation::LeakyRelu(0.2),
            },
            BlockSpec::res3(Activation::Tanh),
        ];
        for block in blocks {
            let n = net(block);
            let mut extra = BTreeMap::new();
            extra.insert("dataset".to_string(), "mnist".to_string());
            save_checkpoint(&path, &n, 0.75, &extra, true).unwrap();
            let (back, meta) = load_checkpoint(&path).unwrap();
            assert_eq!(back.block, n.block);
            assert_eq!(back.dims, n.dims);
            assert_eq!(back.params, n.params);
            assert_eq!(meta.beta, 0.75);
            assert_eq!(meta.format_version, FORMAT_VERSION);
            assert_eq!(meta.extra, extra);
        }
    }

    #[test]
    fn rejects_reserved_keys_and_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("net.safetensors");
        let n = net(BlockSpec::res1(Activation::Relu));
        let mut extra = BTreeMap::new();
        extra.insert("beta".to_string(), "1".to_string());
        assert!(matches!(
            save_checkpoint(&path, &n, 0.5, &extra, false),
            Err(Error::Config { .. })
        ));
        // garbage
        std::fs::write(&path, b"not a checkpoint").unwrap();
        assert!(matches!(load_checkpoint(&path), Err(Error::Data { .. })));
        // a valid safetensors file without our metadata
        let data = [0u8; 8];
        let view = TensorView::new(Dtype::F32, vec![2], &data).unwrap();
        let bytes = safetensors::serialize([("v", view)], None).unwrap();
        std::fs::write(&path, bytes).unwrap();
        assert!(matches!(load_checkpoint(&path), Err(Error::Data { .. })));
        // a shape that disagrees with the metadata
        save_checkpoint(&path, &n, 0.5, &BTreeMap::new(), true).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        let key = b"\"depth\":\"5\"";
        let at = bytes.windows(key.len()).position(|w| w == key).unwrap();
        bytes[at + key.len() - 2] = b'6';
        std::fs::write(&path, bytes).unwrap();
        let err = load_checkpoint(&path).unwrap_err();
        assert!(matches!(err, Error::Data { .. }), "{err}");
        // missing file
        assert!(matches!(
            load_checkpoint(&dir.path().join("absent")),
            Err(Error::Io { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn saving_never_replaces_what_is_not_a_regular_file_nor_one_without_overwrite() {
        // issue 20, item 1: `train(..., save='/dev/null')` as root replaced the device.
        let dir = tempfile::tempdir().unwrap();
        let n = net(BlockSpec::res1(Activation::Relu));
        let none = BTreeMap::new();
        let user = dir.path().join("thesis.tex");
        std::fs::write(&user, "mine").unwrap();
        let link = dir.path().join("link.safetensors");
        std::os::unix::fs::symlink(&user, &link).unwrap();
        let fifo = dir.path().join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        for (path, what) in [
            (&link, "symbolic link"),
            (&fifo, "FIFO"),
            (&sub, "directory"),
            (&dir.path().join("dangling"), "symbolic link"),
        ] {
            if path.ends_with("dangling") {
                std::os::unix::fs::symlink(dir.path().join("nowhere"), path).unwrap();
            }
            for overwrite in [false, true] {
                let err = save_checkpoint(path, &n, 0.5, &none, overwrite).unwrap_err();
                let text = err.to_string();
                assert!(matches!(err, Error::Config { .. }), "{text}");
                assert!(
                    text.contains("not a regular file") && text.contains(what),
                    "{text}"
                );
                assert!(!text.contains('\n'), "{text}");
            }
        }
        assert!(link.is_symlink() && fifo.exists() && sub.is_dir());
        assert!(!dir.path().join("nowhere").exists());
        assert_eq!(std::fs::read_to_string(&user).unwrap(), "mine");
        // /dev/null is refused before anything is written (never renamed over, even as root).
        let err = save_checkpoint(Path::new("/dev/null"), &n, 0.5, &none, true).unwrap_err();
        assert!(err.to_string().contains("character device"), "{err}");
        // An existing regular file is replaced only when asked.
        let path = dir.path().join("net.safetensors");
        std::fs::write(&path, "old").unwrap();
        let err = save_checkpoint(&path, &n, 0.5, &none, false).unwrap_err();
        assert!(err.to_string().contains("overwrite"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        save_checkpoint(&path, &n, 0.5, &none, true).unwrap();
        assert_eq!(load_checkpoint(&path).unwrap().0.params, n.params);
        // No temporary is left, and a planted one is never written through.
        std::os::unix::fs::symlink(&user, dir.path().join("new.safetensors.tmp")).unwrap();
        let planted = format!(".new.{}.tmp.safetensors", std::process::id());
        std::os::unix::fs::symlink(&user, dir.path().join(&planted)).unwrap();
        save_checkpoint(&dir.path().join("new.safetensors"), &n, 0.5, &none, false).unwrap();
        assert_eq!(std::fs::read_to_string(&user).unwrap(), "mine");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.contains(".tmp") && n != "new.safetensors.tmp" && n != &planted)
            .collect();
        assert!(names.is_empty(), "{names:?}");
    }
}

//! Image-classification datasets: the bundled `mnist-10k` subset, and loaders for MNIST, Fashion-MNIST
//! (IDX files, raw or gzip) and CIFAR-10 (binary batches, as a directory or the original `.tar.gz`).
//!
//! Pixels are scaled to `[0, 1]` as `x / 255` and each image is flattened row-major (CIFAR-10 keeps its
//! stored R, G, B plane order). Malformed files produce an [`Error::Data`] naming the file and the problem.
//!
//! Reads are bounded by what the formats declare: an IDX file may declare at most
//! [`MAX_IDX_ITEMS`] items and a gzip stream is decompressed no further than its IDX header
//! promises; a CIFAR-10 batch holds at most [`MAX_CIFAR_RECORDS`] records and the archive is
//! decompressed to at most [`MAX_ARCHIVE_BYTES`]. Only regular files are read.

mod cifar;
mod idx;
#[cfg(test)]
mod tests;

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::str::FromStr;

use crate::error::{Error, Result};

/// An in-memory classification dataset, pixels scaled to `[0, 1]` and flattened.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Short name (`mnist-10k`, `mnist`, `fashion-mnist`, `cifar10`).
    pub name: String,
    /// Number of input features per image (784 or 3072).
    pub n_features: usize,
    /// Number of classes (10).
    pub n_classes: usize,
    /// Training images, `n_train x n_features`, row-major (each image contiguous).
    pub train_images: Vec<f32>,
    /// Training labels in `0..n_classes`.
    pub train_labels: Vec<u8>,
    /// Test images, `n_test x n_features`, row-major.
    pub test_images: Vec<f32>,
    /// Test labels in `0..n_classes`.
    pub test_labels: Vec<u8>,
}

impl Dataset {
    /// Number of training images.
    pub fn n_train(&self) -> usize {
        self.train_labels.len()
    }

    /// Number of test images.
    pub fn n_test(&self) -> usize {
        self.test_labels.len()
    }
}

/// The datasets that can be loaded from disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetKind {
    /// MNIST handwritten digits, 60,000 + 10,000 grey images of 28x28 (IDX files).
    Mnist,
    /// Fashion-MNIST clothing items, same format and sizes as MNIST.
    FashionMnist,
    /// CIFAR-10, 50,000 + 10,000 colour images of 32x32 (binary batches).
    Cifar10,
}

impl DatasetKind {
    /// All kinds, in documentation order.
    pub const ALL: [DatasetKind; 3] = [
        DatasetKind::Mnist,
        DatasetKind::FashionMnist,
        DatasetKind::Cifar10,
    ];

    /// The canonical name (`mnist`, `fashion-mnist`, `cifar10`), also the loaded [`Dataset::name`].
    pub fn name(self) -> &'static str {
        match self {
            DatasetKind::Mnist => "mnist",
            DatasetKind::FashionMnist => "fashion-mnist",
            DatasetKind::Cifar10 => "cifar10",
        }
    }
}

impl fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DatasetKind {
    type Err = Error;

    /// Parses `mnist`, `fashion-mnist` (or `fashion_mnist`, `fashionmnist`), `cifar10` (or `cifar-10`),
    /// ignoring case and surrounding blanks.
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "mnist" => Ok(DatasetKind::Mnist),
            "fashion-mnist" | "fashion_mnist" | "fashionmnist" => Ok(DatasetKind::FashionMnist),
            "cifar10" | "cifar-10" | "cifar_10" => Ok(DatasetKind::Cifar10),
            _ => Err(Error::config(
                "dataset",
                format!("unknown dataset `{s}`; expected mnist, fashion-mnist or cifar10"),
            )),
        }
    }
}

/// Loads a dataset of the given kind from disk.
///
/// MNIST and Fashion-MNIST: `path` is a directory holding `train-images-idx3-ubyte`,
/// `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte`, each raw or gzip
/// (optionally with a `.gz` suffix; gzip is recognised by its magic bytes).
///
/// CIFAR-10: `path` is a directory holding `data_batch_1.bin` .. `data_batch_5.bin` and `test_batch.bin`
/// (directly or under `cifar-10-batches-bin/`, or else a `cifar-10-binary.tar.gz` inside it), or the
/// `cifar-10-binary.tar.gz` archive itself, which is read as a stream without extracting it.
pub fn load(kind: DatasetKind, path: &Path) -> Result<Dataset> {
    match kind {
        DatasetKind::Mnist | DatasetKind::FashionMnist => idx::load_dir(kind.name(), path),
        DatasetKind::Cifar10 => cifar::load(path),
    }
}

/// The files [`load`] reads for `kind` at `path`, in the order it reads them.
pub fn files(kind: DatasetKind, path: &Path) -> Result<Vec<std::path::PathBuf>> {
    match kind {
        DatasetKind::Mnist | DatasetKind::FashionMnist => Ok(idx::files(path)?.to_vec()),
        DatasetKind::Cifar10 => cifar::files(path),
    }
}

/// A fingerprint of the content of the dataset [`load`] reads for `kind` at `path`: the total
/// size of its [`files`] and the CRC-32 of their bytes, in order (e.g.
/// `"55440120 bytes, crc32 0a1b2c3d"`). Two runs with equal fingerprints read the same data,
/// wherever it lies; a run records it to refuse a resume or a merge across different data.
pub fn fingerprint(kind: DatasetKind, path: &Path) -> Result<String> {
    let mut hasher = crc32fast::Hasher::new();
    let mut total = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    for file in files(kind, path)? {
        let mut f = crate::budget::open_regular(&file)?;
        loop {
            match f.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    hasher.update(&buf[..n]);
                    total += n as u64;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::data(&file, format!("cannot read file: {e}"))),
            }
        }
    }
    Ok(format!("{total} bytes, crc32 {:08x}", hasher.finalize()))
}

/// Loads `spec`'s dataset from disk, or the bundled `mnist-10k` subset when `spec` is `None`.
pub fn load_or_bundled(spec: Option<(DatasetKind, &Path)>) -> Result<Dataset> {
    match spec {
        Some((kind, path)) => load(kind, path),
        None => bundled_mnist(),
    }
}

macro_rules! bundled_file {
    ($name:literal) => {
        (
            $name,
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/data/mnist-10k/",
                $name
            )) as &[u8],
        )
    };
}

/// The four gzip IDX files of `data/mnist-10k/`, embedded in the binary, in [`idx::FILES`] order.
const BUNDLED: [(&str, &[u8]); 4] = [
    bundled_file!("train-images-idx3-ubyte.gz"),
    bundled_file!("train-labels-idx1-ubyte.gz"),
    bundled_file!("t10k-images-idx3-ubyte.gz"),
    bundled_file!("t10k-labels-idx1-ubyte.gz"),
];

/// The bundled `mnist-10k` dataset: 8,000 training and 2,000 test MNIST digits (28x28, 784 features),
/// embedded in the binary, so it needs no file at run time.
pub fn bundled_mnist() -> Result<Dataset> {
    let dir = Path::new("data/mnist-10k");
    let parts = BUNDLED.map(|(name, bytes)| (dir.join(name), bytes.to_vec()));
    idx::from_parts("mnist-10k", parts)
}

/// The most items (images or labels) an IDX file may declare (MNIST has 60,000).
pub const MAX_IDX_ITEMS: usize = 1_000_000;

/// The most records a CIFAR-10 batch file may hold (the distributed ones hold 10,000).
pub const MAX_CIFAR_RECORDS: usize = 100_000;

/// The most bytes a CIFAR-10 archive is decompressed to (the distributed one: 185 MB).
pub const MAX_ARCHIVE_BYTES: u64 = 4 << 30;

/// Reads a whole regular file of at most `cap` bytes, any failure becoming an [`Error::Data`]
/// naming it.
fn read_file(path: &Path, cap: u64) -> Result<Vec<u8>> {
    let file = crate::budget::open_regular(path)?;
    let meta = file
        .metadata()
        .map_err(|e| Error::data(path, format!("cannot read file: {e}")))?;
    if meta.len() > cap {
        return Err(Error::data(
            path,
            format!(
                "{} bytes, more than the {cap} this format can hold",
                meta.len()
            ),
        ));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::data(path, format!("cannot read file: {e}")))?;
    if bytes.len() as u64 > cap {
        return Err(Error::data(
            path,
            format!("more than the {cap} bytes this format can hold"),
        ));
    }
    Ok(bytes)
}

/// `s` with control characters escaped and cut to 120 characters: error messages of parsers
/// may quote the bytes of a file.
fn printable(s: &str) -> String {
    let escaped: String = s.chars().flat_map(char::escape_debug).collect();
    match escaped.char_indices().nth(120) {
        Some((i, _)) => format!("{}...", &escaped[..i]),
        None => escaped,
    }
}

/// Whether `bytes` start with the gzip magic bytes `1f 8b`.
fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Appends the bytes as `f32` pixels scaled to `[0, 1]`.
fn push_scaled(dst: &mut Vec<f32>, bytes: &[u8]) {
    dst.extend(bytes.iter().map(|&b| f32::from(b) / 255.0));
}

/// Checks that every label is in `0..10`, returning the problem otherwise.
fn check_labels(labels: &[u8], what: &str) -> std::result::Result<(), String> {
    match labels.iter().position(|&l| l >= 10) {
        Some(i) => Err(format!(
            "label {} out of range 0..10 at {what} {i}",
            labels[i]
        )),
        None => Ok(()),
    }
}

//! The IDX format of MNIST and Fashion-MNIST: a big-endian header (magic number, counts, dimensions)
//! followed by unsigned bytes.

use std::path::{Path, PathBuf};

use std::io::Read;

use super::{Dataset, MAX_IDX_ITEMS, check_labels, is_gzip, printable, push_scaled, read_file};
use crate::error::{Error, Result};

/// Magic number of an IDX file of unsigned-byte 3-tensors (images).
const IMAGE_MAGIC: u32 = 2051;
/// Magic number of an IDX file of unsigned-byte vectors (labels).
const LABEL_MAGIC: u32 = 2049;
/// Image side in pixels.
const SIDE: u32 = 28;
/// Features per image.
const FEATURES: usize = (SIDE * SIDE) as usize;

/// The largest IDX file read from disk (raw or gzip): the largest image file allowed.
const MAX_FILE_BYTES: u64 = 16 + (MAX_IDX_ITEMS * FEATURES) as u64;

/// The standard file names: train images, train labels, test images, test labels.
pub(super) const FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// The four IDX files of `dir` that [`load_dir`] reads, in [`FILES`] order.
pub(super) fn files(dir: &Path) -> Result<[PathBuf; 4]> {
    if !dir.is_dir() {
        let problem = if dir.exists() {
            "not a directory; expected one holding the four IDX files"
        } else {
            "no such directory"
        };
        return Err(Error::data(dir, problem));
    }
    let [a, b, c, d] = FILES;
    Ok([find(dir, a)?, find(dir, b)?, find(dir, c)?, find(dir, d)?])
}

/// Loads the four IDX files of `dir` (each raw or gzip, with or without `.gz`).
pub(super) fn load_dir(name: &str, dir: &Path) -> Result<Dataset> {
    let read = |path: PathBuf| -> Result<(PathBuf, Vec<u8>)> {
        let bytes = read_file(&path, MAX_FILE_BYTES)?;
        Ok((path, bytes))
    };
    let [a, b, c, d] = files(dir)?;
    from_parts(name, [read(a)?, read(b)?, read(c)?, read(d)?])
}

/// Builds a dataset from the contents of the four files, in [`FILES`] order, each raw or gzip.
pub(super) fn from_parts(name: &str, parts: [(PathBuf, Vec<u8>); 4]) -> Result<Dataset> {
    let [train_x, train_y, test_x, test_y] = parts;
    let (train_images, train_labels) = pair(train_x, train_y)?;
    let (test_images, test_labels) = pair(test_x, test_y)?;
    Ok(Dataset {
        name: name.to_string(),
        n_features: FEATURES,
        n_classes: 10,
        train_images,
        train_labels,
        test_images,
        test_labels,
    })
}

/// `dir/base`, else `dir/base.gz`, else a "missing file" error.
fn find(dir: &Path, base: &str) -> Result<PathBuf> {
    [dir.join(base), dir.join(format!("{base}.gz"))]
        .into_iter()
        // any entry: one that is not a regular file is refused by name when read
        .find(|p| p.exists())
        .ok_or_else(|| Error::data(dir, format!("missing file {base}(.gz)")))
}

/// Decodes an image file and its label file and checks that they agree.
fn pair(images: (PathBuf, Vec<u8>), labels: (PathBuf, Vec<u8>)) -> Result<(Vec<f32>, Vec<u8>)> {
    let (x_path, x_bytes) = images;
    let (y_path, y_bytes) = labels;
    let x_bytes = contents(&x_path, x_bytes, IMAGE_MAGIC)?;
    let pixels = parse_images(&x_bytes).map_err(|m| Error::data(&x_path, m))?;
    let y_bytes = contents(&y_path, y_bytes, LABEL_MAGIC)?;
    let labels = parse_labels(&y_bytes).map_err(|m| Error::data(&y_path, m))?;
    let n_images = pixels.len() / FEATURES;
    if n_images != labels.len() {
        let x_name = x_path.file_name().unwrap_or_default().to_string_lossy();
        return Err(Error::data(
            &y_path,
            format!(
                "{n_images} images (in {x_name}) but {} labels",
                labels.len()
            ),
        ));
    }
    let mut images = Vec::with_capacity(pixels.len());
    push_scaled(&mut images, pixels);
    Ok((images, labels))
}

/// The bytes of an IDX file, decompressed when they are gzip (by magic bytes). A gzip stream is
/// decompressed no further than its IDX header declares (plus one byte, to detect a longer
/// stream): a small file that inflates without end is cut off and reported, never held in
/// memory.
fn contents(path: &Path, bytes: Vec<u8>, magic: u32) -> Result<Vec<u8>> {
    if !is_gzip(&bytes) {
        return Ok(bytes);
    }
    let corrupt = |e: std::io::Error| {
        Error::data(
            path,
            format!("corrupt gzip data: {}", printable(&e.to_string())),
        )
    };
    let mut decoder = flate2::read::MultiGzDecoder::new(bytes.as_slice());
    let header_len = if magic == IMAGE_MAGIC { 16 } else { 8 };
    let mut out = Vec::with_capacity(header_len);
    (&mut decoder)
        .take(header_len as u64)
        .read_to_end(&mut out)
        .map_err(corrupt)?;
    let total = declared_len(&out, magic).map_err(|m| Error::data(path, m))?;
    out.reserve(total.min(bytes.len().saturating_mul(8)));
    decoder
        .take((total - header_len) as u64 + 1)
        .read_to_end(&mut out)
        .map_err(corrupt)?;
    if out.len() > total {
        return Err(Error::data(
            path,
            format!(
                "length mismatch: the gzip stream holds more than the {total} bytes its IDX header promises (not decompressed further)"
            ),
        ));
    }
    Ok(out)
}

/// The length (header and payload) an IDX file's header declares, with its caps checked.
fn declared_len(bytes: &[u8], magic: u32) -> std::result::Result<usize, String> {
    let (header_len, item, what) = if magic == IMAGE_MAGIC {
        (16, FEATURES, "image")
    } else {
        (8, 1, "label")
    };
    let n = header(bytes, magic, header_len, what)?;
    if magic == IMAGE_MAGIC {
        let (rows, cols) = (be_u32(bytes, 8), be_u32(bytes, 12));
        if (rows, cols) != (SIDE, SIDE) {
            return Err(format!("images are {rows}x{cols}, expected {SIDE}x{SIDE}"));
        }
    }
    Ok(header_len + n * item)
}

/// Reads the big-endian `u32` at `offset` (the caller checked the length).
fn be_u32(bytes: &[u8], offset: usize) -> u32 {
    u32::from_be_bytes([
        bytes[offset],
        bytes[offset + 1],
        bytes[offset + 2],
        bytes[offset + 3],
    ])
}

/// Checks the magic number, that the header is complete and that it declares at least one item;
/// returns the item count.
fn header(
    bytes: &[u8],
    magic: u32,
    header_len: usize,
    what: &str,
) -> std::result::Result<usize, String> {
    if bytes.len() < 4 {
        return Err(format!(
            "truncated: {} bytes, too short for an IDX header",
            bytes.len()
        ));
    }
    let found = be_u32(bytes, 0);
    if found != magic {
        return Err(format!(
            "bad magic number {found}, expected {magic} for an IDX {what} file"
        ));
    }
    if bytes.len() < header_len {
        return Err(format!(
            "truncated: the IDX {what} header needs {header_len} bytes, file has {}",
            bytes.len()
        ));
    }
    match be_u32(bytes, 4) as usize {
        0 => Err(format!("empty: the IDX {what} header declares 0 items")),
        n if n > MAX_IDX_ITEMS => Err(format!(
            "the IDX {what} header declares {n} items; at most {MAX_IDX_ITEMS} are read"
        )),
        n => Ok(n),
    }
}

/// Checks that the payload after the header has exactly `expected` bytes.
fn check_payload(actual: usize, expected: usize, what: &str) -> std::result::Result<(), String> {
    if actual < expected {
        Err(format!(
            "truncated: header promises {expected} bytes of {what}, file has {actual}"
        ))
    } else if actual > expected {
        Err(format!(
            "length mismatch: header promises {expected} bytes of {what}, file has {actual}"
        ))
    } else {
        Ok(())
    }
}

/// Validates an IDX image file and returns its raw pixel bytes (`n x 784`).
fn parse_images(bytes: &[u8]) -> std::result::Result<&[u8], String> {
    let total = declared_len(bytes, IMAGE_MAGIC)?;
    let pixels = &bytes[16..];
    check_payload(pixels.len(), total - 16, "pixels")?;
    Ok(pixels)
}

/// Validates an IDX label file and returns its labels.
fn parse_labels(bytes: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let n = header(bytes, LABEL_MAGIC, 8, "label")?;
    let labels = &bytes[8..];
    check_payload(labels.len(), n, "labels")?;
    check_labels(labels, "index")?;
    Ok(labels.to_vec())
}

//! CIFAR-10 binary batches: records of 1 label byte followed by 3072 pixel bytes (the R, G and B
//! planes of a 32x32 image, each row-major), read from a directory or streamed from the tar.gz archive.

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use super::{
    Dataset, MAX_ARCHIVE_BYTES, MAX_CIFAR_RECORDS, check_labels, is_gzip, printable, push_scaled,
    read_file,
};
use crate::error::{Error, Result};

/// Features per image: 3 planes of 32x32.
const FEATURES: usize = 3 * 32 * 32;
/// Bytes per record: the label, then the pixels.
const RECORD: usize = 1 + FEATURES;
/// The batch files, the five training batches first, then the test batch.
const FILES: [&str; 6] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
    "test_batch.bin",
];
/// The subdirectory the archive unpacks into.
const SUBDIR: &str = "cifar-10-batches-bin";
/// The name of the distributed archive.
const ARCHIVE: &str = "cifar-10-binary.tar.gz";
/// Largest up-front allocation for an archive entry (its header could lie about its size).
const MAX_RESERVE: u64 = 64 << 20;
/// The largest batch file read: [`MAX_CIFAR_RECORDS`] records.
const MAX_BATCH_BYTES: u64 = (MAX_CIFAR_RECORDS * RECORD) as u64;

/// Where the CIFAR-10 data of a path is.
enum Source {
    /// The tar.gz archive (or a plain tar).
    Archive(PathBuf),
    /// The directory holding the six batch files.
    Batches(PathBuf),
}

/// The files [`load`] reads for `path`: the archive, or the six batch files.
pub(super) fn files(path: &Path) -> Result<Vec<PathBuf>> {
    Ok(match locate(path)? {
        Source::Archive(a) => vec![a],
        Source::Batches(dir) => FILES.iter().map(|f| dir.join(f)).collect(),
    })
}

/// Loads CIFAR-10 from a directory of batch files or from the archive (see [`super::load`]).
pub(super) fn load(path: &Path) -> Result<Dataset> {
    let dir = match locate(path)? {
        Source::Archive(a) => return load_archive(&a),
        Source::Batches(dir) => dir,
    };
    let mut batches = Vec::with_capacity(FILES.len());
    for name in FILES {
        let file = dir.join(name);
        let bytes = read_file(&file, MAX_BATCH_BYTES)?;
        validate(&bytes).map_err(|m| Error::data(&file, m))?;
        batches.push(bytes);
    }
    Ok(assemble(&batches))
}

/// Finds the archive or the directory of batch files that `path` designates.
fn locate(path: &Path) -> Result<Source> {
    if path.is_file() {
        return Ok(Source::Archive(path.to_path_buf()));
    }
    if !path.is_dir() {
        let problem = if path.exists() {
            "neither a directory nor a regular file; expected a directory of CIFAR-10 batch files or the cifar-10-binary.tar.gz archive"
        } else {
            "no such file or directory"
        };
        return Err(Error::data(path, problem));
    }
    let dir = if path.join(FILES[0]).is_file() {
        path.to_path_buf()
    } else if path.join(SUBDIR).is_dir() {
        path.join(SUBDIR)
    } else if path.join(ARCHIVE).is_file() {
        return Ok(Source::Archive(path.join(ARCHIVE)));
    } else {
        return Err(Error::data(
            path,
            format!(
                "missing file {} (looked here, in {SUBDIR}/ and for {ARCHIVE})",
                FILES[0]
            ),
        ));
    };
    if let Some(name) = FILES.iter().find(|name| !dir.join(name).is_file()) {
        return Err(Error::data(&dir, format!("missing file {name}")));
    }
    Ok(Source::Batches(dir))
}

/// Streams the archive (gzip-compressed or plain tar), keeping the six batch files in memory.
fn load_archive(archive: &Path) -> Result<Dataset> {
    let corrupt = |e: std::io::Error| {
        let text = e.to_string();
        // The tar crate quotes the bytes of a header it cannot read; say what it means.
        let cause = if text.contains("cksum") || text.contains("numeric field") {
            "not a tar archive (a header block is not a valid tar header)".to_string()
        } else {
            printable(&text)
        };
        Error::data(
            archive,
            format!("corrupt archive (expected the CIFAR-10 tar.gz): {cause}"),
        )
    };
    let mut file = crate::budget::open_regular(archive)?;
    let mut magic = [0u8; 2];
    let n = file.read(&mut magic).map_err(corrupt)?;
    let head = std::io::Cursor::new(magic[..n].to_vec());
    let reader = head.chain(BufReader::new(file));
    let stream: Box<dyn Read> = if is_gzip(&magic[..n]) {
        Box::new(Capped::new(flate2::read::MultiGzDecoder::new(reader)))
    } else {
        Box::new(Capped::new(reader))
    };
    let mut tar = tar::Archive::new(stream);
    let mut batches: [Option<Vec<u8>>; 6] = Default::default();
    for entry in tar.entries().map_err(corrupt)? {
        let mut entry = entry.map_err(corrupt)?;
        let entry_path: PathBuf = entry.path().map_err(corrupt)?.into_owned();
        let Some(slot) = entry_path
            .file_name()
            .and_then(|f| FILES.iter().position(|&name| f == name))
        else {
            continue;
        };
        let shown = entry_path.display();
        if batches[slot].is_some() {
            return Err(Error::data(
                archive,
                format!("entry {shown}: duplicate {}", FILES[slot]),
            ));
        }
        let size = entry.header().size().map_err(corrupt)?;
        if size > MAX_BATCH_BYTES {
            return Err(Error::data(
                archive,
                format!(
                    "entry {shown} declares {size} bytes; a batch holds at most {MAX_CIFAR_RECORDS} records ({MAX_BATCH_BYTES} bytes)"
                ),
            ));
        }
        let mut bytes = Vec::with_capacity(size.min(MAX_RESERVE) as usize);
        (&mut entry)
            .take(size)
            .read_to_end(&mut bytes)
            .map_err(corrupt)?;
        validate(&bytes).map_err(|m| Error::data(archive, format!("entry {shown}: {m}")))?;
        batches[slot] = Some(bytes);
    }
    let mut found = Vec::with_capacity(FILES.len());
    for (bytes, name) in batches.into_iter().zip(FILES) {
        found.push(
            bytes.ok_or_else(|| {
                Error::data(archive, format!("missing file {name} in the archive"))
            })?,
        );
    }
    Ok(assemble(&found))
}

/// A reader that fails once more than [`MAX_ARCHIVE_BYTES`] came through it.
struct Capped<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Capped<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            left: MAX_ARCHIVE_BYTES,
        }
    }
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(std::io::Error::other(format!(
                    "it decompresses to more than {MAX_ARCHIVE_BYTES} bytes"
                ))),
            };
        }
        let want = buf.len().min(self.left.min(usize::MAX as u64) as usize);
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// Checks a batch file: a non-zero multiple of the record length, every label in `0..10`.
fn validate(bytes: &[u8]) -> std::result::Result<(), String> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(RECORD) {
        return Err(format!(
            "length {} is not a positive multiple of the {RECORD}-byte record (1 label + {FEATURES} pixels)",
            bytes.len()
        ));
    }
    let labels: Vec<u8> = bytes.chunks_exact(RECORD).map(|r| r[0]).collect();
    check_labels(&labels, "record")
}

/// Concatenates validated batches: the first five are the training set, the last one the test set.
fn assemble(batches: &[Vec<u8>]) -> Dataset {
    let (train, test) = batches.split_at(batches.len() - 1);
    let (train_images, train_labels) = split_records(train);
    let (test_images, test_labels) = split_records(test);
    Dataset {
        name: "cifar10".to_string(),
        n_features: FEATURES,
        n_classes: 10,
        train_images,
        train_labels,
        test_images,
        test_labels,
    }
}

/// Splits records into scaled pixels and labels.
fn split_records(batches: &[Vec<u8>]) -> (Vec<f32>, Vec<u8>) {
    let n: usize = batches.iter().map(|b| b.len() / RECORD).sum();
    let mut images = Vec::with_capacity(n * FEATURES);
    let mut labels = Vec::with_capacity(n);
    for record in batches.iter().flat_map(|b| b.chunks_exact(RECORD)) {
        labels.push(record[0]);
        push_scaled(&mut images, &record[1..]);
    }
    (images, labels)
}

use std::io::Write;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;

use super::*;

/// The message of an [`Error::Data`], after checking that it is one and names `file`.
fn data_error(result: Result<Dataset>, file: &str) -> String {
    match result {
        Err(e @ Error::Data { .. }) => {
            let text = e.to_string();
            assert!(text.contains(file), "`{text}` does not name {file}");
            text
        }
        Err(other) => panic!("expected a data error, got {other:?}"),
        Ok(_) => panic!("expected a data error naming {file}, got a dataset"),
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// An IDX image file of `n` images `rows x cols`, pixel `j` of image `i` being `(7 i + j) % 256`.
fn idx_images(n: u32, rows: u32, cols: u32) -> Vec<u8> {
    let mut out = Vec::new();
    for v in [2051, n, rows, cols] {
        out.extend_from_slice(&u32::to_be_bytes(v));
    }
    let per = (rows * cols) as usize;
    out.extend((0..n as usize * per).map(|k| ((7 * (k / per) + k % per) % 256) as u8));
    out
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&2049u32.to_be_bytes());
    out.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    out.extend_from_slice(labels);
    out
}

/// Writes a valid synthetic MNIST directory: 6 training and 4 test images, train raw, test gzip.
fn write_mnist(dir: &Path) {
    std::fs::write(dir.join("train-images-idx3-ubyte"), idx_images(6, 28, 28)).unwrap();
    std::fs::write(
        dir.join("train-labels-idx1-ubyte"),
        idx_labels(&[0, 1, 2, 3, 9, 5]),
    )
    .unwrap();
    std::fs::write(
        dir.join("t10k-images-idx3-ubyte.gz"),
        gzip(&idx_images(4, 28, 28)),
    )
    .unwrap();
    // gzip content without the `.gz` suffix: recognised by its magic bytes.
    std::fs::write(
        dir.join("t10k-labels-idx1-ubyte"),
        gzip(&idx_labels(&[7, 8, 9, 0])),
    )
    .unwrap();
}

#[test]
fn bundled_mnist_has_the_documented_shape_and_class_counts() {
    let d = bundled_mnist().unwrap();
    assert_eq!(d.name, "mnist-10k");
    assert_eq!(
        (d.n_train(), d.n_test(), d.n_features, d.n_classes),
        (8000, 2000, 784, 10)
    );
    assert_eq!(d.train_images.len(), 8000 * 784);
    assert_eq!(d.test_images.len(), 2000 * 784);
    let (lo, hi) = d
        .train_images
        .iter()
        .chain(&d.test_images)
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        });
    assert_eq!((lo, hi), (0.0, 1.0));
    let mut counts = [0usize; 10];
    for &l in &d.train_labels {
        counts[l as usize] += 1;
    }
    assert!(
        counts.iter().all(|&c| (700..=950).contains(&c)),
        "{counts:?}"
    );
    // The counts listed in data/mnist-10k/README.md.
    assert_eq!(counts, [816, 922, 765, 850, 758, 707, 797, 873, 740, 772]);
    assert!(d.test_labels.iter().all(|&l| l < 10));
    // Digits are mostly background: the mean grey level of MNIST is about 0.13.
    let mean =
        d.train_images.iter().map(|&x| f64::from(x)).sum::<f64>() / d.train_images.len() as f64;
    assert!((0.08..0.2).contains(&mean), "mean pixel {mean}");
    assert!(matches!(load_or_bundled(None), Ok(b) if b.n_train() == 8000));
}

#[test]
fn dataset_kind_names_round_trip() {
    for kind in DatasetKind::ALL {
        assert_eq!(kind.to_string().parse::<DatasetKind>().unwrap(), kind);
        let json = serde_json::to_string(&kind).unwrap();
        assert_eq!(json, format!("\"{kind}\""));
    }
    assert_eq!(
        " Fashion_MNIST ".parse::<DatasetKind>().unwrap(),
        DatasetKind::FashionMnist
    );
    assert_eq!(
        "CIFAR-10".parse::<DatasetKind>().unwrap(),
        DatasetKind::Cifar10
    );
    let err = "svhn".parse::<DatasetKind>().unwrap_err();
    assert!(matches!(err, Error::Config { .. }));
    assert!(err.to_string().contains("svhn"));
}

#[test]
fn synthetic_idx_files_load_raw_and_gzip() {
    let dir = tempfile::tempdir().unwrap();
    write_mnist(dir.path());
    for kind in [DatasetKind::Mnist, DatasetKind::FashionMnist] {
        let d = load_or_bundled(Some((kind, dir.path()))).unwrap();
        assert_eq!(d.name, kind.name());
        assert_eq!(
            (d.n_train(), d.n_test(), d.n_features, d.n_classes),
            (6, 4, 784, 10)
        );
        assert_eq!(d.train_labels, [0, 1, 2, 3, 9, 5]);
        assert_eq!(d.test_labels, [7, 8, 9, 0]);
        for (images, n) in [(&d.train_images, 6), (&d.test_images, 4)] {
            assert_eq!(images.len(), n * 784);
            for (k, &x) in images.iter().enumerate() {
                let byte = (7 * (k / 784) + k % 784) % 256;
                assert_eq!(x, byte as f32 / 255.0);
            }
        }
    }
}

/// Rewrites one file of a valid synthetic directory and returns the load error's message.
fn idx_error(file: &str, bytes: Vec<u8>) -> String {
    let dir = tempfile::tempdir().unwrap();
    write_mnist(dir.path());
    std::fs::write(dir.path().join(file), bytes).unwrap();
    data_error(load(DatasetKind::Mnist, dir.path()), file)
}

#[test]
fn malformed_idx_files_are_reported_with_their_name() {
    let images = "train-images-idx3-ubyte";
    let labels = "train-labels-idx1-ubyte";
    let swapped = idx_error(images, idx_labels(&[1, 2, 3]));
    assert!(
        swapped.contains("bad magic number 2049, expected 2051 for an IDX image file"),
        "{swapped}"
    );
    let swapped = idx_error(labels, idx_images(6, 28, 28));
    assert!(
        swapped.contains("bad magic number 2051, expected 2049 for an IDX label file"),
        "{swapped}"
    );

    let mut truncated = idx_images(6, 28, 28);
    truncated.truncate(16 + 1000);
    let m = idx_error(images, truncated);
    assert!(
        m.contains("truncated: header promises 4704 bytes of pixels, file has 1000"),
        "{m}"
    );
    let m = idx_error(images, idx_images(6, 28, 28)[..10].to_vec());
    assert!(
        m.contains("truncated: the IDX image header needs 16 bytes, file has 10"),
        "{m}"
    );
    let m = idx_error(images, vec![0, 0]);
    assert!(m.contains("too short for an IDX header"), "{m}");
    let mut long = idx_images(6, 28, 28);
    long.push(0);
    let m = idx_error(images, long);
    assert!(
        m.contains("header promises 4704 bytes of pixels, file has 4705"),
        "{m}"
    );
    let m = idx_error(images, idx_images(0, 28, 28));
    assert!(m.contains("declares 0 items"), "{m}");
    let m = idx_error(images, idx_images(6, 32, 32));
    assert!(m.contains("images are 32x32, expected 28x28"), "{m}");

    let m = idx_error(labels, idx_labels(&[0, 1, 2, 3, 4, 12]));
    assert!(m.contains("label 12 out of range 0..10 at index 5"), "{m}");
    let m = idx_error(labels, idx_labels(&[0, 1, 2, 3, 4]));
    assert!(
        m.contains("6 images (in train-images-idx3-ubyte) but 5 labels"),
        "{m}"
    );
    let mut short_labels = idx_labels(&[0, 1, 2, 3, 4, 5]);
    short_labels.pop();
    let m = idx_error(labels, short_labels);
    assert!(
        m.contains("truncated: header promises 6 bytes of labels, file has 5"),
        "{m}"
    );

    let mut bad_gzip = gzip(&idx_images(6, 28, 28));
    bad_gzip.truncate(bad_gzip.len() / 2);
    let m = idx_error(images, bad_gzip);
    assert!(m.contains("corrupt gzip data"), "{m}");
}

#[test]
fn missing_idx_files_and_directories_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    write_mnist(dir.path());
    std::fs::remove_file(dir.path().join("t10k-images-idx3-ubyte.gz")).unwrap();
    let m = data_error(
        load(DatasetKind::Mnist, dir.path()),
        "t10k-images-idx3-ubyte(.gz)",
    );
    assert!(m.contains("missing file"), "{m}");
    let nowhere = dir.path().join("nowhere");
    let m = data_error(load(DatasetKind::FashionMnist, &nowhere), "nowhere");
    assert!(m.contains("no such directory"), "{m}");
    let file = dir.path().join("train-images-idx3-ubyte");
    let m = data_error(load(DatasetKind::Mnist, &file), "train-images-idx3-ubyte");
    assert!(m.contains("not a directory"), "{m}");
}

/// A CIFAR-10 batch of `n` records; record `r` of batch `b` has label `(b + r) % 10` and pixel `j`
/// equal to `(b + 3 r + j) % 256`.
fn cifar_batch(b: usize, n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n * 3073);
    for r in 0..n {
        out.push(((b + r) % 10) as u8);
        out.extend((0..3072).map(|j| ((b + 3 * r + j) % 256) as u8));
    }
    out
}

const CIFAR_FILES: [&str; 6] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
    "test_batch.bin",
];
/// Records per batch in the synthetic CIFAR-10.
const CIFAR_SIZES: [usize; 6] = [2, 3, 1, 2, 2, 3];

fn write_cifar_dir(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for (b, name) in CIFAR_FILES.iter().enumerate() {
        std::fs::write(dir.join(name), cifar_batch(b, CIFAR_SIZES[b])).unwrap();
    }
}

/// Builds a tar.gz of the synthetic batches under `cifar-10-batches-bin/`, in a shuffled order and with
/// an unrelated entry, replacing batch `replace.0` by `replace.1` when given.
fn cifar_archive(replace: Option<(usize, Vec<u8>)>, skip: Option<usize>) -> Vec<u8> {
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    let mut add = |name: &str, bytes: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, format!("cifar-10-batches-bin/{name}"), bytes)
            .unwrap();
    };
    add("batches.meta.txt", b"airplane\nautomobile\n");
    for b in [5, 2, 0, 4, 1, 3] {
        if skip == Some(b) {
            continue;
        }
        let bytes = match &replace {
            Some((r, bytes)) if *r == b => bytes.clone(),
            _ => cifar_batch(b, CIFAR_SIZES[b]),
        };
        add(CIFAR_FILES[b], &bytes);
    }
    builder.into_inner().unwrap().finish().unwrap()
}

fn check_cifar(d: &Dataset) {
    assert_eq!(d.name, "cifar10");
    assert_eq!(
        (d.n_train(), d.n_test(), d.n_features, d.n_classes),
        (10, 3, 3072, 10)
    );
    let mut expected_labels = Vec::new();
    let mut expected_pixels = Vec::new();
    for (b, &n) in CIFAR_SIZES.iter().enumerate() {
        for r in 0..n {
            expected_labels.push(((b + r) % 10) as u8);
            expected_pixels.extend((0..3072).map(|j| ((b + 3 * r + j) % 256) as f32 / 255.0));
        }
    }
    let n_train = 10;
    assert_eq!(d.train_labels, expected_labels[..n_train]);
    assert_eq!(d.test_labels, expected_labels[n_train..]);
    assert_eq!(d.train_images, expected_pixels[..n_train * 3072]);
    assert_eq!(d.test_images, expected_pixels[n_train * 3072..]);
}

#[test]
fn synthetic_cifar_loads_from_directories_and_archives() {
    let root = tempfile::tempdir().unwrap();
    let flat = root.path().join("flat");
    write_cifar_dir(&flat);
    check_cifar(&load(DatasetKind::Cifar10, &flat).unwrap());
    let nested = root.path().join("nested");
    write_cifar_dir(&nested.join("cifar-10-batches-bin"));
    check_cifar(&load(DatasetKind::Cifar10, &nested).unwrap());

    let holder = root.path().join("holder");
    std::fs::create_dir_all(&holder).unwrap();
    let archive = holder.join("cifar-10-binary.tar.gz");
    std::fs::write(&archive, cifar_archive(None, None)).unwrap();
    check_cifar(&load(DatasetKind::Cifar10, &archive).unwrap());
    check_cifar(&load(DatasetKind::Cifar10, &holder).unwrap());
}

#[test]
fn malformed_cifar_is_reported_with_the_file_name() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("flat");
    write_cifar_dir(&dir);
    let mut odd = cifar_batch(2, 1);
    odd.push(0);
    std::fs::write(dir.join("data_batch_3.bin"), &odd).unwrap();
    let m = data_error(load(DatasetKind::Cifar10, &dir), "data_batch_3.bin");
    assert!(
        m.contains("length 3074 is not a positive multiple of the 3073-byte record"),
        "{m}"
    );
    let mut bad_label = cifar_batch(2, 3);
    bad_label[2 * 3073] = 10;
    std::fs::write(dir.join("data_batch_3.bin"), &bad_label).unwrap();
    let m = data_error(load(DatasetKind::Cifar10, &dir), "data_batch_3.bin");
    assert!(m.contains("label 10 out of range 0..10 at record 2"), "{m}");
    std::fs::write(dir.join("data_batch_3.bin"), cifar_batch(2, 1)).unwrap();
    check_cifar(&load(DatasetKind::Cifar10, &dir).unwrap());
    std::fs::remove_file(dir.join("test_batch.bin")).unwrap();
    let m = data_error(load(DatasetKind::Cifar10, &dir), "test_batch.bin");
    assert!(m.contains("missing file"), "{m}");
    let m = data_error(load(DatasetKind::Cifar10, root.path()), "data_batch_1.bin");
    assert!(m.contains("missing file"), "{m}");

    let archive = root.path().join("cifar-10-binary.tar.gz");
    std::fs::write(&archive, cifar_archive(Some((4, odd)), None)).unwrap();
    let m = data_error(
        load(DatasetKind::Cifar10, &archive),
        "cifar-10-batches-bin/data_batch_5.bin",
    );
    assert!(
        m.contains("cifar-10-binary.tar.gz") && m.contains("3073-byte record"),
        "{m}"
    );
    std::fs::write(&archive, cifar_archive(None, Some(1))).unwrap();
    let m = data_error(load(DatasetKind::Cifar10, &archive), "data_batch_2.bin");
    assert!(
        m.contains("missing file data_batch_2.bin in the archive"),
        "{m}"
    );
    let mut cut = cifar_archive(None, None);
    cut.truncate(cut.len() / 2);
    std::fs::write(&archive, cut).unwrap();
    let m = data_error(
        load(DatasetKind::Cifar10, &archive),
        "cifar-10-binary.tar.gz",
    );
    assert!(m.contains("corrupt archive"), "{m}");
    let m = data_error(
        load(DatasetKind::Cifar10, &root.path().join("absent.tar.gz")),
        "absent.tar.gz",
    );
    assert!(m.contains("no such file"), "{m}");
}

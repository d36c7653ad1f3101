//! The loaders on real files (issue 21, section 4): the full Fashion-MNIST as Debian's
//! `dataset-fashion-mnist` package installs it (`/usr/share/datasets/fashion-mnist`, the four
//! original IDX `.gz` files), or the directory named by `DEPTHSCALE_FASHION_MNIST`. Where
//! neither exists the test says so and passes (CI installs the package first).

use depthscale::train::data::{DatasetKind, load};
use std::path::PathBuf;

fn dir() -> Option<PathBuf> {
    let d = std::env::var_os("DEPTHSCALE_FASHION_MNIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/datasets/fashion-mnist"));
    d.join("train-images-idx3-ubyte.gz").is_file().then_some(d)
}

#[test]
fn full_fashion_mnist_loads_as_installed() {
    let Some(d) = dir() else {
        eprintln!("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist): skipped");
        return;
    };
    let data = load(DatasetKind::FashionMnist, &d).unwrap();
    assert_eq!((data.n_train(), data.n_test()), (60_000, 10_000));
    assert_eq!((data.n_features, data.n_classes), (784, 10));
    assert_eq!(data.train_images.len(), 60_000 * 784);
    assert_eq!(data.test_images.len(), 10_000 * 784);
    assert!(data.train_images.iter().all(|&p| (0.0..=1.0).contains(&p)));
    // Fashion-MNIST is balanced: 6,000 training and 1,000 test images per class
    let count = |labels: &[u8]| {
        let mut c = [0usize; 10];
        for &l in labels {
            c[usize::from(l)] += 1;
        }
        c
    };
    assert_eq!(count(&data.train_labels), [6_000; 10]);
    assert_eq!(count(&data.test_labels), [1_000; 10]);
    // images are not all alike: the mean pixel differs between classes 0 (T-shirt) and 1 (trouser)
    let mean_of = |class: u8| {
        let (mut s, mut n) = (0.0f64, 0usize);
        for (img, &l) in data.train_images.chunks(784).zip(&data.train_labels) {
            if l == class {
                s += img.iter().map(|&p| f64::from(p)).sum::<f64>();
                n += 784;
            }
        }
        s / n as f64
    };
    assert!((mean_of(0) - mean_of(1)).abs() > 0.01);
}

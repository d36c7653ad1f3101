//! Property-based fuzzing of every parser of untrusted bytes (stable toolchain: proptest in test
//! mode). Each target starts from valid seeds and mutates them (bit flips, byte writes, inserts,
//! deletions, truncations, copied ranges, boundary integers); the property: a typed error or a
//! valid result, never a panic, and no single allocation above a bound (tracked by the global
//! allocator of this test binary, per thread).
//!
//! Cases per target: `DEPTHSCALE_FUZZ_CASES` (default 200, the CI budget, a few seconds per
//! target). The long budget:
//! `DEPTHSCALE_FUZZ_CASES=20000 cargo test -p depthscale --test fuzz` (and `--lib fuzz_` for the
//! resume parser); the test profile is optimized.
//! The resume parser (`cells.csv`, `metrics.csv`) is fuzzed inside the library (its rows are
//! private): `experiment::sweep::tests::fuzz_*`.

use depthscale::experiment::{self, ConfigSource, Grid, PRESETS, RunOptions};
use depthscale::paths::Init;
use depthscale::train::checkpoint::{decode_checkpoint, save_checkpoint};
use depthscale::train::data::{self, DatasetKind};
use proptest::prelude::*;
use proptest::test_runner::Config;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;
use std::path::Path;

// ---- allocation tracking ------------------------------------------------------------------

/// The system allocator, recording the largest single request of each thread.
struct Tracking;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = LARGEST.try_with(|m| {
        if size > m.get() {
            m.set(size);
        }
    });
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the only
// addition is a thread-local counter update that does not allocate.
unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: forwarded as received.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: forwarded as received.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as received.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: forwarded as received.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Tracking = Tracking;

/// Runs `f` and returns its result with the largest single allocation it made on this thread.
fn tracked<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|m| m.set(0));
    let out = f();
    (out, LARGEST.with(Cell::get))
}

/// Largest allocation accepted while parsing a fuzzed data file (all seeds are a few kB).
const DATA_BOUND: usize = 64 << 20;
/// Largest allocation accepted while typing and checking a fuzzed config: a generated grid
/// may hold up to 10^7 values (80 MB) by design.
const CONFIG_BOUND: usize = 256 << 20;

// ---- mutations ----------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Mutation {
    Flip(usize, u8),
    Set(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
    Copy(usize, usize, usize),
    Integer(usize, u32),
}

/// Integers at the edges of what headers hold.
const INTERESTING: [u32; 12] = [
    0,
    1,
    2,
    9,
    10,
    28,
    2049,
    2051,
    10_000,
    1_000_001,
    0x7fff_ffff,
    0xffff_ffff,
];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0..8u8).prop_map(|(p, b)| Mutation::Flip(p, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::Set(p, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::Insert(p, b)),
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<usize>(), 1..64usize).prop_map(|(a, b, n)| Mutation::Copy(a, b, n)),
        (any::<usize>(), 0..INTERESTING.len())
            .prop_map(|(p, i)| Mutation::Integer(p, INTERESTING[i])),
    ]
}

fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    proptest::collection::vec(mutation(), 1..6)
}

fn apply(seed: &[u8], ms: &[Mutation]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for m in ms {
        let at = |p: usize, len: usize| if len == 0 { 0 } else { p % len };
        match *m {
            Mutation::Flip(p, b) if !v.is_empty() => {
                let i = at(p, v.len());
                v[i] ^= 1 << b;
            }
            Mutation::Set(p, b) if !v.is_empty() => {
                let i = at(p, v.len());
                v[i] = b;
            }
            Mutation::Insert(p, b) => {
                let i = at(p, v.len() + 1);
                v.insert(i, b);
            }
            Mutation::Delete(p) if !v.is_empty() => {
                let i = at(p, v.len());
                v.remove(i);
            }
            Mutation::Truncate(p) => {
                let i = at(p, v.len() + 1);
                v.truncate(i);
            }
            Mutation::Copy(a, b, n) if !v.is_empty() => {
                let (a, b) = (at(a, v.len()), at(b, v.len()));
                let n = n.min(v.len() - a).min(v.len() - b);
                let chunk = v[a..a + n].to_vec();
                v[b..b + n].copy_from_slice(&chunk);
            }
            Mutation::Integer(p, x) if v.len() >= 4 => {
                let i = at(p, v.len() - 3);
                v[i..i + 4].copy_from_slice(&x.to_be_bytes());
            }
            _ => {}
        }
    }
    v
}

/// Cases per target.
fn cases() -> u32 {
    std::env::var("DEPTHSCALE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

fn config() -> Config {
    Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    }
}

// ---- seeds --------------------------------------------------------------------------------

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn idx_images(n: u32) -> Vec<u8> {
    let mut out = Vec::new();
    for v in [2051, n, 28, 28] {
        out.extend_from_slice(&u32::to_be_bytes(v));
    }
    out.extend((0..n as usize * 784).map(|k| (k % 251) as u8));
    out
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&2049u32.to_be_bytes());
    out.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    out.extend_from_slice(labels);
    out
}

/// The four MNIST files, valid: 3 training and 2 test digits.
fn mnist_seed() -> [Vec<u8>; 4] {
    [
        idx_images(3),
        idx_labels(&[1, 2, 3]),
        idx_images(2),
        idx_labels(&[4, 9]),
    ]
}

const MNIST_FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

const CIFAR_FILES: [&str; 6] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
    "test_batch.bin",
];

fn cifar_batch(b: usize, n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for r in 0..n {
        out.push(((b + r) % 10) as u8);
        out.extend((0..3072).map(|j| ((b + 3 * r + j) % 256) as u8));
    }
    out
}

/// A plain tar of six one-record batches.
fn cifar_tar(batches: &[Vec<u8>]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, bytes) in CIFAR_FILES.iter().zip(batches) {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(
                &mut header,
                format!("cifar-10-batches-bin/{name}"),
                &bytes[..],
            )
            .unwrap();
    }
    builder.into_inner().unwrap()
}

/// The property of a data target: a dataset or a data error, allocations bounded.
fn check_data(
    result: depthscale::Result<data::Dataset>,
    largest: usize,
) -> Result<(), TestCaseError> {
    prop_assert!(largest <= DATA_BOUND, "allocated {largest} bytes at once");
    match result {
        Ok(d) => {
            prop_assert_eq!(d.train_images.len(), d.n_train() * d.n_features);
            prop_assert!(d.train_labels.iter().chain(&d.test_labels).all(|&l| l < 10));
        }
        Err(depthscale::Error::Data { .. } | depthscale::Error::TooLarge { .. }) => {}
        Err(other) => prop_assert!(false, "unexpected error kind: {other}"),
    }
    Ok(())
}

// ---- targets ------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    /// IDX files, raw or gzip, one of the four mutated (before or after compression).
    #[test]
    fn fuzz_idx(ms in mutations(), which in 0..4usize, mode in 0..3u8) {
        let dir = tempfile::tempdir().unwrap();
        let mut files = mnist_seed();
        files[which] = match mode {
            0 => apply(&files[which], &ms),
            1 => gzip(&apply(&files[which], &ms)),
            _ => apply(&gzip(&files[which]), &ms),
        };
        for (name, bytes) in MNIST_FILES.iter().zip(&files) {
            std::fs::write(dir.path().join(name), bytes).unwrap();
        }
        let (r, largest) = tracked(|| data::load(DatasetKind::Mnist, dir.path()));
        check_data(r, largest)?;
    }

    /// CIFAR-10 batch files in a directory, one mutated.
    #[test]
    fn fuzz_cifar_batches(ms in mutations(), which in 0..6usize) {
        let dir = tempfile::tempdir().unwrap();
        for (b, name) in CIFAR_FILES.iter().enumerate() {
            let mut bytes = cifar_batch(b, 1);
            if b == which {
                bytes = apply(&bytes, &ms);
            }
            std::fs::write(dir.path().join(name), bytes).unwrap();
        }
        let (r, largest) = tracked(|| data::load(DatasetKind::Cifar10, dir.path()));
        check_data(r, largest)?;
    }

    /// The CIFAR-10 archive, its tar or its gzip bytes mutated.
    #[test]
    fn fuzz_cifar_archive(ms in mutations(), gz_level in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let batches: Vec<Vec<u8>> = (0..6).map(|b| cifar_batch(b, 1)).collect();
        let tar = cifar_tar(&batches);
        let bytes = if gz_level { apply(&gzip(&tar), &ms) } else { gzip(&apply(&tar, &ms)) };
        let path = dir.path().join("cifar-10-binary.tar.gz");
        std::fs::write(&path, bytes).unwrap();
        let (r, largest) = tracked(|| data::load(DatasetKind::Cifar10, &path));
        check_data(r, largest)?;
    }

    /// safetensors checkpoints.
    #[test]
    fn fuzz_checkpoint(ms in mutations()) {
        let bytes = checkpoint_seed();
        let mutated = apply(&bytes, &ms);
        let (r, largest) = tracked(|| decode_checkpoint(&mutated, Path::new("m.safetensors")));
        prop_assert!(largest <= DATA_BOUND, "allocated {largest} bytes at once");
        match r {
            Ok((net, _)) => prop_assert!(net.params.v.len() * 4 <= mutated.len()),
            Err(depthscale::Error::Data { .. }) => {}
            Err(other) => prop_assert!(false, "unexpected error kind: {other}"),
        }
    }

    /// TOML configs: every preset, mutated, typed and checked (validation and footprint).
    #[test]
    fn fuzz_config(ms in mutations(), which in 0..PRESETS.len(), quick in any::<bool>()) {
        let text = String::from_utf8_lossy(&apply(PRESETS[which].toml.as_bytes(), &ms)).into_owned();
        let opts = RunOptions { quick, ..RunOptions::default() };
        let (r, largest) = tracked(|| {
            ConfigSource::parse("fuzz", &text, Path::new("fuzz.toml"))
                .and_then(|s| experiment::check(s, &opts))
        });
        prop_assert!(largest <= CONFIG_BOUND, "allocated {largest} bytes at once");
        if let Ok(f) = r {
            // a config that checks has a footprint
            prop_assert!(f.memory_bytes() > 0);
        }
    }

    /// `--set KEY=VALUE` on a preset.
    #[test]
    fn fuzz_set(ms in mutations(), which in 0..PRESETS.len(), key in 0..KEYS.len(), value in 0..VALUES.len()) {
        let v = String::from_utf8_lossy(&apply(VALUES[value].as_bytes(), &ms)).into_owned();
        let opts = RunOptions {
            overrides: vec![format!("{}={v}", KEYS[key])],
            quick: true,
            ..RunOptions::default()
        };
        let (_, largest) = tracked(|| {
            experiment::check(ConfigSource::resolve(PRESETS[which].name).unwrap(), &opts)
        });
        prop_assert!(largest <= CONFIG_BOUND, "allocated {largest} bytes at once");
    }

    /// Grid specs.
    #[test]
    fn fuzz_grid(ms in mutations(), value in 0..VALUES.len()) {
        let text = format!("g = {}", String::from_utf8_lossy(&apply(VALUES[value].as_bytes(), &ms)));
        let (_, largest) = tracked(|| {
            if let Ok(t) = toml::from_str::<toml::Table>(&text)
                && let Ok(g) = t["g"].clone().try_into::<Grid>()
            {
                if let Ok(v) = g.values("g") {
                    assert!(!v.is_empty() && v.iter().all(|x| x.is_finite()));
                }
                if let Ok(v) = g.integers("g", 1) {
                    assert!(v.iter().all(|&x| (1..=1_000_000_000).contains(&x)));
                }
            }
        });
        prop_assert!(largest <= CONFIG_BOUND, "allocated {largest} bytes at once");
    }

    /// Initialization-law strings.
    #[test]
    fn fuzz_init(ms in mutations(), which in 0..INITS.len()) {
        let text = String::from_utf8_lossy(&apply(INITS[which].as_bytes(), &ms)).into_owned();
        if let Ok(init) = text.parse::<Init>() {
            prop_assert!(init.validate("init").is_ok());
            // what parses prints back to something that parses to the same law
            prop_assert_eq!(init.to_string().parse::<Init>().unwrap(), init);
        }
    }
}

/// Config keys `--set` is fuzzed on.
const KEYS: [&str; 14] = [
    "depth",
    "width",
    "beta",
    "hurst",
    "samples",
    "draws",
    "lr",
    "epochs",
    "batch_size",
    "init_v",
    "steps",
    "paths",
    "reference_factor",
    "title",
];

/// Value seeds for `--set` and grids.
const VALUES: [&str; 10] = [
    "1000",
    "0.5",
    "[0.5, 1.0]",
    "{ linspace = [0.1, 0.9, 9] }",
    "{ geomspace = [10, 1000, 3] }",
    "fbm(0.3)",
    "\"rbf(0.1, increments)\"",
    "-1",
    "1e300",
    "[10, 120, 1000]",
];

/// Seeds of initialization laws.
const INITS: [&str; 8] = [
    "uniform",
    "gaussian",
    "rademacher",
    "fbm(0.3)",
    "rbf(0.1)",
    "rbf(0.1, increments)",
    "correlated(gaussian)",
    "correlated(rbf(0.1, increments))",
];

/// A small valid checkpoint file.
fn checkpoint_seed() -> Vec<u8> {
    use depthscale::model::{Activation, BlockSpec, Dims, ResNet};
    let dims = Dims {
        n_in: 3,
        width: 2,
        n_out: 2,
        depth: 3,
        inner_width: 2,
    };
    let mut net = ResNet::<f32>::zeros(BlockSpec::res3(Activation::Relu), dims).unwrap();
    for (i, x) in net.params.v.iter_mut().enumerate() {
        *x = i as f32 * 0.25;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    save_checkpoint(&path, &net, 0.5, &Default::default(), true).unwrap();
    std::fs::read(path).unwrap()
}

//! depthscale's side of `bench/compare.py`: a worker that runs the like-for-like workloads on
//! weights and inputs written by the driver, so that every peer (JAX, PyTorch, numpy) computes
//! the same numbers on the same data.
//!
//! `peers DIR TAG THREADS` reads commands from standard input, one per line:
//! `run WORKLOAD REPS` sets the workload up on first use (reading `DIR/probe_*.bin` or
//! `DIR/train_*.bin`, raw little-endian arrays in the shapes below, writing its check values to
//! `DIR/check-TAG-WORKLOAD.bin` as little-endian f64 and calling it once to warm up), then times
//! `REPS` calls and answers one JSON line `{"workload": .., "times": [seconds, ..]}`.
//! `quit` (or the end of input) stops it. Rayon runs on `THREADS` threads.
//!
//! Workloads (the sizes are fixed; `bench/compare.py` writes the files):
//! - `probe1`, `probe700`: res3, L = 1000, d = 40, 64 inputs, f64, network 0 on its first 1 or
//!   700 columns (`probe_x.bin` `700 x 64`, `probe_y.bin` 700, alpha = L^-1/2); checks: the four
//!   measures of every column.
//! - `probe2x700`: networks 0 and 1 (`probe_{embed,v,w,readout}{0,1}.bin`), 700 columns each,
//!   one network per rayon task.
//! - `train`: one Adam step (lr 1e-3) of the training model (res1 + bias, L = 1000, d = 30,
//!   784 inputs, 10 classes, batch 128, f32) from `train_{embed,v,readout}.bin` (bias zero);
//!   checks: the losses of three steps from the initial weights and the parameter change after
//!   them.
//! - `train8`: eight independent trainers of the same shape, one step each, one rayon task per
//!   network; checks: the eight first-step losses.
//! - `fbm`: fBm weights of one draw (H = 0.3), 2 x 40 x 40 paths of length 1000; checks: the
//!   two stacks.
//!
//! `DEPTHSCALE_CPU_PATH=portable|avx2|avx512` makes the training workloads take that path of
//! the CPU backend instead of the widest one (to time the AVX2 kernels on an AVX-512 machine;
//! refused where the CPU lacks it). `bench/compare.py --cpu-path` sets it.

use depthscale::kernels::{CpuBackend, CpuPath};
use depthscale::model::{Activation, BlockSpec, Dims, ResNet};
use depthscale::paths::{Init, PathCache};
use depthscale::probe::{ProbeMeasure, Prober};
use depthscale::train::{TrainConfig, Trainer};
use rayon::prelude::*;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

const DEPTH: usize = 1000;
const PROBE_WIDTH: usize = 40;
const PROBE_IN: usize = 64;
const COLUMNS: usize = 700;
const TRAIN_WIDTH: usize = 30;
const TRAIN_IN: usize = 784;
const CLASSES: usize = 10;
const BATCH: usize = 128;
const NETWORKS: usize = 8;
const LR: f64 = 1e-3;

fn read_bytes(dir: &Path, name: &str) -> Vec<u8> {
    let path = dir.join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn read_f64(dir: &Path, name: &str, len: usize) -> Vec<f64> {
    let b = read_bytes(dir, name);
    assert_eq!(b.len(), 8 * len, "{name}: expected {len} f64 values");
    b.chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect()
}

fn read_f32(dir: &Path, name: &str, len: usize) -> Vec<f32> {
    let b = read_bytes(dir, name);
    assert_eq!(b.len(), 4 * len, "{name}: expected {len} f32 values");
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
        .collect()
}

fn write_check(path: &Path, values: &[f64]) {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn probe_net(dir: &Path, b: usize) -> ResNet<f64> {
    let dims = Dims {
        n_in: PROBE_IN,
        width: PROBE_WIDTH,
        n_out: 1,
        depth: DEPTH,
        inner_width: PROBE_WIDTH,
    };
    let mut net = ResNet::zeros(BlockSpec::res3(Activation::Relu), dims).expect("valid dims");
    let (d, p) = (PROBE_WIDTH, &mut net.params);
    p.embed = read_f64(dir, &format!("probe_embed{b}.bin"), d * PROBE_IN);
    p.v = read_f64(dir, &format!("probe_v{b}.bin"), DEPTH * d * d);
    p.w = read_f64(dir, &format!("probe_w{b}.bin"), DEPTH * d * d);
    p.readout = read_f64(dir, &format!("probe_readout{b}.bin"), d);
    net
}

fn measures(out: &[ProbeMeasure]) -> Vec<f64> {
    out.iter()
        .flat_map(|m| [m.h_ratio, m.h_diff, m.g_ratio, m.g_diff])
        .collect()
}

fn train_setup(dir: &Path) -> (TrainConfig, ResNet<f32>, Vec<f32>, Vec<u8>) {
    let cfg = TrainConfig::default();
    assert_eq!(
        (cfg.depth, cfg.width, cfg.batch_size),
        (DEPTH, TRAIN_WIDTH, BATCH)
    );
    let dims = cfg.dims(TRAIN_IN, CLASSES);
    let mut net = ResNet::zeros(cfg.block_spec(), dims).expect("valid dims");
    let (d, p) = (TRAIN_WIDTH, &mut net.params);
    p.embed = read_f32(dir, "train_embed.bin", d * TRAIN_IN);
    p.v = read_f32(dir, "train_v.bin", DEPTH * d * d);
    p.readout = read_f32(dir, "train_readout.bin", CLASSES * d);
    let images = read_f32(dir, "train_images.bin", BATCH * TRAIN_IN);
    let labels = read_bytes(dir, "train_labels.bin");
    assert_eq!(labels.len(), BATCH);
    (cfg, net, images, labels)
}

/// One workload, set up: `call` runs it once.
type Workload = Box<dyn FnMut()>;

fn setup(dir: &Path, tag: &str, name: &str) -> Workload {
    let check = dir.join(format!("check-{tag}-{name}.bin"));
    let alpha = vec![(DEPTH as f64).powf(-0.5); COLUMNS];
    match name {
        "probe1" | "probe700" => {
            let n = if name == "probe1" { 1 } else { COLUMNS };
            let x = read_f64(dir, "probe_x.bin", COLUMNS * PROBE_IN);
            let y = read_f64(dir, "probe_y.bin", COLUMNS);
            let mut prober = Prober::new(256);
            prober.load_network(&probe_net(dir, 0)).expect("same shape");
            let mut out = Vec::with_capacity(n);
            prober.probe(&alpha[..n], &x[..n * PROBE_IN], &y[..n], &mut out);
            write_check(&check, &measures(&out));
            Box::new(move || {
                out.clear();
                prober.probe(&alpha[..n], &x[..n * PROBE_IN], &y[..n], &mut out);
                std::hint::black_box(&out);
            })
        }
        "probe2x700" => {
            let x = read_f64(dir, "probe_x.bin", COLUMNS * PROBE_IN);
            let y = read_f64(dir, "probe_y.bin", COLUMNS);
            let mut probers: Vec<(Prober, Vec<ProbeMeasure>)> = (0..2)
                .map(|b| {
                    let mut p = Prober::new(256);
                    p.load_network(&probe_net(dir, b)).expect("same shape");
                    (p, Vec::with_capacity(COLUMNS))
                })
                .collect();
            let mut run = move || {
                probers.par_iter_mut().for_each(|(p, out)| {
                    out.clear();
                    p.probe(&alpha, &x, &y, out);
                });
                probers
                    .iter()
                    .flat_map(|(_, o)| measures(o))
                    .collect::<Vec<_>>()
            };
            write_check(&check, &run());
            Box::new(move || {
                std::hint::black_box(run());
            })
        }
        "train" => {
            let (cfg, net, images, labels) = train_setup(dir);
            let batch: Vec<usize> = (0..BATCH).collect();
            let mut first = Trainer::from_network(backend(), &cfg, &net).expect("cfg");
            let mut values: Vec<f64> = (0..3)
                .map(|_| first.step(&images, &labels, &batch, LR))
                .collect();
            let after = first.network().params;
            for (a, b) in after.named().iter().zip(net.params.named()) {
                values.extend(a.1.iter().zip(b.1).map(|(x, y)| f64::from(x - y)));
            }
            write_check(&check, &values);
            let mut trainer = Trainer::from_network(backend(), &cfg, &net).expect("cfg");
            Box::new(move || {
                std::hint::black_box(trainer.step(&images, &labels, &batch, LR));
            })
        }
        "train8" => {
            let (cfg, net, images, labels) = train_setup(dir);
            let batch: Vec<usize> = (0..BATCH).collect();
            let mut trainers: Vec<Trainer> = (0..NETWORKS)
                .map(|_| Trainer::from_network(backend(), &cfg, &net).expect("cfg"))
                .collect();
            let mut run = move || {
                trainers
                    .par_iter_mut()
                    .map(|t| t.step(&images, &labels, &batch, LR))
                    .collect::<Vec<f64>>()
            };
            write_check(&check, &run());
            Box::new(move || {
                std::hint::black_box(run());
            })
        }
        "fbm" => {
            let cache = PathCache::new();
            let init = Init::Fbm { hurst: 0.3 };
            let mut rng = depthscale::rng::stream(0, &[]);
            let len = DEPTH * PROBE_WIDTH * PROBE_WIDTH;
            let mut out = vec![0f64; 2 * len];
            let mut check = Some(check);
            Box::new(move || {
                let (a, b) = out.split_at_mut(len);
                for half in [a, b] {
                    init.sample_stack(DEPTH, PROBE_WIDTH, PROBE_WIDTH, &cache, &mut rng, half)
                        .expect("valid law");
                }
                if let Some(path) = check.take() {
                    write_check(&path, &out);
                }
                std::hint::black_box(&out);
            })
        }
        other => panic!("unknown workload {other}"),
    }
}

/// The CPU backend on the path `DEPTHSCALE_CPU_PATH` names, else on the widest one.
fn backend() -> CpuBackend {
    let Ok(name) = std::env::var("DEPTHSCALE_CPU_PATH") else {
        return CpuBackend::new();
    };
    let path = [CpuPath::Portable, CpuPath::Avx2, CpuPath::Avx512]
        .into_iter()
        .find(|p| p.name() == name)
        .unwrap_or_else(|| panic!("DEPTHSCALE_CPU_PATH={name}: not portable, avx2 or avx512"));
    CpuBackend::with_path(path)
        .unwrap_or_else(|| panic!("DEPTHSCALE_CPU_PATH={name}: this CPU lacks that path"))
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let [dir, tag, threads] = args.as_slice() else {
        eprintln!("usage: peers DIR TAG THREADS (commands on stdin: `run WORKLOAD REPS`)");
        std::process::exit(2);
    };
    let threads: usize = threads.parse().expect("THREADS is a number");
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .expect("first pool");
    let dir = PathBuf::from(dir);
    let mut workloads: Vec<(String, Workload)> = Vec::new();
    let stdout = std::io::stdout();
    for line in std::io::stdin().lock().lines() {
        let line = line.expect("stdin");
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["run", name, reps] => {
                let reps: usize = reps.parse().expect("REPS is a number");
                if !workloads.iter().any(|(n, _)| n == name) {
                    let mut w = setup(&dir, tag, name);
                    w();
                    workloads.push((name.to_string(), w));
                }
                let w = &mut workloads
                    .iter_mut()
                    .find(|(n, _)| n == name)
                    .expect("set up")
                    .1;
                let times: Vec<String> = (0..reps)
                    .map(|_| {
                        let t = Instant::now();
                        w();
                        format!("{:e}", t.elapsed().as_secs_f64())
                    })
                    .collect();
                let mut out = stdout.lock();
                writeln!(
                    out,
                    "{{\"workload\": \"{name}\", \"times\": [{}]}}",
                    times.join(", ")
                )
                .expect("stdout");
                out.flush().expect("stdout");
            }
            ["quit"] | [] => break,
            _ => panic!("unknown command {line:?}"),
        }
    }
}

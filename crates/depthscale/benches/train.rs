//! One training step of the paper's protocol: res1, L = 1000, d = 30, batch 128, 784 inputs,
//! forward + backward + Adam; plus its parts, to see where the time goes.

use criterion::{Criterion, criterion_group, criterion_main};
use depthscale::kernels::{Backend, CpuBackend, CpuPath, Keep, NetBatch, Op, ProductShape, Tape};
use depthscale::train::{TrainConfig, Trainer, Workspace, init_network, training_block};
use rand::Rng;
use std::hint::black_box;

const N_IN: usize = 784;
const BATCH: usize = 128;

/// CPU seconds this thread has run (user + system), from `/proc/thread-self/stat` (Linux only;
/// the machine may be shared, so wall-clock times alone overstate the cost).
fn thread_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Wall-clock and CPU milliseconds per call of `f`, over `n` calls.
fn per_call_ms(n: usize, mut f: impl FnMut()) -> (f64, Option<f64>) {
    let cpu0 = thread_cpu_seconds();
    let t0 = std::time::Instant::now();
    for _ in 0..n {
        f();
    }
    let wall = t0.elapsed().as_secs_f64() * 1e3 / n as f64;
    let cpu = cpu0
        .zip(thread_cpu_seconds())
        .map(|(a, b)| (b - a) * 1e3 / n as f64);
    (wall, cpu)
}

fn bench(c: &mut Criterion) {
    let cfg = TrainConfig::default();
    let mut r = depthscale::rng::stream(0, &[]);
    let images: Vec<f32> = (0..N_IN * BATCH).map(|_| r.random::<f32>()).collect();
    let labels: Vec<u8> = (0..BATCH).map(|i| (i % 10) as u8).collect();
    let batch: Vec<usize> = (0..BATCH).collect();

    let mut trainer = Trainer::new(&cfg, N_IN, 10).unwrap();
    let (wall, cpu) = per_call_ms(300, || {
        black_box(trainer.step(&images, &labels, &batch, 1e-5));
    });
    println!(
        "train_step over 300 steps: {wall:.2} ms wall, {} ms CPU per step",
        cpu.map_or("?".to_string(), |c| format!("{c:.2}"))
    );
    c.bench_function("train_step", |b| {
        b.iter(|| black_box(trainer.step(&images, &labels, &batch, 1e-5)))
    });
    // the same step on each path this CPU has (portable: the fallback of CPUs without SIMD)
    for path in [CpuPath::Portable, CpuPath::Avx2, CpuPath::Avx512] {
        let Some(backend) = CpuBackend::with_path(path) else {
            println!("train_step_{}: this CPU lacks the path", path.name());
            continue;
        };
        let mut trainer = Trainer::with_backend(backend, &cfg, N_IN, 10).unwrap();
        c.bench_function(&format!("train_step_{}", path.name()), |b| {
            b.iter(|| black_box(trainer.step(&images, &labels, &batch, 1e-5)))
        });
    }

    let dims = cfg.dims(N_IN, 10);
    let net = init_network::<f32>(0, dims, cfg.init_v).unwrap();
    let backend = CpuBackend::new();
    let batch_net = NetBatch::from_network(backend, &net).unwrap();
    let mut grads = net.params.clone();
    let mut ws = Workspace::new(&training_block(), dims, BATCH);
    ws.write_inputs(N_IN, BATCH, |x| x.copy_from_slice(&images));
    let alpha = (cfg.depth as f32).powf(-0.5);
    c.bench_function("train_loss_and_grad", |b| {
        b.iter(|| black_box(ws.loss_and_grad_loaded(&batch_net, alpha, &labels, BATCH, &mut grads)))
    });

    // the embedding and the forward stack alone
    let shape = batch_net.stack_shape(BATCH);
    let embed = ProductShape {
        networks: 1,
        rows: 30,
        cols: N_IN,
        columns: BATCH,
    };
    let mut tape: Tape<Vec<f32>> = Tape::new(&backend, shape, Keep::PreActivations);
    let alphas = vec![alpha; BATCH];
    let block = training_block();
    let mut scratch = vec![
        0.0;
        Backend::<f32>::stack_scratch(&backend, &block, shape)
            .max(Backend::<f32>::product_scratch(&backend, Op::Plain, embed))
    ];
    c.bench_function("train_forward_layers", |b| {
        b.iter(|| {
            let params = batch_net.params();
            backend.product(
                &params.embed,
                Op::Plain,
                &images,
                &mut tape.h0,
                embed,
                1.0,
                false,
                &mut scratch,
            );
            backend.forward_stack(
                &block,
                shape,
                batch_net.weights(),
                &alphas,
                &mut tape,
                Keep::PreActivations,
                &mut scratch,
            );
            black_box(tape.h_last[0])
        })
    });

    let mut adam = depthscale::train::Adam::new(&net.params);
    let mut params = net.params.clone();
    c.bench_function("train_adam", |b| {
        b.iter(|| adam.step(&mut params, &grads, 1e-5))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = bench
}
criterion_main!(benches);

//! Criterion benches of the hot initialization workloads, the shapes that `bench/compare.py`
//! runs against its peers (`benches/peers.rs`): one probe of res3 at L = 1000, d = 40, a batch
//! of draws probed through one stack call (as Figure 1 runs them), and the fBm weights of one
//! draw.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use depthscale::model::{Activation, BlockSpec, Dims, ResNet};
use depthscale::paths::{Init, PathCache};
use depthscale::probe::Prober;
use depthscale::rng::stream;
use rayon::prelude::*;
use std::hint::black_box;

fn res3(depth: usize, width: usize) -> ResNet<f64> {
    let dims = Dims {
        n_in: 64,
        width,
        n_out: 1,
        depth,
        inner_width: width,
    };
    let mut net = ResNet::zeros(BlockSpec::res3(Activation::Relu), dims).unwrap();
    let cache = PathCache::new();
    let mut rng = stream(0, &[]);
    let p = &mut net.params;
    Init::Uniform
        .sample_stack(1, width, 64, &cache, &mut rng, &mut p.embed)
        .unwrap();
    Init::Uniform
        .sample_stack(depth, width, width, &cache, &mut rng, &mut p.v)
        .unwrap();
    Init::Uniform
        .sample_stack(depth, width, width, &cache, &mut rng, &mut p.w)
        .unwrap();
    Init::Uniform
        .sample_stack(1, 1, width, &cache, &mut rng, &mut p.readout)
        .unwrap();
    net
}

fn probes(c: &mut Criterion) {
    let net = res3(1000, 40);
    let mut g = c.benchmark_group("probe_res3_L1000_d40");
    g.sample_size(10);
    for n in [1usize, 700] {
        let alpha = vec![1000f64.powf(-0.5); n];
        let x = vec![0.5; 64 * n];
        let y = vec![0.5; n];
        let mut prober = Prober::new(256);
        prober.load_network(&net).unwrap();
        let mut out = Vec::with_capacity(n);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(format!("batch{n}"), |b| {
            b.iter(|| {
                out.clear();
                prober.probe(&alpha, &x, &y, &mut out);
                black_box(&out);
            })
        });
    }
    // Several draws through one stack call, three columns each (Figure 1 at L = 1000: one
    // column per beta, nine draws per batch).
    let draws = 8;
    let mut prober = Prober::new(256);
    let batch = prober.load(net.block, net.dims, draws).unwrap();
    for b in 0..draws {
        batch.set_network(b, &net);
    }
    let alpha: Vec<f64> = [0.25, 0.5, 1.0].map(|b| 1000f64.powf(-b)).to_vec();
    let x = vec![0.5; draws * 64 * 3];
    let y = vec![0.5; draws * 3];
    let mut out = Vec::with_capacity(draws * 3);
    g.throughput(Throughput::Elements((draws * 3) as u64));
    g.bench_function(format!("draws{draws}_columns3"), |b| {
        b.iter(|| {
            out.clear();
            prober.probe(&alpha, &x, &y, &mut out);
            black_box(&out);
        })
    });
    // Throughput on the whole machine: one weight draw per core, 700 columns each, as the
    // phase-diagram experiment runs them.
    let cores = rayon::current_num_threads();
    let alpha = vec![1000f64.powf(-0.5); 700];
    let x = vec![0.5; 64 * 700];
    let y = vec![0.5; 700];
    let mut probers: Vec<Prober> = (0..cores)
        .map(|_| {
            let mut p = Prober::new(256);
            p.load_network(&net).unwrap();
            p
        })
        .collect();
    g.throughput(Throughput::Elements((700 * cores) as u64));
    g.bench_function("all_cores_batch700", |b| {
        b.iter(|| {
            probers.par_iter_mut().for_each(|p| {
                let mut out = Vec::with_capacity(700);
                p.probe(&alpha, &x, &y, &mut out);
                black_box(&out);
            })
        })
    });
    g.finish();
}

fn fbm_weights(c: &mut Criterion) {
    let cache = PathCache::new();
    let init = Init::Fbm { hurst: 0.3 };
    let mut out = vec![0f64; 1000 * 40 * 40];
    let mut rng = stream(0, &[]);
    let mut g = c.benchmark_group("fbm_weights");
    g.sample_size(10);
    g.bench_function("2x40x40_paths_L1000", |b| {
        b.iter(|| {
            init.sample_stack(1000, 40, 40, &cache, &mut rng, &mut out)
                .unwrap();
            init.sample_stack(1000, 40, 40, &cache, &mut rng, &mut out)
                .unwrap();
            black_box(&out);
        })
    });
    g.finish();
}

criterion_group!(benches, probes, fbm_weights);
criterion_main!(benches);

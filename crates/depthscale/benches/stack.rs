//! Many networks per stack call (issues 26 section 3, 27 section 2): the forward and backward
//! stacks of K = 8 training networks of one shape (res1 + bias, L = 1000, d = 30, 128 columns,
//! f32, parameter gradients included), three ways, per network-step:
//!
//! - `stack_8_networks_one_call`: one `forward_stack` + one `backward_stack` on a `NetBatch` of 8
//!   networks (the shape a GPU backend needs);
//! - `stack_8_networks_in_turn`: eight one-network calls, one after another (the backend's own
//!   parallelism inside each call);
//! - `stack_8_networks_one_per_task`: eight one-network calls, one rayon task each (what the
//!   sweeps and transfer do today: one trainer per task).
//!
//! Criterion reports the time of all 8 networks; divide by 8 for the per-network-step time.

use criterion::{Criterion, criterion_group, criterion_main};
use depthscale::kernels::{
    Backend, CpuBackend, Keep, NetBatch, StackShape, Tape, grads_of, weights_of,
};
use depthscale::model::Tensors;
use depthscale::train::{TrainConfig, init_network, training_block};
use rand::Rng;
use rayon::prelude::*;
use std::hint::black_box;

const K: usize = 8;
const COLUMNS: usize = 128;

/// One stack call's buffers: tape, `dloss/dh_L`, gradients and scratch, for `shape`.
struct Call {
    shape: StackShape,
    tape: Tape<Vec<f32>>,
    p: Vec<f32>,
    grads: Tensors<Vec<f32>>,
    scratch: Vec<f32>,
    alpha: Vec<f32>,
}

impl Call {
    fn new(backend: &CpuBackend, nets: &NetBatch<f32, CpuBackend>, h0: &[f32], alpha: f32) -> Self {
        let block = training_block();
        let shape = nets.stack_shape(COLUMNS);
        let mut tape: Tape<Vec<f32>> = Tape::new(backend, shape, Keep::for_backward(&block, true));
        for (b, chunk) in tape.h0.chunks_mut(h0.len()).enumerate() {
            chunk.copy_from_slice(h0);
            chunk.iter_mut().for_each(|x| *x += b as f32 * 1e-3);
        }
        let grads = NetBatch::zeros(*backend, block, nets.dims(), nets.networks())
            .unwrap()
            .params()
            .clone();
        Self {
            shape,
            p: vec![1e-2; shape.states()],
            grads,
            scratch: vec![0.0; Backend::<f32>::stack_scratch(backend, &block, shape)],
            alpha: vec![alpha; shape.networks * COLUMNS],
            tape,
        }
    }

    /// Forward, then backward with parameter gradients.
    fn run(&mut self, backend: &CpuBackend, nets: &NetBatch<f32, CpuBackend>) -> f32 {
        let block = training_block();
        let keep = Keep::for_backward(&block, true);
        let weights = weights_of(&block, nets.params());
        backend.forward_stack(
            &block,
            self.shape,
            weights,
            &self.alpha,
            &mut self.tape,
            keep,
            &mut self.scratch,
        );
        self.p.iter_mut().for_each(|x| *x = 1e-2);
        backend.backward_stack(
            &block,
            self.shape,
            weights_of(&block, nets.params()),
            &self.alpha,
            &self.tape,
            &mut self.p,
            Some(grads_of(&block, &mut self.grads)),
            &mut self.scratch,
        );
        self.p[0]
    }
}

fn bench(c: &mut Criterion) {
    let cfg = TrainConfig::default();
    let backend = CpuBackend::new();
    let dims = cfg.dims(784, 10);
    let alpha = (cfg.depth as f32).powf(-0.5);
    let mut r = depthscale::rng::stream(0, &[]);
    let h0: Vec<f32> = (0..dims.width * COLUMNS)
        .map(|_| r.random::<f32>() - 0.5)
        .collect();
    let nets: Vec<_> = (0..K as u64)
        .map(|seed| init_network::<f32>(seed, dims, cfg.init_v).unwrap())
        .collect();

    let mut together = NetBatch::zeros(backend, training_block(), dims, K).unwrap();
    for (b, net) in nets.iter().enumerate() {
        together.set_network(b, net);
    }
    let mut call = Call::new(&backend, &together, &h0, alpha);
    c.bench_function("stack_8_networks_one_call", |b| {
        b.iter(|| black_box(call.run(&backend, &together)))
    });

    let singles: Vec<_> = nets
        .iter()
        .map(|net| NetBatch::from_network(backend, net).unwrap())
        .collect();
    let mut calls: Vec<_> = singles
        .iter()
        .map(|net| Call::new(&backend, net, &h0, alpha))
        .collect();
    c.bench_function("stack_8_networks_in_turn", |b| {
        b.iter(|| {
            let mut s = 0.0;
            for (call, net) in calls.iter_mut().zip(&singles) {
                s += call.run(&backend, net);
            }
            black_box(s)
        })
    });
    c.bench_function("stack_8_networks_one_per_task", |b| {
        b.iter(|| {
            let s: f32 = calls
                .par_iter_mut()
                .zip(singles.par_iter())
                .map(|(call, net)| call.run(&backend, net))
                .sum();
            black_box(s)
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);

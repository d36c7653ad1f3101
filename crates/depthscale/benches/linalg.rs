//! Criterion bench of `linalg::matmul` at the engine's shapes: a 40 x 40 weight (row-major, and
//! transposed) times a 40 x n column-major batch, f64 and f32, n in {1, 8, 128}. Per-call
//! overhead dominates at these sizes, so this is where the view construction shows.
//!
//! `cargo bench -p depthscale --bench linalg`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use depthscale::Float;
use depthscale::linalg::{MatMut, MatRef, matmul};
use std::hint::black_box;

const D: usize = 40;

fn bench_type<T: Float>(c: &mut Criterion) {
    let mut g = c.benchmark_group(format!("matmul_{}", T::NAME));
    let w: Vec<T> = (0..D * D).map(|i| T::of((i as f64 * 0.37).sin())).collect();
    for n in [1usize, 8, 128] {
        let x: Vec<T> = (0..D * n).map(|i| T::of((i as f64 * 0.91).cos())).collect();
        let mut out = vec![T::zero(); D * n];
        g.throughput(Throughput::Elements((D * D * n) as u64));
        g.bench_function(format!("40x40x{n}"), |b| {
            b.iter(|| {
                matmul(
                    MatMut::col_major(black_box(&mut out), D, n),
                    MatRef::row_major(black_box(&w), D, D),
                    MatRef::col_major(black_box(&x), D, n),
                    T::one(),
                    false,
                )
            })
        });
        g.bench_function(format!("40x40t_x{n}_accumulate"), |b| {
            b.iter(|| {
                matmul(
                    MatMut::col_major(black_box(&mut out), D, n),
                    MatRef::row_major(black_box(&w), D, D).t(),
                    MatRef::col_major(black_box(&x), D, n),
                    T::one(),
                    true,
                )
            })
        });
    }
    g.finish();
}

fn benches(c: &mut Criterion) {
    bench_type::<f64>(c);
    bench_type::<f32>(c);
}

criterion_group!(linalg, benches);
criterion_main!(linalg);

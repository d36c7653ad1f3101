//! A logistic-regression baseline (multinomial, no hidden layer) on a dataset that `depthscale
//! train` reads, on the same train/test split (issue 21, section 4).
//!
//! `cargo run --release -p depthscale --example logreg -- fashion-mnist /usr/share/datasets/fashion-mnist`
//!
//! Plain minibatch SGD on the mean cross-entropy: batch 128, learning rate 0.1, 10 epochs, a fixed
//! shuffle per epoch (seeded, single thread: the same numbers every run). Prints the test accuracy
//! after each epoch and the time.

use depthscale::train::data::{self, DatasetKind};
use std::path::Path;
use std::str::FromStr;
use std::time::Instant;

fn main() -> depthscale::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (kind, dir) = match &args[1..] {
        [k, d] => (DatasetKind::from_str(k)?, d.clone()),
        _ => {
            eprintln!("usage: logreg DATASET DIR");
            std::process::exit(2);
        }
    };
    let ds = data::load(kind, Path::new(&dir))?;
    let (f, c) = (ds.n_features, ds.n_classes);
    let n = ds.train_labels.len();
    let mut w = vec![0.0f32; c * f];
    let mut b = vec![0.0f32; c];
    let (batch, lr, epochs) = (128usize, 0.1f32, 10);
    let mut order: Vec<usize> = (0..n).collect();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let start = Instant::now();
    let mut logits = vec![0.0f32; c];
    let mut gw = vec![0.0f32; c * f];
    let mut gb = vec![0.0f32; c];
    for epoch in 1..=epochs {
        // Fisher-Yates with a xorshift stream
        for i in (1..n).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            order.swap(i, (state % (i as u64 + 1)) as usize);
        }
        for chunk in order.chunks(batch) {
            gw.fill(0.0);
            gb.fill(0.0);
            for &i in chunk {
                let x = &ds.train_images[i * f..(i + 1) * f];
                softmax(&w, &b, x, &mut logits);
                logits[ds.train_labels[i] as usize] -= 1.0;
                for (k, &p) in logits.iter().enumerate() {
                    gb[k] += p;
                    for (g, &xi) in gw[k * f..(k + 1) * f].iter_mut().zip(x) {
                        *g += p * xi;
                    }
                }
            }
            let s = lr / chunk.len() as f32;
            for (wi, g) in w.iter_mut().zip(&gw) {
                *wi -= s * g;
            }
            for (bi, g) in b.iter_mut().zip(&gb) {
                *bi -= s * g;
            }
        }
        let correct = (0..ds.test_labels.len())
            .filter(|&i| {
                softmax(&w, &b, &ds.test_images[i * f..(i + 1) * f], &mut logits);
                let best = (0..c)
                    .max_by(|&p, &q| logits[p].total_cmp(&logits[q]))
                    .unwrap_or(0);
                best == ds.test_labels[i] as usize
            })
            .count();
        println!(
            "epoch {epoch}: test accuracy {:.4} ({:.1} s)",
            correct as f64 / ds.test_labels.len() as f64,
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// The class probabilities of `x` into `out`.
fn softmax(w: &[f32], b: &[f32], x: &[f32], out: &mut [f32]) {
    let f = x.len();
    for (k, o) in out.iter_mut().enumerate() {
        *o = b[k]
            + w[k * f..(k + 1) * f]
                .iter()
                .zip(x)
                .map(|(a, c)| a * c)
                .sum::<f32>();
    }
    let m = out.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut z = 0.0;
    for o in out.iter_mut() {
        *o = (*o - m).exp();
        z += *o;
    }
    for o in out.iter_mut() {
        *o /= z;
    }
}

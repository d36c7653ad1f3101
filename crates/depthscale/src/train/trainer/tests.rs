use super::*;
use crate::kernels::{CpuBackend, NetBatch};
use crate::paths::Init;
use rand::Rng as _;
use std::sync::Mutex;

/// Three well-separated Gaussian blobs in 8 dimensions (pixels around prototypes in [0, 1]).
fn blobs(seed: u64, n_train: usize, n_test: usize) -> Dataset {
    let (f, k) = (8, 3);
    let mut r = rng::stream(seed, &[1]);
    let protos: Vec<f32> = (0..f * k).map(|_| r.random::<f32>()).collect();
    let mut draw = |n: usize| {
        let mut images = Vec::with_capacity(n * f);
        let mut labels = Vec::with_capacity(n);
        for i in 0..n {
            let c = i % k;
            labels.push(c as u8);
            for j in 0..f {
                images.push(protos[c * f + j] + 0.1 * (r.random::<f32>() - 0.5));
            }
        }
        (images, labels)
    };
    let (train_images, train_labels) = draw(n_train);
    let (test_images, test_labels) = draw(n_test);
    Dataset {
        name: "blobs".into(),
        n_features: f,
        n_classes: k,
        train_images,
        train_labels,
        test_images,
        test_labels,
    }
}

fn small_config() -> TrainConfig {
    TrainConfig {
        depth: 16,
        width: 8,
        epochs: 4,
        batch_size: 16,
        lr: 1e-2,
        lr_step: 3,
        ..TrainConfig::default()
    }
}

#[derive(Default)]
struct Recorder {
    starts: Mutex<Vec<(String, u64)>>,
    advances: Mutex<u64>,
    notes: Mutex<usize>,
}

impl Progress for Recorder {
    fn start(&self, message: &str, total: u64) {
        self.starts
            .lock()
            .unwrap()
            .push((message.to_string(), total));
    }
    fn advance(&self, units: u64) {
        *self.advances.lock().unwrap() += units;
    }
    fn note(&self, _message: &str) {
        *self.notes.lock().unwrap() += 1;
    }
}

#[test]
fn rejects_out_of_range_fields() {
    let cases: Vec<(&str, TrainConfig)> = vec![
        (
            "depth",
            TrainConfig {
                depth: 0,
                ..Default::default()
            },
        ),
        (
            "width",
            TrainConfig {
                width: 0,
                ..Default::default()
            },
        ),
        (
            "epochs",
            TrainConfig {
                epochs: 0,
                ..Default::default()
            },
        ),
        (
            "batch_size",
            TrainConfig {
                batch_size: 0,
                ..Default::default()
            },
        ),
        (
            "lr_step",
            TrainConfig {
                lr_step: 0,
                ..Default::default()
            },
        ),
        (
            "beta",
            TrainConfig {
                beta: f64::NAN,
                ..Default::default()
            },
        ),
        (
            "lr",
            TrainConfig {
                lr: 0.0,
                ..Default::default()
            },
        ),
        (
            "lr",
            TrainConfig {
                lr: f64::INFINITY,
                ..Default::default()
            },
        ),
        (
            "lr_gamma",
            TrainConfig {
                lr_gamma: -0.1,
                ..Default::default()
            },
        ),
        (
            "init_v",
            TrainConfig {
                init_v: Init::Fbm { hurst: 1.5 },
                ..Default::default()
            },
        ),
        (
            "momentum",
            TrainConfig {
                optimizer: Optimizer::Sgd,
                momentum: -0.1,
                ..Default::default()
            },
        ),
        (
            "momentum",
            TrainConfig {
                optimizer: Optimizer::Sgd,
                momentum: 1.0,
                ..Default::default()
            },
        ),
        (
            "momentum",
            TrainConfig {
                momentum: 0.5,
                ..Default::default()
            },
        ),
        (
            "adam_eps",
            TrainConfig {
                adam_eps: 0.0,
                ..Default::default()
            },
        ),
    ];
    for (field, cfg) in cases {
        match cfg.validate() {
            Err(Error::Config { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
}

#[test]
fn rejects_inconsistent_datasets() {
    let mut data = blobs(0, 30, 10);
    data.train_labels[3] = 7;
    let err = train(
        &small_config(),
        &data,
        &crate::progress::Silent,
        &mut |_| {},
    );
    assert!(matches!(err, Err(Error::Data { .. })));
    let mut data = blobs(0, 30, 10);
    data.test_images.pop();
    let err = train(
        &small_config(),
        &data,
        &crate::progress::Silent,
        &mut |_| {},
    );
    assert!(matches!(err, Err(Error::Data { .. })));
}

#[test]
fn learns_separable_blobs_and_reports_progress() {
    let data = blobs(0, 300, 150);
    let cfg = small_config();
    let rec = Recorder::default();
    let mut seen = Vec::new();
    let out = train(&cfg, &data, &rec, &mut |m| seen.push(m.epoch)).unwrap();
    assert!(!out.diverged);
    assert_eq!(seen, vec![1, 2, 3, 4]);
    let first = out.metrics[0];
    let last = out.metrics[3];
    assert!(last.test_accuracy > 0.95, "{:?}", out.metrics);
    assert!(last.train_loss < first.train_loss, "{:?}", out.metrics);
    // 300 samples in batches of 16: 19 batches, the last one of 12
    let starts = rec.starts.lock().unwrap();
    assert_eq!(starts[2], ("epoch 3/4".to_string(), 19));
    assert_eq!(*rec.advances.lock().unwrap(), 4 * 19);
    assert_eq!(*rec.notes.lock().unwrap(), 4 * 2);
    // the initial network is the one a fresh trainer starts from, and training moved it
    assert_eq!(
        out.initial.params,
        Trainer::new(&cfg, 8, 3).unwrap().network().params
    );
    assert_ne!(out.initial.params.bias, out.trained.params.bias);
    // evaluate agrees with the last epoch's metrics
    let alpha = residual_scale(cfg.depth, cfg.beta) as f32;
    let (loss, acc) =
        super::super::net::evaluate(&out.trained, alpha, &data.test_images, &data.test_labels, 8);
    assert_eq!((loss, acc), (last.test_loss, last.test_accuracy));
    // and the untrained network was no good at it
    let (loss0, _) =
        super::super::net::evaluate(&out.initial, alpha, &data.test_images, &data.test_labels, 8);
    assert!(
        loss0 > 0.5 && last.test_loss < 0.05 * loss0,
        "{loss0} -> {loss}"
    );
}

#[test]
fn same_seed_gives_identical_bits_on_any_thread_count() {
    let data = blobs(1, 100, 40);
    let cfg = TrainConfig {
        epochs: 2,
        seed: 9,
        ..small_config()
    };
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| train(&cfg, &data, &crate::progress::Silent, &mut |_| {}).unwrap())
    };
    let (a, b) = (run(1), run(2));
    let bits = |o: &TrainOutcome| -> Vec<u64> {
        o.metrics
            .iter()
            .flat_map(|m| [m.train_loss, m.test_loss, m.test_accuracy])
            .map(f64::to_bits)
            .collect()
    };
    assert_eq!(bits(&a), bits(&b));
    assert_eq!(a.trained.params, b.trained.params);
    let other = train(
        &TrainConfig {
            seed: 10,
            ..cfg.clone()
        },
        &data,
        &crate::progress::Silent,
        &mut |_| {},
    )
    .unwrap();
    assert_ne!(bits(&a), bits(&other));
}

#[test]
fn divergence_stops_training_cleanly() {
    let data = blobs(2, 64, 16);
    // alpha = L^2: the forward pass overflows f32 at once
    let cfg = TrainConfig {
        beta: -2.0,
        depth: 40,
        ..small_config()
    };
    let mut calls = 0;
    let out = train(&cfg, &data, &crate::progress::Silent, &mut |_| calls += 1).unwrap();
    assert!(out.diverged);
    assert_eq!(out.metrics.len(), 1);
    assert_eq!(calls, 1);
    assert!(out.metrics[0].train_loss.is_nan() && out.metrics[0].test_accuracy.is_nan());
    // no update was applied
    assert_eq!(out.initial.params, out.trained.params);
}

#[test]
fn sgd_steps_move_the_weights_by_minus_lr_times_the_gradient() {
    let data = blobs(3, 40, 10);
    let cfg = TrainConfig {
        optimizer: Optimizer::Sgd,
        lr: 0.05,
        batch_size: 40,
        ..small_config()
    };
    let mut trainer = Trainer::new(&cfg, 8, 3).unwrap();
    let before = trainer.network();
    let batch: Vec<usize> = (0..40).collect();
    let loss = trainer.step(&data.train_images, &data.train_labels, &batch, cfg.lr);
    let after = trainer.network();
    // the same gradient from a workspace over the whole batch (f32: the trainer sums two
    // halves, so equal up to rounding)
    let mut grads = before.params.clone();
    let mut ws = Workspace::new(&before.block, before.dims, 40);
    let net = NetBatch::from_network(CpuBackend::new(), &before).unwrap();
    let whole = ws.loss_and_grad(
        &net,
        trainer.alpha(),
        &data.train_images,
        &data.train_labels,
        &mut grads,
    );
    assert!(
        (loss - whole).abs() < 1e-5 * whole.abs(),
        "{loss} vs {whole}"
    );
    let mut checked = 0;
    for (((name, a), (_, b)), (_, g)) in after
        .params
        .named()
        .into_iter()
        .zip(before.params.named())
        .zip(grads.named())
    {
        for ((&a, &b), &g) in a.iter().zip(b).zip(g) {
            let want = f64::from(b) - cfg.lr * f64::from(g);
            assert!(
                (f64::from(a) - want).abs() < 1e-6 * (1.0 + want.abs()),
                "{name}: {a} vs {want}"
            );
            checked += 1;
        }
    }
    assert!(checked > 0);
    assert_ne!(before.params.v, after.params.v);
}

#[test]
fn sgd_with_momentum_learns_separable_blobs() {
    let data = blobs(0, 300, 150);
    let cfg = TrainConfig {
        optimizer: Optimizer::Sgd,
        momentum: 0.9,
        lr: 0.05,
        ..small_config()
    };
    let out = train(&cfg, &data, &crate::progress::Silent, &mut |_| {}).unwrap();
    let (first, last) = (out.metrics[0], out.metrics[3]);
    assert!(last.test_accuracy > 0.9, "{:?}", out.metrics);
    assert!(last.train_loss < first.train_loss, "{:?}", out.metrics);
    // and it is not the Adam run
    let adam = train(
        &small_config(),
        &data,
        &crate::progress::Silent,
        &mut |_| {},
    )
    .unwrap();
    assert_ne!(adam.trained.params.v, out.trained.params.v);
}

#[test]
fn res3_regression_with_mse_and_sgd_fits_its_training_points() {
    use crate::train::{BlockKind, LossKind, Regression};
    let data = Regression::gaussian(4, 6, 6, 8, 20).unwrap();
    let cfg = TrainConfig {
        depth: 10,
        width: 6,
        epochs: 30,
        batch_size: 8,
        lr: 0.05,
        lr_step: 100,
        optimizer: Optimizer::Sgd,
        momentum: 0.5,
        loss: LossKind::Mse,
        block: BlockKind::Res3,
        activation: crate::model::Activation::Tanh,
        bias: false,
        init_w: Init::Gaussian,
        ..TrainConfig::default()
    };
    let out = train(&cfg, &data, &crate::progress::Silent, &mut |_| {}).unwrap();
    let (first, last) = (out.metrics[0], out.metrics[29]);
    assert!(
        last.train_loss < 0.5 * first.train_loss,
        "{:?}",
        out.metrics
    );
    assert!(first.test_loss.is_finite() && last.test_accuracy.is_nan());
    assert!(out.trained.block.inner);
    assert_ne!(out.initial.params.w, out.trained.params.w);
    // the same data: same bits on any thread count
    let again = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| train(&cfg, &data, &crate::progress::Silent, &mut |_| {}).unwrap());
    assert_eq!(again.trained.params, out.trained.params);
    // a loss that does not fit the targets is refused, naming the field
    for (loss, set) in [
        (LossKind::CrossEntropy, &data as &dyn TrainingSet),
        (LossKind::Mse, &blobs(0, 10, 5) as &dyn TrainingSet),
    ] {
        let cfg = TrainConfig {
            loss,
            ..small_config()
        };
        let err = train(&cfg, set, &crate::progress::Silent, &mut |_| {});
        assert!(matches!(err, Err(Error::Config { field, .. }) if field == "loss"));
    }
}

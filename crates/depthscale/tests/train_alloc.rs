//! Steady-state training steps and evaluations allocate nothing.
//!
//! Only the measured thread counts: the steps run inside a one-thread rayon pool (so a step's
//! two concurrent halves run on that thread too) and that thread alone sets [`COUNTING`], so an
//! allocation by the test harness or another test's thread cannot make this test fail.

use depthscale::train::{TrainConfig, Trainer};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts the allocations and reallocations of the threads that set [`COUNTING`].
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Whether this thread's allocations are counted (const-initialized: reading it never
    /// allocates).
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if COUNTING.with(Cell::get) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: defers to the system allocator, only counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn steps_and_evaluations_do_not_allocate() {
    let cfg = TrainConfig {
        depth: 40,
        width: 30,
        batch_size: 16,
        ..TrainConfig::default()
    };
    let (n_in, n) = (20, 50);
    let images: Vec<f32> = (0..n * n_in).map(|i| (i % 7) as f32 / 7.0).collect();
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    let full: Vec<usize> = (0..16).collect();
    let partial: Vec<usize> = (16..21).collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let (loss, acc, allocations) = pool.install(|| {
        let mut trainer = Trainer::new(&cfg, n_in, 10).unwrap();
        // warm-up: every buffer is sized at construction; the partial batch and the evaluation
        // chunks reuse them
        trainer.step(&images, &labels, &full, 1e-3);
        trainer.step(&images, &labels, &partial, 1e-3);
        trainer.evaluate(&images, &labels);

        let before = ALLOCATIONS.load(Ordering::Relaxed);
        COUNTING.with(|c| c.set(true));
        let mut finite = true;
        for _ in 0..3 {
            finite &= trainer.step(&images, &labels, &full, 1e-3).is_finite();
            finite &= trainer.step(&images, &labels, &partial, 1e-3).is_finite();
        }
        let (loss, acc) = trainer.evaluate(&images, &labels);
        COUNTING.with(|c| c.set(false));
        assert!(finite, "a training loss is not finite");
        (loss, acc, ALLOCATIONS.load(Ordering::Relaxed) - before)
    });
    assert!(loss.is_finite() && (0.0..=1.0).contains(&acc));
    assert_eq!(allocations, 0, "allocations during steady-state steps");
}

//! A deliberately different backend for tests, the rehearsal of a device backend:
//! [`CheckedBackend`] keeps its values in opaque [`Staged`] buffers that the host reaches only
//! through copies (`read` hands out a staged copy, `write` uploads a staged vector, like a
//! GPU's), and it checks the data flow the [`Backend`] contract promises:
//! - before every operation, the scratch it is given and every value the operation must
//!   write (`h_L`, the tape, a product's result unless accumulating, the loss gradients) are
//!   poisoned with a NaN of a payload of its own ([`POISON_F32`], [`POISON_F64`]);
//! - every value an operation reads (weights, `h_0`, scales, the tape, a product's operands,
//!   what `read` and `download` hand out), and every value it must have written, is checked
//!   not to be poison; `write`'s staging is poisoned before the host fills it and checked
//!   after (its `f` must write every value).
//!
//! A value read before being written, an output left unwritten, or scratch carried from one
//! call to the next then panics, naming the operation and the tensor (NaN propagation keeps
//! the payload, so poison read by the arithmetic shows in the outputs). The arithmetic itself
//! is delegated to a [`CpuBackend`], so results are bitwise those of that CPU backend: the
//! tests of `experiment::backend_tests` check that every experiment gives the same bytes on
//! both.

use super::backend::{
    AdamCoeffs, Backend, Keep, Op, ProductShape, SgdCoeffs, StackGrads, StackShape, StackWeights,
    Tape,
};
use super::cpu::CpuBackend;
use crate::Float;
use crate::model::{BiasPosition, BlockSpec};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The bits of the `f32` poison, a quiet NaN with a payload arithmetic never creates.
pub const POISON_F32: u32 = 0x7fc0_0bad;
/// The bits of the `f64` poison.
pub const POISON_F64: u64 = 0x7ff8_0000_dead_0bad;

/// The poison value in `T`.
fn poison<T: Float>() -> T {
    if T::NAME == "f32" {
        T::from_f32(f32::from_bits(POISON_F32)).expect("an f32 converts to f32")
    } else {
        T::from_f64(f64::from_bits(POISON_F64)).expect("an f64 converts to f64")
    }
}

/// Whether `x` is the poison (bit for bit: other NaNs are values).
fn is_poison<T: Float>(x: T) -> bool {
    x.is_nan() && x.integer_decode() == poison::<T>().integer_decode()
}

/// Panics when one of `values` is poison: `what` was read before being written, or left
/// unwritten by an operation that must write it.
fn check<T: Float>(op: &str, what: &str, values: &[T]) {
    if let Some(i) = values.iter().position(|&x| is_poison(x)) {
        panic!(
            "checked backend: {op}: value {i} of {what} ({} values) was never written",
            values.len()
        );
    }
}

/// Values of `dV`, `dW` and the bias gradient a backward stack of `shape` covers.
fn grad_lens(block: &BlockSpec, shape: StackShape) -> [usize; 3] {
    let layers = shape.networks * shape.depth;
    let bias = match block.bias {
        BiasPosition::Inside => shape.inner_width,
        _ => shape.width,
    };
    [shape.layer(), shape.layer(), bias].map(|per| layers * per)
}

/// The gradients `g` holds, by name, each cut to its length in `lens` ([`grad_lens`]).
fn grad_parts<'a, T>(
    g: &'a mut StackGrads<'_, Staged<T>>,
    [lv, lw, lb]: [usize; 3],
) -> impl Iterator<Item = (&'static str, &'a mut [T])> {
    [
        Some(("dV", &mut g.v.values[..lv])),
        g.w.as_deref_mut().map(|x| ("dW", &mut x.values[..lw])),
        g.bias.as_deref_mut().map(|x| ("db", &mut x.values[..lb])),
    ]
    .into_iter()
    .flatten()
}

/// Poisons `values`.
fn poison_all<T: Float>(values: &mut [T]) {
    values.fill(poison());
}

/// A buffer of the checked backend: values the host can reach only through the backend's
/// copies (no `Deref` to a slice, unlike the CPU's `Vec`).
#[derive(Clone, Debug)]
pub struct Staged<T> {
    values: Vec<T>,
}

/// The checked backend (see the module doc), delegating its arithmetic to `cpu`.
#[derive(Clone, Debug, Default)]
pub struct CheckedBackend {
    cpu: CpuBackend,
    /// Operations run, by this backend and its clones (a test's evidence that a run went
    /// through it).
    calls: Arc<AtomicUsize>,
}

impl CheckedBackend {
    /// A checked backend computing as `cpu` does.
    pub fn new(cpu: CpuBackend) -> Self {
        Self {
            cpu,
            calls: Arc::default(),
        }
    }

    /// The number of operations run on this backend and its clones.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::Relaxed)
    }

    fn count(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }
}

/// The weights as the CPU backend takes them.
fn weights<'a, T>(w: StackWeights<'a, Staged<T>>) -> StackWeights<'a, Vec<T>> {
    StackWeights {
        v: &w.v.values,
        w: w.w.map(|x| &x.values),
        bias: w.bias.map(|x| &x.values),
    }
}

/// Checks the weights of a stack call of `shape` were written.
fn check_weights<T: Float>(
    op: &str,
    block: &BlockSpec,
    shape: StackShape,
    w: &StackWeights<'_, Staged<T>>,
) {
    let layers = shape.networks * shape.depth;
    check(op, "V", &w.v.values[..layers * shape.layer()]);
    if let Some(x) = w.w {
        check(op, "W", &x.values[..layers * shape.layer()]);
    }
    if let Some(x) = w.bias {
        let per = match block.bias {
            BiasPosition::Inside => shape.inner_width,
            _ => shape.width,
        };
        check(op, "bias", &x.values[..layers * per]);
    }
}

/// Moves a tape's vectors out (to hand them to the CPU backend) and back.
fn take_tape<T>(tape: &mut Tape<Staged<T>>) -> Tape<Vec<T>> {
    let take = |s: &mut Staged<T>| std::mem::take(&mut s.values);
    Tape {
        h0: take(&mut tape.h0),
        h_last: take(&mut tape.h_last),
        pre: take(&mut tape.pre),
        inputs: take(&mut tape.inputs),
    }
}

fn put_tape<T>(tape: &mut Tape<Staged<T>>, t: Tape<Vec<T>>) {
    tape.h0.values = t.h0;
    tape.h_last.values = t.h_last;
    tape.pre.values = t.pre;
    tape.inputs.values = t.inputs;
}

impl<T: Float> Backend<T> for CheckedBackend {
    type Buffer = Staged<T>;

    fn describe(&self) -> String {
        format!(
            "checked (staged buffers over {})",
            Backend::<T>::describe(&self.cpu)
        )
    }

    fn zeros(&self, len: usize) -> Staged<T> {
        Staged {
            values: vec![T::zero(); len],
        }
    }

    fn len(&self, buf: &Staged<T>) -> usize {
        buf.values.len()
    }

    fn upload(&self, src: &[T], dst: &mut Staged<T>, at: usize) {
        check("upload", "the host values", src);
        dst.values[at..at + src.len()].copy_from_slice(src);
    }

    fn download(&self, src: &Staged<T>, at: usize, dst: &mut [T]) {
        let values = &src.values[at..at + dst.len()];
        check("download", "the buffer", values);
        dst.copy_from_slice(values);
    }

    fn read<'a>(&self, buf: &'a Staged<T>, len: usize, staging: &'a mut Vec<T>) -> &'a [T] {
        self.count();
        check("read", "the buffer", &buf.values[..len]);
        staging.clear();
        staging.extend_from_slice(&buf.values[..len]);
        staging
    }

    fn write<R>(
        &self,
        buf: &mut Staged<T>,
        len: usize,
        staging: &mut Vec<T>,
        f: impl FnOnce(&mut [T]) -> R,
    ) -> R {
        self.count();
        staging.clear();
        staging.resize(len, poison());
        let r = f(&mut staging[..]);
        check(
            "write",
            "the staged values (f must write every value)",
            staging,
        );
        buf.values[..len].copy_from_slice(staging);
        r
    }

    fn fill(&self, buf: &mut Staged<T>, len: usize, value: T) {
        buf.values[..len].fill(value);
    }

    fn copy(&self, src: &Staged<T>, dst: &mut Staged<T>, len: usize) {
        check("copy", "the source", &src.values[..len]);
        dst.values[..len].copy_from_slice(&src.values[..len]);
    }

    fn axpy(&self, a: T, x: &Staged<T>, y: &mut Staged<T>, len: usize) {
        check("axpy", "x", &x.values[..len]);
        check("axpy", "y", &y.values[..len]);
        self.cpu.axpy(a, &x.values, &mut y.values, len);
    }

    fn stack_scratch(&self, block: &BlockSpec, shape: StackShape) -> usize {
        Backend::<T>::stack_scratch(&self.cpu, block, shape)
    }

    fn forward_stack(
        &self,
        block: &BlockSpec,
        shape: StackShape,
        w: StackWeights<'_, Staged<T>>,
        alpha: &Staged<T>,
        tape: &mut Tape<Staged<T>>,
        keep: Keep,
        scratch: &mut Staged<T>,
    ) {
        self.count();
        let op = "forward_stack";
        check_weights(op, block, shape, &w);
        check(op, "alpha", &alpha.values[..shape.alphas()]);
        check(op, "h0", &tape.h0.values[..shape.states()]);
        let need = Backend::<T>::stack_scratch(self, block, shape);
        poison_all(&mut scratch.values[..need]);
        poison_all(&mut tape.h_last.values[..shape.states()]);
        if keep != Keep::Output {
            poison_all(&mut tape.pre.values[..shape.pre_tape()]);
        }
        if keep == Keep::PreAndInputs {
            poison_all(&mut tape.inputs.values[..shape.tape()]);
        }
        let mut t = take_tape(tape);
        self.cpu.forward_stack(
            block,
            shape,
            weights(w),
            &alpha.values,
            &mut t,
            keep,
            &mut scratch.values,
        );
        put_tape(tape, t);
        check(op, "h_last", &tape.h_last.values[..shape.states()]);
        if keep != Keep::Output {
            check(
                op,
                "the pre-activation tape",
                &tape.pre.values[..shape.pre_tape()],
            );
        }
        if keep == Keep::PreAndInputs {
            check(op, "the input tape", &tape.inputs.values[..shape.tape()]);
        }
    }

    fn backward_stack(
        &self,
        block: &BlockSpec,
        shape: StackShape,
        w: StackWeights<'_, Staged<T>>,
        alpha: &Staged<T>,
        tape: &Tape<Staged<T>>,
        p: &mut Staged<T>,
        grads: Option<StackGrads<'_, Staged<T>>>,
        scratch: &mut Staged<T>,
    ) {
        self.count();
        let op = "backward_stack";
        check_weights(op, block, shape, &w);
        check(op, "alpha", &alpha.values[..shape.alphas()]);
        check(op, "p", &p.values[..shape.states()]);
        check(
            op,
            "the pre-activation tape",
            &tape.pre.values[..shape.pre_tape()],
        );
        let want_w = grads.as_ref().is_some_and(|g| g.w.is_some());
        if want_w {
            check(op, "the input tape", &tape.inputs.values[..shape.tape()]);
        }
        let need = Backend::<T>::stack_scratch(self, block, shape);
        poison_all(&mut scratch.values[..need]);
        // a staged copy of the tape: the CPU backend takes it by reference
        let t = Tape {
            h0: tape.h0.values.clone(),
            h_last: tape.h_last.values.clone(),
            pre: tape.pre.values.clone(),
            inputs: tape.inputs.values.clone(),
        };
        let mut grads = grads;
        let lens = grad_lens(block, shape);
        // Accumulated gradients are read, so they must hold values; written ones must be
        // written whole, so they are poisoned first and checked after.
        if let Some(g) = grads.as_mut() {
            let written = !g.accumulate;
            for (what, x) in grad_parts(g, lens) {
                if written {
                    poison_all(x);
                } else {
                    check(op, what, x);
                }
            }
        }
        self.cpu.backward_stack(
            block,
            shape,
            weights(w),
            &alpha.values,
            &t,
            &mut p.values,
            grads.as_mut().map(|g| StackGrads {
                v: &mut g.v.values,
                w: g.w.as_deref_mut().map(|x| &mut x.values),
                bias: g.bias.as_deref_mut().map(|x| &mut x.values),
                accumulate: g.accumulate,
            }),
            &mut scratch.values,
        );
        if let Some(g) = grads.as_mut() {
            for (what, x) in grad_parts(g, lens) {
                check(op, what, x);
            }
        }
        check(op, "dloss/dh0", &p.values[..shape.states()]);
    }

    fn product_scratch(&self, op: Op, shape: ProductShape) -> usize {
        Backend::<T>::product_scratch(&self.cpu, op, shape)
    }

    fn product(
        &self,
        m: &Staged<T>,
        op: Op,
        x: &Staged<T>,
        out: &mut Staged<T>,
        shape: ProductShape,
        scale: T,
        accumulate: bool,
        scratch: &mut Staged<T>,
    ) {
        self.count();
        let ProductShape {
            networks,
            rows,
            cols,
            columns,
        } = shape;
        let (k, r) = match op {
            Op::Plain => (cols, rows),
            Op::Transposed => (rows, cols),
        };
        check(
            "product",
            "the matrices",
            &m.values[..networks * rows * cols],
        );
        check(
            "product",
            "the right-hand side",
            &x.values[..networks * k * columns],
        );
        let out_len = networks * r * columns;
        if accumulate {
            check("product", "the accumulated result", &out.values[..out_len]);
        } else {
            poison_all(&mut out.values[..out_len]);
        }
        let need = Backend::<T>::product_scratch(self, op, shape);
        poison_all(&mut scratch.values[..need]);
        self.cpu.product(
            &m.values,
            op,
            &x.values,
            &mut out.values,
            shape,
            scale,
            accumulate,
            &mut scratch.values,
        );
        check("product", "the result", &out.values[..out_len]);
    }

    fn outer(
        &self,
        p: &Staged<T>,
        a: &Staged<T>,
        g: &mut Staged<T>,
        shape: ProductShape,
        accumulate: bool,
    ) {
        self.count();
        let ProductShape {
            networks,
            rows,
            cols,
            columns,
        } = shape;
        check("outer", "p", &p.values[..networks * rows * columns]);
        check("outer", "a", &a.values[..networks * cols * columns]);
        let g_len = networks * rows * cols;
        if accumulate {
            check("outer", "the accumulated result", &g.values[..g_len]);
        } else {
            poison_all(&mut g.values[..g_len]);
        }
        self.cpu
            .outer(&p.values, &a.values, &mut g.values, shape, accumulate);
        check("outer", "the result", &g.values[..g_len]);
    }

    fn loss_scratch(&self, networks: usize, columns: usize) -> usize {
        Backend::<T>::loss_scratch(&self.cpu, networks, columns)
    }

    fn cross_entropy(
        &self,
        logits: &Staged<T>,
        labels: &[u8],
        n_classes: usize,
        total: usize,
        dlogits: &mut Staged<T>,
        losses: &mut [f64],
        scratch: &mut Staged<T>,
    ) {
        self.count();
        let len = labels.len() * n_classes;
        check("cross_entropy", "the logits", &logits.values[..len]);
        poison_all(&mut dlogits.values[..len]);
        poison_all(losses);
        let need = Backend::<T>::loss_scratch(self, losses.len(), labels.len());
        poison_all(&mut scratch.values[..need]);
        self.cpu.cross_entropy(
            &logits.values,
            labels,
            n_classes,
            total,
            &mut dlogits.values,
            losses,
            &mut scratch.values,
        );
        check("cross_entropy", "dlogits", &dlogits.values[..len]);
        check("cross_entropy", "the losses", losses);
    }

    fn cross_entropy_sum(
        &self,
        logits: &Staged<T>,
        labels: &[u8],
        n_classes: usize,
        out: &mut [(f64, usize)],
        scratch: &mut Staged<T>,
    ) {
        self.count();
        let len = labels.len() * n_classes;
        check("cross_entropy_sum", "the logits", &logits.values[..len]);
        out.fill((poison(), usize::MAX));
        let need = Backend::<T>::loss_scratch(self, out.len(), labels.len());
        poison_all(&mut scratch.values[..need]);
        self.cpu
            .cross_entropy_sum(&logits.values, labels, n_classes, out, &mut scratch.values);
        let sums: Vec<f64> = out.iter().map(|o| o.0).collect();
        check("cross_entropy_sum", "the sums", &sums);
    }

    fn mse(
        &self,
        out: &Staged<T>,
        targets: &[T],
        n_out: usize,
        total: usize,
        dout: &mut Staged<T>,
        losses: &mut [f64],
        scratch: &mut Staged<T>,
    ) {
        self.count();
        let len = targets.len();
        check("mse", "the outputs", &out.values[..len]);
        poison_all(&mut dout.values[..len]);
        poison_all(losses);
        let need = Backend::<T>::loss_scratch(self, losses.len(), len / n_out.max(1));
        poison_all(&mut scratch.values[..need]);
        self.cpu.mse(
            &out.values,
            targets,
            n_out,
            total,
            &mut dout.values,
            losses,
            &mut scratch.values,
        );
        check("mse", "dout", &dout.values[..len]);
        check("mse", "the losses", losses);
    }

    fn squared_error_sum(
        &self,
        out: &Staged<T>,
        targets: &[T],
        sums: &mut [f64],
        scratch: &mut Staged<T>,
    ) {
        self.count();
        check(
            "squared_error_sum",
            "the outputs",
            &out.values[..targets.len()],
        );
        poison_all(sums);
        self.cpu
            .squared_error_sum(&out.values, targets, sums, &mut scratch.values);
        check("squared_error_sum", "the sums", sums);
    }

    fn adam_update(
        &self,
        coeffs: &[AdamCoeffs<T>],
        per_network: usize,
        p: &mut Staged<T>,
        g: &Staged<T>,
        m: &mut Staged<T>,
        v: &mut Staged<T>,
    ) {
        self.count();
        let len = coeffs.len() * per_network;
        for (what, x) in [("p", &*p), ("g", g), ("m", &*m), ("v", &*v)] {
            check("adam_update", what, &x.values[..len]);
        }
        self.cpu.adam_update(
            coeffs,
            per_network,
            &mut p.values,
            &g.values,
            &mut m.values,
            &mut v.values,
        );
        check("adam_update", "p", &p.values[..len]);
    }

    fn adam_update_sum(
        &self,
        coeffs: &[AdamCoeffs<T>],
        per_network: usize,
        p: &mut Staged<T>,
        g: &Staged<T>,
        g2: &Staged<T>,
        m: &mut Staged<T>,
        v: &mut Staged<T>,
    ) {
        self.count();
        let len = coeffs.len() * per_network;
        for (what, x) in [("p", &*p), ("g", g), ("g2", g2), ("m", &*m), ("v", &*v)] {
            check("adam_update_sum", what, &x.values[..len]);
        }
        self.cpu.adam_update_sum(
            coeffs,
            per_network,
            &mut p.values,
            &g.values,
            &g2.values,
            &mut m.values,
            &mut v.values,
        );
        check("adam_update_sum", "p", &p.values[..len]);
    }

    fn sgd_update(
        &self,
        coeffs: &[SgdCoeffs<T>],
        per_network: usize,
        p: &mut Staged<T>,
        g: &Staged<T>,
        buf: Option<&mut Staged<T>>,
    ) {
        self.count();
        let len = coeffs.len() * per_network;
        check("sgd_update", "p", &p.values[..len]);
        check("sgd_update", "g", &g.values[..len]);
        if let Some(b) = &buf {
            // the momentum buffer is read only after the first step
            if coeffs.iter().any(|c| !c.first) {
                check("sgd_update", "the momentum buffer", &b.values[..len]);
            }
        }
        self.cpu.sgd_update(
            coeffs,
            per_network,
            &mut p.values,
            &g.values,
            buf.map(|b| &mut b.values),
        );
        check("sgd_update", "p", &p.values[..len]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::conformance;

    #[test]
    fn it_conforms_bitwise_to_the_cpu_it_delegates_to() {
        let portable = CheckedBackend::new(CpuBackend::portable());
        // the same arithmetic as the reference: bitwise, relative error 0
        assert_eq!(conformance::check::<f64, _>(&portable, 0.0), Ok(0.0));
        // f32: exactly the relative errors of the CPU backend it delegates to
        for cpu in [CpuBackend::portable(), CpuBackend::new()] {
            let checked = conformance::check::<f32, _>(&CheckedBackend::new(cpu), 1e-4).unwrap();
            assert_eq!(checked, conformance::check::<f32, _>(&cpu, 1e-4).unwrap());
        }
    }

    #[test]
    fn poison_is_a_nan_of_its_own() {
        assert!(is_poison(poison::<f32>()) && is_poison(poison::<f64>()));
        for x in [f64::NAN, -f64::NAN, 0.0, f64::INFINITY, (-1.0f64).sqrt()] {
            assert!(!is_poison(x) && !is_poison(x as f32), "{x}");
        }
        // NaN propagation keeps the payload: poison read by arithmetic shows in its results
        let p = poison::<f64>();
        assert!(is_poison(p * 2.0 + 1.0));
        assert!(is_poison(poison::<f32>() * 2.0 + 1.0));
    }

    #[test]
    #[should_panic(expected = "value 2 of the staged values (f must write every value)")]
    fn a_write_that_leaves_a_value_unwritten_panics() {
        let be = CheckedBackend::default();
        let mut buf = Backend::<f64>::zeros(&be, 4);
        be.write(&mut buf, 4, &mut Vec::new(), |v| {
            v[0] = 1.0;
            v[1] = 2.0;
            v[3] = 4.0;
        });
    }

    #[test]
    #[should_panic(expected = "forward_stack: value 0 of h0")]
    fn a_stack_on_an_unwritten_input_panics() {
        // an input the caller never wrote (poison stands for what a device's fresh memory holds)
        let be = CheckedBackend::default();
        let block = BlockSpec::res3(crate::model::Activation::Relu);
        let shape = StackShape {
            networks: 1,
            depth: 2,
            width: 3,
            columns: 2,
            inner_width: 3,
        };
        let mut tape = Tape::new(&be, shape, Keep::Output);
        poison_all::<f64>(&mut tape.h0.values);
        let v = Backend::<f64>::zeros(&be, 2 * 9);
        let alpha = Backend::<f64>::zeros(&be, 2);
        let mut scratch =
            Backend::<f64>::zeros(&be, Backend::<f64>::stack_scratch(&be, &block, shape));
        let w = StackWeights {
            v: &v,
            w: Some(&v),
            bias: None,
        };
        be.forward_stack(
            &block,
            shape,
            w,
            &alpha,
            &mut tape,
            Keep::Output,
            &mut scratch,
        );
    }
}

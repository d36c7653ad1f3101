//! The residual network driven by a path: one network per depth `L`, all sharing one limit.
//!
//! Layer `k = 1..L` has the weights
//! `V_k = L^{beta0} (X(k/L) - X((k-1)/L))` (the path's increment scaled to the network's
//! convention, `beta0` the driver's natural exponent) and, for `res3`, `W_k = W((k-1)/L)` (a
//! smooth path evaluated at the left end of the layer's interval), and the network runs
//! `h_k = h_{k-1} + L^{-beta} V_k act(W_k h_{k-1})` through the forward stack of a
//! [`Backend`] (the CPU one by default), a chunk of layers per call. With `beta = beta0` this
//! is `h_k = h_{k-1} + (X(k/L) - X((k-1)/L)) act(W_k h_{k-1})`: the Euler scheme of the
//! controlled equation `dH = dX act(W(t) H)` on the grid `{k/L}`.

use super::path::MatrixPath;
use super::smooth::FourierPath;
use crate::kernels::{Backend, CpuBackend, Keep, StackShape, StackWeights, Tape, ensure_len};
use crate::model::{Activation, BlockSpec};

/// Weight values of one tensor written per stack call (256 KB of `f64`, so that the chunk is
/// still in cache when the stack reads it): the layers of a deep network are run in chunks of
/// `LAYER_VALUES / d^2` layers.
const LAYER_VALUES: usize = 1 << 15;

/// A path-driven ResNet block structure (`res1` or `res3`, no bias).
#[derive(Clone, Copy, Debug)]
pub struct PathNet {
    /// The block: `res1` (`h + a V act(h)`) or `res3` (`h + a V act(W h)`).
    pub block: BlockSpec,
    /// The exponent `beta0` with `V_k = L^{beta0} * increment`.
    pub natural_beta: f64,
}

/// Buffers of [`PathNet::run`] in backend `B` (the weights of a chunk of layers, its tape and
/// scratch), reused across runs: they grow to the largest chunk seen, between stack calls, so
/// steady-state runs do not allocate.
#[derive(Debug)]
pub struct NetWorkspace<B: Backend<f64> = CpuBackend> {
    backend: B,
    v: B::Buffer,
    w: B::Buffer,
    alpha: B::Buffer,
    tape: Tape<B::Buffer>,
    scratch: B::Buffer,
    staging: [Vec<f64>; 3],
}

impl Default for NetWorkspace<CpuBackend> {
    fn default() -> Self {
        Self::new(CpuBackend::new())
    }
}

impl<B: Backend<f64>> NetWorkspace<B> {
    /// Empty buffers in `backend`.
    pub fn new(backend: B) -> Self {
        let empty = || backend.zeros(0);
        Self {
            v: empty(),
            w: empty(),
            alpha: empty(),
            tape: Tape {
                h0: empty(),
                h_last: empty(),
                pre: empty(),
                inputs: empty(),
            },
            scratch: empty(),
            staging: Default::default(),
            backend,
        }
    }

    /// Grows the buffers for chunks of `shape` (one network, one column).
    fn reserve(&mut self, block: &BlockSpec, shape: StackShape) {
        let b = &self.backend;
        let layers = shape.depth * shape.width * shape.width;
        let scratch = b.stack_scratch(block, shape);
        for (buf, len) in [
            (&mut self.v, layers),
            (&mut self.w, if block.inner { layers } else { 0 }),
            (&mut self.alpha, 1),
            (&mut self.tape.h0, shape.states()),
            (&mut self.tape.h_last, shape.states()),
            (&mut self.tape.pre, shape.tape()),
            (&mut self.tape.inputs, shape.tape()),
            (&mut self.scratch, scratch),
        ] {
            ensure_len(b, buf, len);
        }
    }
}

impl PathNet {
    /// A network with activation `activation`, inner matrices `W` when `inner` (`res3`).
    pub fn new(activation: Activation, inner: bool, natural_beta: f64) -> Self {
        let block = if inner {
            BlockSpec::res3(activation)
        } else {
            BlockSpec::res1(activation)
        };
        Self {
            block,
            natural_beta,
        }
    }

    /// Runs the depth-`depth` network with `alpha = depth^-beta` on `h` (width `d`, updated in
    /// place to `h_L`), driven by `x` (and by `w` for `res3`), calling `on_layer(k, h_k)` for
    /// `k = 0..=depth`. Returns `false` as soon as a hidden state is not finite (`h` then holds
    /// it, and `on_layer` has seen only the finite ones).
    #[allow(clippy::too_many_arguments)]
    pub fn run<B: Backend<f64>>(
        &self,
        x: &dyn MatrixPath,
        w: Option<&FourierPath>,
        depth: usize,
        beta: f64,
        h: &mut [f64],
        ws: &mut NetWorkspace<B>,
        mut on_layer: impl FnMut(usize, &[f64]),
    ) -> bool {
        let d = x.dim();
        assert_eq!(h.len(), d, "h must have the path's dimension");
        assert!(
            x.observes(depth),
            "the path cannot be observed at depth {depth}"
        );
        let w = match (self.block.inner, w) {
            (true, Some(w)) => Some(w),
            (true, None) => panic!("res3 needs an inner path W"),
            (false, _) => None,
        };
        let chunk = (LAYER_VALUES / (d * d)).clamp(1, depth.max(1));
        ws.reserve(
            &self.block,
            StackShape {
                networks: 1,
                depth: chunk,
                width: d,
                columns: 1,
                inner_width: d,
            },
        );
        let l = depth as f64;
        let vscale = l.powf(self.natural_beta);
        let NetWorkspace {
            backend,
            v,
            w: w_buf,
            alpha,
            tape,
            scratch,
            staging: [s0, s1, s2],
        } = ws;
        backend.write(alpha, 1, s0, |a| {
            a[0] = crate::train::net::residual_scale_f64(l, beta)
        });
        backend.write(&mut tape.h0, d, s0, |h0| h0.copy_from_slice(h));
        on_layer(0, h);
        let mut done = 0;
        while done < depth {
            let layers = chunk.min(depth - done);
            let shape = StackShape {
                networks: 1,
                depth: layers,
                width: d,
                columns: 1,
                inner_width: d,
            };
            // layer `done + j + 1` has V = L^beta0 (X((done + j + 1)/L) - X((done + j)/L))
            backend.write(v, layers * d * d, s0, |host| {
                for (j, vk) in host.chunks_exact_mut(d * d).enumerate() {
                    x.increment(depth, done + j + 1, vk);
                    for e in vk.iter_mut() {
                        *e *= vscale;
                    }
                }
            });
            if let Some(wp) = w {
                backend.write(w_buf, layers * d * d, s0, |host| {
                    for (j, wk) in host.chunks_exact_mut(d * d).enumerate() {
                        wp.value((done + j) as f64 / l, wk);
                    }
                });
            }
            let weights = StackWeights {
                v: &*v,
                w: w.is_some().then_some(&*w_buf),
                bias: None,
            };
            backend.forward_stack(
                &self.block,
                shape,
                weights,
                alpha,
                tape,
                Keep::PreAndInputs,
                scratch,
            );
            // h_{done + j} is the input of the chunk's layer j; the last state is h_last
            let inputs = backend.read(&tape.inputs, layers * d, s1);
            let last = backend.read(&tape.h_last, d, s2);
            for j in 1..=layers {
                let hk = if j < layers {
                    &inputs[j * d..(j + 1) * d]
                } else {
                    last
                };
                if !hk.iter().all(|v| v.is_finite()) {
                    h.copy_from_slice(hk);
                    return false;
                }
                on_layer(done + j, hk);
            }
            h.copy_from_slice(last);
            backend.copy(&tape.h_last, &mut tape.h0, d);
            done += layers;
        }
        true
    }
}

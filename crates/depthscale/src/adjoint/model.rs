//! The continuous-depth model `x -> h(0) = A x`, `dh/dt = V(t) act(W(t) h)` on `[0, 1]`,
//! logits `B h(1)`, softmax cross-entropy; its vector field on a batch and the field's
//! vector-Jacobian products.

use super::path::WeightPath;
use crate::model::Activation;

/// The continuous-depth network: embedding `A` (`d x n_in`), weight path, readout `B`
/// (`n_out x d`), all row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct OdeNet {
    /// Input dimension.
    pub n_in: usize,
    /// Number of outputs (classes).
    pub n_out: usize,
    /// `A`, `d x n_in` row-major.
    pub embed: Vec<f64>,
    /// `B`, `n_out x d` row-major.
    pub readout: Vec<f64>,
    /// The weights `V(t)`, `W(t)` of the field.
    pub path: WeightPath,
    /// The field's activation.
    pub activation: Activation,
}

/// The gradient of a loss with respect to every parameter of an [`OdeNet`] (same layouts).
#[derive(Clone, Debug, PartialEq)]
pub struct OdeGrads {
    /// `dloss/dA`.
    pub embed: Vec<f64>,
    /// `dloss/dB`.
    pub readout: Vec<f64>,
    /// `dloss/dtheta` of the weight path.
    pub path: Vec<f64>,
}

impl OdeGrads {
    /// Zeros shaped like `net`'s parameters.
    pub fn zeros(net: &OdeNet) -> Self {
        Self {
            embed: vec![0.0; net.embed.len()],
            readout: vec![0.0; net.readout.len()],
            path: vec![0.0; net.path.params().len()],
        }
    }

    /// Every value, embedding then readout then path.
    pub fn flat(&self) -> Vec<f64> {
        [&self.embed[..], &self.readout, &self.path].concat()
    }
}

impl OdeNet {
    /// The state dimension `d`.
    pub fn dim(&self) -> usize {
        self.path.dim()
    }

    /// Number of parameters (embedding, readout and path).
    pub fn n_params(&self) -> usize {
        self.embed.len() + self.readout.len() + self.path.params().len()
    }

    /// The `i`-th parameter in the order of [`OdeGrads::flat`], mutable.
    pub fn param_mut(&mut self, i: usize) -> &mut f64 {
        let (e, r) = (self.embed.len(), self.readout.len());
        if i < e {
            &mut self.embed[i]
        } else if i < e + r {
            &mut self.readout[i - e]
        } else {
            &mut self.path.params_mut()[i - e - r]
        }
    }

    /// `h(0) = A x` for `x` (`n_in x n`, column-major: each sample contiguous) into `h`.
    pub fn embed_into(&self, x: &[f64], h: &mut [f64]) {
        let d = self.dim();
        for (hc, xc) in h.chunks_exact_mut(d).zip(x.chunks_exact(self.n_in)) {
            for (o, row) in hc.iter_mut().zip(self.embed.chunks_exact(self.n_in)) {
                *o = dot(row, xc);
            }
        }
    }

    /// Mean cross-entropy of the logits `B h` against `labels`; writes `a = dloss/dh` and adds
    /// `dloss/dB` to `readout_grad`.
    ///
    /// # Panics
    /// If a label is `>= n_out`.
    pub fn loss_and_cotangent(
        &self,
        h: &[f64],
        labels: &[u8],
        a: &mut [f64],
        readout_grad: &mut [f64],
    ) -> f64 {
        let d = self.dim();
        let n = labels.len();
        let mut logits = vec![0.0; self.n_out];
        let mut loss = 0.0;
        for ((hc, ac), &y) in h.chunks_exact(d).zip(a.chunks_exact_mut(d)).zip(labels) {
            let y = usize::from(y);
            assert!(y < self.n_out, "label {y} out of range");
            for (l, row) in logits.iter_mut().zip(self.readout.chunks_exact(d)) {
                *l = dot(row, hc);
            }
            let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = logits.iter().map(|l| (l - max).exp()).sum();
            loss += sum.ln() + max - logits[y];
            ac.fill(0.0);
            for (j, (l, row)) in logits.iter().zip(self.readout.chunks_exact(d)).enumerate() {
                let dl = ((l - max).exp() / sum - f64::from(u8::from(j == y))) / n as f64;
                super::path::axpy(dl, row, ac);
                super::path::axpy(dl, hc, &mut readout_grad[j * d..(j + 1) * d]);
            }
        }
        loss / n as f64
    }

    /// Mean cross-entropy and accuracy of the logits `B h` against `labels`.
    pub fn loss_and_accuracy(&self, h: &[f64], labels: &[u8]) -> (f64, f64) {
        let d = self.dim();
        let mut logits = vec![0.0; self.n_out];
        let (mut loss, mut correct) = (0.0, 0usize);
        for (hc, &y) in h.chunks_exact(d).zip(labels) {
            for (l, row) in logits.iter_mut().zip(self.readout.chunks_exact(d)) {
                *l = dot(row, hc);
            }
            let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = logits.iter().map(|l| (l - max).exp()).sum();
            loss += sum.ln() + max - logits[usize::from(y)];
            let arg = (0..self.n_out)
                .max_by(|&i, &j| logits[i].total_cmp(&logits[j]))
                .unwrap_or(0);
            correct += usize::from(arg == usize::from(y));
        }
        let n = labels.len() as f64;
        (loss / n, correct as f64 / n)
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Scratch of field evaluations on a batch of `n` columns: the weights at the last time, the
/// pre-activations and activations, the weight cotangents.
#[derive(Clone, Debug)]
pub struct Field {
    d: usize,
    v: Vec<f64>,
    w: Vec<f64>,
    z: Vec<f64>,
    g: Vec<f64>,
    dv: Vec<f64>,
    dw: Vec<f64>,
    dz: Vec<f64>,
    /// `(t, seg)` of the weights in `v`, `w`.
    at: (f64, f64),
}

impl Field {
    /// Scratch for dimension `d` and batches of `n` columns.
    pub fn new(d: usize, n: usize) -> Self {
        Self {
            d,
            v: vec![0.0; d * d],
            w: vec![0.0; d * d],
            z: vec![0.0; d * n],
            g: vec![0.0; d * n],
            dv: vec![0.0; d * d],
            dw: vec![0.0; d * d],
            dz: vec![0.0; d],
            at: (f64::NAN, f64::NAN),
        }
    }

    /// Number of `f64` values held (for the memory accounting).
    pub fn values(&self) -> usize {
        self.v.len() * 4 + self.z.len() * 2 + self.dz.len()
    }

    fn load(&mut self, net: &OdeNet, t: f64, seg: f64) {
        if self.at != (t, seg) {
            net.path.eval(t, seg, &mut self.v, &mut self.w);
            self.at = (t, seg);
        }
    }

    /// `out = f(t, h) = V(t) act(W(t) h)` column by column (`seg`: the step's midpoint).
    pub fn eval(&mut self, net: &OdeNet, t: f64, seg: f64, h: &[f64], out: &mut [f64]) {
        self.load(net, t, seg);
        let d = self.d;
        let inner = net.path.has_inner();
        let act = net.activation;
        for (((hc, zc), gc), oc) in h
            .chunks_exact(d)
            .zip(self.z.chunks_exact_mut(d))
            .zip(self.g.chunks_exact_mut(d))
            .zip(out.chunks_exact_mut(d))
        {
            if inner {
                for (z, row) in zc.iter_mut().zip(self.w.chunks_exact(d)) {
                    *z = dot(row, hc);
                }
            } else {
                zc.copy_from_slice(hc);
            }
            for (g, z) in gc.iter_mut().zip(zc.iter()) {
                *g = act.apply(*z);
            }
            for (o, row) in oc.iter_mut().zip(self.v.chunks_exact(d)) {
                *o = dot(row, gc);
            }
        }
    }

    /// The vector-Jacobian products of the field at `(t, h)`, which must be the arguments of
    /// the last [`Field::eval`]: `hbar += scale_h J_h^T u` (column by column) and
    /// `grad += scale_theta (d f / d theta)^T u` summed over the columns.
    #[allow(clippy::too_many_arguments)]
    pub fn vjp(
        &mut self,
        net: &OdeNet,
        t: f64,
        seg: f64,
        h: &[f64],
        u: &[f64],
        scale_h: f64,
        hbar: &mut [f64],
        scale_theta: f64,
        grad: &mut [f64],
    ) {
        assert_eq!(self.at, (t, seg), "vjp must follow eval at the same time");
        let d = self.d;
        let inner = net.path.has_inner();
        let act = net.activation;
        self.dv.fill(0.0);
        self.dw.fill(0.0);
        for ((((hc, zc), gc), uc), bc) in h
            .chunks_exact(d)
            .zip(self.z.chunks_exact(d))
            .zip(self.g.chunks_exact(d))
            .zip(u.chunks_exact(d))
            .zip(hbar.chunks_exact_mut(d))
        {
            // dV += u g^T ; dz = (V^T u) * act'(z)
            self.dz.fill(0.0);
            for ((ui, vrow), dvrow) in uc
                .iter()
                .zip(self.v.chunks_exact(d))
                .zip(self.dv.chunks_exact_mut(d))
            {
                super::path::axpy(*ui, gc, dvrow);
                super::path::axpy(*ui, vrow, &mut self.dz);
            }
            for (dz, z) in self.dz.iter_mut().zip(zc) {
                *dz *= act.derivative(*z);
            }
            if inner {
                // dW += dz h^T ; hbar += W^T dz
                for ((dzi, wrow), dwrow) in self
                    .dz
                    .iter()
                    .zip(self.w.chunks_exact(d))
                    .zip(self.dw.chunks_exact_mut(d))
                {
                    super::path::axpy(*dzi, hc, dwrow);
                    super::path::axpy(scale_h * dzi, wrow, bc);
                }
            } else {
                super::path::axpy(scale_h, &self.dz, bc);
            }
        }
        net.path
            .pull_back(t, seg, scale_theta, &self.dv, &self.dw, grad);
    }
}

//! [`NetBatch`]: the parameters of `B` networks of one block and shape, resident in a
//! backend.

use super::backend::{Backend, StackGrads, StackShape, StackWeights, ensure_len};
use crate::model::{BlockSpec, Dims, ResNet, TensorKind, Tensors};
use crate::{Float, Result};

/// `networks` ResNets sharing a block and a shape, their five tensors held in backend `B`'s
/// storage, each tensor network after network (`[B, ...]`).
///
/// A batch can be [`NetBatch::reshape`]d to any shape that fits the storage it already has;
/// reshaping to a larger one grows the buffers (once, between stack calls, never inside one).
#[derive(Debug)]
pub struct NetBatch<T: Float, B: Backend<T>> {
    backend: B,
    block: BlockSpec,
    dims: Dims,
    networks: usize,
    params: Tensors<B::Buffer>,
    staging: Vec<T>,
}

impl<T: Float, B: Backend<T>> NetBatch<T, B> {
    /// `networks` (>= 1) all-zero networks.
    pub fn zeros(backend: B, block: BlockSpec, dims: Dims, networks: usize) -> Result<Self> {
        dims.validate_for(&block)?;
        let networks = networks.max(1);
        let params = Tensors::from_fn(|k| backend.zeros(networks * dims.tensor_len(&block, k)));
        Ok(Self {
            backend,
            block,
            dims,
            networks,
            params,
            staging: Vec::new(),
        })
    }

    /// A batch of one network, copied from the host.
    pub fn from_network(backend: B, net: &ResNet<T>) -> Result<Self> {
        let mut batch = Self::zeros(backend, net.block, net.dims, 1)?;
        batch.set_network(0, net);
        Ok(batch)
    }

    /// The backend holding the parameters.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// The residual block.
    pub fn block(&self) -> &BlockSpec {
        &self.block
    }

    /// The shape of every network.
    pub fn dims(&self) -> Dims {
        self.dims
    }

    /// The number of networks `B`.
    pub fn networks(&self) -> usize {
        self.networks
    }

    /// The shape of a stack call over the batch with `columns` columns per network.
    pub fn stack_shape(&self, columns: usize) -> StackShape {
        StackShape {
            networks: self.networks,
            depth: self.dims.depth,
            width: self.dims.width,
            columns,
            inner_width: self.dims.inner_width,
        }
    }

    /// Values of tensor `kind` per network.
    pub fn tensor_len(&self, kind: TensorKind) -> usize {
        self.dims.tensor_len(&self.block, kind)
    }

    /// The parameter buffers.
    pub fn params(&self) -> &Tensors<B::Buffer> {
        &self.params
    }

    /// The parameter buffers, mutably.
    pub fn params_mut(&mut self) -> &mut Tensors<B::Buffer> {
        &mut self.params
    }

    /// The residual weights, as a stack call reads them.
    pub fn weights(&self) -> StackWeights<'_, B::Buffer> {
        weights_of(&self.block, &self.params)
    }

    /// Makes this a batch of `networks` (>= 1) networks of shape `dims` (same block), growing
    /// the buffers if they are too small. The values are then unspecified until written.
    pub fn reshape(&mut self, dims: Dims, networks: usize) -> Result<()> {
        dims.validate_for(&self.block)?;
        let networks = networks.max(1);
        for kind in TensorKind::ALL {
            let need = networks * dims.tensor_len(&self.block, kind);
            ensure_len(&self.backend, self.params.get_mut(kind), need);
        }
        self.dims = dims;
        self.networks = networks;
        Ok(())
    }

    /// Lets `f` write tensor `kind` of every network on the host (`[B, ...]`, network after
    /// network; see [`Backend::write`]); `f` must write every value.
    pub fn write<R>(&mut self, kind: TensorKind, f: impl FnOnce(&mut [T]) -> R) -> R {
        let len = self.networks * self.tensor_len(kind);
        self.backend
            .write(self.params.get_mut(kind), len, &mut self.staging, f)
    }

    /// Copies the host network `net` (same block and shape) into slot `b`.
    ///
    /// # Panics
    /// If `b` is out of range or `net`'s block or shape differ.
    pub fn set_network(&mut self, b: usize, net: &ResNet<T>) {
        assert!(b < self.networks, "network {b} of {}", self.networks);
        assert!(
            net.block == self.block && net.dims == self.dims,
            "the network's block or shape differs from the batch's"
        );
        for kind in TensorKind::ALL {
            let len = self.tensor_len(kind);
            self.backend
                .upload(net.params.get(kind), self.params.get_mut(kind), b * len);
        }
    }

    /// A host copy of network `b`.
    ///
    /// # Panics
    /// If `b` is out of range.
    pub fn network(&self, b: usize) -> ResNet<T> {
        assert!(b < self.networks, "network {b} of {}", self.networks);
        let mut net = ResNet::zeros(self.block, self.dims).expect("validated shape");
        for kind in TensorKind::ALL {
            let len = self.tensor_len(kind);
            self.backend
                .download(self.params.get(kind), b * len, net.params.get_mut(kind));
        }
        net
    }
}

/// The residual weights of `params` for `block`.
pub fn weights_of<'a, S>(block: &BlockSpec, params: &'a Tensors<S>) -> StackWeights<'a, S> {
    StackWeights {
        v: &params.v,
        w: block.inner.then_some(&params.w),
        bias: block.has_bias().then_some(&params.bias),
    }
}

/// The residual-weight gradient accumulators of `grads` for `block` (see
/// [`StackGrads::written`] to write them instead).
pub fn grads_of<'a, S>(block: &BlockSpec, grads: &'a mut Tensors<S>) -> StackGrads<'a, S> {
    StackGrads {
        v: &mut grads.v,
        w: block.inner.then_some(&mut grads.w),
        bias: block.has_bias().then_some(&mut grads.bias),
        accumulate: true,
    }
}

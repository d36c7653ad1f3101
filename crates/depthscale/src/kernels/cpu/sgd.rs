//! The SGD element loops (PyTorch's `torch.optim.SGD` without dampening, weight decay or
//! Nesterov): re-sliced so bounds checks vanish and the loops vectorize.

use crate::Float;
use crate::kernels::SgdCoeffs;

/// `buf <- momentum buf + g` (`buf <- g` on the first step), then `p <- p - lr buf`, over
/// equal-length slices. PyTorch writes the update `p.add_(buf, alpha=-lr)`: `p + (-lr) buf`
/// and `p - lr buf` are the same IEEE operation.
#[inline(never)]
pub(super) fn momentum_elements<T: Float>(c: &SgdCoeffs<T>, p: &mut [T], g: &[T], buf: &mut [T]) {
    let n = p.len();
    let (g, buf) = (&g[..n], &mut buf[..n]);
    if c.first {
        buf.copy_from_slice(g);
    } else {
        for i in 0..n {
            buf[i] = c.momentum * buf[i] + g[i];
        }
    }
    for i in 0..n {
        p[i] -= c.lr * buf[i];
    }
}

/// `p <- p - lr g` over equal-length slices.
#[inline(never)]
pub(super) fn plain_elements<T: Float>(c: &SgdCoeffs<T>, p: &mut [T], g: &[T]) {
    let n = p.len();
    let g = &g[..n];
    for i in 0..n {
        p[i] -= c.lr * g[i];
    }
}

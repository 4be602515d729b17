"""Functions composed from the primitives in functions.py: no VJPs here, autograd derives them."""

from __future__ import annotations

import builtins
import math

from tinygrad_rnn import backend
from tinygrad_rnn import functions as F
from tinygrad_rnn.indexing import getitem
from tinygrad_rnn.tensor import Tensor


def mean(x: Tensor, axis=None, keepdims: bool = False, **kw) -> Tensor:
    """Σ x / n over ``axis`` (NaN where n = 0, as in PyTorch)."""
    axis, keepdims = F._axis_alias(axis, keepdims, kw)
    axes = F.normalize_axes(axis, x.ndim, "mean")
    if x.ndim == 0:  # dim=0 or -1 of a 0-d tensor: the tensor itself
        axes = None
    count = x.data.size if axes is None else math.prod(x.shape[a] for a in axes)
    return F.sum(x, axes, keepdims) * (1.0 / count if count else math.nan)


def amin(x: Tensor, axis=None, keepdims: bool = False, **kw) -> Tensor:
    """The smallest values over ``axis`` (values only, like torch.amin; its own op, exact for
    unsigned integers too)."""
    return F.amin(x, axis, keepdims, **kw)


def min(x: Tensor, dim=None, keepdim: bool = False, **kw):
    """PyTorch's rule, as :func:`functions.max`: ``min(x)`` a 0-d Tensor, ``min(x, dim)`` the
    named tuple ``(values, indices)``, ``min(x, other_tensor)`` elementwise."""
    return F._extreme("min", x, dim, keepdim, kw)


def minimum(x, y) -> Tensor:
    """Elementwise min (its own op, exact for unsigned integers too)."""
    return F.minimum(x, y)


def rpow(base, x: Tensor) -> Tensor:
    """bˣ for a Python number b: ∂/∂x = bˣ log b, as torch.pow(b, x) (0 where b = 0 ≤ x;
    a negative base has real values at integral x and NaN gradients)."""
    if isinstance(base, float) and not backend.is_float(x.dtype):
        x = F.cast(x, backend.DEFAULT_FLOAT)  # PyTorch's promotion: an integer tensor, a float
    return F.pow(Tensor(base, dtype=x.dtype, device=x.device), x)


def transpose(x: Tensor, dim0: int = 0, dim1: int = 1) -> Tensor:
    """Swap two axes (PyTorch's transpose; permute reorders all of them)."""
    axes = list(range(x.ndim))
    d0 = F.normalize_axes(dim0, x.ndim, "transpose")[0]
    d1 = F.normalize_axes(dim1, x.ndim, "transpose")[0]
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return F.permute(x, axes)


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """Insert an axis of size 1 at ``dim``."""
    dim = F.normalize_axes(dim, x.ndim + 1, "unsqueeze")[0]
    return F.reshape(x, x.shape[:dim] + (1,) + x.shape[dim:])


def squeeze(x: Tensor, dim=None) -> Tensor:
    """Drop axes of size 1 (all of them, or only ``dim``: an int or a tuple of them)."""
    if dim is None:
        return F.reshape(x, tuple(n for n in x.shape if n != 1))
    axes = F.normalize_axes(dim, x.ndim, "squeeze")  # every axis of a tuple, not only its first
    shape = tuple(n for i, n in enumerate(x.shape) if n != 1 or i not in axes)
    if x.ndim == 0 or len(shape) == x.ndim:  # a 0-d tensor accepts dim 0 / -1 (as in PyTorch)
        return x
    return F.reshape(x, shape)


def split(x: Tensor, split_size, axis: int = 0, **kw) -> tuple:
    """Pieces of ``split_size`` along ``axis`` (the last may be smaller), or of the given sizes."""
    axis, _ = F._axis_alias(axis, False, kw)
    axis = F.normalize_axes(axis, x.ndim, "split")[0]
    n = x.shape[axis]
    if isinstance(split_size, int):
        if split_size <= 0:
            raise ValueError(f"split: split_size must be positive, got {split_size}")
        sizes = [split_size] * (n // split_size) + ([n % split_size] if n % split_size else [])
    else:
        sizes = list(split_size)
        if builtins.sum(sizes) != n:
            raise F.ShapeError(f"split{F.where_scope()}: sizes {sizes} do not add up to {n}, the size "
                             f"of axis {axis} of shape {tuple(x.shape)}")
    pieces, start = [], 0
    for size in sizes:
        pieces.append(getitem(x, (slice(None),) * axis + (slice(start, start + size),)))
        start += size
    return tuple(pieces)


def chunk(x: Tensor, chunks: int, axis: int = 0, **kw) -> tuple:
    """``chunks`` nearly equal pieces along ``axis`` (PyTorch's chunk)."""
    axis, _ = F._axis_alias(axis, False, kw)
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    n = x.shape[F.normalize_axes(axis, x.ndim, "chunk")[0]]
    return split(x, max(1, -(-n // chunks)), axis)


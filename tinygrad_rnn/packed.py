"""A right operand multiplied at every time step, laid out once for the BLAS: h_{t−1} W_hhᵀ.

A recurrent layer computes h_{t−1} W_hhᵀ at each of its T steps with the same W_hhᵀ, which
is a transposed view of the parameter W_hh (PyTorch's layout, hidden × input). NumPy hands
such a product to OpenBLAS as "A · Bᵀ", and for the thin products of a recurrence (a batch
of 4–64 rows) that kernel is much slower than "A · B" with B contiguous: 33 µs against 9 µs
at 8 × 128 by 128 × 512, 213 µs against 148 µs at 32 × 256 by 256 × 1024, 1.28 ms against
1.06 ms at 64 × 512 by 512 × 2048 (CPU time, one thread; ``benchmarks/README.md``).

So a layer packs W_hhᵀ once per forward pass (a C-contiguous copy of its array) and each
step multiplies by the copy. In the graph nothing changes: the step's node is an ordinary
``matmul`` of h_{t−1} and W_hhᵀ (same name, same inputs, same VJPs), and its backward uses
the transposed view as before, ∂h_{t−1} = G (W_hhᵀ)ᵀ = G W_hh, which is already the fast
"A · B" form. The copy is an attribute of the step's node, made from the values the product
reads, so it cannot go stale: the forward of one layer call is the only place it is used.

Packing pays only where the copy (0.15 ms for 256 × 1024, 0.8 ms for 512 × 2048) costs less than
what the steps save: not for a batch of 1 (``A · Bᵀ`` with one row is as fast), nor on the GPU
(cuBLAS reads either layout at the same speed).
"""

from __future__ import annotations

from typing import NamedTuple

from tinygrad_rnn import backend
from tinygrad_rnn.apply import apply2
from tinygrad_rnn.ops import MATMUL, Op
from tinygrad_rnn.tensor import Tensor

MIN_ROWS = 4    # a thinner product gains too little per step to pay for the copy
MIN_USES = 8    # fewer steps than this and the copy may cost more than they save


class Packed(NamedTuple):
    """W_hhᵀ as a layer's steps use it: the tensor (what the graph records) and a C-contiguous
    copy of its array (what the forward products read), or None where packing does not pay.

    The steps' nodes share one attribute dict holding the copy, emptied after the last of the
    ``uses`` products: backward reads the view, so a graph kept after its backward (a list of
    losses) does not keep a copy of W_hh per layer call."""

    tensor: Tensor
    array: object
    attrs: dict | None = None   # {"packed": array} until the last product, then {}
    left: list | None = None    # [products still to come]


def pack(W_T: Tensor, rows: int, uses: int) -> Packed:
    """Pack the right operand of ``uses`` products with ``rows`` rows each, if that pays."""
    a = W_T.data
    if (rows < MIN_ROWS or uses < MIN_USES or a.ndim != 2 or a.flags.c_contiguous
            or backend.device_of(a) != "cpu"):
        return Packed(W_T, None)
    array = backend.c_contiguous(a)
    return Packed(W_T, array, {"packed": array}, [uses])


def _forward(x, y, packed):
    return x.dot(packed) if x.ndim == 2 else x @ packed


# the same VJPs as matmul's (they take and ignore ``packed``): backward reads the view W_hhᵀ
MATMUL_PACKED = Op("matmul", _forward, MATMUL.vjps, saves="in", broadcasts=True)


def matmul(x: Tensor, W_T: Tensor | Packed) -> Tensor:
    """x W_hhᵀ: the recorded product of ``x`` and ``W_T`` (a Tensor, or a :class:`Packed` one
    whose contiguous copy the forward multiplies by; the values are the same)."""
    if type(W_T) is not Packed:
        return x @ W_T
    attrs = W_T.attrs
    if not attrs or type(x.data) is not type(W_T.array) or x.dtype != W_T.array.dtype:
        return x @ W_T.tensor  # unpacked (or used up), or operands the plain product promotes
    out = apply2(MATMUL_PACKED, x, W_T.tensor, attrs)
    W_T.left[0] -= 1
    if W_T.left[0] <= 0:
        attrs.clear()  # the last product: no node needs the copy any more
    return out


def unpacked(W_T: Tensor | Packed) -> Tensor:
    """The tensor itself (for a step that slices W_hhᵀ instead of multiplying by all of it)."""
    return W_T.tensor if type(W_T) is Packed else W_T

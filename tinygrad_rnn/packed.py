"""A right operand multiplied at every time step, laid out once for the BLAS: h_{t−1} W_hhᵀ.

A recurrent layer computes h_{t−1} W_hhᵀ at each of its T steps with the same W_hhᵀ, which
is a transposed view of the parameter W_hh (PyTorch's layout, hidden × input). NumPy hands
such a product to OpenBLAS as "A · Bᵀ", and for the thin products of a recurrence (a batch
of 4–64 rows) that kernel is much slower than "A · B" with B contiguous: 34 µs against 11 µs
at 8 × 128 by 128 × 512, 243 µs against 163 µs at 32 × 256 by 256 × 1024, 1.32 ms against
1.09 ms at 64 × 512 by 512 × 2048 (CPU time, one thread; ``benchmarks/bench_packed.py``).

So a layer packs W_hhᵀ once per forward pass (a C-contiguous copy of its array) and each
step multiplies by the copy. In the graph nothing changes: the step's node is an ordinary
``matmul`` of h_{t−1} and W_hhᵀ (same name, same inputs, same VJPs), and its backward uses
the transposed view as before, ∂h_{t−1} = G (W_hhᵀ)ᵀ = G W_hh, which is already the fast
"A · B" form. The copy is handed to the step's forward as an attribute and dropped from the
node as soon as the forward has run, so nothing keeps it after the layer call, and it cannot
go stale. A whole training step gains less than the products (2–6 %, ``benchmarks/README.md``).

Packing pays only where the copy (0.2 ms for 256 × 1024, 1.1 ms for 512 × 2048) costs less than
what the steps save: not for a batch of 1 (``A · Bᵀ`` with one row is nearly as fast), nor on
the GPU (cuBLAS reads either layout at the same speed).

The fused LSTM step (``fused=True``) also takes its gates here: gates_t = xw[t] + h_{t−1} W_hhᵀ
as one recorded op (:func:`gates`) instead of getitem, matmul and add.
"""

from __future__ import annotations

from typing import NamedTuple

from tinygrad_rnn import backend
from tinygrad_rnn.apply import WithSaved, apply, apply2
from tinygrad_rnn.ops import MATMUL, Op, _matmul_dx, _matmul_dy, _scatter
from tinygrad_rnn.tensor import Tensor

MIN_ROWS = 4    # a thinner product gains too little per step to pay for the copy
MIN_USES = 8    # fewer steps than this and the copy may cost more than they save


class Packed(NamedTuple):
    """W_hhᵀ as a layer's steps use it: the tensor (what the graph records) and a C-contiguous
    copy of its array (what the forward products read), or None where packing does not pay."""

    tensor: Tensor
    array: object


def pack(W_T: Tensor, rows: int, uses: int) -> Packed:
    """Pack the right operand of ``uses`` products with ``rows`` rows each, if that pays."""
    a = W_T.data
    if (rows < MIN_ROWS or uses < MIN_USES or a.ndim != 2 or a.flags.c_contiguous
            or backend.device_of(a) != "cpu"):
        return Packed(W_T, None)
    return Packed(W_T, backend.c_contiguous(a))


def copy_for(x: Tensor, W_T: Tensor | Packed):
    """The packed copy to multiply ``x`` by, or None (not packed, or operands of other kinds,
    which the plain product promotes or refuses)."""
    if type(W_T) is not Packed or W_T.array is None:
        return None
    a = W_T.array
    return a if type(x.data) is type(a) and x.dtype == a.dtype else None


def apply_dropping(op, inputs: tuple, attrs: dict) -> Tensor:
    """Record ``op`` with ``attrs``, then drop the packed copy from the node's attributes:
    only the forward reads it (backward reads the view), and nodes outlive backward, so a graph
    kept afterwards (a list of losses) would otherwise keep a copy of W_hh per layer call."""
    out = apply(op, *inputs, **attrs) if len(inputs) != 2 else apply2(op, *inputs, attrs)
    if out._node is not None and out._node.op is op:
        out._node.attrs.pop("packed", None)  # the forward has run
    return out


def _forward(x, y, packed):
    return x.dot(packed) if x.ndim == 2 else x @ packed


# the same VJPs as matmul's (they take and ignore ``packed``): backward reads the view W_hhᵀ
MATMUL_PACKED = Op("matmul", _forward, MATMUL.vjps, saves="in", broadcasts=True)


def matmul(x: Tensor, W_T: Tensor | Packed) -> Tensor:
    """x W_hhᵀ: the recorded product of ``x`` and ``W_T`` (a Tensor, or a :class:`Packed` one
    whose contiguous copy the forward multiplies by; the values are the same)."""
    copy = copy_for(x, W_T)
    if copy is None:
        return x @ unpacked(W_T)
    return apply_dropping(MATMUL_PACKED, (x, W_T.tensor), {"packed": copy})


def unpacked(W_T: Tensor | Packed) -> Tensor:
    """The tensor itself (for a step that slices W_hhᵀ instead of multiplying by all of it)."""
    return W_T.tensor if type(W_T) is Packed else W_T


# ---- the fused step's gates: xw[t] + h_{t−1} W_hhᵀ as one node ---------------------------------


class Row(NamedTuple):
    """Row t of a layer's input projection xw (T × B × 4H), not yet taken. A fused LSTM step
    reads it in its gates op, so gates_t = xw[t] + h_{t−1} W_hhᵀ is one recorded node instead
    of three (getitem, matmul, add): at batch 1 a node costs more than its arithmetic."""

    xw: Tensor
    t: int


def _gates_forward(xw, h, W_T, t, shape, packed=None):
    # the primitive step's numbers to the last bit: xw[t] + (h W_hhᵀ), the product as matmul's
    return WithSaved(xw[t] + h.dot(W_T if packed is None else packed), keep=(False, True, True))


GATES = Op("lstm_gates", _gates_forward, (
    lambda g, out, xw, h, W_T, t, shape, packed=None: _scatter(g, None, None, t, shape, True),
    lambda g, out, xw, h, W_T, t, shape, packed=None: _matmul_dx(g, None, h, W_T),
    lambda g, out, xw, h, W_T, t, shape, packed=None: _matmul_dy(g, None, h, W_T)),
    saves="in")  # saves h_{t−1} and W_hhᵀ; of xw only its shape (an attribute)


def gates(xw: Tensor | Row, h: Tensor, W_T: Tensor | Packed) -> Tensor:
    """gates_t = xw_t + h_{t−1} W_hhᵀ: one node for a :class:`Row` of a layer's projection (the
    fused step), else the primitive ops (a cell's own xw_t)."""
    if type(xw) is not Row:
        return xw + matmul(h, W_T)
    whole, t = xw
    W = unpacked(W_T)
    if h.ndim != 2 or not (type(whole.data) is type(h.data) is type(W.data)) or \
            not whole.dtype == h.dtype == W.dtype:
        return whole[t] + matmul(h, W_T)  # other kinds of operands: the primitive path's checks
    attrs = {"t": t, "shape": whole.data.shape}
    copy = copy_for(h, W_T)
    if copy is not None:
        attrs["packed"] = copy
    return apply_dropping(GATES, (whole, h, W), attrs)

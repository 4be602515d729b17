"""Indexing: ``x[index]``, ``x[index] = value`` and ``embedding``, with PyTorch's rules.

An index may hold Python ints and slices, ``None``, ``...``, and integer or boolean Tensors,
lists and arrays; :func:`_normalize_index` turns the latter into arrays on x's device (and,
on the GPU, checks them against their axis without a sync). The ops themselves are the
table's ``GETITEM``, ``EMBEDDING`` and ``SETITEM``: the gradient of ``x[index]`` scatters g
back into x's shape, and ``x[index] = value`` is the one in-place op that is recorded.
"""

from __future__ import annotations

import builtins

from tinygrad_rnn import backend
from tinygrad_rnn.apply import _NONE3, _op_error, apply1, where_scope
from tinygrad_rnn.errors import IndexOutOfRange
from tinygrad_rnn.modes import state
from tinygrad_rnn.ops import EMBEDDING, GETITEM, SETITEM, _setitem_forward, is_basic, raw
from tinygrad_rnn.tensor import Tensor, record
from tinygrad_rnn.writes import mark_written


def _normalize_index(index, device: str, shape: tuple = ()):
    """Tensors, lists and arrays inside an index become integer/bool arrays on ``device``.

    On the GPU, integer arrays are also checked against their axis of ``shape`` (CuPy would
    wrap an out-of-range index around; NumPy raises): host arrays now, device arrays on the
    device with the result read at the next host read (no sync; see backend.check_index).
    """
    parts = index if type(index) is tuple else (index,)
    fixed = []
    for p in parts:
        if isinstance(p, Tensor):
            p = p.data
        elif isinstance(p, list) or (backend.is_scalar(p) and not isinstance(p, (int, bool))):
            p = backend.host_asarray(p)
        if backend.is_array(p) and p.dtype.kind == "f":
            raise IndexOutOfRange(f"getitem{where_scope()}: index arrays must be integer or "
                                  f"boolean, got {p.dtype}")
        fixed.append(p)
    if device != "cpu":
        _check_index_arrays(fixed, shape)
        fixed = [backend.to_array(p, device) if backend.is_array(p) else p for p in fixed]
    return tuple(fixed) if type(index) is tuple else fixed[0]


def _torch_order(index):
    """PyTorch's reading of an index that mixes integers with index arrays, as two steps.

    NumPy counts an integer as an advanced index once an array is present, and when the
    advanced indices are not side by side (``x[0, :, [0, 1]]``) it moves their dimensions to
    the front: shape (2, 3) for x of shape (2, 3, 4). PyTorch first applies the integers as
    basic indices (they remove their dimensions), then the arrays: ``x[0][:, [0, 1]]``, shape
    (3, 2). Returns ``(first, rest)`` for ``x[first][rest]`` where the two readings can differ,
    None where NumPy's is already PyTorch's.
    """
    if type(index) is not tuple:
        return None
    kinds = []  # "int", "array" (advanced, not an integer) or "basic" for each part
    for p in index:
        if type(p) is int or (backend.is_array(p) and p.ndim == 0 and p.dtype.kind in "iu"):
            kinds.append("int")  # a 0-d integer array/Tensor is an integer to PyTorch too
        elif type(p) is bool or backend.is_array(p):
            kinds.append("array")
        else:
            kinds.append("basic")
    if "int" not in kinds or "array" not in kinds:
        return None
    advanced = [i for i, k in enumerate(kinds) if k != "basic"]
    if advanced[-1] - advanced[0] + 1 == len(advanced):
        return None  # side by side: NumPy keeps them in place, the same shape as PyTorch's
    first, rest = [], []
    for p, k in zip(index, kinds):
        if k == "int":
            first.append(int(p))
        elif k == "array":  # kept for the second step; the first passes the dimension(s)
            # an integer array indexes one axis, a boolean mask p.ndim axes, a Python bool none
            axes = 0 if type(p) is bool else p.ndim if p.dtype.kind == "b" else 1
            first.extend([slice(None)] * axes)
            rest.append(p)
        elif p is None:  # the new axis is made in the second step only
            rest.append(p)
        else:  # a slice (applied in the first step, passed whole in the second) or Ellipsis
            first.append(p)
            rest.append(p if p is Ellipsis else slice(None))
    return tuple(first), tuple(rest)


def _check_index_arrays(parts: list, shape: tuple) -> None:
    """Check each integer index array against the axis it indexes (basic parts skipped)."""
    def width(p):  # how many axes of x a part consumes
        if p is None or p is Ellipsis:
            return 0
        return p.ndim if backend.is_array(p) and p.dtype.kind == "b" else 1
    axis = 0
    for p in parts:
        if p is Ellipsis:
            axis += len(shape) - builtins.sum(width(q) for q in parts)  # not our tensor sum
            continue
        if backend.is_array(p) and p.dtype.kind in "iu" and axis < len(shape):
            where = f"for axis {axis} of size {shape[axis]} (shape {tuple(shape)})"
            backend.check_index(p, shape[axis], IndexOutOfRange,
                                f"getitem{where_scope()}: an index array holds values in "
                                f"[{{lo}}, {{hi}}], out of range {where}",
                                f"getitem{where_scope()}: an index array on the GPU held a value "
                                f"out of range {where} (found by a device-side check)")
        axis += width(p)


def getitem(x: Tensor, index) -> Tensor:
    """x[index] with ints, slices, None, Ellipsis, integer or boolean arrays.

    Shapes follow PyTorch where NumPy's differ: integers mixed with index arrays are applied
    first, as basic indices (see :func:`_torch_order`). Repeated integer indices accumulate
    their gradients (a scatter-add in backward).
    """
    basic = is_basic(index)
    if not basic:
        index = _normalize_index(index, backend.device_of(x.data), x.data.shape)
        if type(index) is tuple:
            steps = _torch_order(index)
            if steps is not None:
                return getitem(getitem(x, steps[0]), steps[1])
    return apply1(GETITEM, x, {"index": index, "shape": x.data.shape, "basic": basic})


def embedding(weight: Tensor, indices) -> Tensor:
    """Rows of ``weight`` picked by integer ``indices``: out[..., :] = weight[indices[...], :].

    The indices must satisfy 0 ≤ i < rows (a negative index is an error, as in PyTorch).
    Host indices are checked before the upload; indices already on the GPU are checked on the
    device and the result is read at the next host read (no sync per step).
    """
    idx = raw(indices)
    if not backend.is_array(idx):
        idx = backend.host_asarray(idx)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding{where_scope()}: indices must be integers, got {idx.dtype}")
    rows = weight.shape[0]
    backend.check_index(idx, rows, IndexOutOfRange,
                        f"embedding{where_scope()}: indices range over [{{lo}}, {{hi}}] but the "
                        f"table has {rows} rows",
                        f"embedding{where_scope()}: indices on the GPU held a value outside "
                        f"[0, {rows - 1}]: the table has {rows} rows (found by a device-side "
                        f"check)", negative=False)
    idx = backend.to_array(idx, weight.device)
    return apply1(EMBEDDING, weight, {"index": idx, "shape": weight.shape, "basic": False})


def setitem(x: Tensor, index, value) -> None:
    """``x[index] = value`` as PyTorch does it: in place, and recorded when a gradient flows.

    Recorded (x's node becomes a ``setitem`` node) when grad mode is on and ``value`` requires
    grad or x is a computed tensor: ∂/∂x is g with zeros at ``index``, ∂/∂value is g[index]
    summed back to value's shape. A leaf that requires grad is refused (as PyTorch), and any
    op that saved x's old values for backward raises there (see ``writes.mark_written``).
    """
    v_is_t = isinstance(value, Tensor)
    if v_is_t and type(value.data) is not type(x.data):
        raise backend.DeviceError(f"x[...] = value{where_scope()}: tensors on different devices "
                                  f"({x.device} and {value.device}); move one with .to()")
    if not v_is_t and not isinstance(value, (int, float, bool)):  # lists, NumPy arrays
        value = backend.to_array(value, x.device, x.dtype)
    vd = value.data if v_is_t else value
    vnode = value._node if v_is_t else None
    node = x._node
    record_it = state().grad_enabled and (vnode is not None or node is not None)
    if record_it and node is not None and node.op is None:
        raise RuntimeError(
            "a leaf tensor that requires grad is being used in an in-place operation (in-place "
            "assignment x[...] = value): it would change a parameter behind autograd's back and "
            "corrupt the recorded graph. Update it inside `with tg.no_grad():` (as optimizers "
            "do), or assign into a copy: y = x.clone(); y[...] = value (or build a new tensor "
            "with where or cat)")
    if record_it and x.data.base is not None:
        raise RuntimeError(
            "x[...] = value with gradients needs x to own its memory, but x is a view of "
            "another tensor (made by slicing, reshape or transpose): that tensor's values would "
            "change without its graph knowing. Assign through the tensor itself (h[0, 1] = v, "
            "not h[0][1] = v), or clone() x first")
    xd = x.data
    try:
        _setitem_forward(xd, vd, index, None)
    except (ValueError, IndexError, TypeError) as err:
        raise _op_error(SETITEM, (x, value), {"index": index}, err) from None
    mark_written(xd)
    if not record_it:
        return
    inputs = (node if node is not None else Tensor._wrap(xd),
              vnode if vnode is not None else value)
    vdtype = vd.dtype if v_is_t else xd.dtype
    new = record(SETITEM, inputs, _NONE3, {"index": index, "vdtype": vdtype}, xd)._node
    new.name = x._name
    x._node = new



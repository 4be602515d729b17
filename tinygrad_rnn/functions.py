"""The public functions of the primitive ops: check the arguments, then apply the op.

Each function here validates what the user passed (axes, shapes, index types, dtypes) and
calls :func:`tinygrad_rnn.ops.apply1` / ``apply2`` / ``apply`` with the op from the table in
``ops.py``. Tensor's operators and methods are these functions.
"""

from __future__ import annotations

from tinygrad_rnn import backend
from tinygrad_rnn.ops import (
    ABS,
    ADD,
    CAST,
    CAT,
    CLIP,
    DIV,
    EMBEDDING,
    EXP,
    EXPAND,
    GETITEM,
    LOG,
    LOG_SOFTMAX,
    MATMUL,
    MAX,
    MAXIMUM,
    MUL,
    NEG,
    PERMUTE,
    POW,
    RELU,
    RESHAPE,
    SIGMOID,
    SOFTMAX,
    SQRT,
    STACK,
    SUB,
    SUM,
    TANH,
    TO_DEVICE,
    WHERE,
    IndexOutOfRange,
    Op,
    ShapeError,
    _promote,
    apply,
    apply1,
    apply2,
    is_basic,
    raw,
    where_scope,
)
from tinygrad_rnn.tensor import Tensor


def add(x, y) -> Tensor:
    return apply2(ADD, x, y)


def sub(x, y) -> Tensor:
    return apply2(SUB, x, y)


def mul(x, y) -> Tensor:
    return apply2(MUL, x, y)


def div(x, y) -> Tensor:
    return apply2(DIV, x, y)


def neg(x: Tensor) -> Tensor:
    return apply1(NEG, x)


def pow(x: Tensor, exponent) -> Tensor:
    """x ** p for a Python number p (a tensor exponent goes through exp(p · log x))."""
    if isinstance(exponent, Tensor):
        return exp(log(x) * exponent)
    return apply1(POW, x, {"p": exponent})


def maximum(x, y) -> Tensor:
    """Elementwise max; on ties each side gets half the gradient (as in PyTorch)."""
    return apply2(MAXIMUM, x, y)


def where(cond, x, y) -> Tensor:
    """Elementwise ``x if cond else y``; ``cond`` is a boolean tensor or array (no gradient).

    A NumPy/list ``cond`` is copied to x's device; a ``cond`` Tensor on another device is an
    error (as in PyTorch), except a 0-d one.
    """
    if isinstance(x, Tensor) or isinstance(y, Tensor):
        x, y = _promote(WHERE, x, y)
    else:
        raise TypeError("where needs at least one Tensor among x and y")
    device = (x if isinstance(x, Tensor) else y).device
    if isinstance(cond, Tensor) and cond.ndim and cond.device != device:
        raise backend.DeviceError(f"where{where_scope()}: the condition is on {cond.device} but "
                                  f"x and y are on {device}; move it with .to({device!r})")
    cond = backend.to_array(raw(cond), device)
    return apply2(WHERE, x, y, {"cond": cond.astype(bool, copy=False)})


def exp(x: Tensor) -> Tensor:
    return apply1(EXP, x)


def log(x: Tensor) -> Tensor:
    return apply1(LOG, x)


def tanh(x: Tensor) -> Tensor:
    return apply1(TANH, x)


def sigmoid(x: Tensor) -> Tensor:
    """σ(x) = 1 / (1 + e^−x), computed without overflow."""
    return apply1(SIGMOID, x)


def relu(x: Tensor) -> Tensor:
    return apply1(RELU, x)


def abs(x: Tensor) -> Tensor:
    return apply1(ABS, x)


def sqrt(x: Tensor) -> Tensor:
    return apply1(SQRT, x)


def clip(x: Tensor, min=None, max=None) -> Tensor:
    """Clamp into [min, max]; the gradient passes where min ≤ x ≤ max (as torch.clamp)."""
    if min is None and max is None:
        raise ValueError("clip needs min, max or both")
    return apply1(CLIP, x, {"lo": min, "hi": max})


def cast(x: Tensor, dtype) -> Tensor:
    return apply1(CAST, x, {"dtype": backend.as_dtype(dtype), "in_dtype": x.dtype})


def to_device(x: Tensor, device: str) -> Tensor:
    return apply1(TO_DEVICE, x, {"device": backend.check_device(device), "in_device": x.device})


def matmul(x, y) -> Tensor:
    """Matrix product with NumPy's rules: 1-D, 2-D and batched (broadcast) operands."""
    if not (isinstance(x, Tensor) and isinstance(y, Tensor)):
        x, y = _promote(MATMUL, x, y)
    if x.data.ndim == 0 or y.data.ndim == 0:
        raise ShapeError(f"matmul{where_scope()}: {tuple(x.shape)} @ {tuple(y.shape)} — both "
                         f"operands need at least one dimension (use * for scalars)")
    return apply2(MATMUL, x, y)


def compare(kind: str, x, y) -> Tensor:
    """Elementwise comparison; the result is a boolean tensor with no gradient.

    A NumPy array or list on the other side is copied to the tensor's device; two tensors on
    different devices are an error (as in PyTorch), except a 0-d one.
    """
    a, b = raw(x), raw(y)
    t = x if isinstance(x, Tensor) else y
    device = t.device
    for other in (x, y):
        if isinstance(other, Tensor) and other.device != device and other.ndim:
            raise backend.DeviceError(f"{kind}{where_scope()}: tensors on different devices "
                                      f"({x.device} and {y.device}); move one with .to()")
    if not backend.is_scalar(a):
        a = backend.to_array(a, device)
    if not backend.is_scalar(b):
        b = backend.to_array(b, device)
    xp = backend.xp_of(t.data)
    fn = {"lt": xp.less, "le": xp.less_equal, "gt": xp.greater, "ge": xp.greater_equal,
          "eq": xp.equal, "ne": xp.not_equal}[kind]
    return Tensor._wrap(fn(a, b))


def normalize_axes(axis, ndim: int, op: str):
    """None, an int or a sequence of ints → None or a sorted tuple of non-negative axes."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    n = ndim if ndim > 0 else 1
    out = []
    for a in axes:
        if not -n <= a < n:
            raise IndexOutOfRange(f"{op}{where_scope()}: axis {a} is out of range for a tensor "
                                  f"with {ndim} dimension(s)")
        out.append(a % n)
    return tuple(sorted(set(out)))


def _reduce(op: Op, x: Tensor, axis, keepdims: bool) -> Tensor:
    axes = normalize_axes(axis, x.ndim, op.name)
    kshape = tuple(1 if axes is None or i in axes else n for i, n in enumerate(x.shape))
    return apply1(op, x, {"axis": axes, "keepdims": keepdims, "in_shape": x.shape, "kshape": kshape})


def _axis_alias(axis, keepdims, kw):
    """Accept PyTorch's spelling (dim=, keepdim=) as well as NumPy's (axis=, keepdims=)."""
    if "dim" in kw:
        axis = kw.pop("dim")
    if "keepdim" in kw:
        keepdims = kw.pop("keepdim")
    if kw:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(kw)}")
    return axis, keepdims


def sum(x: Tensor, axis=None, keepdims: bool = False, **kw) -> Tensor:
    axis, keepdims = _axis_alias(axis, keepdims, kw)
    return _reduce(SUM, x, axis, keepdims)


def max(x: Tensor, axis=None, keepdims: bool = False, **kw) -> Tensor:
    """The largest values along ``axis`` (values only, like NumPy's max / torch.amax)."""
    axis, keepdims = _axis_alias(axis, keepdims, kw)
    if x.data.size == 0:
        raise ShapeError(f"max{where_scope()}: the tensor of shape {x.shape} is empty")
    return _reduce(MAX, x, axis, keepdims)


def softmax(x: Tensor, axis: int = -1, **kw) -> Tensor:
    axis, _ = _axis_alias(axis, False, kw)
    return apply1(SOFTMAX, x, {"axis": normalize_axes(axis, x.ndim, "softmax")[0]})


def log_softmax(x: Tensor, axis: int = -1, **kw) -> Tensor:
    """log softmax, computed stably as (x − max) − log Σ exp(x − max)."""
    axis, _ = _axis_alias(axis, False, kw)
    return apply1(LOG_SOFTMAX, x, {"axis": normalize_axes(axis, x.ndim, "log_softmax")[0]})


def reshape(x: Tensor, shape) -> Tensor:
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return apply1(RESHAPE, x, {"shape": shape, "in_shape": x.shape})


def permute(x: Tensor, axes) -> Tensor:
    axes = tuple(a % x.ndim for a in axes) if x.ndim else tuple(axes)
    if sorted(axes) != list(range(x.ndim)):
        raise ShapeError(f"permute{where_scope()}: {tuple(axes)} is not a permutation of the "
                         f"{x.ndim} axes of shape {tuple(x.shape)}")
    inverse = tuple(sorted(range(len(axes)), key=axes.__getitem__))
    return apply1(PERMUTE, x, {"axes": axes, "inverse": inverse})


def expand(x: Tensor, shape) -> Tensor:
    """Broadcast to ``shape`` (no copy); the gradient is summed back (sum_to)."""
    shape = tuple(shape)
    if len(shape) >= x.ndim:  # -1 keeps a size, as in torch.expand
        lead = len(shape) - x.ndim
        shape = tuple(x.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(shape))
    return apply1(EXPAND, x, {"shape": shape, "in_shape": x.shape})


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


def _check_index_arrays(parts: list, shape: tuple) -> None:
    """Check each integer index array against the axis it indexes (basic parts skipped)."""
    def width(p):  # how many axes of x a part consumes
        if p is None or p is Ellipsis:
            return 0
        return p.ndim if backend.is_array(p) and p.dtype.kind == "b" else 1
    axis = 0
    for p in parts:
        if p is Ellipsis:
            axis += len(shape) - sum(width(q) for q in parts)
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

    Repeated integer indices accumulate their gradients (a scatter-add in backward).
    """
    basic = is_basic(index)
    if not basic:
        index = _normalize_index(index, backend.device_of(x.data), x.data.shape)
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


def _same_kind(op: Op, tensors):
    """Device and dtype checks for variadic ops (cat, stack)."""
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    if not tensors:
        raise ValueError(f"{op.name} needs at least one tensor")
    first = tensors[0]
    for t in tensors[1:]:
        _promote(op, first, t)  # raises on mixed devices or mixed float precision
    return tensors


def cat(tensors, axis: int = 0, **kw) -> Tensor:
    """Concatenate along an existing axis."""
    axis, _ = _axis_alias(axis, False, kw)
    tensors = _same_kind(CAT, tensors)
    ndim = tensors[0].ndim
    for t in tensors:
        if t.ndim != ndim:
            raise ShapeError(f"cat{where_scope()}: shapes {[tuple(t.shape) for t in tensors]} "
                             f"do not all have {ndim} dimensions")
    axis = normalize_axes(axis, ndim, "cat")[0]
    bounds = [0]
    for t in tensors:
        bounds.append(bounds[-1] + t.shape[axis])
    return apply(CAT, *tensors, axis=axis, bounds=tuple(bounds))


def stack(tensors, axis: int = 0, **kw) -> Tensor:
    """Stack equal-shaped tensors along a new axis."""
    axis, _ = _axis_alias(axis, False, kw)
    tensors = _same_kind(STACK, tensors)
    axis = normalize_axes(axis, tensors[0].ndim + 1, "stack")[0]
    return apply(STACK, *tensors, axis=axis)


# Tensor's most used operators are the functions above themselves (no wrapper call per op)
Tensor.__add__ = add
Tensor.__sub__ = sub
Tensor.__mul__ = mul
Tensor.__truediv__ = div
Tensor.__matmul__ = matmul
Tensor.__neg__ = neg
Tensor.__getitem__ = getitem
Tensor.exp = exp
Tensor.log = log
Tensor.tanh = tanh
Tensor.sigmoid = sigmoid
Tensor.relu = relu
Tensor.abs = abs
Tensor.sqrt = sqrt

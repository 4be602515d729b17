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
    CLAMP,
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
    MIN,
    MINIMUM,
    MUL,
    NEG,
    PERMUTE,
    POW,
    POW_TENSOR,
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
    """xᵖ, elementwise; ∂/∂x = p xᵖ⁻¹ (0 where p = 0) and, for a Tensor p, ∂/∂p = xᵖ log x.

    A negative base with an integral exponent has the real value ((−2)³ = −8), as in PyTorch.
    An integer tensor with a float exponent becomes float32 first (PyTorch's promotion).
    """
    if not isinstance(x, Tensor):
        x = Tensor(x)
    if isinstance(exponent, Tensor):
        return apply2(POW_TENSOR, x, exponent)
    if backend.is_scalar(exponent) and not isinstance(exponent, (int, float)):
        exponent = exponent.item()  # a NumPy scalar: a Python number (it adopts x's dtype)
    if isinstance(exponent, float) and not backend.is_float(x.dtype):
        x = cast(x, backend.DEFAULT_FLOAT)
    return apply1(POW, x, {"p": exponent})


def maximum(x, y) -> Tensor:
    """Elementwise max; on ties each side gets half the gradient, next to a NaN both get all
    of it (PyTorch's rule)."""
    return apply2(MAXIMUM, x, y)


def minimum(x, y) -> Tensor:
    """Elementwise min, with maximum's gradient rule mirrored (exact for every dtype)."""
    return apply2(MINIMUM, x, y)


def where(cond, x, y) -> Tensor:
    """Elementwise ``x if cond else y``; ``cond`` is a boolean tensor or array (no gradient)."""
    if isinstance(x, Tensor) or isinstance(y, Tensor):
        x, y = _promote(WHERE, x, y)
    else:
        raise TypeError("where needs at least one Tensor among x and y")
    return apply2(WHERE, x, y, {"cond": backend.ensure_array(raw(cond)).astype(bool, copy=False)})


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
    """Clamp into [min, max]: out = min(max(x, lo), hi) (so hi wins where lo > hi).

    The gradient passes to x where lo ≤ x ≤ hi; Tensor bounds get theirs where they win
    (lo where x < lo < hi, hi where x > hi or hi < lo), as torch.clamp gives them.
    """
    if min is None and max is None:
        raise ValueError("clip needs min, max or both")
    if not (isinstance(min, Tensor) or isinstance(max, Tensor)):
        return apply1(CLIP, x, {"lo": min, "hi": max})
    bounds = [b if b is None or isinstance(b, (Tensor, int, float)) else Tensor(b, device=x.device)
              for b in (min, max)]
    for b in bounds:  # one device and dtype (an integer x with float bounds becomes float)
        if b is not None:
            x, _ = _promote(CLAMP, x, b)
    lo, hi = (b if b is None else _promote(CLAMP, x, b)[1] for b in bounds)
    return apply(CLAMP, x, lo, hi)


def cast(x: Tensor, dtype) -> Tensor:
    """x in another dtype; an integer or bool result is detached (as in PyTorch: integer
    tensors carry no gradient)."""
    dtype = backend.as_dtype(dtype)
    if not backend.is_float(dtype):
        return Tensor._wrap(x.data.astype(dtype))
    return apply1(CAST, x, {"dtype": dtype, "in_dtype": x.dtype})


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
    """Elementwise comparison; the result is a boolean tensor with no gradient."""
    a, b = raw(x), raw(y)
    xp = backend.xp_of(a if backend.is_array(a) else b)
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


def _reduce(op: Op, x: Tensor, axis, keepdims: bool, **extra) -> Tensor:
    axes = normalize_axes(axis, x.ndim, op.name)
    if x.ndim == 0:  # dim=0 or -1 of a 0-d tensor is the tensor itself (as in PyTorch)
        axes = None
    kshape = tuple(1 if axes is None or i in axes else n for i, n in enumerate(x.shape))
    return apply1(op, x, {"axis": axes, "keepdims": keepdims, "in_shape": x.shape, "kshape": kshape,
                          **extra})


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


def _extreme(op: Op, x: Tensor, axis, keepdims: bool, kw) -> Tensor:
    axis, keepdims = _axis_alias(axis, keepdims, kw)
    if x.data.size == 0:
        raise ShapeError(f"{op.name}{where_scope()}: the tensor of shape {x.shape} is empty")
    # which inputs get the gradient, as PyTorch routes it (see ops._extreme_share)
    rule = "even" if axis is None or x.ndim == 0 else "first" if isinstance(axis, int) else "amax"
    return _reduce(op, x, axis, keepdims, rule=rule)


def max(x: Tensor, axis=None, keepdims: bool = False, **kw) -> Tensor:
    """The largest values along ``axis`` (values only).

    Gradients go where PyTorch sends them: ``x.max()`` shares it among tied maxima (among the
    NaNs if the max is NaN), ``x.max(dim=d)`` gives it to the first maximum along d (the index
    torch.max(x, d) returns), a tuple of axes follows torch.amax.
    """
    return _extreme(MAX, x, axis, keepdims, kw)


def min(x: Tensor, axis=None, keepdims: bool = False, **kw) -> Tensor:
    """The smallest values along ``axis``; gradients routed as in :func:`max`."""
    return _extreme(MIN, x, axis, keepdims, kw)


def _one_axis(axis: int, x: Tensor, op: str):
    """One axis, checked; None for a 0-d tensor (dim 0 / -1 of a scalar is the scalar)."""
    axis = normalize_axes(axis, x.ndim, op)[0]
    return axis if x.ndim else None


def softmax(x: Tensor, axis: int = -1, **kw) -> Tensor:
    axis, _ = _axis_alias(axis, False, kw)
    return apply1(SOFTMAX, x, {"axis": _one_axis(axis, x, "softmax")})


def log_softmax(x: Tensor, axis: int = -1, **kw) -> Tensor:
    """log softmax, computed stably as (x − max) − log Σ exp(x − max)."""
    axis, _ = _axis_alias(axis, False, kw)
    return apply1(LOG_SOFTMAX, x, {"axis": _one_axis(axis, x, "log_softmax")})


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


def _normalize_index(index, device: str):
    """Tensors, lists and arrays inside an index become integer/bool arrays on ``device``."""
    parts = index if type(index) is tuple else (index,)
    fixed = []
    for p in parts:
        if isinstance(p, Tensor):
            p = p.data
        elif isinstance(p, list) or (backend.is_scalar(p) and not isinstance(p, (int, bool))):
            p = backend.host_asarray(p)
        if backend.is_array(p):
            if p.dtype.kind == "f":
                raise IndexOutOfRange(f"getitem{where_scope()}: index arrays must be integer or "
                                      f"boolean, got {p.dtype}")
            p = backend.to_array(p, device)
        fixed.append(p)
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


def getitem(x: Tensor, index) -> Tensor:
    """x[index] with ints, slices, None, Ellipsis, integer or boolean arrays.

    Shapes follow PyTorch where NumPy's differ: integers mixed with index arrays are applied
    first, as basic indices (see :func:`_torch_order`). Repeated integer indices accumulate
    their gradients (a scatter-add in backward).
    """
    basic = is_basic(index)
    if not basic:
        index = _normalize_index(index, backend.device_of(x.data))
        if type(index) is tuple:
            steps = _torch_order(index)
            if steps is not None:
                return getitem(getitem(x, steps[0]), steps[1])
    return apply1(GETITEM, x, {"index": index, "shape": x.data.shape, "basic": basic})


def embedding(weight: Tensor, indices) -> Tensor:
    """Rows of ``weight`` picked by integer ``indices``: out[..., :] = weight[indices[...], :].

    The indices are checked against the table size (on the GPU that check reads back two
    numbers: an out-of-range index would otherwise be silently wrapped).
    """
    idx = raw(indices)
    idx = backend.to_array(idx, weight.device)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding{where_scope()}: indices must be integers, got {idx.dtype}")
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= weight.shape[0]):
        raise IndexOutOfRange(f"embedding{where_scope()}: indices range over "
                              f"[{int(idx.min())}, {int(idx.max())}] but the table has "
                              f"{weight.shape[0]} rows")
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

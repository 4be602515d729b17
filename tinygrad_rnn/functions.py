"""The public functions of the primitive ops: check the arguments, then apply the op.

Each function here validates what the user passed (axes, shapes, index types, dtypes) and
calls :func:`tinygrad_rnn.apply.apply1` / ``apply2`` / ``apply`` with the op from the table in
``ops.py``. Tensor's operators and methods are these functions (bound in ``methods.py``).
"""

from __future__ import annotations

from typing import NamedTuple

from tinygrad_rnn import backend
from tinygrad_rnn.apply import _promote, apply, apply1, apply2, where_scope
from tinygrad_rnn.errors import DeviceError, IndexOutOfRange, ShapeError
from tinygrad_rnn.ops import (
    ABS,
    ADD,
    CAST,
    CAT,
    CLAMP,
    CLIP,
    CLONE,
    DIV,
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
    Op,
    raw,
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
    if backend.is_scalar(exponent) and type(exponent) not in (int, float, bool):
        exponent = exponent.item()  # a NumPy scalar (np.float64 is a float too): a Python number
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
        raise DeviceError(f"where{where_scope()}: the condition is on {cond.device} but "
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


_NUMBERS = (int, float, bool, type(None))  # bounds NumPy's promotion treats as weak (no upcast)


def clip(x: Tensor, min=None, max=None) -> Tensor:
    """Clamp into [min, max]: out = min(max(x, lo), hi) (so hi wins where lo > hi).

    The gradient passes to x where lo ≤ x ≤ hi; Tensor bounds get theirs where they win
    (lo where x < lo < hi, hi where x > hi or hi < lo), as torch.clamp gives them.
    """
    if min is None and max is None:
        raise ValueError("clip needs min, max or both")
    if not (isinstance(min, Tensor) or isinstance(max, Tensor)):
        if type(min) not in _NUMBERS or type(max) not in _NUMBERS:  # np.float64(0.5): a number
            min, max = (b if type(b) in _NUMBERS or not backend.is_scalar(b) else b.item()
                        for b in (min, max))
        if x.data.dtype.kind != "f" and (type(min) is float or type(max) is float):
            x = cast(x, backend.DEFAULT_FLOAT)  # an integer x with a float bound: float32 (PyTorch)
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
    """Elementwise comparison; the result is a boolean tensor with no gradient.

    A NumPy array or list on the other side is copied to the tensor's device; two tensors on
    different devices are an error (as in PyTorch), except a 0-d one.
    """
    a, b = raw(x), raw(y)
    t = x if isinstance(x, Tensor) else y
    device = t.device
    for other in (x, y):
        if isinstance(other, Tensor) and other.device != device and other.ndim:
            raise DeviceError(f"{kind}{where_scope()}: tensors on different devices "
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
    if x.data.dtype.kind == "u":  # NumPy sums unsigned integers as uint64, PyTorch as int64
        x = cast(x, "int64")
    return _reduce(SUM, x, axis, keepdims)


def _values_over_axes(op: Op, x: Tensor, axis, keepdims: bool, kw) -> Tensor:
    axis, keepdims = _axis_alias(axis, keepdims, kw)
    if x.data.size == 0:
        raise ShapeError(f"{op.name}{where_scope()}: the tensor of shape {x.shape} is empty")
    # which inputs get the gradient, as PyTorch routes it (see ops._extreme_share): all of a
    # tensor shares it among tied extremes, axes follow torch.amax
    rule = "even" if axis is None or x.ndim == 0 else "amax"
    return _reduce(op, x, axis, keepdims, rule=rule)


def amax(x: Tensor, axis=None, keepdims: bool = False, **kw) -> Tensor:
    """The largest values over ``axis`` (one axis, several, or all): values only, like
    torch.amax / NumPy's max. Tied maxima share the gradient evenly (NaN: see ops)."""
    return _values_over_axes(MAX, x, axis, keepdims, kw)


def amin(x: Tensor, axis=None, keepdims: bool = False, **kw) -> Tensor:
    """The smallest values over ``axis``, values only (its own op: exact for every dtype)."""
    return _values_over_axes(MIN, x, axis, keepdims, kw)


def _one_axis(axis: int, x: Tensor, op: str):
    """One axis, checked; None for a 0-d tensor (dim 0 / -1 of a scalar is the scalar)."""
    axis = normalize_axes(axis, x.ndim, op)[0]
    return axis if x.ndim else None


class ValuesIndices(NamedTuple):
    """What ``max(x, dim)`` / ``min(x, dim)`` return, as torch.return_types.max does."""

    values: Tensor
    indices: Tensor


def max(x: Tensor, dim=None, keepdim: bool = False, **kw):
    """PyTorch's rule: ``max(x)`` is the largest value (a 0-d Tensor); ``max(x, dim)`` is the
    named tuple ``(values, indices)`` along ``dim``; ``max(x, other_tensor)`` is
    :func:`maximum`. ``axis=`` / ``keepdims=`` are accepted as aliases of ``dim`` /
    ``keepdim`` and give the same tuple. For values only over several axes use :func:`amax`.
    """
    return _extreme("max", x, dim, keepdim, kw)


def _extreme(kind: str, x: Tensor, dim, keepdim: bool, kw: dict):
    """max / min with PyTorch's return types; values are x gathered at the indices, so the
    gradient reaches the chosen element only (as in torch.max(x, dim))."""
    if "axis" in kw:
        dim = kw.pop("axis")
    if "keepdims" in kw:
        keepdim = kw.pop("keepdims")
    dim, keepdim = _axis_alias(dim, keepdim, kw)
    if isinstance(dim, Tensor):
        return maximum(x, dim) if kind == "max" else minimum(x, dim)
    if dim is None:
        return amax(x) if kind == "max" else amin(x)
    if not isinstance(dim, int) or isinstance(dim, bool):
        raise TypeError(f"{kind}(dim) takes one int dim and returns (values, indices), got "
                        f"{dim!r}; for the {kind}imum values over several axes use "
                        f"a{kind}(x, axis={dim!r})")
    d = normalize_axes(dim, x.ndim, kind)[0]
    if x.data.size == 0:
        raise ShapeError(f"{kind}{where_scope()}: the tensor of shape {x.shape} is empty")
    if x.ndim == 0:
        return ValuesIndices(reshape(x, ()), Tensor._wrap(backend.xp_of(x.data).zeros((), "int64")))
    data = x.data
    idx = (data.argmax(axis=d) if kind == "max" else data.argmin(axis=d)).astype("int64")
    xp = backend.xp_of(data)
    out_shape = x.shape[:d] + x.shape[d + 1:]
    index = []
    for a, n in enumerate(x.shape):
        if a == d:
            index.append(idx)
        else:
            k = a if a < d else a - 1
            index.append(xp.arange(n).reshape((n,) + (1,) * (len(out_shape) - 1 - k)))
    values = apply1(GETITEM, x, {"index": tuple(index), "shape": data.shape, "basic": False})
    if keepdim:
        kshape = x.shape[:d] + (1,) + x.shape[d + 1:]
        values, idx = reshape(values, kshape), idx.reshape(kshape)
    return ValuesIndices(values, Tensor._wrap(idx))


def clone(x: Tensor) -> Tensor:
    """A copy of ``x``'s values, recorded: the gradient passes through unchanged."""
    return apply1(CLONE, x)


def argmax(x: Tensor, dim=None, keepdim: bool = False, **kw) -> Tensor:
    """Index of the largest value (over the flattened tensor when ``dim`` is None)."""
    return _arg("argmax", x, dim, keepdim, kw)


def argmin(x: Tensor, dim=None, keepdim: bool = False, **kw) -> Tensor:
    """Index of the smallest value (over the flattened tensor when ``dim`` is None)."""
    return _arg("argmin", x, dim, keepdim, kw)


def _arg(kind: str, x: Tensor, dim, keepdim: bool, kw: dict) -> Tensor:
    if "axis" in kw:
        dim = kw.pop("axis")
    if "keepdims" in kw:
        keepdim = kw.pop("keepdims")
    dim, keepdim = _axis_alias(dim, keepdim, kw)
    if x.data.size == 0:
        raise ShapeError(f"{kind}{where_scope()}: the tensor of shape {x.shape} is empty")
    data = x.data
    if dim is None:
        out = getattr(data.reshape(-1), kind)().astype("int64")
        return Tensor._wrap(out.reshape((1,) * x.ndim) if keepdim else backend.ensure_array(out))
    d = normalize_axes(dim, x.ndim, kind)[0]
    if x.ndim == 0:
        return Tensor._wrap(backend.xp_of(data).zeros((), "int64"))
    out = getattr(data, kind)(axis=d).astype("int64")
    return Tensor._wrap(backend.xp_of(data).expand_dims(out, d) if keepdim else out)


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


_DLPACK_DEVICES = {1: "cpu", 3: "cpu", 2: "cuda", 13: "cuda"}  # kDLCPU, kDLCUDAHost, kDLCUDA, managed


def from_dlpack(obj) -> Tensor:
    """A Tensor sharing memory with any array that speaks DLPack (a torch tensor, a NumPy or
    CuPy array): ``tg.from_dlpack(torch_tensor)``. A torch tensor that requires grad must be
    ``.detach()``-ed first (torch refuses to export it)."""
    if isinstance(obj, Tensor):
        return Tensor._wrap(obj.data)
    if not hasattr(obj, "__dlpack_device__"):
        raise TypeError(f"from_dlpack needs an object with __dlpack__ / __dlpack_device__ (a torch "
                        f"tensor, NumPy or CuPy array), got {type(obj).__name__}")
    kind = int(obj.__dlpack_device__()[0])
    if kind not in _DLPACK_DEVICES:
        raise TypeError(f"from_dlpack: DLPack device type {kind} is neither the CPU nor a CUDA GPU")
    return Tensor._wrap(backend.xp_for(backend.check_device(_DLPACK_DEVICES[kind])).from_dlpack(obj))


"""The primitive ops: each one's forward and its vector-Jacobian products, side by side.

Read this file as a table of derivatives. An op is ``Op(name, forward, vjps, saves=...)``:

* ``forward(*arrays, **attrs)`` computes the output from backend arrays;
* ``vjps[i](g, out, *inputs, **attrs)`` maps the gradient ``g`` of the output to the
  gradient of input ``i`` (it is only called for inputs that need one);
* ``saves`` says what backward keeps alive: ``"in"`` (the inputs), ``"out"`` (the output),
  both, or nothing; what is not saved arrives as None.

The VJPs use only operations that work both on raw arrays and on Tensors (operators,
``.sum``, ``.reshape`` and the few helpers below). A plain ``backward()`` runs them on
arrays, which records nothing and costs what NumPy costs; ``create_graph=True`` runs the very
same functions on Tensors, so gradients of gradients come for free.

Broadcasting is undone in one place: for ops marked ``broadcasts=True`` the engine sums each
gradient back to the shape of the input's own node with :func:`sum_to`.
``apply.py`` runs an op of this table on Tensors and records it; ``functions.py`` holds each
primitive's public function (check the arguments, then apply); functions composed from
primitives (mean, split, ...) live in ``compose.py``.
"""

from __future__ import annotations

import math
import operator

from tinygrad_rnn import backend
from tinygrad_rnn.apply import apply1, apply2
from tinygrad_rnn.factored import IndexedGrad, ProductGrad, scatter_forward
from tinygrad_rnn.tensor import Tensor

ARRAY_TYPES = backend.ARRAY_TYPES


class Op:
    """A primitive operation: forward on backend arrays, one VJP per input."""

    __slots__ = ("name", "forward", "vjps", "save_in", "save_out", "broadcasts")

    def __init__(self, name, forward, vjps, saves="", broadcasts=False):
        self.name = name
        self.forward = forward
        self.vjps = vjps
        self.save_in = "in" in saves
        self.save_out = "out" in saves
        self.broadcasts = broadcasts

    def __repr__(self):
        return f"Op({self.name})"


class _PerInput:
    """VJPs of a variadic op (cat, stack): ``vjps[i]`` is one rule called with ``index=i``."""

    __slots__ = ("rule",)

    def __init__(self, rule):
        self.rule = rule

    def __getitem__(self, i):
        return lambda g, *saved, **attrs: self.rule(g, *saved, index=i, **attrs)


# ---- helpers the VJPs use: each works on raw arrays and on Tensors -------------------------

def raw(x):
    """The array under a Tensor (for masks and other constants that carry no gradient)."""
    return x.data if isinstance(x, Tensor) else x


def _xp(x):
    return backend.xp_of(raw(x))


def sum_to(g, shape: tuple):
    """Sum ``g`` over the axes that broadcasting added or stretched, giving ``shape``."""
    gshape = g.shape
    if gshape == shape:
        return g
    if math.prod(gshape) == math.prod(shape):  # nothing was stretched: no sum, only a reshape
        return g.reshape(shape)
    lead = len(gshape) - len(shape)
    axes = tuple(i for i in range(lead) if gshape[i] != 1) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and gshape[i + lead] != 1)
    if axes:  # axes of size 1 need no sum, only the reshape
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


def _expand(g, shape):
    if isinstance(g, Tensor):
        return apply1(EXPAND, g, {"shape": shape, "in_shape": g.data.shape})
    return _xp(g).broadcast_to(g, shape)


def _where(cond, a, b):
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return apply2(WHERE, a, b, {"cond": cond})
    return _xp(cond).where(cond, a, b)


def _mm(a, b):
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return apply2(MATMUL, a, b)
    return a.dot(b) if a.ndim == 2 and b.ndim == 2 else a @ b


def _mT(a):
    """Swap the last two axes."""
    return a.transpose(-1, -2) if isinstance(a, Tensor) else a.swapaxes(-1, -2)


def _exp(x):
    return apply1(EXP, x) if isinstance(x, Tensor) else backend.xp_of(x).exp(x)


def _log(x):
    return apply1(LOG, x) if isinstance(x, Tensor) else backend.xp_of(x).log(x)


def _mask(cond):
    """A comparison's result as an array (NumPy gives a scalar for 0-d operands)."""
    return backend.ensure_array(cond)


def _zeros_like(g):
    return g * 0 if isinstance(g, Tensor) else _xp(g).zeros_like(g)


def _sign(x):
    return _xp(x).sign(raw(x))


def _index(g, index):
    if isinstance(g, Tensor):
        return apply1(GETITEM, g, {"index": index, "shape": g.data.shape, "basic": is_basic(index)})
    return g[index]


# ---- elementwise arithmetic (broadcasting) --------------------------------------------------

ADD = Op("add", operator.add,
         (lambda g, out, x, y: g,
          lambda g, out, x, y: g), broadcasts=True)

SUB = Op("sub", operator.sub,
         (lambda g, out, x, y: g,
          lambda g, out, x, y: -g), broadcasts=True)

MUL = Op("mul", operator.mul,
         (lambda g, out, x, y: g * y,
          lambda g, out, x, y: g * x), saves="in", broadcasts=True)

_F64 = backend.float64


def _default_float(v):
    return v.astype(backend.DEFAULT_FLOAT) if hasattr(v, "astype") else v


def _not_f64(v) -> bool:
    return getattr(v, "dtype", None) is not _F64  # (not !=: NumPy reads None as float64)


def _true_divide(x, y):
    out = x / y
    if out.dtype is _F64 and _not_f64(x) and _not_f64(y):
        # integers (or bools) divided: NumPy gives float64, PyTorch the default float32, and
        # PyTorch converts before dividing (so do we: the same rounding as torch)
        return _default_float(x) / _default_float(y)
    return out


DIV = Op("div", _true_divide,
         (lambda g, out, x, y: g / y,
          lambda g, out, x, y: -g * x / (y * y)), saves="in", broadcasts=True)

NEG = Op("neg", operator.neg,
         (lambda g, out, x: -g,))

def _pow_dx(g, out, x, p):                                  # d(xᵖ)/dx = p xᵖ⁻¹, and 0 for p = 0
    return g * p * x ** (p - 1) if p != 0 else _zeros_like(g)


POW = Op("pow", lambda x, p: x ** p, (_pow_dx,), saves="in")  # p is a Python number


def _pow_tensor_dx(g, out, x, p):                           # p xᵖ⁻¹ (0 where p = 0, as torch)
    zero = _mask(raw(p) == 0)  # (p = 1 stands in there, so that 0⁻¹ is never computed)
    return _where(zero, 0, g * p * x ** (_where(zero, 1, p) - 1))


def _pow_tensor_dp(g, out, x, p):                           # xᵖ log x (0 where x = 0 ≤ p, as torch)
    x_raw = raw(x)
    zero = _mask((x_raw == 0) & (raw(p) >= 0))
    negative = _mask(x_raw < 0)  # log of a negative base: NaN, as in torch (no NumPy warning)
    safe = _where(_mask(zero | negative), 1, x)
    return _where(zero, 0, _where(negative, math.nan, g * out * _log(safe)))


POW_TENSOR = Op("pow", lambda x, p: x ** p, (_pow_tensor_dx, _pow_tensor_dp), saves="in,out",
                broadcasts=True)


def _win_weight(x, y, g):
    """maximum's share for x: 0 where x < y, 1/2 on ties, else 1 (NaN on either side: 1).

    PyTorch's rule, ``g.masked_fill(x < y, 0) / ((x == y) + 1)``: both sides of a NaN get the
    whole gradient. minimum's share for x is ``_win_weight(y, x)``.
    """
    x, y, dtype = raw(x), raw(y), raw(g).dtype
    # (1 + bool) is int64, and float32 / int64 is float64: both sides in g's dtype
    return ((x >= y) | (x != x) | (y != y)).astype(dtype) / (1 + (x == y)).astype(dtype)


MAXIMUM = Op("maximum", backend.elementwise("maximum"),
             (lambda g, out, x, y: g * _win_weight(x, y, g),
              lambda g, out, x, y: g * _win_weight(y, x, g)), saves="in", broadcasts=True)

MINIMUM = Op("minimum", backend.elementwise("minimum"),
             (lambda g, out, x, y: g * _win_weight(y, x, g),
              lambda g, out, x, y: g * _win_weight(x, y, g)), saves="in", broadcasts=True)

WHERE = Op("where", lambda x, y, cond: backend.xp_of(cond).where(cond, x, y),
           (lambda g, out, x, y, cond: _where(cond, g, 0),
            lambda g, out, x, y, cond: _where(cond, 0, g)), broadcasts=True)

# ---- elementwise functions ------------------------------------------------------------------

EXP = Op("exp", backend.float_elementwise("exp"),
         (lambda g, out, x: g * out,), saves="out")

LOG = Op("log", backend.float_elementwise("log"),
         (lambda g, out, x: g / x,), saves="in")


def one_minus(y):
    return backend.constant(1.0, y) - y


TANH = Op("tanh", backend.float_elementwise("tanh"),               # tanh' = 1 − y²
          (lambda g, out, x: g * one_minus(out * out),), saves="out")


def _sigmoid_forward(x):
    # σ(x) = eˣ/(1 + eˣ); x is capped where eˣ would overflow the dtype (σ is 1 there to the
    # last bit), and eˣ underflowing to 0 for very negative x is silent
    if x.dtype.kind != "f":  # integers/bools: float32, as PyTorch (not a "not inexact" error)
        x = x.astype(backend.DEFAULT_FLOAT)
    xp = backend.xp_of(x)
    e = xp.exp(xp.minimum(x, backend.constant(backend.exp_limit(x.dtype), x)))
    return e / (e + backend.constant(1.0, x))


SIGMOID = Op("sigmoid", _sigmoid_forward,                    # σ' = y(1 − y)
             (lambda g, out, x: g * out * one_minus(out),), saves="out")

RELU = Op("relu", lambda x: backend.xp_of(x).maximum(x, 0),
          (lambda g, out, x: g * (raw(out) > 0),), saves="out")

ABS = Op("abs", backend.elementwise("abs"),
         (lambda g, out, x: g * _sign(x),), saves="in")

SQRT = Op("sqrt", backend.float_elementwise("sqrt"),
          (lambda g, out, x: g / (2 * out),), saves="out")


def _inside(x, lo, hi):
    x = raw(x)
    mask = x >= lo if lo is not None else x == x
    return mask & (x <= hi) if hi is not None else mask


CLIP = Op("clip", lambda x, lo, hi: backend.xp_of(x).clip(x, lo, hi),
          (lambda g, out, x, lo, hi: _where(_inside(x, lo, hi), g, 0),), saves="in")

def _clamp_dlo(g, out, x, lo, hi):                          # lo wins where x < lo (and lo < hi)
    mask = raw(x) < raw(lo)
    return _where(_mask(mask & (raw(lo) < raw(hi)) if hi is not None else mask), g, 0)


def _clamp_dhi(g, out, x, lo, hi):                          # hi wins where x > hi, or hi < lo
    mask = raw(x) > raw(hi)
    return _where(_mask(mask | (raw(hi) < raw(lo)) if lo is not None else mask), g, 0)


# clip with Tensor bounds: PyTorch's clamp_backward rules (torch.clamp(x, lo, hi) with tensors)
CLAMP = Op("clip", lambda x, lo, hi: backend.xp_of(x).clip(x, lo, hi),
           (lambda g, out, x, lo, hi: _where(_mask(_inside(x, raw(lo), raw(hi))), g, 0),
            _clamp_dlo, _clamp_dhi), saves="in", broadcasts=True)

CLONE = Op("clone", lambda x: x.copy(), (lambda g, out, x: g,))  # a copy; gradient passes through

CAST = Op("cast", lambda x, dtype, in_dtype: x.astype(dtype),
          (lambda g, out, x, dtype, in_dtype: apply1(CAST, g, {"dtype": in_dtype, "in_dtype": dtype})
           if isinstance(g, Tensor) else g.astype(in_dtype),))

TO_DEVICE = Op("to_device", lambda x, device, in_device: backend.to_array(x, device),
               (lambda g, out, x, device, in_device:
                apply1(TO_DEVICE, g, {"device": in_device, "in_device": device})
                if isinstance(g, Tensor) else backend.to_array(g, in_device),))

# ---- matrix product -------------------------------------------------------------------------


def _matmul_forward(x, y):
    # 2-D products go through dot: NumPy's @ skips BLAS for some degenerate shapes
    return x.dot(y) if x.ndim == 2 and y.ndim == 2 else x @ y


def _as_matrices(g, x, y):
    """Reshape g so that the 1-D cases of matmul follow the (batched) 2-D rule."""
    if x.ndim == 1 and y.ndim == 1:
        return g.reshape((1, 1))
    if x.ndim == 1:
        return g.reshape(g.shape[:-1] + (1, g.shape[-1]))
    if y.ndim == 1:
        return g.reshape(g.shape + (1,))
    return g


def _matmul_dx(g, out, x, y, packed=None):                    # dX = G Yᵀ
    if x.ndim == 2 and y.ndim == 2:
        return _mm(g, y.T)
    dx = _mm(_as_matrices(g, x, y), _mT(y) if y.ndim > 1 else y.reshape((1, -1)))
    return dx.reshape(dx.shape[:-2] + dx.shape[-1:]) if x.ndim == 1 else dx


def _matmul_dy(g, out, x, y, packed=None):                    # dY = Xᵀ G
    if x.ndim == 2 and y.ndim == 2:
        if ProductGrad.stacks(x, g) and type(x) in ARRAY_TYPES and type(g) in ARRAY_TYPES:
            return ProductGrad(x, g)  # summed with the other steps' products (not Tensors)
        return _mm(x.T, g)
    dy = _mm(_mT(x) if x.ndim > 1 else x.reshape((-1, 1)), _as_matrices(g, x, y))
    return dy.reshape(dy.shape[:-1]) if y.ndim == 1 else dy


MATMUL = Op("matmul", _matmul_forward, (_matmul_dx, _matmul_dy), saves="in", broadcasts=True)

# ---- reductions -----------------------------------------------------------------------------

SUM = Op("sum", lambda x, axis, keepdims, in_shape, kshape: x.sum(axis=axis, keepdims=keepdims),
         (lambda g, out, x, axis, keepdims, in_shape, kshape: _expand(g.reshape(kshape), in_shape),))


def _extreme_share(x, out, axis, kshape, rule, dtype):
    """Which inputs of a max/min reduction get the gradient, and how much (PyTorch's rules).

    ``"even"`` (``x.max()``): tied extremes share it evenly, and if the result is NaN the NaNs
    share it. ``"amax"`` (``x.amax(axis)``, as torch.amax): ties share evenly; a NaN result
    gives NaN gradients to its slice. (``x.max(dim)`` picks one element with its index and
    gathers it, so its gradient reaches that element only: see functions.max.)
    """
    x, out = raw(x), raw(out).reshape(kshape)
    xp = backend.xp_of(x)
    hit = x == out
    if rule == "even":
        hit = hit | ((x != x) & (out != out))  # a NaN result: the NaNs are the maxima
    count = hit.sum(axis=axis, keepdims=True)
    share = hit / xp.maximum(count, 1)
    return (xp.where(count == 0, math.nan, share) if rule == "amax" else share).astype(dtype)


def _reduction(name: str) -> Op:
    def vjp(g, out, x, axis, keepdims, in_shape, kshape, rule):
        share = _extreme_share(x, out, axis, kshape, rule, raw(g).dtype)
        return _expand(g.reshape(kshape), in_shape) * share
    return Op(name, lambda x, axis, keepdims, in_shape, kshape, rule:
              getattr(x, name)(axis=axis, keepdims=keepdims), (vjp,), saves="in,out")


MAX = _reduction("max")
MIN = _reduction("min")  # its own op: −max(−x) is wrong for unsigned integers


def _softmax_forward(x, axis):
    e = backend.xp_of(x).exp(x - x.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


def _log_softmax_forward(x, axis):
    xp = backend.xp_of(x)
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


SOFTMAX = Op("softmax", _softmax_forward,                     # dx = y ⊙ (g − Σ g⊙y)
             (lambda g, out, x, axis: out * (g - (g * out).sum(axis=axis, keepdims=True)),),
             saves="out")

LOG_SOFTMAX = Op("log_softmax", _log_softmax_forward,         # dx = g − softmax(x) Σ g
                 (lambda g, out, x, axis: g - _exp(out) * g.sum(axis=axis, keepdims=True),),
                 saves="out")

# ---- shape ops ------------------------------------------------------------------------------

RESHAPE = Op("reshape", lambda x, shape, in_shape: x.reshape(shape),
             (lambda g, out, x, shape, in_shape: g.reshape(in_shape),))

PERMUTE = Op("permute", lambda x, axes, inverse: x.transpose(axes),
             (lambda g, out, x, axes, inverse: apply1(PERMUTE, g, {"axes": inverse, "inverse": axes})
              if isinstance(g, Tensor) else g.transpose(inverse),))

EXPAND = Op("expand", lambda x, shape, in_shape: backend.xp_of(x).broadcast_to(x, shape),
            (lambda g, out, x, shape, in_shape: sum_to(g, in_shape),))


_BASIC = (int, slice, type(None), type(Ellipsis))


def is_basic(index) -> bool:
    """True if indexing by `index` never repeats an element (ints, slices, None, ...)."""
    if type(index) is tuple:
        for p in index:  # noqa: SIM110 (a plain loop: this runs for every slice of every step)
            if type(p) not in _BASIC:
                return False
        return True
    return type(index) in _BASIC


def _scatter(g, out, x, index, shape, basic):                # the VJP of x[index]
    if isinstance(g, Tensor):  # create_graph: a differentiable scatter
        return apply1(SCATTER, g, {"index": index, "shape": shape, "basic": basic})
    return IndexedGrad(g, index, shape, basic)


GETITEM = Op("getitem", lambda x, index, shape, basic: x[index], (_scatter,))

EMBEDDING = Op("embedding", lambda weight, index, shape, basic: weight[index], (_scatter,))

SCATTER = Op("scatter_add", scatter_forward,                 # the VJP of indexing, and back
             (lambda g, out, x, index, shape, basic: _index(g, index),))


def _cat_vjp(g, out, *xs, axis, bounds, index):
    return _index(g, (slice(None),) * axis + (slice(bounds[index], bounds[index + 1]),))


def _stack_vjp(g, out, *xs, axis, index):
    return _index(g, (slice(None),) * axis + (index,))


CAT = Op("cat", lambda *xs, axis, bounds: backend.xp_of(xs[0]).concatenate(xs, axis=axis),
         _PerInput(_cat_vjp))

STACK = Op("stack", lambda *xs, axis: backend.xp_of(xs[0]).stack(xs, axis=axis),
           _PerInput(_stack_vjp))


# ---- x[index] = value, recorded (the one in-place op) -----------------------------------------

def _setitem_forward(x, value, index, vdtype):
    x[index] = value  # in place, as PyTorch: every tensor sharing x's memory sees the change
    return x


def _zero_at(g, index):
    """g with zeros where x[index] was overwritten (those entries no longer depend on x)."""
    if isinstance(g, Tensor):  # create_graph: a product with a constant mask stays differentiable
        mask = _xp(g).ones(g.shape, g.dtype)
        mask[index] = 0
        return g * mask
    out = g.copy()
    out[index] = 0
    return out


def _value_grad(g, index, vdtype):
    """g at the overwritten entries, in the value's dtype (the engine sums it to its shape)."""
    gi = _index(g, index)
    if raw(gi).dtype == vdtype:
        return gi
    return gi.to(dtype=vdtype) if isinstance(gi, Tensor) else gi.astype(vdtype)


SETITEM = Op("setitem", _setitem_forward,
             (lambda g, out, x, v, index, vdtype: _zero_at(g, index),
              lambda g, out, x, v, index, vdtype: _value_grad(g, index, vdtype)),
             broadcasts=True)

"""How an op of the table runs: on Tensors, recording a Node when a gradient can flow.

``apply(op, *inputs, **attrs)`` is the whole algorithm: take the inputs' arrays, run
``op.forward`` (an error names the op, the shapes and the scope), and if grad mode is on and
some input has a node, :func:`~tinygrad_rnn.tensor.record` the output with its parents and
what the op's VJPs will need (``op.saves``). ``apply1`` and ``apply2`` are the same for one
and two inputs, written out for speed; ``_promote`` is apply2's slow path for operands of
different kinds (a Python number, an integer tensor, another device or precision).

The table of ops itself, with their VJPs, is ``ops.py``; the public functions that check
their arguments and call these are ``functions.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tinygrad_rnn import backend
from tinygrad_rnn.errors import DeviceError, DTypeError, IndexOutOfRange, ShapeError
from tinygrad_rnn.modes import state
from tinygrad_rnn.tensor import Node, Tensor, record

if TYPE_CHECKING:
    from tinygrad_rnn.ops import Op

ARRAY_TYPES = backend.ARRAY_TYPES


NO_ATTRS: dict = {}  # shared by ops without attributes; never mutated
_NONE2, _NONE3 = (None, None), (None, None, None)  # what ops that save nothing keep


def apply(op: Op, *inputs, **attrs) -> Tensor:
    """Run ``op`` on Tensors (or Python numbers) and record a Node if a gradient can flow."""
    if len(inputs) == 1 and isinstance(inputs[0], Tensor):
        return apply1(op, inputs[0], attrs)
    if len(inputs) == 2:
        return apply2(op, inputs[0], inputs[1], attrs)
    arrays = [x.data if isinstance(x, Tensor) else x for x in inputs]
    try:
        out = op.forward(*arrays, **attrs)
    except (ValueError, IndexError, TypeError) as err:
        raise _op_error(op, inputs, attrs, err) from None
    if type(out) not in ARRAY_TYPES:
        if type(out) is WithSaved:
            return _record_with_saved(op, inputs, arrays, attrs, out)
        out = backend.ensure_array(out)
    parents = [x._node if isinstance(x, Tensor) and x._node is not None else x for x in inputs]
    if not state().grad_enabled or not any(type(p) is Node for p in parents):
        return Tensor._wrap(out)
    saved = (out if op.save_out else None, *(arrays if op.save_in else [None] * len(arrays)))
    return record(op, tuple(parents), saved, attrs, out)


# apply1 and apply2 are apply() for one and two inputs, written out: they run for nearly every
# op, and small models are bound by this per-op overhead. Measured on a (1, 100) tensor that
# requires grad (timeit, best of 7): apply1(TANH) 1.9 µs per call against 4.0 µs for apply's
# general path; apply2(MUL) 1.8 µs against 3.3 µs.

def apply1(op: Op, x, attrs: dict = NO_ATTRS) -> Tensor:
    if not isinstance(x, Tensor):
        x = Tensor(x)
    xd = x.data
    try:
        out = op.forward(xd, **attrs) if attrs else op.forward(xd)
    except (ValueError, IndexError, TypeError) as err:
        raise _op_error(op, (x,), attrs, err) from None
    if type(out) not in ARRAY_TYPES:
        if type(out) is WithSaved:
            return _record_with_saved(op, (x,), (xd,), attrs, out)
        out = backend.ensure_array(out)
    parent = x._node
    if parent is None or not state().grad_enabled:
        return Tensor._wrap(out)
    saved = (out if op.save_out else None, xd) if op.save_in else \
        (out, None) if op.save_out else _NONE2
    return record(op, (parent,), saved, attrs, out)


def apply2(op: Op, x, y, attrs: dict = NO_ATTRS) -> Tensor:
    x_is_t, y_is_t = isinstance(x, Tensor), isinstance(y, Tensor)
    xd = x.data if x_is_t else x
    yd = y.data if y_is_t else y
    if x_is_t and y_is_t:
        if xd.dtype != yd.dtype or type(xd) is not type(yd):
            return apply2(op, *_promote(op, x, y), attrs)
    elif x_is_t:  # a Python float makes an integer tensor float32 (as in PyTorch): _promote
        if type(y) not in _NUMBERS or (type(y) is float and xd.dtype.kind != "f"):
            return apply2(op, *_promote(op, x, y), attrs)
    elif not y_is_t or type(x) not in _NUMBERS or (type(x) is float and yd.dtype.kind != "f"):
        return apply2(op, *_promote(op, x, y), attrs)
    try:
        out = op.forward(xd, yd, **attrs) if attrs else op.forward(xd, yd)
    except (ValueError, IndexError, TypeError) as err:
        raise _op_error(op, (x, y), attrs, err) from None
    if type(out) not in ARRAY_TYPES:
        if type(out) is WithSaved:
            return _record_with_saved(op, (x, y), (xd, yd), attrs, out)
        out = backend.ensure_array(out)
    px = x._node if x_is_t else None
    py = y._node if y_is_t else None
    if (px is None and py is None) or not state().grad_enabled:
        return Tensor._wrap(out)
    saved = (out if op.save_out else None, xd, yd) if op.save_in else \
        (out, None, None) if op.save_out else _NONE3
    parents = (x if px is None else px, y if py is None else py)
    return record(op, parents, saved, attrs, out)


class WithSaved:
    """What a forward returns to keep more for its VJPs than its inputs and output (PyTorch's
    ``ctx.save_for_backward``): the output, and ``extra`` arrays that every VJP of the node
    receives after the saved inputs, ``vjp(g, out, *inputs, *extra)``. A fused step keeps its
    gate activations this way instead of recomputing them in backward. Under ``create_graph``
    the VJPs get no extras (they are constants, not differentiable functions of the inputs)
    and must recompute from the inputs. ``keep`` (one bool per input) saves only some inputs
    of an op that saves its inputs; the others are None for its VJPs."""

    __slots__ = ("out", "extra", "keep")

    def __init__(self, out, *extra, keep: tuple | None = None):
        self.out, self.extra, self.keep = out, extra, keep


def _record_with_saved(op: Op, inputs, arrays, attrs: dict, result: WithSaved) -> Tensor:
    out = result.out
    parents = tuple(x._node if isinstance(x, Tensor) and x._node is not None else x
                    for x in inputs)
    if not state().grad_enabled or all(type(p) is not Node for p in parents):
        return Tensor._wrap(out)
    if not op.save_in:
        arrays = [None] * len(arrays)
    elif result.keep is not None:
        arrays = [a if k else None for a, k in zip(arrays, result.keep)]
    saved = (out if op.save_out else None, *arrays, *result.extra)
    return record(op, parents, saved, attrs, out)


# ---- the slow path of apply2: operands of different kinds ----------------------------------

def _constant_like(value, like: Tensor):
    """A non-Tensor operand: numbers become Python numbers (they adopt the tensor's dtype)."""
    if isinstance(value, Tensor):
        return value
    if backend.is_scalar(value):
        return value.item() if hasattr(value, "item") else value
    if backend.is_array(value) and value.ndim == 0 and like.dtype.kind == "f":
        # a 0-d array (a CuPy reduction's result) is a number, as NumPy's scalars are: it takes
        # the tensor's float dtype, and stays on the device (item() would sync)
        return Tensor(value, device=like.device, dtype=like.dtype)
    return Tensor(value, device=like.device)


_NUMBERS = (int, float, bool)


def _promote(op: Op, x, y):
    """The slow path of apply2: make two operands compatible, or say why they are not.

    Returns two Tensors on one device with one dtype (an integer or bool side is cast to the
    float side), or a Tensor and a Python number. Mixing float precisions is refused. As in
    PyTorch (torch.result_type), an integer or bool tensor with a Python float becomes the
    default float (float32), where NumPy would give float64.
    """
    if not isinstance(x, Tensor) and not isinstance(y, Tensor):
        raise TypeError(f"{op.name} needs at least one Tensor operand")
    if not isinstance(x, Tensor):
        x = _constant_like(x, y)
    elif not isinstance(y, Tensor):
        y = _constant_like(y, x)
    if not (isinstance(x, Tensor) and isinstance(y, Tensor)):
        if type(x) is float and y.data.dtype.kind != "f":
            y = Tensor._wrap(y.data.astype(backend.DEFAULT_FLOAT))
        elif type(y) is float and x.data.dtype.kind != "f":
            x = Tensor._wrap(x.data.astype(backend.DEFAULT_FLOAT))
        return x, y
    xd, yd = x.data, y.data
    if type(xd) is not type(yd):
        raise DeviceError(f"{op.name}{where_scope()}: tensors on different devices "
                                  f"({x.device} and {y.device}); move one with .to()")
    if xd.dtype != yd.dtype:
        xf, yf = xd.dtype.kind == "f", yd.dtype.kind == "f"
        if xf and yf:
            raise DTypeError(f"{op.name}{where_scope()}: {xd.dtype} and {yd.dtype} tensors mixed; "
                             f"this would silently change precision. Convert one with .float() "
                             f"or .double() (modules: .double() / .to(dtype=...))")
        if xf:
            y = Tensor._wrap(yd.astype(xd.dtype))
        elif yf:
            x = Tensor._wrap(xd.astype(yd.dtype))
        else:
            common = backend.result_type(xd, yd)
            x, y = Tensor._wrap(xd.astype(common)), Tensor._wrap(yd.astype(common))
    return x, y


# ---- errors that name the op, the shapes and the scope --------------------------------------

def where_scope() -> str:
    scope = state().scope
    return f" in {scope}" if scope else ""


def _shape_of(x) -> str:
    return str(tuple(x.shape)) if isinstance(x, Tensor) or backend.is_array(x) else repr(x)


def _op_error(op, inputs, attrs, err) -> Exception:
    shapes = [_shape_of(x) for x in inputs]
    what = " @ ".join(shapes) if op.name == "matmul" else ", ".join(shapes)
    shown = {k: v for k, v in attrs.items() if k in ("axis", "shape", "index")}
    if shown:
        what += "; " + ", ".join(f"{k}={v!r}" for k, v in shown.items())
    # a TypeError (e.g. an unsupported dtype) stays a TypeError: it is not about shapes
    cls = IndexOutOfRange if isinstance(err, IndexError) else \
        TypeError if isinstance(err, TypeError) else ShapeError
    if backend.is_device_mix(err):  # host data met CUDA arrays: say so, not "shape"
        cls, err = DeviceError, f"host (NumPy/list) data mixed with CUDA arrays; " \
            f"make it a tensor on the same device first ({err})"
    return cls(f"{op.name}{where_scope()}: {what} — {err}")

"""Tensor's operators and math methods: every binding of ``x + y``, ``x.exp()``, ``x.sum()``,
``x.backward()`` … onto :class:`Tensor`, in one place.

They live here and not in the class body because they are the functions of ``functions.py``,
``compose.py`` and ``autograd.py``, which all build on Tensor: bound from outside, ``tensor.py``
imports nothing above the backend and the package has no import cycle. ``tinygrad_rnn/__init__``
imports this module once, so every ``import tinygrad_rnn...`` gets a complete Tensor.

Where a method has the function's own signature, the method IS the function (``Tensor.__add__
is functions.add``): one Python call per op, no wrapper (the per-op overhead is measured in
``benchmarks/bench_lstm.py``). Only the reflected operators and methods whose signature differs
from their function get a one-line wrapper below.
"""

from __future__ import annotations

import weakref

from tinygrad_rnn import autograd, backend, compose, functions, indexing, ops
from tinygrad_rnn.functions import add, cast, compare, div, matmul, mul, sub, to_device
from tinygrad_rnn.modes import state
from tinygrad_rnn.tensor import Tensor

# ---- arithmetic operators -----------------------------------------------------------------------


def __radd__(self, other): return add(other, self)
def __rsub__(self, other): return sub(other, self)
def __rmul__(self, other): return mul(other, self)
def __rtruediv__(self, other): return div(other, self)
def __rmatmul__(self, other): return matmul(other, self)
def __rpow__(self, base): return compose.rpow(base, self)
def __pos__(self): return self


def __setitem__(self, index, value):
    """``x[index] = value`` in place; recorded when a gradient flows."""
    if not ops.is_basic(index):  # Tensors and lists in the index, as getitem takes them
        index = indexing._normalize_index(index, self.device, self.data.shape)  # checked on CUDA
        steps = indexing._torch_order(index)
        if steps is not None:  # x[0, :, idx]: PyTorch's x[0][:, idx], not NumPy's order
            if state().grad_enabled and (self._node is not None or getattr(value, "_node", None)):
                raise IndexError(
                    "x[...] = value with gradients, for an index where an integer and an "
                    "index array are apart (x[0, :, idx]): PyTorch writes x[0][:, idx], NumPy "
                    "reorders the dimensions. Write the integer as a length-1 slice and give "
                    "the value that dimension: x[0:1, :, idx] = value.unsqueeze(0)")
            self[steps[0]][steps[1]] = value  # no graph: write through the view
            return
    indexing.setitem(self, index, value)


# ---- in-place arithmetic: ``p -= lr * p.grad`` --------------------------------------------------
# Without __isub__ Python runs p = p - lr * p.grad: a new tensor is bound to the name and the
# model's parameter stays as it was, so the manual SGD loop of PyTorch's tutorials would train
# nothing, without a word. A leaf (a tensor no recorded op made) is updated in place through
# x[...] = result: the write is tracked (a graph that saved the old values raises at backward),
# a leaf that requires grad is refused outside no_grad and a view writes through to its base, as
# in PyTorch; the result must keep x's shape and dtype. A computed tensor is rebound as before.

def _in_place(name: str, symbol: str, fn):
    def method(self: Tensor, other) -> Tensor:
        src = self
        if self._node is None and isinstance(other, Tensor) and other.requires_grad:
            src = self.clone()  # the recorded op may save x's values, which the write replaces
        out = fn(src, other)
        if not self.is_leaf:
            return out
        if out.shape != self.shape or out.dtype != self.dtype:
            raise RuntimeError(f"x {symbol}= y: the result has shape {tuple(out.shape)} and dtype "
                               f"{out.dtype}, but x (updated in place) has shape "
                               f"{tuple(self.shape)} and dtype {self.dtype}; write "
                               f"x = x {symbol} y for a new tensor")
        self[...] = out
        return self
    method.__name__ = method.__qualname__ = name
    return method


# comparisons give boolean tensors with no gradient
def __lt__(self, other): return compare("lt", self, other)
def __le__(self, other): return compare("le", self, other)
def __gt__(self, other): return compare("gt", self, other)
def __ge__(self, other): return compare("ge", self, other)
def __eq__(self, other): return compare("eq", self, other)
def __ne__(self, other): return compare("ne", self, other)


Tensor.__add__ = functions.add
Tensor.__sub__ = functions.sub
Tensor.__mul__ = functions.mul
Tensor.__truediv__ = functions.div
Tensor.__matmul__ = functions.matmul
Tensor.__pow__ = functions.pow
Tensor.__neg__ = functions.neg
Tensor.__abs__ = functions.abs
Tensor.__getitem__ = indexing.getitem
Tensor.__setitem__ = __setitem__
Tensor.__iadd__ = _in_place("__iadd__", "+", add)
Tensor.__isub__ = _in_place("__isub__", "-", sub)
Tensor.__imul__ = _in_place("__imul__", "*", mul)
Tensor.__itruediv__ = _in_place("__itruediv__", "/", div)
Tensor.__radd__ = __radd__
Tensor.__rsub__ = __rsub__
Tensor.__rmul__ = __rmul__
Tensor.__rtruediv__ = __rtruediv__
Tensor.__rmatmul__ = __rmatmul__
Tensor.__rpow__ = __rpow__
Tensor.__pos__ = __pos__
Tensor.__lt__ = __lt__
Tensor.__le__ = __le__
Tensor.__gt__ = __gt__
Tensor.__ge__ = __ge__
Tensor.__eq__ = __eq__  # Tensor keeps object.__hash__ (set in the class), as in PyTorch
Tensor.__ne__ = __ne__

# ---- elementwise math and reductions: the functions themselves -------------------------------

Tensor.exp = functions.exp
Tensor.log = functions.log
Tensor.tanh = functions.tanh
Tensor.sigmoid = functions.sigmoid
Tensor.relu = functions.relu
Tensor.abs = functions.abs
Tensor.sqrt = functions.sqrt
Tensor.clip = Tensor.clamp = functions.clip
Tensor.clone = functions.clone
Tensor.sum = functions.sum
Tensor.mean = compose.mean
Tensor.max = functions.max
Tensor.min = compose.min
Tensor.amax = functions.amax
Tensor.amin = compose.amin
Tensor.argmax = functions.argmax
Tensor.argmin = functions.argmin
Tensor.softmax = functions.softmax
Tensor.log_softmax = functions.log_softmax

# ---- shapes ------------------------------------------------------------------------------------


def reshape(self, *shape): return functions.reshape(self, shape[0] if len(shape) == 1 else shape)
def flatten(self): return functions.reshape(self, (-1,))
def permute(self, *dims): return functions.permute(self, dims[0] if len(dims) == 1 else dims)
def expand(self, *shape): return functions.expand(self, shape[0] if len(shape) == 1 else shape)
def broadcast_to(self, shape): return functions.expand(self, shape)


def T(self) -> Tensor:
    """All axes reversed."""
    return functions.permute(self, tuple(range(self.ndim))[::-1])


def mT(self) -> Tensor:
    """The last two axes swapped (a batch of matrices transposed)."""
    if self.ndim < 2:
        raise ValueError(f"mT needs at least 2 dimensions, got shape {self.shape}")
    return compose.transpose(self, -2, -1)


def t(self) -> Tensor:
    """The transpose of a tensor with at most 2 axes (torch.Tensor.t)."""
    if self.ndim > 2:
        raise ValueError(f"t() expects a tensor with at most 2 dimensions, got shape "
                         f"{self.shape}; use transpose(dim0, dim1) or .mT")
    return self.T


def size(self, dim: int | None = None):
    """The shape (a tuple), or the length of axis ``dim``, as ``torch.Tensor.size``."""
    if dim is None:
        return self.shape
    return self.shape[functions.normalize_axes(dim, self.ndim, "size")[0]]


Tensor.reshape = Tensor.view = reshape
Tensor.flatten = flatten
Tensor.permute = permute
Tensor.expand = expand
Tensor.broadcast_to = broadcast_to
Tensor.transpose = compose.transpose
Tensor.unsqueeze = compose.unsqueeze
Tensor.squeeze = compose.squeeze
Tensor.split = compose.split
Tensor.chunk = compose.chunk
Tensor.T = property(T)
Tensor.mT = property(mT)
Tensor.t = t
Tensor.size = size

# ---- devices and dtypes ---------------------------------------------------------------------


def to(self, device: str | None = None, dtype=None) -> Tensor:
    """A copy on another device and/or with another dtype (differentiable)."""
    out = self
    if dtype is not None and backend.as_dtype(dtype) != self.dtype:
        out = cast(out, backend.as_dtype(dtype))
    if device is not None and backend.check_device(device) != self.device:
        out = to_device(out, backend.check_device(device))
    return out


def cpu(self) -> Tensor: return self.to("cpu")
def cuda(self) -> Tensor: return self.to("cuda")
def float(self) -> Tensor: return self.to(dtype=backend.float32)
def double(self) -> Tensor: return self.to(dtype=backend.float64)


Tensor.to = to
Tensor.cpu = cpu
Tensor.cuda = cuda
Tensor.float = float
Tensor.double = double

# ---- autograd -------------------------------------------------------------------------------


def backward(self, grad=None, retain_graph: bool | None = None, create_graph: bool = False):
    """Reverse mode from this tensor: accumulate d(self)/d(leaf) into every leaf's .grad."""
    autograd.backward(self, grad, retain_graph=retain_graph, create_graph=create_graph)


def retain_grad(self) -> None:
    """Keep this non-leaf tensor's gradient in ``.grad`` after backward."""
    if self._node is None:
        raise RuntimeError("retain_grad() on a tensor that does not require grad")
    if self._node.op is not None:
        autograd.watch_of(self._node).retained = weakref.ref(self)


def register_hook(self, fn):
    """Call ``fn(grad)`` when this tensor's gradient is computed; a returned tensor replaces it.

    Returns a handle whose ``remove()`` takes the hook off.
    """
    return autograd.register_hook(self, fn)


Tensor.backward = backward
Tensor.retain_grad = retain_grad
Tensor.register_hook = register_hook

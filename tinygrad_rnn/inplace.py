"""In-place arithmetic on tensors not computed by a recorded op (``p -= lr * p.grad``).

Without ``__isub__`` and friends Python runs ``p = p - lr * p.grad``: a new tensor is bound
to the name and the model's parameter stays as it was, so the manual SGD loop of PyTorch's
tutorials (``with no_grad(): for p in model.parameters(): p -= lr * p.grad``) would train
nothing, without a word. Here a leaf (a tensor that no recorded op made) is updated in place
through ``x[...] = result``: the write is tracked (a graph that saved the old values raises at
backward), a leaf that requires grad is refused outside ``no_grad`` and a view writes through
to its base, as in PyTorch; the result must keep x's shape and dtype (PyTorch refuses the
rest too). A computed tensor is rebound as before: the same numbers, and its graph as drawn.
"""

from __future__ import annotations

from tinygrad_rnn import functions
from tinygrad_rnn.tensor import Tensor


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


Tensor.__iadd__ = _in_place("__iadd__", "+", functions.add)
Tensor.__isub__ = _in_place("__isub__", "-", functions.sub)
Tensor.__imul__ = _in_place("__imul__", "*", functions.mul)
Tensor.__itruediv__ = _in_place("__itruediv__", "/", functions.div)

"""The feed-forward building blocks: Linear, Embedding, Dropout, Sequential."""

from __future__ import annotations

import math

from tinygrad_rnn import backend
from tinygrad_rnn.creation import zeros
from tinygrad_rnn.errors import ShapeError
from tinygrad_rnn.functions import where
from tinygrad_rnn.indexing import embedding
from tinygrad_rnn.nn import init
from tinygrad_rnn.nn.module import Module, Parameter
from tinygrad_rnn.tensor import Tensor


def new_parameter(*shape: int, bound: float, name: str | None = None) -> Parameter:
    """A float32 parameter drawn from U(−bound, bound) (PyTorch's default layer init)."""
    p = Parameter(zeros(*shape).data, name=name)
    init.uniform_(p, -bound, bound)
    return p


class Linear(Module):
    """y = x Wᵀ + b, with W of shape (out_features, in_features) as in PyTorch."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        bound = 1 / math.sqrt(in_features)
        self.weight = new_parameter(out_features, in_features, bound=bound)
        self.register_parameter("bias", new_parameter(out_features, bound=bound) if bias else None)

    def forward(self, x: Tensor) -> Tensor:
        """y = x Wᵀ + b over the last axis of x."""
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ShapeError(f"{self!r}: expected input with last dimension {self.in_features}, "
                             f"got shape {tuple(x.shape)}")
        y = x @ self.weight.T
        return y + self.bias if self.bias is not None else y

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Embedding(Module):
    """out[..., :] = W[index[...], :]: the 1-of-N input times W, done as a row lookup."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx must be within [{-num_embeddings}, "
                                 f"{num_embeddings}), got {padding_idx}")
            padding_idx %= num_embeddings  # −1 means the last row, as in PyTorch
        self.padding_idx = padding_idx
        self.weight = Parameter(zeros(num_embeddings, embedding_dim).data)
        init.normal_(self.weight)
        if padding_idx is not None:
            self.weight.data[padding_idx] = 0

    def forward(self, indices) -> Tensor:
        """The rows W[indices]; with ``padding_idx``, that row's value is used but gets no gradient."""
        out = embedding(self.weight, indices)
        if self.padding_idx is not None:
            idx = backend.to_array(indices.data if isinstance(indices, Tensor) else indices,
                                   self.weight.device)
            out = where((idx != self.padding_idx)[..., None], out, out.detach())
        return out

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"


class Dropout(Module):
    """In training, zero each element with probability p and scale the rest by 1/(1 − p)."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout probability must be in [0, 1], got {p}")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        """Dropout in training mode, the identity in eval mode."""
        return dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def dropout(x: Tensor, p: float, training: bool = True) -> Tensor:
    """x ⊙ m / (1 − p) with m ~ Bernoulli(1 − p) drawn on x's device; identity when not training."""
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0
    keep = backend.generator(x.device).random(x.shape) >= p
    return x * Tensor.wrap((keep / (1 - p)).astype(x.dtype))


class Sequential(Module):
    """Modules applied one after the other: Sequential(f, g)(x) = g(f(x))."""

    def __init__(self, *modules: Module):
        super().__init__()
        for i, m in enumerate(modules):
            setattr(self, str(i), m)

    def __getitem__(self, i: int) -> Module:
        return list(self._modules.values())[i]

    def __len__(self) -> int:
        return len(self._modules)

    def forward(self, x):
        """Each module's output is the next one's input."""
        for m in self._modules.values():
            x = m(x)
        return x

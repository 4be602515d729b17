"""Initialisers: fill a parameter in place from the device's seeded generator (no graph).

PyTorch names and semantics (``uniform_``, ``xavier_uniform_``, ``orthogonal_``, …), plus
``irnn_``: the identity-recurrence initialisation of Le, Jaitly & Hinton (2015) that the notes
call IRNN — ``W_hh = I``, ReLU units, small input weights, zero biases — so that
``h_t = relu(W_ih x_t + h_{t−1})`` starts out copying its state forward unchanged.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from tinygrad_rnn import backend
from tinygrad_rnn.tensor import Tensor
from tinygrad_rnn.writes import mark_written

if TYPE_CHECKING:
    from tinygrad_rnn.nn.module import Module


def _fill(t: Tensor, array) -> Tensor:
    if not backend.is_float(t.dtype) and backend.is_float(array.dtype):
        raise TypeError(f"nn.init: the tensor is {t.dtype} but the values drawn are real numbers; "
                        f"they would be truncated. Initialise a floating-point tensor (as PyTorch "
                        f"requires), e.g. Tensor(..., dtype='float32')")
    t.data[...] = array.astype(t.dtype, copy=False)
    mark_written(t.data)
    return t


def _gen(t: Tensor):
    return backend.generator(t.device)


def uniform_(t: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """t ~ U(a, b)."""
    return _fill(t, _gen(t).random(t.shape) * (b - a) + a)


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """t ~ N(mean, std²)."""
    return _fill(t, _gen(t).standard_normal(t.shape) * std + mean)


def constant_(t: Tensor, value: float) -> Tensor:
    """t = value everywhere."""
    t.data[...] = value
    mark_written(t.data)
    return t


def zeros_(t: Tensor) -> Tensor:
    """t = 0."""
    return constant_(t, 0.0)


def ones_(t: Tensor) -> Tensor:
    """t = 1."""
    return constant_(t, 1.0)


def eye_(t: Tensor) -> Tensor:
    """The identity matrix (ones on the diagonal of a 2-D tensor)."""
    if t.ndim != 2:
        raise ValueError(f"eye_ needs a 2-D tensor, got shape {tuple(t.shape)}")
    xp = backend.xp_of(t.data)
    return _fill(t, xp.eye(*t.shape))


def _fans(t: Tensor) -> tuple[int, int]:
    if t.ndim < 2:
        raise ValueError(f"fan in/out need a tensor with at least 2 dimensions, got {tuple(t.shape)}")
    receptive = math.prod(t.shape[2:])
    return t.shape[1] * receptive, t.shape[0] * receptive


def xavier_uniform_(t: Tensor, gain: float = 1.0) -> Tensor:
    """t ~ U(−a, a) with a = gain·√(6 / (fan_in + fan_out)) (Glorot & Bengio)."""
    fan_in, fan_out = _fans(t)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -a, a)


def xavier_normal_(t: Tensor, gain: float = 1.0) -> Tensor:
    """t ~ N(0, σ²) with σ = gain·√(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(t)
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def orthogonal_(t: Tensor, gain: float = 1.0) -> Tensor:
    """A (semi-)orthogonal matrix: the Q of the QR decomposition of a Gaussian matrix."""
    if t.ndim < 2:
        raise ValueError(f"orthogonal_ needs at least 2 dimensions, got {tuple(t.shape)}")
    rows, cols = t.shape[0], math.prod(t.shape[1:])
    a = _gen(t).standard_normal((max(rows, cols), min(rows, cols)))
    xp = backend.xp_of(t.data)
    q, r = xp.linalg.qr(a)
    q = q * xp.sign(xp.diag(r))  # makes the distribution uniform (Mezzadri)
    if rows < cols:
        q = q.T
    return _fill(t, (gain * q).reshape(t.shape))


def irnn_(rnn: Module, input_std: float = 1e-3) -> None:
    """Identity-RNN initialisation of an ``nn.RNN`` or ``nn.RNNCell`` with ReLU units.

    ``W_hh = I``, ``W_ih ~ N(0, input_std²)``, biases 0: at the start h_t = relu(W_ih x_t + h_{t−1}),
    so the state (and ∂h_T/∂h_t through positive units) is carried forward unchanged.
    """
    if getattr(rnn, "nonlinearity", None) != "relu":
        raise ValueError(f"IRNN initialisation is for ReLU recurrences; {type(rnn).__name__} uses "
                         f"nonlinearity={getattr(rnn, 'nonlinearity', None)!r} "
                         "(build it with nonlinearity='relu')")
    for name, p in rnn.named_parameters():
        if name.startswith("weight_hh"):
            eye_(p)
        elif name.startswith("weight_ih"):
            normal_(p, 0.0, input_std)
        else:
            zeros_(p)

"""Making tensors: from data, filled with constants, or random (seeded by manual_seed)."""

from __future__ import annotations

from tinygrad_rnn import backend
from tinygrad_rnn.tensor import Tensor


def _shape(shape) -> tuple:
    if len(shape) == 1 and not isinstance(shape[0], int):
        shape = tuple(shape[0])
    for n in shape:
        if not isinstance(n, int) or n < 0:
            raise ValueError(f"a shape needs non-negative integers, got {tuple(shape)}")
    return tuple(shape)


def _make(data, requires_grad: bool, name: str | None) -> Tensor:
    t = Tensor.wrap(data)
    t._name = name
    return t.requires_grad_(True) if requires_grad else t


def tensor(data, requires_grad: bool = False, device: str | None = None, dtype=None,
           name: str | None = None) -> Tensor:
    """A tensor from a list, scalar or array (same rules as ``Tensor(...)``)."""
    return Tensor(data, requires_grad=requires_grad, device=device, dtype=dtype, name=name)


def full(shape, value, dtype=None, device=None, requires_grad=False, name=None) -> Tensor:
    device = backend.check_device(device)
    dtype = backend.as_dtype(dtype) or (backend.DEFAULT_FLOAT if isinstance(value, float)
                                        else backend.as_dtype(type(value)))
    shape = _shape((shape,) if isinstance(shape, int) else tuple(shape))
    return _make(backend.xp_for(device).full(shape, value, dtype=dtype), requires_grad, name)


def zeros(*shape, dtype=None, device=None, requires_grad=False, name=None) -> Tensor:
    return full(_shape(shape), 0.0, dtype, device, requires_grad, name)


def ones(*shape, dtype=None, device=None, requires_grad=False, name=None) -> Tensor:
    return full(_shape(shape), 1.0, dtype, device, requires_grad, name)


def zeros_like(t: Tensor, requires_grad=False) -> Tensor:
    return full(t.shape, 0.0, t.dtype, t.device, requires_grad)


def ones_like(t: Tensor, requires_grad=False) -> Tensor:
    return full(t.shape, 1.0, t.dtype, t.device, requires_grad)


def eye(n: int, dtype=None, device=None, requires_grad=False, name=None) -> Tensor:
    device = backend.check_device(device)
    data = backend.xp_for(device).eye(n, dtype=backend.as_dtype(dtype) or backend.DEFAULT_FLOAT)
    return _make(data, requires_grad, name)


def arange(start, stop=None, step=1, dtype=None, device=None) -> Tensor:
    """start, start + step, ... below stop; integers give int64, any float argument float32
    (the default float, as torch.arange; NumPy would give float64)."""
    device = backend.check_device(device)
    if stop is None:
        start, stop = 0, start
    dtype = backend.as_dtype(dtype)
    values = backend.xp_for(device).arange(start, stop, step, dtype=dtype)
    if dtype is None and any(isinstance(v, float) for v in (start, stop, step)):
        values = values.astype(backend.DEFAULT_FLOAT)  # computed in float64, then rounded once
    return Tensor.wrap(values)


def randn(*shape, dtype=None, device=None, requires_grad=False, name=None) -> Tensor:
    """Standard normal samples from the device's seeded generator."""
    device = backend.check_device(device)
    dtype = backend.as_dtype(dtype) or backend.DEFAULT_FLOAT
    data = backend.generator(device).standard_normal(_shape(shape), dtype=dtype)
    return _make(data, requires_grad, name)


def rand(*shape, dtype=None, device=None, requires_grad=False, name=None) -> Tensor:
    """Uniform samples in [0, 1)."""
    device = backend.check_device(device)
    dtype = backend.as_dtype(dtype) or backend.DEFAULT_FLOAT
    data = backend.generator(device).random(_shape(shape), dtype=dtype)
    return _make(data, requires_grad, name)


def uniform(*shape, low=0.0, high=1.0, dtype=None, device=None, requires_grad=False,
            name=None) -> Tensor:
    """Uniform samples in [low, high)."""
    device = backend.check_device(device)
    dtype = backend.as_dtype(dtype) or backend.DEFAULT_FLOAT
    data = backend.generator(device).random(_shape(shape), dtype=dtype) * (high - low) + low
    return _make(data, requires_grad, name)


def randint(low: int, high: int, shape, device=None) -> Tensor:
    device = backend.check_device(device)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return Tensor.wrap(backend.generator(device).integers(low, high, shape))


def manual_seed(seed: int) -> None:
    """Seed every device's random generator (init, dropout, sampling)."""
    backend.manual_seed(seed)

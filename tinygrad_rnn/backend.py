"""Array backends: NumPy for ``"cpu"``, CuPy for ``"cuda"``.

This is the only module that imports numpy or cupy. Everything else reaches array functions
through a tensor's backend module ``xp`` (the NumPy/CuPy namespace), so op bodies are written
once. CuPy is imported lazily, the first time a CUDA array is asked for, so CPU-only installs
never touch it.
"""

from __future__ import annotations

import math
import os

import numpy

float32 = numpy.dtype("float32")
float64 = numpy.dtype("float64")
int64 = numpy.dtype("int64")
DEFAULT_FLOAT = float32
DEVICES = ("cpu", "cuda")

# One namespace per array type, so finding an array's backend is one dict lookup.
_XP_BY_TYPE: dict[type, object] = {numpy.ndarray: numpy}
_DEVICE_BY_TYPE: dict[type, str] = {numpy.ndarray: "cpu"}
ARRAY_TYPES = _XP_BY_TYPE  # membership test: "is this a backend array?"
_cupy = None
_generators: dict[str, object] = {}
_seed: int | None = None


class DeviceError(RuntimeError):
    """The requested device is not usable here, or two devices were mixed."""


def _load_cupy():
    """Import CuPy and check that a GPU is visible; raise one clear error otherwise."""
    global _cupy
    if _cupy is not None:
        return _cupy
    try:
        import cupy
    except ImportError:
        raise DeviceError(
            "device 'cuda' needs CuPy, which is not installed. Install the gpu extra: "
            "pip install 'tinygrad_rnn[gpu]' (it brings cupy-cuda12x)"
        ) from None
    try:
        available = cupy.cuda.is_available()
    except Exception:  # CuPy raises driver errors of several types on GPU-less machines
        available = False
    if not available:
        raise DeviceError(
            "device 'cuda' was asked for, and CuPy is installed, but no CUDA GPU is visible "
            "(no device or no driver). Use device='cpu' or run on a machine with a GPU."
        )
    _cupy = cupy
    _XP_BY_TYPE[cupy.ndarray] = cupy
    _DEVICE_BY_TYPE[cupy.ndarray] = "cuda"
    return cupy


def cuda_available() -> bool:
    """True if device 'cuda' can be used here (CuPy installed and a GPU visible); never raises."""
    try:
        _load_cupy()
    except DeviceError:
        return False
    return True


def check_device(device: str | None) -> str:
    """Normalise a device name ("cpu", "cuda", "cuda:0"); None means the default device."""
    if device is None:
        return default_device()
    name = str(device).split(":")[0]
    if name not in DEVICES:
        raise DeviceError(f"unknown device {device!r}: expected 'cpu' or 'cuda'")
    return name


def default_device() -> str:
    """The device for new tensors: $TINYGRAD_RNN_DEVICE, else 'cpu'."""
    env = os.environ.get("TINYGRAD_RNN_DEVICE", "cpu").split(":")[0] or "cpu"
    if env not in DEVICES:
        raise DeviceError(f"TINYGRAD_RNN_DEVICE={env!r} is not a device: use 'cpu' or 'cuda'")
    return env


def elementwise(name: str):
    """``xp.<name>`` of the first array argument's backend (NumPy's called directly: it is hot)."""
    numpy_fn = getattr(numpy, name)

    def fn(*args, **kwargs):
        for a in args:
            if type(a) is numpy.ndarray:
                return numpy_fn(*args, **kwargs)
            if type(a) in _XP_BY_TYPE:
                return getattr(_XP_BY_TYPE[type(a)], name)(*args, **kwargs)
        return numpy_fn(*args, **kwargs)
    fn.__name__ = fn.__qualname__ = name
    return fn


def xp_for(device: str):
    """The array namespace (numpy or cupy) of a device."""
    return numpy if device == "cpu" else _load_cupy()


def xp_of(array):
    """The array namespace an array belongs to."""
    return _XP_BY_TYPE[type(array)]


def device_of(array) -> str:
    """'cpu' or 'cuda' for a backend array."""
    return _DEVICE_BY_TYPE[type(array)]


def is_array(obj) -> bool:
    return type(obj) in _XP_BY_TYPE


def ensure_array(obj):
    """NumPy turns 0-d results into scalars (x.sum(), x[0, 0]); make them arrays again."""
    return obj if type(obj) in _XP_BY_TYPE else numpy.asarray(obj)


_CONSTANTS: dict = {}


def constant(value: float, like):
    """``value`` as an operand of arithmetic with ``like``: a read-only 0-d array of its dtype for
    a NumPy array (NumPy takes ~1 µs longer per call with a Python float), else the number."""
    if type(like) is not numpy.ndarray:
        return value
    key = (value, like.dtype)
    c = _CONSTANTS.get(key)
    if c is None:
        c = _CONSTANTS[key] = numpy.array(value, like.dtype)
        c.flags.writeable = False
    return c


_EXP_LIMITS: dict = {}


def exp_limit(dtype) -> float:
    """The largest whole x with a finite eˣ in ``dtype`` (11, 88, 709 for float16/32/64)."""
    limit = _EXP_LIMITS.get(dtype)
    if limit is None:
        limit = _EXP_LIMITS[dtype] = float(math.floor(math.log(float(numpy.finfo(dtype).max))))
    return limit


def is_scalar(obj) -> bool:
    return isinstance(obj, (int, float, bool, numpy.number, numpy.bool_))


def result_type(*arrays):
    return numpy.result_type(*arrays)


def is_float(dtype) -> bool:
    return numpy.dtype(dtype).kind == "f"


def as_dtype(dtype):
    """A dtype from a name, a numpy dtype or a Python type; None stays None."""
    if dtype is None:
        return None
    if dtype is float:
        return DEFAULT_FLOAT
    return numpy.dtype(dtype)


def to_array(data, device: str, dtype=None):
    """Convert lists, scalars and arrays of either backend to an array on `device`.

    Python floats become float32 (the default float); NumPy/CuPy arrays keep their dtype
    unless `dtype` is given, as `torch.tensor` does.
    """
    xp = xp_for(device)
    if type(data) in _XP_BY_TYPE:
        if device_of(data) != device:
            data = to_host(data) if device == "cpu" else xp.asarray(data)
        return data if dtype is None or data.dtype == dtype else data.astype(dtype)
    arr = numpy.asarray(data, dtype=dtype)
    if dtype is None and arr.dtype.kind == "f":
        arr = arr.astype(DEFAULT_FLOAT)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"cannot make a tensor from {type(data).__name__} of dtype {arr.dtype}")
    return arr if device == "cpu" else xp.asarray(arr)


def to_host(array):
    """A NumPy array with the same values (a no-op for CPU arrays)."""
    if type(array) is numpy.ndarray:
        return array
    return array.get()


def host_asarray(data, dtype=None):
    """Plain NumPy conversion, for code that needs host-side arrays (checkpoints, tests)."""
    return numpy.asarray(data, dtype=dtype)


# ---- random numbers: one seeded generator per device -------------------------------------

def manual_seed(seed: int) -> None:
    """Seed the generators of every device (CUDA's is reseeded when it is first used)."""
    global _seed
    _seed = int(seed)
    _generators.clear()


class _CudaRandom:
    """The few NumPy ``Generator`` draws we use, made on the GPU by CuPy's RandomState."""

    def __init__(self, seed):
        self._state = _load_cupy().random.RandomState(seed)

    def standard_normal(self, size=None, dtype=float64):
        return self._state.standard_normal(size=size, dtype=dtype)

    def random(self, size=None, dtype=float64):
        return self._state.random_sample(size=size, dtype=dtype)

    def uniform(self, low=0.0, high=1.0, size=None):
        return self._state.uniform(low, high, size=size)

    def integers(self, low, high=None, size=None):
        return self._state.randint(low, high, size=size)


def generator(device: str):
    """The device's seeded random generator, with NumPy ``Generator`` method names:
    ``standard_normal(size, dtype)``, ``random(size, dtype)``, ``uniform(low, high, size)``,
    ``integers(low, high, size)``. Draws happen on the device (no host round trip)."""
    gen = _generators.get(device)
    if gen is None:
        gen = numpy.random.default_rng(_seed) if device == "cpu" else _CudaRandom(_seed)
        _generators[device] = gen
    return gen


def index_add(target, index, values) -> None:
    """target[index] += values, with repeated indices accumulating (a scatter-add)."""
    if type(target) is numpy.ndarray:
        numpy.add.at(target, index, values)
    else:
        import cupyx
        cupyx.scatter_add(target, index, values)


_kernels: dict = {}


def cuda_elementwise(name: str, in_params: str, out_params: str, body: str, preamble: str = ""):
    """A compiled CuPy ElementwiseKernel (built once, on first use)."""
    kernel = _kernels.get(name)
    if kernel is None:
        kernel = _load_cupy().ElementwiseKernel(in_params, out_params, body, name,
                                                preamble=preamble)
        _kernels[name] = kernel
    return kernel


def host_random(seed: int):
    """A NumPy generator for host-side randomness that must not disturb the global seed."""
    return numpy.random.default_rng(seed)


def host_zeros(shape, dtype=float64):
    return numpy.zeros(shape, dtype=dtype)


def host_arange(n: int):
    return numpy.arange(n)


def host_stack(arrays, axis: int = 0):
    return numpy.stack(arrays, axis=axis)


def unravel(flat_index: int, shape) -> tuple:
    return tuple(int(i) for i in numpy.unravel_index(flat_index, shape))


# ---- checkpoint files (.npz without pickle) -------------------------------------------------

def savez(file, arrays: dict) -> None:
    """Write host arrays to an open binary file as an uncompressed .npz (no pickle allowed)."""
    for key, a in arrays.items():
        if a.dtype.kind == "O":
            raise TypeError(f"cannot save {key!r}: it is an array of Python objects, which "
                            f"would need pickle")
    numpy.savez(file, **arrays)


def load_npz(path) -> dict:
    """Every array of an .npz file, in file order, read with ``allow_pickle=False``."""
    with numpy.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}

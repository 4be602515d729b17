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

from tinygrad_rnn.errors import DeviceError

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


def is_device_mix(err: Exception) -> bool:
    """True for CuPy's errors on host data mixed into device code (NumPy arrays, lists,
    implicit conversion), which would otherwise surface as a misleading shape error."""
    return isinstance(err, TypeError) and (
        "Unsupported type" in str(err) or "Implicit conversion to a NumPy array" in str(err))


def cuda_available() -> bool:
    """True if device 'cuda' can be used here (CuPy installed and a GPU visible); never raises."""
    try:
        _load_cupy()
    except DeviceError:
        return False
    return True


def check_device(device: str | None) -> str:
    """Normalise a device name ("cpu", "cuda", "cuda:1"); None means the default device.

    ``"cuda:N"`` makes GPU N CuPy's current device (arrays made afterwards live there, as after
    ``torch.cuda.set_device(N)``) and raises a DeviceError when there is no GPU N. Tensors still
    report ``.device == "cuda"``: one process computes on one GPU at a time.
    """
    if device is None:
        return default_device()
    name, _, index = str(device).partition(":")
    if name not in DEVICES or (index and name != "cuda"):
        raise DeviceError(f"unknown device {device!r}: expected 'cpu', 'cuda' or 'cuda:N'")
    if index:
        _use_gpu(device, index)
    return name


def _use_gpu(device, index: str) -> None:
    cupy = _load_cupy()
    count = cupy.cuda.runtime.getDeviceCount()
    if not index.isdigit() or int(index) >= count:
        raise DeviceError(f"device {device!r} does not exist: this machine has {count} CUDA "
                          f"device(s), cuda:0 to cuda:{count - 1}")
    if cupy.cuda.runtime.getDevice() != int(index):
        cupy.cuda.Device(int(index)).use()


def default_device() -> str:
    """The device for new tensors: $TINYGRAD_RNN_DEVICE ('cpu', 'cuda' or 'cuda:N'), else 'cpu'."""
    env = os.environ.get("TINYGRAD_RNN_DEVICE", "cpu") or "cpu"
    if env.split(":")[0] not in DEVICES:
        raise DeviceError(f"TINYGRAD_RNN_DEVICE={env!r} is not a device: use 'cpu' or 'cuda'")
    return check_device(env) if ":" in env else env


def device_for_data(data) -> str:
    """Where ``Tensor(data)`` goes without an explicit device: a CuPy array stays on the GPU,
    everything else (NumPy arrays, lists, numbers) goes to the default device, as
    ``torch.tensor`` does after ``torch.set_default_device``."""
    if type(data) not in _DEVICE_BY_TYPE and not _late_cupy(data):
        return default_device()
    return "cuda" if type(data) is not numpy.ndarray else default_device()


def _late_cupy(obj) -> bool:
    """A CuPy array seen before anything asked for 'cuda': load CuPy and register its type."""
    if _cupy is not None or not type(obj).__module__.startswith("cupy"):
        return False
    cupy = _load_cupy()
    if not isinstance(obj, cupy.ndarray):
        return False
    _XP_BY_TYPE[type(obj)] = cupy
    _DEVICE_BY_TYPE[type(obj)] = "cuda"
    return True


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


def float_elementwise(name: str):
    """``elementwise`` for a function of one array whose result is a float (exp, log, tanh,
    sqrt): integer and bool arrays are first made the default float, float32, as PyTorch does
    (NumPy would give float64). Written out, not wrapped: tanh and exp are hot."""
    numpy_fn = getattr(numpy, name)

    def fn(x):
        if type(x) is numpy.ndarray:
            return numpy_fn(x) if x.dtype.kind in "fc" else numpy_fn(x.astype(DEFAULT_FLOAT))
        if x.dtype.kind not in "fc":
            x = x.astype(DEFAULT_FLOAT)
        return getattr(_XP_BY_TYPE[type(x)], name)(x) if type(x) in _XP_BY_TYPE else numpy_fn(x)
    fn.__name__ = fn.__qualname__ = name
    return fn


def xp_for(device: str):
    """The array namespace (numpy or cupy) of a device."""
    return numpy if device == "cpu" else _load_cupy()


def xp_of(array):
    """The array namespace an array belongs to."""
    try:
        return _XP_BY_TYPE[type(array)]
    except KeyError:
        if _late_cupy(array):
            return _XP_BY_TYPE[type(array)]
        raise


def device_of(array) -> str:
    """'cpu' or 'cuda' for a backend array."""
    try:
        return _DEVICE_BY_TYPE[type(array)]
    except KeyError:
        if _late_cupy(array):
            return "cuda"
        raise


def is_array(obj) -> bool:
    return type(obj) in _XP_BY_TYPE or _late_cupy(obj)


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


def tiny(dtype) -> float:
    """The smallest positive normal number of a float dtype."""
    return float(numpy.finfo(dtype).tiny)


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
    if is_array(data):
        if device_of(data) != device:
            data = to_host(data) if device == "cpu" else xp.asarray(data)
        return data if dtype is None or data.dtype == dtype else data.astype(dtype)
    try:
        arr = numpy.asarray(data, dtype=dtype)
    except TypeError:  # a list holding CuPy arrays: stack them where they go (no per-item sync)
        if not isinstance(data, (list, tuple)) or not data:
            raise
        src = "cuda" if any(is_array(i) and device_of(i) == "cuda" for i in data) else device
        return to_array(xp_for(src).stack([to_array(i, src, dtype) for i in data]), device)
    if dtype is None and arr.dtype.kind == "f" and not isinstance(data, numpy.generic):
        arr = arr.astype(DEFAULT_FLOAT)  # a NumPy scalar keeps its dtype, as a NumPy array does
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"cannot make a tensor from {type(data).__name__} of dtype {arr.dtype}")
    return arr if device == "cpu" else xp.asarray(arr)


def to_host(array):
    """A NumPy array with the same values (a no-op for CPU arrays)."""
    if type(array) is numpy.ndarray:
        return array
    if _pending:
        return _get_checked(array)
    return array.get()


def item(array):
    """The one value of an array as a Python number: the read behind ``.item()``/``float()``."""
    if type(array) is numpy.ndarray or not _pending:
        return array.reshape(-1)[0].item()
    return _get_checked(array.reshape(-1)[:1]).reshape(()).item()


def _get_checked(array):
    """``array.get()`` that also reads the pending index checks, in the same transfer (their
    bytes ride along with the array's, so checking costs no extra sync), then raises the
    first that failed."""
    flat = _cupy.ascontiguousarray(array).reshape(-1).view(numpy.uint8)
    flags = [f.reshape(1).astype(numpy.uint8) for f in _pending.values()]
    both = _cupy.concatenate([flat] + flags).get()
    raise_pending(both[flat.size:])
    return both[:flat.size].view(array.dtype).reshape(array.shape)


# ---- index checks that would cost a sync on the GPU: done on the device, read later ---------
#
# An integer index out of range raises IndexError on the CPU (NumPy checks it). CuPy wraps it
# around silently, and checking it eagerly would read a flag back every step (a host sync).
# So on the GPU the check runs on the device: ``defer_check`` keeps a 0-d "some index was bad"
# flag per call site (OR-ed in place step after step: nothing grows), and the next read of a
# GPU value (``.item()``, ``.numpy()``, ``print``, a module's own host read) reads the flags in
# the same transfer and raises there: an error one read late, never a wrapped-around value.
# Host-side indices (lists, NumPy arrays) are checked before the upload, eagerly and for free.

_pending: dict = {}   # (exception class, message) -> 0-d bool device array
_MAX_PENDING = 64     # distinct call sites kept apart; more are folded into one message


def defer_check(bad, error: type, message: str) -> None:
    """Raise ``error(message)`` at the next host read if the 0-d device bool ``bad`` is True."""
    key = (error, message)
    old = _pending.get(key)
    if old is None and len(_pending) >= _MAX_PENDING:
        key = (error, "an index was out of range (more call sites than can be told apart)")
        old = _pending.get(key)
    _pending[key] = bad if old is None else old | bad


def raise_pending(values=None) -> None:
    """Read the deferred index checks (``values``: already read) and raise the first that
    failed; every pending check is consumed either way."""
    keys = list(_pending)
    if values is None:
        values = _cupy.stack(list(_pending.values())).get()
    _pending.clear()
    for (error, message), bad in zip(keys, values):
        if bad:
            raise error(message)


def check_index(index, size: int, error: type, message: str, device_message: str,
                negative: bool = True) -> None:
    """Check an integer index array against an axis of ``size``: −size ≤ i < size (0 ≤ i < size
    with ``negative=False``). NumPy arrays are checked now (``message`` may use {lo} and {hi},
    the range found); CuPy arrays on the device, raising ``device_message`` at the next read
    of a GPU value (see above)."""
    if index.size == 0:
        return
    lo_ok = -size if negative else 0
    if type(index) is numpy.ndarray:
        lo, hi = int(index.min()), int(index.max())
        if lo < lo_ok or hi >= size:
            raise error(message.format(lo=lo, hi=hi))
        return
    defer_check(((index < lo_ok) | (index >= size)).any(), error, device_message)


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
    else:  # cupy.add.at: cupyx.scatter_add is deprecated (CuPy 13 warns on every call)
        _cupy.add.at(target, index, values)


_kernels: dict = {}


def c_contiguous(array):
    """A C-contiguous copy of a 2-D host array (a copy of a transposed matrix, column blocks
    of 64 at a time: NumPy's one-call copy of a 512 × 2048 transposed float32 matrix jumps
    through memory and takes 7.4 ms, in blocks 0.8 ms)."""
    if array.shape[1] <= 128:
        return numpy.ascontiguousarray(array)
    out = numpy.empty(array.shape, dtype=array.dtype)
    for j in range(0, array.shape[1], 64):
        out[:, j:j + 64] = array[:, j:j + 64]
    return out


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

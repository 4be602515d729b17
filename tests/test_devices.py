"""The device switch, tested without a GPU; and the rule that only backend.py touches numpy/cupy."""

import ast
import pathlib
import sys
import types

import numpy as np
import pytest
from conftest import needs_cuda

import tinygrad_rnn as tg
from tinygrad_rnn import backend

PACKAGE = pathlib.Path(tg.__file__).parent


class FakeDeviceArray(np.ndarray):
    """A NumPy array that the backend is told lives on 'cuda' (to test device checks on a CPU)."""


@pytest.fixture
def fake_cuda(monkeypatch):
    monkeypatch.setitem(backend._XP_BY_TYPE, FakeDeviceArray, np)
    monkeypatch.setitem(backend._DEVICE_BY_TYPE, FakeDeviceArray, "cuda")
    return lambda a: tg.Tensor._wrap(np.asarray(a, dtype=np.float32).view(FakeDeviceArray))


def test_only_backend_imports_numpy_or_cupy():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "backend.py":
            continue
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Name) and node.id in ("numpy", "np", "cupy", "cp"):
                names = [node.id]
            if any(n.split(".")[0] in ("numpy", "np", "cupy", "cp", "cupyx") for n in names):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert not offenders, f"numpy/cupy used outside backend.py: {offenders}"


def test_default_device_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("TINYGRAD_RNN_DEVICE", "cpu")
    assert tg.zeros(2).device == "cpu"
    monkeypatch.setenv("TINYGRAD_RNN_DEVICE", "tpu")
    with pytest.raises(tg.DeviceError, match="TINYGRAD_RNN_DEVICE='tpu' is not a device"):
        tg.zeros(2)


def test_cuda_without_cupy_says_to_install_the_gpu_extra(monkeypatch):
    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setitem(sys.modules, "cupy", None)  # makes `import cupy` fail
    with pytest.raises(tg.DeviceError, match=r"CuPy, which is not installed.*tinygrad_rnn\[gpu\]"):
        tg.zeros(2, device="cuda")


def test_cuda_with_cupy_but_no_gpu_says_no_gpu_is_visible(monkeypatch):
    fake = types.ModuleType("cupy")
    fake.cuda = types.SimpleNamespace(is_available=lambda: False)
    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setitem(sys.modules, "cupy", fake)
    with pytest.raises(tg.DeviceError, match="CuPy is installed, but no CUDA GPU is visible"):
        tg.Tensor([1.0], device="cuda")
    assert not backend.cuda_available()


def test_mixing_devices_names_the_op_and_both_devices(fake_cuda):
    on_gpu = fake_cuda([1.0, 2.0])
    assert on_gpu.device == "cuda"
    with tg.scope("t=2"), pytest.raises(tg.DeviceError, match=r"mul in t=2: .*\(cpu and cuda\)"):
        tg.ones(2, device="cpu") * on_gpu
    with pytest.raises(tg.DeviceError, match=r"matmul: .*\(cuda and cpu\)"):
        on_gpu @ tg.ones(2, device="cpu")
    with pytest.raises(tg.DeviceError, match="cat"):
        tg.cat([tg.ones(2, device="cpu"), on_gpu])


def test_numpy_and_item_return_host_values(device):
    t = tg.tensor([1.5], device=device)
    assert type(t.numpy()) is np.ndarray
    assert t.item() == 1.5 and type(t.item()) is float


def test_unknown_device_name():
    with pytest.raises(tg.DeviceError, match="unknown device 'gpu'"):
        tg.tensor([1.0]).to("gpu")


@needs_cuda
def test_round_trip_to_cuda_and_back_keeps_values_and_gradients():
    x = tg.tensor([1.0, -2.0, 3.0], requires_grad=True, device="cpu")
    y = (x.to("cuda") * 2).tanh()
    assert y.device == "cuda"
    y.sum().backward()
    assert x.grad.device == "cpu"
    np.testing.assert_allclose(x.grad.numpy(), 2 * (1 - np.tanh(2 * x.numpy()) ** 2), rtol=1e-6)


@needs_cuda
def test_seeded_generators_on_cuda_repeat():
    tg.manual_seed(3)
    a = tg.randn(4, device="cuda").numpy()
    tg.manual_seed(3)
    b = tg.randn(4, device="cuda").numpy()
    np.testing.assert_array_equal(a, b)


@needs_cuda
def test_repeated_indices_accumulate_on_the_gpu():
    w = tg.zeros(3, 2, device="cuda", requires_grad=True)
    w[np.array([0, 2, 0, 0])].sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[3, 3], [0, 0], [1, 1]])
    e = tg.zeros(3, 2, device="cuda", requires_grad=True)
    tg.embedding(e, np.array([1, 1, 2])).sum().backward()
    np.testing.assert_array_equal(e.grad.numpy(), [[0, 0], [2, 2], [1, 1]])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_numpy_constants_keep_the_arrays_dtype_and_cannot_be_changed(dtype):
    from tinygrad_rnn import backend
    y = np.full((2, 3), 0.25, dtype=dtype)
    one = backend.constant(1.0, y)
    assert one.shape == () and one.dtype == y.dtype and (one - y).dtype == y.dtype
    assert backend.constant(1.0, y) is one  # cached: made once per value and dtype
    with pytest.raises(ValueError):
        one[...] = 2.0
    assert backend.constant(1.0, tg.tensor([1.0])) == 1.0  # Tensors (create_graph) get the number


def test_sigmoid_and_tanh_keep_float32_and_saturate_without_warnings():
    import warnings
    x = tg.tensor([-1000.0, -20.0, 0.0, 20.0, 1000.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = x.sigmoid()
        (y.sum() + x.tanh().sum()).backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    # σ(−1000) underflows silently to 0; σ(1000) is 1 without overflowing e^1000
    np.testing.assert_allclose(y.numpy(), [0.0, 2.0611537e-09, 0.5, 1.0, 1.0], rtol=1e-6, atol=1e-37)


def test_float16_sigmoid_saturates_to_one_not_nan():
    y = tg.Tensor(np.array([-30.0, 0.0, 11.5, 20.0, 1e4], dtype="float16")).sigmoid()
    np.testing.assert_array_equal(y.numpy(), np.array([0.0, 0.5, 1.0, 1.0, 1.0], dtype="float16"))

import os

import numpy as np
import pytest

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _torch():
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


TORCH = _torch()
needs_torch = pytest.mark.skipif(
    TORCH is None, reason="PyTorch is the test-only oracle for parity; install torch==2.13.0 "
                          "(make test does) to run these")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


from tinygrad_rnn import backend  # noqa: E402

CUDA = backend.cuda_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="no CUDA GPU here (CuPy missing or no device): "
                                                 "CUDA cases run only on a GPU machine")
DEVICES = ["cpu", pytest.param("cuda", marks=needs_cuda)]


@pytest.fixture(params=DEVICES)
def device(request):
    """Run the test once per device; CUDA cases skip with a reason where there is no GPU."""
    return request.param


def pytest_collection_modifyitems(items):
    """Every CUDA case (a 'cuda' device param or a needs_cuda test) is also marked ``gpu``, so
    ``pytest -m gpu`` selects them all (CI runs them under the CuPy stand-in)."""
    for item in items:
        if any(m.name == "skipif" and m.kwargs.get("reason") == needs_cuda.kwargs["reason"]
               for m in item.iter_markers()):
            item.add_marker(pytest.mark.gpu)

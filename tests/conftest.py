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

"""Forward values and gradients of every op equal PyTorch's (float64)."""

import numpy as np
import pytest
from conftest import TORCH, needs_torch
from op_cases import CASES

import tinygrad_rnn as tg

pytestmark = needs_torch


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_forward_and_gradients_equal_torch(case, rng, device):
    arrays = case.inputs(rng)
    ours = [tg.Tensor(a, dtype="float64", requires_grad=True, device=device) for a in arrays]
    theirs = [TORCH.tensor(a, dtype=TORCH.float64, requires_grad=True) for a in arrays]
    out, ref = case.ours(*ours), case.theirs(*theirs)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    cotangent = rng.standard_normal(ref.shape)
    assert out.device == device
    out.backward(tg.Tensor(cotangent, dtype="float64", device=device))
    ref.backward(TORCH.tensor(cotangent))
    for mine, other in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad.numpy(), other.grad.numpy(), rtol=1e-10, atol=1e-12)

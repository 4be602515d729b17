"""The fused LSTM/GRU pointwise primitives give the primitive path's numbers and gradients."""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import fused


def lstm_reference(gates, c_prev):
    H = c_prev.shape[-1]
    i, f = gates[:, :H].sigmoid(), gates[:, H:2 * H].sigmoid()
    g, o = gates[:, 2 * H:3 * H].tanh(), gates[:, 3 * H:].sigmoid()
    c = f * c_prev + i * g
    return o * c.tanh(), c


def lstm_fused(gates, c_prev):
    c = fused.lstm_cell_state(gates, c_prev)
    return fused.lstm_cell_output(gates, c), c


def gru_reference(gx, gh, h_prev):
    H = h_prev.shape[-1]
    r = (gx[:, :H] + gh[:, :H]).sigmoid()
    z = (gx[:, H:2 * H] + gh[:, H:2 * H]).sigmoid()
    n = (gx[:, 2 * H:] + r * gh[:, 2 * H:]).tanh()
    return (1 - z) * n + z * h_prev


def _inputs(shapes, device, seed=0):
    rng = np.random.default_rng(seed)
    return [tg.tensor(rng.standard_normal(s), dtype="float64", device=device, requires_grad=True)
            for s in shapes]


@pytest.mark.parametrize("which", ["lstm", "gru"])
def test_fused_step_equals_primitive_step(which, device):
    B, H = 3, 5
    shapes = [(B, 4 * H), (B, H)] if which == "lstm" else [(B, 3 * H), (B, 3 * H), (B, H)]
    a, b = _inputs(shapes, device), _inputs(shapes, device)
    if which == "lstm":
        out_a, out_b = sum(lstm_reference(*a)), sum(lstm_fused(*b))
    else:
        out_a, out_b = gru_reference(*a), fused.gru_cell(*b)
    np.testing.assert_allclose(out_a.numpy(), out_b.numpy(), rtol=1e-12, atol=1e-12)
    w = tg.tensor(np.random.default_rng(1).standard_normal(out_a.shape), dtype="float64",
                  device=device)
    (out_a * w).sum().backward()
    (out_b * w).sum().backward()
    for x, y in zip(a, b):
        np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_fused_primitives_pass_gradcheck_to_second_order():
    gates, c = _inputs([(2, 12), (2, 3)], "cpu", seed=2)
    assert tg.gradcheck(lambda g, c: sum(lstm_fused(g, c)), [gates, c], second_order=True,
                        atol=1e-4)
    gx, gh, h = _inputs([(2, 9), (2, 9), (2, 3)], "cpu", seed=3)
    assert tg.gradcheck(fused.gru_cell, [gx, gh, h], second_order=True, atol=1e-4)


def test_fused_primitives_check_shapes():
    with pytest.raises(ValueError, match=r"lstm_cell_state: gates of shape \(2, 10\)"):
        fused.lstm_cell_state(tg.zeros(2, 10), tg.zeros(2, 3))

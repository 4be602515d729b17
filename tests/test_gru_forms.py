"""The two GRU forms: PyTorch's (reset_after=True, the default) and the notes' 001 eq. 7
(reset_after=False: the reset gate scales h_{t−1} before W_hn multiplies it)."""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn


def _sig(a):
    return 1 / (1 + np.exp(-a))


def _reference(x, h, W_ih, W_hh, b_ih, b_hh, reset_after):
    """One step in NumPy, written from the equations."""
    H = h.shape[-1]
    gi, W_hr, W_hz, W_hn = x @ W_ih.T + b_ih, W_hh[:H], W_hh[H:2 * H], W_hh[2 * H:]
    r = _sig(gi[:, :H] + h @ W_hr.T + b_hh[:H])
    z = _sig(gi[:, H:2 * H] + h @ W_hz.T + b_hh[H:2 * H])
    if reset_after:
        n = np.tanh(gi[:, 2 * H:] + r * (h @ W_hn.T + b_hh[2 * H:]))
    else:
        n = np.tanh(gi[:, 2 * H:] + (r * h) @ W_hn.T + b_hh[2 * H:])
    return (1 - z) * n + z * h


@pytest.mark.parametrize("reset_after", [True, False])
def test_cell_computes_its_stated_equation(reset_after):
    cell = nn.GRUCell(3, 4, reset_after=reset_after).double()
    x, h = np.random.default_rng(0).normal(size=(2, 2, 3)), np.random.default_rng(1).normal(size=(2, 4))
    got = cell(tg.tensor(x[0]), tg.tensor(h)).numpy()
    p = {k: v.numpy() for k, v in cell.named_parameters()}
    want = _reference(x[0], h, p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"], reset_after)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_the_two_forms_differ():
    cell = nn.GRUCell(3, 4).double()
    other = nn.GRUCell(3, 4, reset_after=False).double()
    other.load_state_dict(cell.state_dict())
    x, h = tg.randn(2, 3, dtype="float64"), tg.randn(2, 4, dtype="float64")
    assert np.abs(cell(x, h).numpy() - other(x, h).numpy()).max() > 1e-3


def test_layer_matches_its_cell_step_by_step():
    gru = nn.GRU(3, 4, reset_after=False).double()
    cell = nn.GRUCell(3, 4, reset_after=False).double()
    cell.load_state_dict({k[:-3]: v for k, v in gru.state_dict().items() if k.endswith("_l0")})
    x = tg.randn(5, 2, 3, dtype="float64")
    out, h_n = gru(x)
    h = None
    for t in range(5):
        h = cell(x[t], h)
        np.testing.assert_allclose(out[t].numpy(), h.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h_n[0].numpy(), h.numpy(), rtol=1e-12, atol=1e-12)


def test_notes_form_gradcheck_float64():
    cell = nn.GRUCell(3, 4, reset_after=False).double()
    x = tg.randn(3, 2, 3, dtype="float64", requires_grad=True)
    h0 = tg.randn(2, 4, dtype="float64", requires_grad=True)

    def fn(x, h, *params):
        total = 0
        for t in range(3):
            h = cell(x[t], h)
            total = total + h.sum()
        return total
    assert tg.gradcheck(fn, [x, h0, *cell.parameters()])


def test_notes_form_layer_gradcheck_deep_bidirectional():
    gru = nn.GRU(2, 3, num_layers=2, bidirectional=True, reset_after=False).double()
    x = tg.randn(4, 2, 2, dtype="float64", requires_grad=True)
    assert tg.gradcheck(lambda x, *ps: gru(x)[0].sum(), [x, *gru.parameters()])


def test_repr_and_default():
    assert nn.GRU(2, 3).reset_after and nn.GRUCell(2, 3).reset_after
    assert "reset_after=False" in repr(nn.GRU(2, 3, reset_after=False))
    assert "reset_after" not in repr(nn.GRUCell(2, 3))


@pytest.mark.parametrize("make", [lambda: nn.GRU(2, 3, fused=True, reset_after=False),
                                  lambda: nn.GRUCell(2, 3, fused=True, reset_after=False)])
def test_fused_refuses_the_notes_form(make):
    with pytest.raises(ValueError, match="fused=True computes PyTorch's GRU"):
        make()

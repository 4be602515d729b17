"""nn.MemoryRNN (notes 002): the gated cell built from clearing, writing and reading.

Its end points are existing layers (the vanilla RNN and the notes' GRU), its equation is
checked against a NumPy loop, every stage is gradchecked in float64, and misuse is refused.
"""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.nn.memory import STAGES


def sig(z):
    return 1 / (1 + np.exp(-z))


def test_vanilla_stage_is_nn_rnn():
    tg.manual_seed(0)
    m = nn.MemoryRNN(3, 4, **STAGES["vanilla RNN"]).double()
    assert m.weight_hh is None and m.weight_ih.shape == (4, 3)
    rnn = nn.RNN(3, 4).double()
    rnn.load_state_dict({"weight_ih_l0": m.weight_ih.numpy(), "weight_hh_l0": m.weight_hc.numpy(),
                         "bias_ih_l0": m.bias.numpy(), "bias_hh_l0": np.zeros(4)})
    x = tg.randn(5, 2, 3, dtype="float64")
    assert np.allclose(m(x)[0].numpy(), rnn(x)[0].numpy(), atol=1e-12)


def test_tied_stage_is_the_notes_gru():
    """GRU blocks r, z, n; MemoryRNN(tied) blocks f (= z), r, candidate (= n)."""
    tg.manual_seed(1)
    m = nn.MemoryRNN(3, 4, **STAGES["GRU (s = 1 − f)"]).double()
    gru = nn.GRU(3, 4, reset_after=False).double()
    f, r, n = np.split(m.weight_ih.numpy(), 3)
    bf, br, bn = np.split(m.bias.numpy(), 3)
    Uf, Ur = np.split(m.weight_hh.numpy(), 2)
    gru.load_state_dict({"weight_ih_l0": np.concatenate([r, f, n]),
                         "weight_hh_l0": np.concatenate([Ur, Uf, m.weight_hc.numpy()]),
                         "bias_ih_l0": np.concatenate([br, bf, bn]), "bias_hh_l0": np.zeros(12)})
    x = tg.randn(6, 2, 3, dtype="float64")
    h0 = tg.randn(1, 2, 4, dtype="float64")
    out, hn = m(x, h0)
    ref, ref_hn = gru(x, h0)
    assert np.allclose(out.numpy(), ref.numpy(), atol=1e-12)
    assert np.allclose(hn.numpy(), ref_hn.numpy(), atol=1e-12)


def test_separate_gates_match_numpy():
    tg.manual_seed(2)
    m = nn.MemoryRNN(3, 4).double()
    x = tg.randn(5, 2, 3, dtype="float64")
    out = m(x)[0].numpy()
    W, b, U, Uc = (m.weight_ih.numpy(), m.bias.numpy(), m.weight_hh.numpy(), m.weight_hc.numpy())
    h = np.zeros((2, 4))
    for t, x_t in enumerate(x.numpy()):
        z = x_t @ W.T + b
        g = z[:, :12] + h @ U.T
        f, s, r = sig(g[:, :4]), sig(g[:, 4:8]), sig(g[:, 8:])
        cand = np.tanh(z[:, 12:] + (r * h) @ Uc.T)
        h = f * h + s * cand
        assert np.allclose(out[t], h, atol=1e-12)


@pytest.mark.parametrize("stage", list(STAGES))
def test_gradcheck_float64(stage):
    tg.manual_seed(3)
    m = nn.MemoryRNN(3, 4, batch_first=True, **STAGES[stage]).double()
    x = tg.randn(2, 5, 3, dtype="float64", requires_grad=True)
    h0 = tg.randn(1, 2, 4, dtype="float64", requires_grad=True)

    def f(x, h0, *ps):
        return m(x, h0)[0]

    assert tg.gradcheck(f, [x, h0, *m.parameters()])


def test_unbatched_and_errors():
    m = nn.MemoryRNN(3, 4).double()
    x = tg.randn(5, 3, dtype="float64")
    out, hn = m(x)
    assert out.shape == (5, 4) and hn.shape == (1, 4)
    with pytest.raises(ValueError, match="tied=True"):
        nn.MemoryRNN(3, 4, store=False, tied=True)
    with pytest.raises(Exception, match="expected input"):
        m(tg.randn(5, 2, 7, dtype="float64"))
    assert "read=True" in repr(m) and "tied" not in repr(m)

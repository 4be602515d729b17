"""The coupled-gate LSTM (notes 001 §4): f = 1 − i, as ``coupled=True`` of LSTMCell and LSTM.

Checked against a NumPy step loop, against torch.nn.LSTM with the forget rows set to the
negated input rows (1 − σ(z) = σ(−z)), by float64 gradchecks, and for clear errors.
"""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tests.conftest import TORCH, needs_torch
from tinygrad_rnn import nn


def sig(z):
    return 1 / (1 + np.exp(-z))


def numpy_coupled(x, W_ih, W_hh, b, h, c):
    """c_t = (1 − i) ⊙ c_{t−1} + i ⊙ g, h_t = o ⊙ tanh(c_t), blocks i, g, o."""
    H = h.shape[-1]
    hs = []
    for x_t in x:
        z = x_t @ W_ih.T + h @ W_hh.T + b
        i, g, o = sig(z[:, :H]), np.tanh(z[:, H:2 * H]), sig(z[:, 2 * H:])
        c = (1 - i) * c + i * g
        h = o * np.tanh(c)
        hs.append(h)
    return np.stack(hs), h, c


def test_parameters_have_three_gate_blocks_and_repr():
    cell = nn.LSTMCell(3, 4, coupled=True)
    assert cell.weight_ih.shape == (12, 3) and cell.weight_hh.shape == (12, 4)
    assert cell.bias_ih.shape == (12,)
    assert "coupled=True" in repr(cell)
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True, coupled=True)
    assert lstm.weight_ih_l1_reverse.shape == (12, 8)
    assert "coupled=True" in repr(lstm)
    assert nn.LSTM(3, 4).weight_ih_l0.shape == (16, 3), "the standard LSTM is unchanged"
    assert "coupled" not in repr(nn.LSTM(3, 4))


def test_layer_matches_numpy_and_cell():
    tg.manual_seed(0)
    lstm = nn.LSTM(3, 5, coupled=True).double()
    x = tg.randn(6, 2, 3, dtype="float64")
    h0, c0 = tg.randn(1, 2, 5, dtype="float64"), tg.randn(1, 2, 5, dtype="float64")
    out, (hn, cn) = lstm(x, (h0, c0))
    b = lstm.bias_ih_l0.numpy() + lstm.bias_hh_l0.numpy()
    ref, h, c = numpy_coupled(x.numpy(), lstm.weight_ih_l0.numpy(), lstm.weight_hh_l0.numpy(), b,
                              h0.numpy()[0], c0.numpy()[0])
    assert np.allclose(out.numpy(), ref, atol=1e-12)
    assert np.allclose(hn.numpy()[0], h, atol=1e-12) and np.allclose(cn.numpy()[0], c, atol=1e-12)
    cell = nn.LSTMCell(3, 5, coupled=True).double()
    cell.load_state_dict({k[:-3]: v for k, v in lstm.state_dict().items()})
    hc = (h0[0], c0[0])
    for t in range(6):
        hc = cell(x[t], hc)
        assert np.allclose(hc[0].numpy(), ref[t], atol=1e-12)
    h_u, c_u = cell(x[0, 0], (h0[0, 0], c0[0, 0]))  # unbatched
    assert h_u.shape == (5,) and np.allclose(h_u.numpy(), ref[0, 0], atol=1e-12)


@needs_torch
def test_equals_torch_lstm_with_forget_rows_negated_input_rows():
    """1 − σ(z_i) = σ(−z_i): torch's LSTM with W_f = −W_i, b_f = −b_i is the coupled LSTM."""
    torch = TORCH
    tg.manual_seed(1)
    ours = nn.LSTM(3, 4, num_layers=2, coupled=True).double()
    ref = torch.nn.LSTM(3, 4, num_layers=2).double()
    with torch.no_grad():
        for name, p in ref.named_parameters():
            i, g, o = np.split(getattr(ours, name).numpy(), 3)
            p.copy_(torch.from_numpy(np.concatenate([i, -i, g, o])))
    x = np.random.default_rng(0).standard_normal((7, 2, 3))
    out, (hn, cn) = ours(tg.tensor(x))
    r_out, (r_hn, r_cn) = ref(torch.from_numpy(x))
    assert np.allclose(out.numpy(), r_out.detach().numpy(), atol=1e-12)
    assert np.allclose(hn.numpy(), r_hn.detach().numpy(), atol=1e-12)
    assert np.allclose(cn.numpy(), r_cn.detach().numpy(), atol=1e-12)


@pytest.mark.parametrize("make", [lambda: nn.LSTMCell(3, 4, coupled=True),
                                  lambda: nn.LSTM(3, 4, num_layers=2, bidirectional=True,
                                                  coupled=True)], ids=["cell", "layer"])
def test_gradcheck_float64(make):
    tg.manual_seed(2)
    m = make().double()
    is_cell = isinstance(m, nn.LSTMCell)
    x = tg.randn(*((2, 3) if is_cell else (4, 2, 3)), dtype="float64", requires_grad=True)
    c0 = tg.randn(*((2, 4) if is_cell else (4, 2, 4)), dtype="float64", requires_grad=True)
    h0 = tg.zeros(*c0.shape, dtype="float64")

    def f(x, c0, *ps):
        out = m(x, (h0, c0))
        return out if is_cell else (out[0], out[1][1])

    assert tg.gradcheck(f, [x, c0, *m.parameters()])


def test_lengths_carry_the_state_through_padding():
    tg.manual_seed(3)
    lstm = nn.LSTM(2, 3, coupled=True).double()
    x = tg.randn(5, 2, 2, dtype="float64")
    out, (hn, cn) = lstm(x, lengths=np.array([5, 3]))
    short, (h3, c3) = lstm(x[:3, 1:2])
    assert np.allclose(hn.numpy()[0, 1], h3.numpy()[0, 0]) and np.allclose(cn.numpy()[0, 1], c3.numpy()[0, 0])
    assert np.all(out.numpy()[3:, 1] == 0)


def test_errors():
    for kw, word in (({"peephole": True}, "peephole"), ({"fused": True}, "fused")):
        with pytest.raises(ValueError, match=f"coupled=True.*{word}=False"):
            nn.LSTM(3, 4, coupled=True, **kw)
        with pytest.raises(ValueError, match=f"coupled=True.*{word}=False"):
            nn.LSTMCell(3, 4, coupled=True, **kw)
    with pytest.raises(TypeError):
        nn.GRU(3, 4, coupled=True)
    # a coupled state_dict has 3·H rows: it does not load into a standard LSTM
    with pytest.raises(Exception, match="shape"):
        nn.LSTM(3, 4).load_state_dict(nn.LSTM(3, 4, coupled=True).state_dict())

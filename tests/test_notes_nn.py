"""The recurrent variants of the notes (issue 14): ClockworkRNN, SCRN, SkipRNN, DeepTransitionRNN.

Shapes as nn.RNN, the defining equations checked against a plain NumPy step loop, float64
finite-difference gradchecks, and clear errors off the happy path.
"""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.errors import ShapeError


def make(kind, double=True):
    tg.manual_seed(0)
    m = {
        "clockwork": lambda: nn.ClockworkRNN(3, 8, periods=(1, 2, 4, 8)),
        "scrn": lambda: nn.SCRN(3, 5, 4, alpha=0.9),
        "skip": lambda: nn.SkipRNN(3, 5, skip=3),
        "deep": lambda: nn.DeepTransitionRNN(3, 5, transition_layers=3),
        "deep-skip": lambda: nn.DeepTransitionRNN(3, 5, transition_layers=2, skip=True),
    }[kind]()
    return m.double() if double else m


KINDS = ["clockwork", "scrn", "skip", "deep", "deep-skip"]


def out_size(m):
    return m.hidden_size + (m.context_size if isinstance(m, nn.SCRN) else 0)


def p(m, name):
    return getattr(m, name).numpy()


def sig(z):
    return 1 / (1 + np.exp(-z))


@pytest.mark.parametrize("kind", KINDS)
def test_shapes_batch_first_unbatched_and_hx(kind):
    m = make(kind)
    x = tg.randn(6, 2, 3, dtype="float64")
    out, hn = m(x)
    assert out.shape == (6, 2, out_size(m))
    finals = hn if isinstance(hn, tuple) else (hn,)
    assert finals[0].shape == (1, 2, m.hidden_size)
    assert np.allclose(finals[0].numpy()[0], out.numpy()[-1][:, :m.hidden_size])
    m.batch_first = True
    out_bf, _ = m(x.transpose(0, 1))
    assert np.allclose(out_bf.numpy(), out.numpy().transpose(1, 0, 2))
    m.batch_first = False
    out_u, hn_u = m(x[:, 0])
    assert out_u.shape == (6, out_size(m))
    assert np.allclose(out_u.numpy(), out.numpy()[:, 0])
    if kind in ("clockwork", "skip"):
        return  # each call restarts the clock / the h_{t−d} history (documented)
    # continuing from h_n equals running the whole sequence
    first, h_mid = m(x[:3])
    second, _ = m(x[3:], h_mid)
    assert np.allclose(np.concatenate([first.numpy(), second.numpy()]), out.numpy(), atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_gradcheck_float64(kind):
    m = make(kind)
    x = tg.randn(5, 2, 3, dtype="float64", requires_grad=True)
    params = list(m.parameters())

    def f(x, *ps):
        return m(x)[0]

    assert tg.gradcheck(f, [x, *params])


@pytest.mark.parametrize("kind", KINDS)
def test_errors(kind):
    m = make(kind)
    with pytest.raises(ShapeError, match="expected input"):
        m(tg.randn(4, 2, 7, dtype="float64"))
    with pytest.raises(ShapeError, match="0 time steps"):
        m(tg.zeros(0, 2, 3, dtype="float64"))
    bad = tg.zeros(1, 3, m.hidden_size, dtype="float64")
    with pytest.raises((ShapeError, TypeError)):
        m(tg.randn(4, 2, 3, dtype="float64"), bad)


def test_clockwork_matches_numpy_and_slow_modules_hold_their_state():
    m = make("clockwork")
    x = tg.randn(9, 2, 3, dtype="float64")
    out = m(x)[0].numpy()
    W_ih, W_hh, b = p(m, "weight_ih"), p(m, "weight_hh"), p(m, "bias")
    mask = np.kron(np.triu(np.ones((4, 4))), np.ones((2, 2)))
    assert np.all(W_hh[mask == 0] == 0), "W_hh starts block upper-triangular"
    h = np.zeros((2, 8))
    for t in range(1, 10):
        new = np.tanh(x.numpy()[t - 1] @ W_ih.T + h @ (W_hh * mask).T + b)
        on = np.repeat([(t - 1) % T == 0 for T in (1, 2, 4, 8)], 2)
        h = np.where(on, new, h)
        assert np.allclose(out[t - 1], h, atol=1e-12), t
    # the period-8 module (last 2 units) updates at t = 1 and t = 9 only
    assert np.array_equal(out[1:8, :, 6:], np.broadcast_to(out[0, :, 6:], (7, 2, 2)))


def test_clockwork_lower_blocks_get_no_gradient_and_errors():
    m = make("clockwork")
    m(tg.randn(5, 2, 3, dtype="float64"))[0].sum().backward()
    g = m.weight_hh.grad.numpy()
    mask = np.kron(np.triu(np.ones((4, 4))), np.ones((2, 2)))
    assert np.all(g[mask == 0] == 0) and np.any(g[mask == 1] != 0)
    with pytest.raises(ValueError, match="multiple"):
        nn.ClockworkRNN(3, 10, periods=(1, 2, 4))
    with pytest.raises(ValueError, match="increasing"):
        nn.ClockworkRNN(3, 8, periods=(2, 1))


def test_scrn_matches_the_equations():
    m = make("scrn")
    x = tg.randn(6, 2, 3, dtype="float64")
    out, (hn, sn) = m(x)
    Bw, A, P, R, b = (p(m, n) for n in ("weight_B", "weight_A", "weight_P", "weight_R", "bias"))
    h, s = np.zeros((2, 5)), np.zeros((2, 4))
    for t in range(6):
        s = (1 - 0.9) * x.numpy()[t] @ Bw.T + 0.9 * s
        h = sig(s @ P.T + x.numpy()[t] @ A.T + h @ R.T + b)
        assert np.allclose(out.numpy()[t], np.concatenate([h, s], -1), atol=1e-12)
    assert np.allclose(sn.numpy()[0], s) and np.allclose(hn.numpy()[0], h)
    with pytest.raises(ValueError, match="alpha"):
        nn.SCRN(3, 5, 4, alpha=1.5)
    with pytest.raises(TypeError, match="tuple"):
        m(x, tg.zeros(1, 2, 5, dtype="float64"))


def test_scrn_context_gradient_decays_as_alpha_to_the_k():
    """∂s_T/∂s_0 = α^T I along the context path."""
    m = make("scrn")
    s0 = tg.zeros(1, 1, 4, dtype="float64", requires_grad=True)
    h0 = tg.zeros(1, 1, 5, dtype="float64")
    _, (_, sn) = m(tg.randn(7, 1, 3, dtype="float64"), (h0, s0))
    sn.sum().backward()
    assert np.allclose(s0.grad.numpy(), 0.9 ** 7)


def test_skip_rnn_matches_the_equation():
    m = make("skip")
    x = tg.randn(7, 2, 3, dtype="float64")
    out = m(x)[0].numpy()
    W_ih, W_hh, W_s, b = (p(m, n) for n in ("weight_ih", "weight_hh", "weight_skip", "bias"))
    hs = []
    for t in range(7):
        prev = hs[-1] if hs else np.zeros((2, 5))
        back = hs[t - 3] if t >= 3 else np.zeros((2, 5))
        hs.append(np.tanh(x.numpy()[t] @ W_ih.T + prev @ W_hh.T + back @ W_s.T + b))
    assert np.allclose(out, np.stack(hs), atol=1e-12)


def test_skip_shortens_the_gradient_path():
    """With W_hh = 0 only the skip path is left: h_t depends on x_{t−3}, not on x_{t−1}."""
    m = make("skip")
    with tg.no_grad():
        m.weight_hh.data = (m.weight_hh * 0).data
    x = tg.randn(7, 1, 3, dtype="float64", requires_grad=True)
    m(x)[0][6].sum().backward()
    g = np.abs(x.grad.numpy()).sum(axis=(1, 2))
    assert g[3] > 0 and g[0] > 0 and g[5] == 0 and g[4] == 0


def test_deep_transition_matches_the_equations():
    for kind in ("deep", "deep-skip"):
        m = make(kind)
        x = tg.randn(5, 2, 3, dtype="float64")
        out = m(x)[0].numpy()
        h = np.zeros((2, 5))
        for t in range(5):
            xt = x.numpy()[t]
            u = np.tanh(xt @ p(m, "weight_ih").T + h @ p(m, "weight_hh").T + p(m, "bias_l1"))
            for layer in range(2, m.transition_layers + 1):
                z = u @ p(m, f"weight_l{layer}").T + p(m, f"bias_l{layer}")
                if m.skip and layer == m.transition_layers:
                    z = z + h @ p(m, "weight_skip_h").T + xt @ p(m, "weight_skip_x").T
                u = np.tanh(z)
            h = u
            assert np.allclose(out[t], h, atol=1e-12)
    with pytest.raises(ValueError, match="transition_layers"):
        nn.DeepTransitionRNN(3, 5, transition_layers=1, skip=True)


def test_float32_default_and_dtype_mismatch_is_an_error():
    m = make("clockwork", double=False)
    out, _ = m(tg.randn(4, 2, 3))
    assert out.dtype == tg.float32
    with pytest.raises(tg.DTypeError):
        m(tg.randn(4, 2, 3, dtype="float64"))


@pytest.mark.parametrize("kind", KINDS)
def test_runs_on_each_device_like_on_cpu(kind, device):
    m = make(kind)
    x = tg.randn(5, 2, 3, dtype="float64")
    ref = m(x)[0].numpy()
    m = m.to(device)
    out, _ = m(x.to(device))
    assert out.device == device
    out.sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    assert np.allclose(out.numpy(), ref, atol=1e-12)

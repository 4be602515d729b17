"""The fused LSTM/GRU pointwise primitives give the primitive path's numbers and gradients."""

import warnings

import numpy as np
import pytest
from conftest import needs_cuda

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


# ---- nn.LSTM / nn.GRU with fused=True against fused=False ---------------------------------------


def _pair(mode, dtype, device, num_layers=2, bidirectional=True):
    """The same layer twice, unfused and fused, with equal parameters."""
    tg.manual_seed(0)
    kind = getattr(tg.nn, mode)
    plain = kind(3, 4, num_layers=num_layers, bidirectional=bidirectional).to(device, dtype)
    fast = kind(3, 4, num_layers=num_layers, bidirectional=bidirectional, fused=True)
    fast.to(device, dtype).load_state_dict(plain.state_dict())
    return plain, fast


def _run_layer(layer, x_array, device, dtype):
    x = tg.tensor(x_array, dtype=dtype, device=device, requires_grad=True)
    out, state = layer(x, lengths=[5, 2])
    finals = list(state) if isinstance(state, tuple) else [state]
    w = np.random.default_rng(4).standard_normal(out.shape)
    loss = (out * tg.tensor(w, dtype=dtype, device=device)).sum() + sum(s.sum() for s in finals)
    loss.backward()
    return [out.numpy(), *(s.numpy() for s in finals), x.grad.numpy(),
            *(p.grad.numpy() for p in layer.parameters())]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_fused_layer_gives_the_unfused_numbers(mode, dtype, device):
    """CPU: the same formulas in the same order, so equal to the last bit. CUDA: the kernels'
    exp/tanh and fused multiply-adds round differently, so equal to float rounding."""
    plain, fast = _pair(mode, dtype, device)
    x = np.random.default_rng(5).standard_normal((5, 2, 3)) * 3
    for a, b in zip(_run_layer(plain, x, device, dtype), _run_layer(fast, x, device, dtype)):
        if device == "cpu":
            np.testing.assert_array_equal(b, a)
        else:
            tol = 1e-5 if dtype == "float32" else 1e-12
            np.testing.assert_allclose(b, a, rtol=tol, atol=tol)


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_fused_layer_at_saturated_pre_activations_is_finite_and_silent(mode, device):
    """Every gate's pre-activation ±100 in float32: e¹⁰⁰ overflows float32, so σ = 1/(1+e⁻ˣ)
    would warn and the gradients could go NaN; the core's capped σ gives 0 and 1 quietly."""
    plain, fast = _pair(mode, "float32", device, num_layers=1, bidirectional=False)
    G = plain.weight_ih_l0.shape[0]
    pre = np.where(np.arange(G) % 2 == 0, 100.0, -100.0).astype("float32")
    for layer in (plain, fast):
        layer.load_state_dict({"weight_ih_l0": np.zeros((G, 3), "float32"),
                               "weight_hh_l0": np.zeros((G, 4), "float32"),
                               "bias_ih_l0": pre, "bias_hh_l0": np.zeros(G, "float32")})
    x = np.random.default_rng(6).standard_normal((5, 2, 3))
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        expected, got = _run_layer(plain, x, device, "float32"), _run_layer(fast, x, device, "float32")
    for a, b in zip(expected, got):
        assert np.isfinite(b).all()
        if device == "cpu":
            np.testing.assert_array_equal(b, a)
        else:
            np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


# ---- the CPU fast path: activations saved by the forward, not recomputed in backward -----------


@pytest.mark.parametrize("which", ["lstm", "gru"])
def test_cpu_backward_reuses_the_forward_activations(which, monkeypatch):
    from tinygrad_rnn import ops
    B, H = 3, 5
    shapes = [(B, 4 * H), (B, H)] if which == "lstm" else [(B, 3 * H), (B, 3 * H), (B, H)]
    inputs = _inputs(shapes, "cpu")
    out = sum(lstm_fused(*inputs)) if which == "lstm" else fused.gru_cell(*inputs)
    calls = []
    for op in (ops.SIGMOID, ops.TANH):
        monkeypatch.setattr(op, "forward", lambda x, f=op.forward: calls.append(1) or f(x))
    out.sum().backward()
    assert calls == []  # σ and tanh were computed once, in forward
    assert all(x.grad is not None for x in inputs)


def test_fused_gru_backward_twice_with_retain_graph():
    gx, gh, h = _inputs([(2, 9), (2, 9), (2, 3)], "cpu", seed=7)
    out = fused.gru_cell(gx, gh, h)
    w = tg.tensor(np.random.default_rng(8).standard_normal((2, 3)))
    (out * w).sum().backward(retain_graph=True)
    first = [x.grad.numpy().copy() for x in (gx, gh, h)]
    (out * (w * 2)).sum().backward()  # accumulates 2 × the first gradients
    for x, g in zip((gx, gh, h), first):
        np.testing.assert_allclose(x.grad.numpy(), 3 * g, rtol=1e-12)


def test_fused_under_no_grad_records_nothing():
    gates, c = _inputs([(2, 12), (2, 3)], "cpu", seed=9)
    with tg.no_grad():
        h, c2 = lstm_fused(gates, c)
    assert h._node is None and c2._node is None
    np.testing.assert_array_equal(h.numpy(), lstm_reference(gates, c)[0].numpy())


@needs_cuda
def test_fused_gru_refuses_mixed_devices_by_name():
    gx, gh = _inputs([(2, 9), (2, 9)], "cpu", seed=3)
    h = _inputs([(2, 3)], "cuda", seed=3)[0]
    with pytest.raises(tg.DeviceError, match="gru_cell: tensors on different devices"):
        fused.gru_cell(gx, gh, h)


def test_fused_layer_step_is_three_nodes_and_keeps_no_input_projection():
    """A fused nn.LSTM step records lstm_gates (xw[t] + h W_hhᵀ), lstm_cell_state and
    lstm_cell_output; the gates node keeps h_{t−1} and W_hhᵀ for backward, not the whole xw."""
    from collections import Counter

    from tinygrad_rnn.explore import RULES
    tg.manual_seed(0)
    T, B = 9, 5
    layer = tg.nn.LSTM(3, 4, fused=True)
    out, _ = layer(tg.randn(T, B, 3))
    g = tg.graph(out.sum())
    ops = Counter(n.op for n in g.nodes)
    assert ops["lstm_gates"] == ops["lstm_cell_state"] == ops["lstm_cell_output"] == T
    assert ops["getitem"] == 0 and ops["matmul"] == 1  # the one input projection
    assert {n.op for n in g.nodes} <= set(RULES)
    node = out._node
    while node.op is None or node.op.name != "lstm_gates":
        node = next(p for p in node.inputs if type(p) is type(node))
    saved_out, saved_xw, saved_h, saved_w = node.saved
    assert saved_out is None and saved_xw is None
    assert saved_h.shape == (B, 4) and saved_w.shape == (4, 16)

"""Cells and layers against PyTorch 2.13: same state_dict in, same outputs, states and gradients out."""

import itertools

import numpy as np
import pytest
from conftest import TORCH, needs_torch

import tinygrad_rnn as tg
from tinygrad_rnn import nn

pytestmark = needs_torch

TOL = {"float64": 1e-9, "float32": 1e-4}
LAYER_CASES = [
    (mode, layers, bidir, batch_first, bias, with_h0)
    for mode, layers, bidir, batch_first, bias, with_h0 in itertools.product(
        ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"], [1, 2, 3], [False, True], [False, True],
        [True, False], [False, True])
    # the 3-layer stacks only with the default flags: the other combinations are covered at 1–2
    if layers < 3 or (not batch_first and bias)
]


def _build(mode: str, *args, **kw):
    """The same layer in both engines, with PyTorch's random init copied into ours."""
    if mode.startswith("RNN"):
        kw["nonlinearity"] = mode[4:].lower()
        mode = "RNN"
    theirs = getattr(TORCH.nn, mode)(*args, **kw).double()
    ours = getattr(nn, mode)(*args, **kw).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _assert_close(a, b, tol, what):
    a = a.numpy() if isinstance(a, tg.Tensor) else a
    b = b.detach().numpy() if hasattr(b, "detach") else b
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol, err_msg=what)


def _compare(ours, theirs, x_np, states_np, dtype, device, run):
    """Run both engines on the same input; compare outputs and every gradient."""
    tol = TOL[dtype]
    ours.to(device=device, dtype=dtype)
    theirs.to(getattr(TORCH, dtype))
    x = tg.tensor(x_np.astype(dtype), requires_grad=True, device=device)
    xt = TORCH.tensor(x_np.astype(dtype), requires_grad=True)
    states = [tg.tensor(s.astype(dtype), device=device, requires_grad=True) for s in states_np]
    states_t = [TORCH.tensor(s.astype(dtype), requires_grad=True) for s in states_np]
    outs = run(ours, x, states)
    outs_t = run(theirs, xt, states_t)
    rng = np.random.default_rng(1)
    weights = [rng.standard_normal(tuple(o.shape)).astype(dtype) for o in outs]
    loss = sum((o * tg.tensor(w, device=device)).sum() for o, w in zip(outs, weights))
    loss_t = sum((o * TORCH.tensor(w)).sum() for o, w in zip(outs_t, weights))
    loss.backward()
    loss_t.backward()
    for i, (o, ot) in enumerate(zip(outs, outs_t)):
        _assert_close(o, ot, tol, f"output {i}")
    for (name, p), (name_t, pt) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == name_t
        _assert_close(p.grad, pt.grad, tol, f"gradient of {name}")
    _assert_close(x.grad, xt.grad, tol, "gradient of the input")
    for s, st in zip(states, states_t):
        _assert_close(s.grad, st.grad, tol, "gradient of the initial state")


def _flatten(out):
    output, state = out
    return [output, *state] if isinstance(state, tuple) else [output, state]


@pytest.mark.parametrize("mode,layers,bidir,batch_first,bias,with_h0", LAYER_CASES)
def test_layer_matches_torch_float64(mode, layers, bidir, batch_first, bias, with_h0, device):
    TORCH.manual_seed(0)
    ours, theirs = _build(mode, 3, 4, num_layers=layers, bidirectional=bidir,
                          batch_first=batch_first, bias=bias)
    rng = np.random.default_rng(0)
    T, B = 5, 2
    x = rng.standard_normal((B, T, 3) if batch_first else (T, B, 3))
    n_states = 2 if mode == "LSTM" else 1
    states = [rng.standard_normal((layers * (2 if bidir else 1), B, 4)) for _ in range(n_states)]
    if not with_h0:
        states = []

    def run(m, x, s):
        hx = None if not s else (tuple(s) if mode == "LSTM" else s[0])
        return _flatten(m(x, hx))
    _compare(ours, theirs, x, states, "float64", device, run)


@pytest.mark.parametrize("mode", ["RNN_TANH", "LSTM", "GRU"])
def test_layer_matches_torch_float32(mode, device):
    TORCH.manual_seed(1)
    ours, theirs = _build(mode, 6, 8, num_layers=2, bidirectional=True)
    x = np.random.default_rng(2).standard_normal((12, 4, 6))
    _compare(ours, theirs, x, [], "float32", device, lambda m, x, s: _flatten(m(x)))


@pytest.mark.parametrize("mode", ["RNN_TANH", "LSTM", "GRU"])
def test_unbatched_input_matches_torch(mode):
    TORCH.manual_seed(2)
    ours, theirs = _build(mode, 3, 4, num_layers=2)
    x = np.random.default_rng(3).standard_normal((6, 3))
    _compare(ours, theirs, x, [], "float64", "cpu", lambda m, x, s: _flatten(m(x)))


@pytest.mark.parametrize("cell", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("bias", [True, False])
def test_cell_matches_torch(cell, bias, device):
    TORCH.manual_seed(3)
    theirs = getattr(TORCH.nn, cell)(3, 5, bias=bias).double()
    ours = getattr(nn, cell)(3, 5, bias=bias).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    rng = np.random.default_rng(4)
    xs = rng.standard_normal((4, 2, 3))
    states = [rng.standard_normal((2, 5)) for _ in range(2 if cell == "LSTMCell" else 1)]

    def run(m, x, s):  # three steps of the cell, the state carried by hand
        state = tuple(s) if cell == "LSTMCell" else s[0]
        outs = []
        for t in range(3):
            state = m(x[t], state)
            outs.extend(state if cell == "LSTMCell" else [state])
        return outs
    _compare(ours, theirs, xs, states, "float64", device, run)


@pytest.mark.parametrize("mode", ["RNN_TANH", "LSTM", "GRU"])
@pytest.mark.parametrize("bidir", [False, True])
def test_lengths_match_packed_sequences(mode, bidir):
    """Padded steps: the same outputs (0 there), final states and gradients as a PackedSequence."""
    TORCH.manual_seed(4)
    ours, theirs = _build(mode, 3, 4, num_layers=2, bidirectional=bidir, batch_first=True)
    lengths = np.array([5, 2, 4])
    x = np.random.default_rng(5).standard_normal((3, 5, 3))
    pack = TORCH.nn.utils.rnn.pack_padded_sequence
    unpack = TORCH.nn.utils.rnn.pad_packed_sequence

    def run(m, x, s):
        if isinstance(m, nn.Module):
            return _flatten(m(x, lengths=lengths))
        out, state = m(pack(x, TORCH.tensor(lengths), batch_first=True, enforce_sorted=False))
        return _flatten((unpack(out, batch_first=True, total_length=5)[0], state))
    _compare(ours, theirs, x, [], "float64", "cpu", run)

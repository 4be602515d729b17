"""The reference engine (chain rule alone) against backward(): every op case and whole models.

Both read the same op table, so they must agree to float rounding (float64); where they do not,
check_backward names the op or the leaf at which the engine's fast paths broke.
"""

import numpy as np
import pytest
from op_cases import CASES, IDX

import tinygrad_rnn as tg
from tinygrad_rnn import backend, nn, ops
from tinygrad_rnn.factored import IndexedGrad, ProductGrad
from tinygrad_rnn.nn import functional as F
from tinygrad_rnn.reference import check_backward, reference_grad, reference_messages

RTOL = 1e-12  # float64; relative to the gradient's largest entry (the sums' order may differ)


def _close(got, want, rtol=RTOL):
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= rtol * max(np.abs(want).max(), 1e-300)


def _weighted_sum(out, seed=1, device="cpu"):
    """A scalar whose gradient with respect to ``out`` is a random array, not all ones."""
    w = np.random.default_rng(seed).standard_normal(out.shape)
    return (out * tg.tensor(w, dtype="float64", device=device)).sum()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_reference_equals_backward_on_every_op_case(case, rng, device):
    xs = [tg.tensor(a, dtype="float64", requires_grad=True, device=device)
          for a in case.inputs(rng)]
    loss = _weighted_sum(case.ours(*xs), device=device)
    expected = reference_grad(loss, xs)
    loss.backward()
    for x, want in zip(xs, expected):
        _close(x.grad.numpy(), backend.to_host(want))


def _params(*modules):
    return [p for m in modules for p in m.parameters()]


def _lstm_language_model():
    tg.manual_seed(0)
    emb, lstm, out = nn.Embedding(11, 6), nn.LSTM(6, 8, num_layers=2), nn.Linear(8, 11)
    for m in (emb, lstm, out):
        m.double()
    tokens = np.random.default_rng(2).integers(0, 11, (7, 3))  # (T, B): B = 3 rows per step
    hs, _ = lstm(emb(tokens[:-1]))
    loss = F.cross_entropy(out(hs.reshape(-1, 8)), tokens[1:].reshape(-1))
    return loss, _params(emb, lstm, out)


def _rnn_with_lengths():
    tg.manual_seed(1)
    rnn = nn.RNN(4, 5, bidirectional=True).double()
    x = tg.tensor(np.random.default_rng(3).standard_normal((6, 3, 4)), requires_grad=True)
    out, h_n = rnn(x, lengths=[6, 2, 4])
    return _weighted_sum(out) + _weighted_sum(h_n, seed=4), [x, *rnn.parameters()]


def _attention():
    tg.manual_seed(2)
    attn = nn.AdditiveAttention(3, 4, 5).double()
    r = np.random.default_rng(5)
    q, k, v = (tg.tensor(r.standard_normal(s), requires_grad=True)
               for s in [(2, 3, 3), (2, 5, 4), (2, 5, 6)])
    context, alpha = attn(q, k, v, valid_lens=[2, 5])
    return _weighted_sum(context) + _weighted_sum(alpha, seed=6), [q, k, v, *attn.parameters()]


def _getitem_and_embedding():
    r = np.random.default_rng(7)
    w = tg.tensor(r.standard_normal((5, 4)), requires_grad=True)
    x = tg.tensor(r.standard_normal((6, 4)), requires_grad=True)
    looked_up = tg.embedding(w, np.array([[1, 1, 3], [0, 1, 4]]))
    steps = sum(x[t] * looked_up[0, t % 3] for t in range(6))  # x[t]: one slice per step
    loss = _weighted_sum(steps) + _weighted_sum(x[IDX, 1:3]) + _weighted_sum(w[::2] * w[1:4:1][:3])
    return loss, [w, x]


def _fused_cells():
    tg.manual_seed(3)
    lstm, gru = nn.LSTM(4, 5, fused=True).double(), nn.GRU(5, 3, fused=True).double()
    x = tg.tensor(np.random.default_rng(8).standard_normal((4, 2, 4)), requires_grad=True)
    out, _ = gru(lstm(x)[0])
    return _weighted_sum(out), [x, *lstm.parameters(), *gru.parameters()]


MODELS = {"lstm_language_model": _lstm_language_model, "rnn_with_lengths": _rnn_with_lengths,
          "attention": _attention, "getitem_and_embedding": _getitem_and_embedding,
          "fused_cells": _fused_cells}


@pytest.mark.parametrize("build", MODELS.values(), ids=MODELS.keys())
def test_reference_equals_backward_on_models(build):
    loss, params = build()
    expected = reference_grad(loss, params)
    loss.backward()
    for p, want in zip(params, expected):
        _close(p.grad.numpy(), want)


@pytest.mark.parametrize("build", MODELS.values(), ids=MODELS.keys())
def test_every_message_of_backward_equals_the_reference(build):
    loss, _ = build()
    check_backward(loss, rtol=RTOL)


def test_reference_leaves_the_graph_usable():
    loss, params = _lstm_language_model()
    first = reference_grad(loss, params)
    again = reference_grad(loss, params)  # nothing freed, nothing added into
    loss.backward()  # and the engine still has every saved array
    for p, a, b in zip(params, first, again):
        np.testing.assert_array_equal(a, b)
        _close(p.grad.numpy(), a)


def test_reference_of_an_unused_input_is_none():
    x, y = (tg.tensor(np.ones(3), requires_grad=True) for _ in range(2))
    assert reference_grad((x * 2).sum(), [x, y])[1] is None


# ---- the oracle can fail, and says where -----------------------------------------------------


def test_oracle_names_the_op_whose_vjp_broke(monkeypatch):
    loss, _ = _lstm_language_model()
    expected = reference_messages(loss)  # the true gradients, before the op table is broken
    tanh_vjp = ops.TANH.vjps[0]
    monkeypatch.setattr(ops.TANH, "vjps", (lambda g, out, x: tanh_vjp(g, out, x) * 1.001,))
    with pytest.raises(AssertionError, match=r"at 'tanh' .*its input 0 is off by"):
        check_backward(loss, expected=expected)


def test_oracle_names_the_leaf_whose_indexed_sum_broke(monkeypatch):
    """The engine adds the gradients of x[index] into x in place (IndexedGrad.add_to); the
    reference makes each one dense and adds. Break the in-place path: the first node whose
    sliced gradients are summed (the embedding's output, sliced six times) is named."""
    def adds_twice(self, target):
        target[self.index] += 2 * self.values
    monkeypatch.setattr(IndexedGrad, "add_to", adds_twice)
    loss, _ = _getitem_and_embedding()
    with pytest.raises(AssertionError, match=r"at 'embedding' .*from: getitem ×6\)"):
        check_backward(loss)


def test_oracle_names_the_weight_whose_stacked_products_broke(monkeypatch):
    """A weight's thin-product messages are stacked into one product (ProductGrad.extend);
    dropping them is caught where they are summed: W_hhᵀ of the top layer, from six matmuls."""
    def drops_the_new_one(self, other):
        return None  # the other step's X_tᵀ G_t is lost
    monkeypatch.setattr(ProductGrad, "extend", drops_the_new_one)
    loss, _ = _lstm_language_model()
    with pytest.raises(AssertionError, match=r"at 'permute' in scope 'lstm/l1/fwd' .*from: matmul ×6\)"):
        check_backward(loss)


def test_oracle_passes_a_hand_checked_gradient():
    x = tg.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    (x * x).sum().backward()  # an earlier backward: check_backward adds onto x.grad
    check_backward((x * x).sum())
    np.testing.assert_array_equal(x.grad.numpy(), 2 * 2 * x.numpy())

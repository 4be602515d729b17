"""Packed W_hhᵀ (packed.py): the same numbers, the same graph, and only where it pays."""

import numpy as np
import pytest
from conftest import TORCH, needs_torch

import tinygrad_rnn as tg
from tinygrad_rnn import nn, packed

MODES = ["RNN", "LSTM", "GRU"]


def _run(layer, x):
    for p in layer.parameters():
        p.grad = None
    out, _ = layer(x)
    loss = (out * out).sum()
    loss.backward()
    return loss, out, [p.grad.numpy().copy() for p in layer.parameters()]


def _unpacked(monkeypatch):
    monkeypatch.setattr(packed, "MIN_ROWS", 10 ** 9)


def _layer(mode, dtype="float32", **kw):
    tg.manual_seed(0)
    layer = getattr(nn, mode)(6, 7, **kw).to(dtype=dtype)
    x = tg.tensor(np.random.default_rng(1).standard_normal((9, 5, 6)).astype(dtype))
    return layer, x


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_packed_layer_gives_the_unpacked_numbers(mode, dtype, monkeypatch):
    layer, x = _layer(mode, dtype, num_layers=2, bidirectional=True)
    used = []
    original = packed.apply2
    monkeypatch.setattr(packed, "apply2", lambda *a: used.append(1) or original(*a))
    loss, out, grads = _run(layer, x)
    assert len(used) == 2 * 2 * 9  # every step of both layers and directions took the packed product
    monkeypatch.undo()
    _unpacked(monkeypatch)
    loss0, out0, grads0 = _run(layer, x)
    tol = 1e-5 if dtype == "float32" else 1e-12  # the same sums; BLAS may add in another order
    np.testing.assert_allclose(out.numpy(), out0.numpy(), rtol=tol, atol=tol)
    for g, g0 in zip(grads, grads0):
        np.testing.assert_allclose(g, g0, rtol=tol, atol=tol)


@needs_torch
@pytest.mark.parametrize("mode", MODES)
def test_packed_layer_matches_torch(mode):
    torch = TORCH
    layer, x = _layer(mode, "float64")
    theirs = getattr(torch.nn, mode)(6, 7).double()
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in layer.state_dict().items()})
    _, out, grads = _run(layer, x)
    xt = torch.from_numpy(x.numpy().copy())
    o, _ = theirs(xt)
    (o * o).sum().backward()
    np.testing.assert_allclose(out.numpy(), o.detach().numpy(), rtol=1e-10, atol=1e-10)
    for g, (_, p) in zip(grads, theirs.named_parameters()):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_the_graph_is_the_same_with_and_without_packing(monkeypatch):
    layer, x = _layer("LSTM")

    def picture():
        out, _ = layer(x)
        g = tg.graph(out.sum())
        return [(n.op, n.name, n.shape, n.scope) for n in g.nodes], \
            [(e.src, e.dst) for e in g.edges]

    packed_graph = picture()
    _unpacked(monkeypatch)
    assert picture() == packed_graph


@pytest.mark.parametrize("batch, steps", [(1, 30), (3, 30), (5, 7)])
def test_no_packing_where_it_does_not_pay(batch, steps):
    W = tg.randn(8, 4, requires_grad=True)
    assert packed.pack(W.T, rows=batch, uses=steps).array is None
    assert packed.pack(W.T, rows=4, uses=8).array is not None
    assert packed.pack(W, rows=4, uses=8).array is None  # already C-contiguous: nothing to gain


def test_packed_copy_is_the_transposed_values():
    W = tg.randn(300, 200)  # wide enough for the blocked copy
    p = packed.pack(W.T, rows=8, uses=8)
    assert p.array.flags.c_contiguous
    np.testing.assert_array_equal(p.array, W.numpy().T)


def test_write_after_a_packed_forward_is_still_caught():
    layer, x = _layer("RNN")
    out, _ = layer(x)
    with tg.no_grad():
        layer.weight_hh_l0 += 1.0  # the steps saved W_hhᵀ: backward must refuse stale values
    with pytest.raises(RuntimeError, match="modified in place"):
        out.sum().backward()


def test_a_step_with_other_operand_kinds_takes_the_plain_product():
    W = tg.randn(8, 4, dtype="float32")
    p = packed.pack(W.T, rows=4, uses=8)
    h64 = tg.randn(4, 4, dtype="float64")
    for product in (lambda: h64 @ W.T, lambda: packed.matmul(h64, p)):  # refused the same way
        with pytest.raises(tg.DTypeError, match="float64 and float32 tensors mixed"):
            product()
    with pytest.raises(tg.ShapeError):
        packed.matmul(tg.randn(4, 5), p)


def test_fused_gates_refuse_mixed_precision_as_the_primitive_step_does():
    xw = tg.randn(3, 2, 16, dtype="float32")
    W = tg.randn(16, 4, dtype="float64", requires_grad=True)
    h = tg.randn(2, 4, dtype="float32")
    with pytest.raises(tg.DTypeError, match="float32 and float64 tensors mixed"):
        packed.gates(packed.Row(xw, 1), h, W.T)


def test_fused_gates_equal_the_primitive_ops_with_their_gradients():
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal(s) for s in ((9, 5, 16), (5, 4), (16, 4))]
    results = []
    for fused_ in (False, True):
        xw, h, W = (tg.tensor(a, requires_grad=True) for a in arrays)
        W_T = packed.pack(W.T, rows=5, uses=9)
        out = packed.gates(packed.Row(xw, 2), h, W_T) if fused_ else xw[2] + packed.matmul(h, W_T)
        (out * out).sum().backward()
        results.append([out.numpy(), xw.grad.numpy(), h.grad.numpy(), W.grad.numpy()])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)

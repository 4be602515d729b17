"""The notes' equations and examples that need only the core engine."""

import numpy as np
import pytest

import tinygrad_rnn as tg
from demos import bptt_by_hand


def test_linear_rnn_with_unit_weights_gives_4_12_32():
    """Notes 003: all weights 1, no bias, linear units; inputs [1,1],[1,1],[2,2]."""
    W_x, W_h, W_y = tg.ones(2, 2), tg.ones(2, 2), tg.ones(2, 2)
    h = tg.zeros(2)
    outputs = []
    for x in ([1.0, 1.0], [1.0, 1.0], [2.0, 2.0]):
        h = W_x @ tg.tensor(x) + W_h @ h
        outputs.append((W_y @ h).tolist())
    assert outputs == [[4, 4], [12, 12], [32, 32]]


def unrolled_rnn(W, U, xs, h0, per_step_W=None):
    """h_t = tanh(W h_{t-1} + U x_t); the loss sums h_t over steps."""
    h, loss = h0, 0
    for t, x in enumerate(xs):
        with tg.scope(f"t={t}"):
            h = ((per_step_W[t] if per_step_W else W) @ h + U @ x).tanh()
            loss = loss + (h * h).sum()
    return loss


def test_tied_weight_gradient_is_sum_of_untied_step_gradients():
    """Notes 004: ∂C/∂w = Σ_t ∂C/∂w_t."""
    rng = np.random.default_rng(3)
    T, H, D = 6, 4, 3
    W0, U0 = rng.standard_normal((H, H)) * 0.5, rng.standard_normal((H, D))
    xs = [tg.tensor(rng.standard_normal(D), dtype="float64") for _ in range(T)]
    h0 = tg.tensor(rng.standard_normal(H), dtype="float64")

    W = tg.tensor(W0, dtype="float64", requires_grad=True)
    U = tg.tensor(U0, dtype="float64")
    unrolled_rnn(W, U, xs, h0).backward()

    copies = [tg.tensor(W0, dtype="float64", requires_grad=True) for _ in range(T)]
    unrolled_rnn(None, U, xs, h0, per_step_W=copies).backward()
    np.testing.assert_allclose(W.grad.numpy(), sum(c.grad.numpy() for c in copies), atol=1e-10)
    assert not np.allclose(copies[0].grad.numpy(), copies[-1].grad.numpy())  # steps differ


def test_bptt_by_hand_equals_autograd():
    """Notes 002's gradient sums (written out in demos/bptt_by_hand.py) equal the engine's."""
    for seed in range(3):
        params, xs, ys = bptt_by_hand.random_problem(seed)
        by_hand = bptt_by_hand.hand_bptt(*params.values(), xs, ys)
        by_engine = bptt_by_hand.engine_bptt(params, xs, ys)
        for name in bptt_by_hand.NAMES:
            np.testing.assert_allclose(by_engine[name], by_hand[name], atol=1e-10, err_msg=name)


def test_hundred_thousand_step_chain_backpropagates_iteratively():
    """h_t = tanh(W h_{t−1} + x): no recursion anywhere, so 100,000 steps are fine."""
    T = 100_000
    rng = np.random.default_rng(0)
    W0 = rng.standard_normal((3, 3)) * 0.4
    x0 = rng.standard_normal(3) * 0.1
    W = tg.tensor(W0, dtype="float64", requires_grad=True)
    x = tg.tensor(x0, dtype="float64")
    h = tg.zeros(3, dtype="float64")
    for _ in range(T):
        h = (W @ h + x).tanh()
    h.sum().backward()
    hs = [np.zeros(3)]  # the same gradient by a hand-written loop
    for _ in range(T):
        hs.append(np.tanh(W0 @ hs[-1] + x0))
    dW, dh = np.zeros((3, 3)), np.ones(3)
    for t in range(T, 0, -1):
        da = dh * (1 - hs[t] ** 2)
        dW += np.outer(da, hs[t - 1])
        dh = W0.T @ da
    np.testing.assert_allclose(W.grad.numpy(), dW, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("fn, d2", [
    (lambda x: x.tanh(), lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2)),
    (lambda x: x.sigmoid(), lambda x: (s := 1 / (1 + np.exp(-x))) * (1 - s) * (1 - 2 * s)),
])
def test_second_derivatives_of_tanh_and_sigmoid(fn, d2):
    xs = np.linspace(-3, 3, 13)
    x = tg.tensor(xs, dtype="float64", requires_grad=True)
    (g,) = tg.grad(fn(x).sum(), x, create_graph=True)
    (gg,) = tg.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), d2(xs), atol=1e-12)


def test_hessian_vector_product_equals_explicit_hessian():
    """f(x) = ½ xᵀAx + Σ tanh(x)³: H = (A+Aᵀ)/2 + diag(d²/dx² tanh³); Hv by double backward."""
    rng = np.random.default_rng(2)
    n = 5
    A, x0, v = rng.standard_normal((n, n)), rng.standard_normal(n), rng.standard_normal(n)
    x = tg.tensor(x0, dtype="float64", requires_grad=True)
    f = 0.5 * (x @ (tg.tensor(A, dtype="float64") @ x)) + (x.tanh() ** 3).sum()
    (g,) = tg.grad(f, x, create_graph=True)
    (hv,) = tg.grad((g * tg.tensor(v, dtype="float64")).sum(), x)
    t = np.tanh(x0)
    s = 1 - t ** 2
    d2 = 6 * t * s * s - 6 * t ** 3 * s  # d²/dx² tanh³ = 6 t s² − 6 t³ s
    H = 0.5 * (A + A.T) + np.diag(d2)
    np.testing.assert_allclose(hv.numpy(), H @ v, atol=1e-12)

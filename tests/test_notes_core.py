"""The notes' equations and examples that need only the core engine."""

import numpy as np
import pytest

import tinygrad_rnn as tg


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


def hand_bptt(U, W, V, b, c, xs, ys):
    """Notes 002, written out: forward, then the gradient sums of BPTT for a vanilla RNN.

    h_t = tanh(U x_t + W h_{t-1} + b),  o_t = V h_t + c,  L = Σ_t −log softmax(o_t)[y_t]
    """
    H = W.shape[0]
    hs, probs = [np.zeros(H)], []
    for x in xs:
        hs.append(np.tanh(U @ x + W @ hs[-1] + b))
        o = V @ hs[-1] + c
        p = np.exp(o - o.max())
        probs.append(p / p.sum())
    dU, dW, dV = np.zeros_like(U), np.zeros_like(W), np.zeros_like(V)
    db, dc = np.zeros_like(b), np.zeros_like(c)
    dh_next = np.zeros(H)  # ∇_{h_{t+1}} L pushed through W: Wᵀ diag(1−h²_{t+1}) ∇_{h_{t+1}} L
    for t in reversed(range(len(xs))):
        do = probs[t].copy()
        do[ys[t]] -= 1                                     # ∇_{o_t} L = ŷ_t − 1_{y_t}
        dV += np.outer(do, hs[t + 1])                      # ∇_V L = Σ_t (∇_{o_t} L) h_tᵀ
        dc += do                                           # ∇_c L = Σ_t ∇_{o_t} L
        dh = V.T @ do + dh_next                            # ∇_{h_t} L
        da = (1 - hs[t + 1] ** 2) * dh                     # through tanh
        db += da                                           # ∇_b L = Σ_t diag(1−h_t²) ∇_{h_t} L
        dW += np.outer(da, hs[t])                          # ∇_W L = Σ_t diag(1−h_t²) ∇_{h_t} L h_{t−1}ᵀ
        dU += np.outer(da, xs[t])                          # ∇_U L = Σ_t diag(1−h_t²) ∇_{h_t} L x_tᵀ
        dh_next = W.T @ da
    return dU, dW, dV, db, dc


def test_bptt_by_hand_equals_autograd():
    rng = np.random.default_rng(7)
    D, H, K, T = 5, 4, 6, 7
    arrays = dict(U=rng.standard_normal((H, D)) * 0.5, W=rng.standard_normal((H, H)) * 0.5,
                  V=rng.standard_normal((K, H)) * 0.5, b=rng.standard_normal(H) * 0.1,
                  c=rng.standard_normal(K) * 0.1)
    xs = [rng.standard_normal(D) for _ in range(T)]
    ys = rng.integers(0, K, T)
    p = {k: tg.tensor(v, dtype="float64", requires_grad=True) for k, v in arrays.items()}
    h, loss = tg.zeros(H, dtype="float64"), 0
    for t in range(T):
        h = (p["U"] @ tg.tensor(xs[t], dtype="float64") + p["W"] @ h + p["b"]).tanh()
        o = p["V"] @ h + p["c"]
        loss = loss - o.log_softmax(axis=0)[int(ys[t])]
    loss.backward()
    expected = hand_bptt(*arrays.values(), xs, ys)
    for name, g in zip(arrays, expected):
        np.testing.assert_allclose(p[name].grad.numpy(), g, atol=1e-10, err_msg=name)


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

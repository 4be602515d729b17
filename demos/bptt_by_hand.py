"""BPTT by hand (notes 002) next to autograd, for a vanilla RNN with per-step softmax losses.

    h_t = tanh(U x_t + W h_{t−1} + b_h),   o_t = V h_t + b_o,   L = Σ_t −log softmax(o_t)[y_t]

The notes' gradient sums, written out in NumPy:

    ∇_{o_t} L = ŷ_t − 1_{y_t}
    ∇_{h_t} L = Wᵀ diag(1 − h_{t+1}²) ∇_{h_{t+1}} L + Vᵀ ∇_{o_t} L
    ∇_V L = Σ_t (∇_{o_t} L) h_tᵀ                ∇_{b_o} L = Σ_t ∇_{o_t} L
    ∇_W L = Σ_t diag(1 − h_t²)(∇_{h_t} L) h_{t−1}ᵀ
    ∇_U L = Σ_t diag(1 − h_t²)(∇_{h_t} L) x_tᵀ  ∇_{b_h} L = Σ_t diag(1 − h_t²) ∇_{h_t} L
"""

from __future__ import annotations

import numpy as np

import tinygrad_rnn as tg

from .common import Summary, parser, setup

NAMES = ("U", "W", "V", "b_h", "b_o")


def hand_bptt(U, W, V, b_h, b_o, xs, ys):
    """The forward pass, then the notes' gradient sums, in plain NumPy (float64)."""
    H = W.shape[0]
    hs, probs = [np.zeros(H)], []
    for x in xs:
        hs.append(np.tanh(U @ x + W @ hs[-1] + b_h))
        o = V @ hs[-1] + b_o
        p = np.exp(o - o.max())
        probs.append(p / p.sum())
    grads = {k: np.zeros_like(v) for k, v in zip(NAMES, (U, W, V, b_h, b_o))}
    dh_next = np.zeros(H)  # Wᵀ diag(1 − h²_{t+1}) ∇_{h_{t+1}} L
    for t in reversed(range(len(xs))):
        do = probs[t].copy()
        do[ys[t]] -= 1                          # ∇_{o_t} L
        grads["V"] += np.outer(do, hs[t + 1])
        grads["b_o"] += do
        dh = V.T @ do + dh_next                 # ∇_{h_t} L
        da = (1 - hs[t + 1] ** 2) * dh          # through tanh
        grads["b_h"] += da
        grads["W"] += np.outer(da, hs[t])
        grads["U"] += np.outer(da, xs[t])
        dh_next = W.T @ da
    return grads


def engine_bptt(params: dict, xs, ys, device=None):
    """The same RNN with tinygrad_rnn tensors; autograd does the BPTT."""
    p = {k: tg.tensor(v, dtype="float64", device=device, requires_grad=True, name=k)
         for k, v in params.items()}
    h, loss = tg.zeros(p["W"].shape[0], dtype="float64", device=device), 0
    for t, (x, y) in enumerate(zip(xs, ys), start=1):
        with tg.scope(f"t={t}"):
            h = (p["U"] @ tg.tensor(x, dtype="float64", device=device) + p["W"] @ h + p["b_h"]).tanh()
            o = p["V"] @ h + p["b_o"]
            loss = loss - o.log_softmax(axis=0)[int(y)]
    loss.backward()
    return {k: v.grad.numpy() for k, v in p.items()}


def random_problem(seed: int, D=5, H=4, K=6, T=7):
    rng = np.random.default_rng(seed)
    params = {"U": rng.standard_normal((H, D)) * 0.5, "W": rng.standard_normal((H, H)) * 0.5,
              "V": rng.standard_normal((K, H)) * 0.5, "b_h": rng.standard_normal(H) * 0.1,
              "b_o": rng.standard_normal(K) * 0.1}
    return params, [rng.standard_normal(D) for _ in range(T)], rng.integers(0, K, T)


def main(argv=None) -> Summary:
    args = parser("bptt-by-hand", __doc__.splitlines()[0]).parse_args(argv)
    setup(args)
    params, xs, ys = random_problem(args.seed, T=4 if args.quick else 7)
    by_hand = hand_bptt(*params.values(), xs, ys)
    by_engine = engine_bptt(params, xs, ys, args.device)
    s = Summary("bptt-by-hand")
    worst = 0.0
    for k in NAMES:
        diff = float(np.abs(by_hand[k] - by_engine[k]).max())
        worst = max(worst, diff)
        print(f"∇_{k:<3} L  ‖hand‖ = {np.linalg.norm(by_hand[k]):.6f}   "
              f"‖autograd‖ = {np.linalg.norm(by_engine[k]):.6f}   max |difference| = {diff:.1e}")
    s.claim("the notes' BPTT sums equal autograd (float64, 1e-10)", f"max difference {worst:.1e}",
            worst < 1e-10)
    s.print()
    return s


if __name__ == "__main__":
    main()

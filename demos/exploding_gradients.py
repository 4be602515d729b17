"""Exploding gradients and norm clipping on a cliff (notes 000, 001, 003).

A single linear unit carried through T = 1000 steps, h_t = w h_{t−1} with h_0 = 1, gives
y = h_1000 = w^1000: w = 1 → 1, w = 1.01 → ≈ 20959, w = 0.99 → ≈ 0. The error surface
L(w) = (y − 1)² is flat on one side of w = 1 and a cliff on the other. Gradient descent
(gradients by BPTT through the 1000 steps) with the same decaying learning rate is run twice:
plainly, and with the notes' norm clipping

    ĝ ← ∂L/∂θ;  if ‖ĝ‖ ≥ threshold: ĝ ← (threshold / ‖ĝ‖) ĝ
"""

from __future__ import annotations

import math

import numpy as np

import tinygrad_rnn as tg

from .common import Summary, parser, progress, pyplot, save, setup

T = 1000


def unrolled_y(w: tg.Tensor) -> tg.Tensor:
    """y = h_T for h_t = w h_{t−1}, h_0 = 1: the same weight w at every one of the T steps."""
    h = tg.ones(1, dtype="float64", device=w.device)
    for _ in range(T):
        h = w * h
    return h


def descend(clip: bool, steps: int, decay: float, lr: float = 0.01, threshold: float = 1.0,
            w0: float = 0.99, device=None):
    """Gradient descent on L(w) = (w^T − 1)²; returns the path of (w, L) until it diverges."""
    w = tg.tensor([w0], dtype="float64", device=device, requires_grad=True, name="w")
    path = []
    for step in progress(range(steps), desc="clipped" if clip else "unclipped", leave=False):
        w.grad = None
        loss = ((unrolled_y(w) - 1.0) ** 2).sum()
        path.append((w.item(), loss.item()))
        loss.backward()
        g = w.grad.item()
        if not math.isfinite(g) or abs(w.item()) > 10:
            break  # off the cliff: the next step would be inf or nan
        if clip and abs(g) >= threshold:  # the notes' Algorithm 1 (one parameter: ‖g‖ = |g|)
            g = threshold / abs(g) * g
        with tg.no_grad():
            w.data = w.data - lr * decay ** step * g
    return path


def main(argv=None) -> Summary:
    args = parser("exploding-gradients", __doc__.splitlines()[0]).parse_args(argv)
    out = setup(args)
    s = Summary("exploding-gradients")
    ys = {w: unrolled_y(tg.tensor([w], dtype="float64", device=args.device)).item()
          for w in (1.0, 1.01, 0.99, 0.01)}
    for w, y in ys.items():
        print(f"w = {w:<4} → y = w^1000 = {y:.6g}")
    s.claim("w = 1.01 gives ≈ 20959 (the notes: ≈ 20000)", f"{ys[1.01]:.1f}", abs(ys[1.01] - 20959) < 1)
    s.claim("w = 0.99 gives ≈ 0", f"{ys[0.99]:.2e}", ys[0.99] < 1e-4)
    steps, decay = (100, 0.93) if args.quick else (300, 0.97)
    with np.errstate(all="ignore"):
        plain = descend(False, steps, decay, device=args.device)
        clipped = descend(True, steps, decay, device=args.device)
    w_end, loss_end = clipped[-1]
    print(f"unclipped: left the surface after {len(plain)} steps at w = {plain[-1][0]:.4g}")
    print(f"clipped:   w = {w_end:.6f}, L = {loss_end:.2e} after {len(clipped)} steps")
    s.claim("unclipped gradient descent jumps off the cliff and diverges",
            f"after {len(plain)} steps, w = {plain[-1][0]:.3g}", len(plain) < steps)
    s.claim("clipped gradient descent converges", f"w = {w_end:.5f}, L = {loss_end:.1e}",
            loss_end < 1e-3 and abs(w_end - 1) < 1e-3)

    plt = pyplot()
    fig, ax = plt.subplots(1, 2, figsize=(12, 4))
    grid = np.linspace(0.975, 1.01, 800)
    ax[0].semilogy(grid, (grid ** T - 1) ** 2 + 1e-12, color="k", lw=1, label="L(w) = (w^1000 − 1)²")
    for path, colour, name in ((plain, "tab:red", "unclipped"), (clipped, "tab:green", "clipped")):
        pts = [(w, loss) for w, loss in path if grid[0] <= w <= grid[-1]]
        if pts:
            ax[0].plot(*zip(*pts), "o-", ms=3, lw=0.5, alpha=0.8, color=colour, label=name)
    ax[0].set(title="the cliff: flat for w < 1, steep for w > 1", xlabel="w", ylim=(1e-8, 1e12))
    ax[0].legend(fontsize=8)
    ax[1].semilogy([max(loss, 1e-12) for _, loss in clipped], color="tab:green", label="clipped")
    ax[1].semilogy([min(loss, 1e12) for _, loss in plain], "o-", color="tab:red",
                   label="unclipped (off the chart, then inf)")
    ax[1].set(title="loss per step", xlabel="step", ylim=(1e-8, 1e13))
    ax[1].legend(fontsize=8)
    save(fig, out, "exploding_gradients.png", s)
    s.print()
    return s


if __name__ == "__main__":
    main()

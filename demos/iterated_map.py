"""An RNN as an iterated map (notes 004): one logistic unit, weight 6, bias −3, no input.

    h_t = f(h_{t−1}) = σ(6 h_{t−1} − 3),   r = h_1

Fixed points solve σ(6h − 3) = h: h ≈ 0.0707 and 0.9293 are sinks (|f'| < 1), h = 0.5 is a
source (f'(0.5) = 1.5). So h_100 is a step function of r, and ∂h_100/∂r — a product of 99
Jacobians f'(h_t), computed here by autograd through the unrolled map — explodes for r near
0.5 (≈ 1.5^99) and vanishes elsewhere.
"""

from __future__ import annotations

import numpy as np

import tinygrad_rnn as tg
from demos.common import Summary, parser, pyplot, save, setup


def f(h):
    return 1 / (1 + np.exp(-(6 * h - 3)))


def fixed_points() -> list[float]:
    """Roots of σ(6h − 3) − h on [0, 1], by bisection on each sign change."""
    grid = np.linspace(0, 1, 2000)  # an even count: no grid point falls exactly on 0.5
    gap = f(grid) - grid
    roots = []
    for k in np.nonzero(np.sign(gap[:-1]) != np.sign(gap[1:]))[0]:
        lo, hi = grid[k], grid[k + 1]
        for _ in range(60):
            mid = (lo + hi) / 2
            if np.sign(f(mid) - mid) == np.sign(f(lo) - lo):
                lo = mid
            else:
                hi = mid
        roots.append(round((lo + hi) / 2, 4))
    return roots


def h100_and_gradient(r_values, steps: int = 100, device=None):
    """h_100 for every r at once, and ∂h_100/∂r by backprop through the 99 steps."""
    r = tg.tensor(r_values, dtype="float64", device=device, requires_grad=True, name="r")
    h = r
    for _ in range(2, steps + 1):  # h_2 … h_100
        h = (6 * h - 3).sigmoid()  # each r is its own chain, so the gradient is elementwise
    h.sum().backward()
    return h.numpy(), r.grad.numpy()


def main(argv=None) -> Summary:
    args = parser("iterated-map", __doc__.splitlines()[0]).parse_args(argv)
    out = setup(args)
    s = Summary("iterated-map")
    roots = fixed_points()
    slopes = [6 * p * (1 - p) for p in roots]
    for p, d in zip(roots, slopes):
        print(f"fixed point h = {p:.4f}: f'(h) = {d:.3f} → {'source' if d > 1 else 'sink'}")
    s.claim("fixed points as in the notes (0.0707, 0.5, 0.9293)", ", ".join(f"{p:.4f}" for p in roots),
            roots == [0.0707, 0.5, 0.9293])
    r_grid = np.linspace(0.0, 1.0, 201 if args.quick else 1001)
    h100, dh = h100_and_gradient(r_grid, device=args.device)
    _, at_half = h100_and_gradient([0.5], device=args.device)
    away = [0.1, 0.3, 0.45, 0.55, 0.7, 0.9]
    _, elsewhere = h100_and_gradient(away, device=args.device)
    print(f"∂h_100/∂r at r = 0.5: {at_half[0]:.3e}   (1.5^99 = {1.5 ** 99:.3e})")
    for r, g in zip(away, elsewhere):
        print(f"∂h_100/∂r at r = {r}: {g:.3e}")
    s.claim("the gradient explodes at r = 0.5", f"{at_half[0]:.2e}", abs(at_half[0]) > 1e10)
    s.claim("and vanishes elsewhere", f"max {np.abs(elsewhere).max():.1e} over r = {away}",
            np.abs(elsewhere).max() < 1e-10)

    plt = pyplot()
    fig, ax = plt.subplots(1, 3, figsize=(14, 4))
    hh = np.linspace(0, 1, 400)
    ax[0].plot(hh, f(hh), label="f(h) = σ(6h − 3)")
    ax[0].plot(hh, hh, "k--", lw=0.8, label="h")
    for p in roots:
        ax[0].plot([p], [p], "o", color="tab:red" if 6 * p * (1 - p) > 1 else "tab:green")
    for r0 in (0.45, 0.55):  # cobwebs from either side of the source
        x = r0
        for _ in range(12):
            ax[0].plot([x, x, f(x)], [x, f(x), f(x)], lw=0.6, color="gray")
            x = f(x)
    ax[0].set(title="phase plot (red: source, green: sinks)", xlabel="h_{t−1}", ylabel="h_t")
    ax[0].legend(loc="upper left", fontsize=8)
    ax[1].plot(r_grid, h100)
    ax[1].set(title="h_100 as a function of r = h_1", xlabel="r", ylabel="h_100")
    ax[2].semilogy(r_grid, np.abs(dh) + 1e-300)
    ax[2].set(title="|∂h_100/∂r| by autograd", xlabel="r", ylim=(1e-60, 1e20))
    save(fig, out, "iterated_map.png", s)
    s.print()
    return s


if __name__ == "__main__":
    main()

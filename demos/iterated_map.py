"""An RNN as an iterated map (notes 004): one logistic unit, weight 6, bias −3, no input.

    h_t = f(h_{t−1}) = σ(6 h_{t−1} − 3),   r = h_1

Fixed points solve σ(6h − 3) = h: h ≈ 0.0707 and 0.9293 are sinks (|f'| < 1), h = 0.5 is a
source (f'(0.5) = 1.5). So h_100 is a step function of r, and ∂h_100/∂r — a product of 99
Jacobians f'(h_t), computed here by autograd through the unrolled map — explodes for r near
0.5 (≈ 1.5^99) and vanishes elsewhere.

The notes' second iterated function (004, L113-131) is a quadratic map:

    x_{t+1} = g(x_t) = x_t² + 0.15

Its fixed points solve x² − x + 0.15 = 0, x* = (1 ± √0.4)/2: x* ≈ 0.1838 with g'(x*) = 2x* ≈ 0.37
is a sink, x* ≈ 0.8162 with g'(x*) ≈ 1.63 a source. The 1-D phase plot draws the flow
x_{t+1} − x_t = g(x) − x along the line: towards the sink from both sides, away from the source;
every start with |x_0| < 0.8162 ends at 0.1838, every start beyond it runs off to infinity.
"""

from __future__ import annotations

import numpy as np

import tinygrad_rnn as tg

from .common import Summary, parser, pyplot, save, setup


def f(h):
    return 1 / (1 + np.exp(-(6 * h - 3)))


def g(x):
    """The notes' second map x_{t+1} = x_t² + 0.15."""
    return x * x + 0.15


def fixed_points(fn=f) -> list[float]:
    """Roots of fn(h) − h on [0, 1], by bisection on each sign change."""
    grid = np.linspace(0, 1, 2000)  # an even count: no grid point falls exactly on 0.5
    gap = fn(grid) - grid
    roots = []
    for k in np.nonzero(np.sign(gap[:-1]) != np.sign(gap[1:]))[0]:
        lo, hi = grid[k], grid[k + 1]
        for _ in range(60):
            mid = (lo + hi) / 2
            if np.sign(fn(mid) - mid) == np.sign(fn(lo) - lo):
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
    quadratic_map(s, out, args)
    s.print()
    return s


def orbit_ends(x0_values, steps: int, device=None):
    """x_T for every x_0 at once by iterating g on a Tensor, and ∂x_T/∂x_0 by backprop."""
    x0 = tg.tensor(x0_values, dtype="float64", device=device, requires_grad=True, name="x0")
    x = x0
    for _ in range(steps):
        x = x * x + 0.15
    x.sum().backward()
    return x.numpy(), x0.grad.numpy()


def quadratic_map(s: Summary, out: str, args) -> None:
    """The notes' x_{t+1} = x_t² + 0.15: fixed points, their kind, where orbits go; two plots."""
    roots = fixed_points(g)
    exact = [(1 - np.sqrt(0.4)) / 2, (1 + np.sqrt(0.4)) / 2]
    slopes = [2 * p for p in roots]
    for p, d in zip(roots, slopes):
        print(f"x = x² + 0.15 fixed point x* = {p:.4f}: g'(x*) = {d:.3f} → {'source' if d > 1 else 'sink'}")
    s.claim("x_{t+1} = x_t² + 0.15 has fixed points (1 ± √0.4)/2 ≈ 0.1838, 0.8162",
            ", ".join(f"{p:.4f}" for p in roots),
            len(roots) == 2 and max(abs(p - e) for p, e in zip(roots, exact)) < 1e-4)
    kinds = ["source" if abs(d) > 1 else "sink" for d in slopes]
    s.claim("0.1838 is a sink (|g'| < 1) and 0.8162 a source (|g'| > 1)",
            f"g' = {slopes[0]:.3f} ({kinds[0]}), {slopes[1]:.3f} ({kinds[1]})", kinds == ["sink", "source"])
    steps = 80 if args.quick else 300  # starts near the source leave it slowly (g' ≈ 1.6)
    inside = np.linspace(-0.81, 0.81, 41 if args.quick else 401)  # |x_0| below the source
    outside = np.array([-1.0, -0.83, 0.83, 0.9, 1.2])
    with np.errstate(all="ignore"):
        ends_in, grad_in = orbit_ends(inside, steps, args.device)
        ends_out, _ = orbit_ends(outside, 12, args.device)
    gap = np.abs(ends_in - exact[0]).max()  # roots are rounded to 4 places; compare with the exact sink
    s.claim(f"every x_0 with |x_0| < 0.8162 flows to the sink ({len(inside)} starts, {steps} steps)",
            f"max |x_T − 0.1838| = {gap:.1e}", gap < 1e-6)
    s.claim("starts beyond the source run away", f"after 12 steps min x = {ends_out.min():.3g}",
            bool(np.all(ends_out > 1e3)))
    # In the sink's basin ∂x_T/∂x_0 ≈ Π g'(x_t) → 0: the gradient vanishes, as for σ(6h − 3).
    s.claim("∂x_T/∂x_0 vanishes inside the sink's basin", f"max |∂x_T/∂x_0| = {np.abs(grad_in).max():.1e}",
            np.abs(grad_in).max() < 1e-6)

    plt = pyplot()
    fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
    xx = np.linspace(-0.2, 1.0, 400)
    ax[0].plot(xx, g(xx), label="g(x) = x² + 0.15")
    ax[0].plot(xx, xx, "k--", lw=0.8, label="x")
    for x0, colour in ((0.0, "gray"), (0.78, "tab:blue"), (0.83, "tab:red")):
        x = x0
        for _ in range(10):
            if g(x) > 1.0:
                break
            ax[0].plot([x, x, g(x)], [x, g(x), g(x)], lw=0.7, color=colour)
            x = g(x)
    for p, kind in zip(roots, kinds):
        ax[0].plot([p], [p], "o", color="tab:red" if kind == "source" else "tab:green")
    ax[0].set(title="cobweb of x_{t+1} = x_t² + 0.15", xlabel="x_t", ylabel="x_{t+1}",
              xlim=(-0.2, 1.0), ylim=(-0.2, 1.0))
    ax[0].legend(loc="upper left", fontsize=8)
    ax[1].plot(xx, g(xx) - xx, color="k", lw=1)
    ax[1].axhline(0, color="gray", lw=0.6)
    for x in np.linspace(-0.15, 0.95, 12):  # arrows along the line: the direction x moves
        if min(abs(x - p) for p in roots) > 0.04:
            ax[1].annotate("", xy=(x + 0.035 * np.sign(g(x) - x), 0), xytext=(x, 0),
                           arrowprops=dict(arrowstyle="->", color="tab:blue", lw=1.5))
    for p, kind in zip(roots, kinds):
        ax[1].plot([p], [0], "o", ms=8, color="tab:red" if kind == "source" else "tab:green",
                   label=f"{kind} x* = {p:.4f}")
    ax[1].set(title="phase plot: g(x) − x and the flow", xlabel="x", ylabel="x_{t+1} − x_t")
    ax[1].legend(fontsize=8)
    save(fig, out, "iterated_map_quadratic.png", s)


if __name__ == "__main__":
    main()

"""No single learning rate works on both the plateau and the cliff without clipping (notes 003).

The cliff of exploding-gradients: one linear unit carried through T = 1000 steps,
y = h_1000 = w^1000, and L(w) = (y − 1)², gradients by BPTT through the 1000 steps. Its slope

    ∂L/∂w = 2 T w^{T−1} (w^T − 1)

is ≈ 0.09 on the plateau at w = 0.99 and ≈ 10^5 on the cliff at w = 1.002. The notes ask:
"Large ∂L/∂w → small learning rate? Small ∂L/∂w → large learning rate?" Plain gradient descent
w ← w − η ∂L/∂w with one η is swept over many decades from both starts:

* the plateau needs a large η to move at all (η ∂L/∂w ≈ 0.01 to cross it), but that η is
  ~10^4 times too large once w reaches the cliff, and the next step throws w far away;
* the cliff needs a tiny η (η ∂L/∂w below the 0.002 to the minimum), and with that η the
  plateau is never left.

Norm clipping — ĝ ← (threshold / ‖ĝ‖) ĝ when ‖ĝ‖ ≥ threshold — caps the step at η·threshold on
the cliff while leaving the plateau's small gradients untouched, so one (decaying) η works from
both starts.
"""

from __future__ import annotations

import math

import numpy as np

import tinygrad_rnn as tg

from .common import Summary, parser, pyplot, save, setup
from .exploding_gradients import T, unrolled_y

PLATEAU, CLIFF = 0.99, 1.002          # the two starts
CROSSED = 0.998   # the plateau "works": w gets within 0.002 of the minimum at some step
SETTLED = 0.05    # the cliff "works": L ends below this (from L ≈ 40: down 800×, w within 2e-4 of 1)
CONVERGED = 1e-3  # the clipped runs must do better than both


def loss_and_grad(w, device=None) -> tuple[np.ndarray, np.ndarray]:
    """L(w_i) = (w_i^T − 1)² and ∂L/∂w_i by backward() through the T unrolled steps, for a vector
    of weights at once: each L_i depends on its own w_i only, so one graph of T elementwise
    products carries every run of the sweep and ∂(Σ_i L_i)/∂w_i = ∂L_i/∂w_i."""
    wt = tg.tensor(np.atleast_1d(np.asarray(w, dtype="float64")), dtype="float64", device=device,
                   requires_grad=True, name="w")
    losses = (unrolled_y(wt) - 1.0) ** 2
    losses.sum().backward()
    return losses.numpy(), wt.grad.numpy()


def descend(lrs, w0, steps: int, threshold: float | None = None, decay: float = 1.0,
            device=None) -> list[list[tuple[float, float]]]:
    """Gradient descent w ← w − η_k ĝ, η_k = lr·decay^k, ĝ clipped when ``threshold`` is given,
    one run per pair of learning rate in ``lrs`` and start in ``w0`` (broadcast together; the runs
    are independent and share one backward() per step, see :func:`loss_and_grad`).

    Returns each run's path [(w, L)]; a run stops when L < 1e-5 (converged) or when w leaves the
    surface.
    """
    lrs, w = (a.astype("float64").ravel() for a in np.broadcast_arrays(lrs, w0))
    paths: list[list[tuple[float, float]]] = [[] for _ in lrs]
    running = np.ones(len(lrs), dtype=bool)
    with np.errstate(all="ignore"):  # a stopped run's w may be inf or nan; it is no longer read
        for k in range(steps):
            loss, g = loss_and_grad(w, device)
            for i in np.flatnonzero(running):
                paths[i].append((float(w[i]), float(loss[i])))
            running &= np.isfinite(g) & np.isfinite(loss) & (np.abs(w) <= 10) & (loss >= 1e-5)
            if not running.any():
                break
            if threshold is not None:  # the notes' Algorithm 1 (one parameter: ‖g‖ = |g|)
                g = np.where(np.abs(g) >= threshold, threshold / np.abs(g) * g, g)
            w = np.where(running, w - lrs * decay ** k * g, w)
    return paths


def main(argv=None) -> Summary:
    args = parser("learning-rate-dilemma", __doc__.splitlines()[0]).parse_args(argv)
    out = setup(args)
    s = Summary("learning-rate-dilemma")
    if args.quick:
        lrs, steps = [1e-8, 1e-6, 1e-4, 1e-2], 60
    else:
        lrs, steps = list(10.0 ** np.arange(-9, -0.5, 0.5)), 150
    g_flat, g_cliff = loss_and_grad([PLATEAU, CLIFF], args.device)[1]
    print(f"∂L/∂w at w = {PLATEAU}: {g_flat:.3g}   at w = {CLIFF}: {g_cliff:.3g}")
    s.claim("the slope differs by more than 10^5 between plateau and cliff",
            f"|∂L/∂w| = {abs(g_flat):.3g} at w = {PLATEAU}, {abs(g_cliff):.3g} at w = {CLIFF}",
            abs(g_cliff) / abs(g_flat) > 1e5)
    rows = []
    paths = descend(lrs + lrs, [PLATEAU] * len(lrs) + [CLIFF] * len(lrs), steps, device=args.device)
    flats, cliffs = paths[:len(lrs)], paths[len(lrs):]
    for lr, flat, cliff in zip(lrs, flats, cliffs):
        crossed = max(w for w, _ in flat) >= CROSSED
        settled = math.isfinite(cliff[-1][1]) and cliff[-1][1] < SETTLED
        rows.append((lr, flat, cliff, crossed, settled))
        print(f"η = {lr:.0e}: plateau start → max w {max(w for w, _ in flat):.4f}, "
              f"{'crossed' if crossed else 'stuck'}; cliff start → L = {cliff[-1][1]:.3g} "
              f"after {len(cliff)} steps, {'converged' if settled else 'failed'}")
    both = [lr for lr, _, _, c, st in rows if c and st]
    s.claim(f"no learning rate both crosses the plateau and converges from the cliff "
            f"({len(lrs)} rates {lrs[0]:.0e}…{lrs[-1]:.0e}, {steps} steps)",
            f"rates that do both: {both or 'none'}", not both)
    cliff_ok = [lr for lr, *_, st in rows if st]
    flat_ok = [lr for lr, _, _, c, _ in rows if c]
    s.claim("each region has rates that work for it, and they do not overlap (the dilemma, not a bad sweep)",
            f"cliff converges for η ≤ {max(cliff_ok, default=float('nan')):.0e}, plateau crossed for "
            f"η ≥ {min(flat_ok, default=float('nan')):.0e}",
            bool(cliff_ok and flat_ok) and max(cliff_ok) < min(flat_ok))

    clip_steps, clip_decay = (60, 0.9) if args.quick else (150, 0.93)
    clipped = dict(zip((PLATEAU, CLIFF), descend(0.01, [PLATEAU, CLIFF], clip_steps, threshold=1.0,
                                                 decay=clip_decay, device=args.device)))
    ends = {w0: p[-1][1] for w0, p in clipped.items()}
    s.claim(f"with clipping (threshold 1) one η = 0.01·{clip_decay}^k converges from both starts",
            f"L = {ends[PLATEAU]:.1e} from {PLATEAU}, {ends[CLIFF]:.1e} from {CLIFF}",
            all(math.isfinite(v) and v < CONVERGED for v in ends.values()))

    plt = pyplot()
    fig, ax = plt.subplots(1, 2, figsize=(12, 4))
    grid = np.linspace(0.985, 1.006, 600)
    ax[0].semilogy(grid, (grid ** T - 1) ** 2 + 1e-12, color="k", lw=1)
    ax[0].axvline(PLATEAU, color="tab:blue", ls=":", label=f"plateau start {PLATEAU}")
    ax[0].axvline(CLIFF, color="tab:red", ls=":", label=f"cliff start {CLIFF}")
    ax[0].set(title="L(w) = (w^1000 − 1)²", xlabel="w", ylim=(1e-8, 1e6))
    ax[0].legend(fontsize=8)
    x = np.arange(len(rows))
    ax[1].bar(x - 0.2, [1 if c else 0 for *_, c, _ in rows], 0.4, color="tab:blue", label="plateau crossed")
    ax[1].bar(x + 0.2, [1 if st else 0 for *_, st in rows], 0.4, color="tab:red", label="cliff converged")
    ax[1].set(title="plain gradient descent: which start works, per η", xticks=x, yticks=[0, 1],
              yticklabels=["fails", "works"])
    ax[1].set_xticklabels([f"{lr:.0e}" for lr, *_ in rows], rotation=60, fontsize=7)
    ax[1].legend(fontsize=8)
    save(fig, out, "learning_rate_dilemma.png", s)
    s.print()
    return s


if __name__ == "__main__":
    main()

"""Exploding gradients and norm clipping: a cliff, and a sweep of the threshold (notes 000, 001, 003).

A single linear unit carried through T = 1000 steps, h_t = w h_{t−1} with h_0 = 1, gives
y = h_1000 = w^1000: w = 1 → 1, w = 1.01 → ≈ 20959, w = 0.99 → ≈ 0. The error surface
L(w) = (y − 1)² is flat on one side of w = 1 and a cliff on the other. Gradient descent
(gradients by BPTT through the 1000 steps) runs plainly and with the notes' norm clipping

    ĝ ← ∂L/∂θ;  if ‖ĝ‖ ≥ threshold: ĝ ← (threshold / ‖ĝ‖) ĝ

Both use the same decaying learning rate η_k = 0.01 · 0.97^k (0.93^k with --quick), and a third
run clips with a fixed η = 0.01: the curvature at the minimum, 2T² ≈ 2·10⁶, wants η < 10⁻⁶
while the flat side's gradient (≈ 0.09 at w = 0.99) wants a large η — the notes'
learning-rate dilemma (003) — so without the decay clipped descent stays on the surface but
keeps bouncing across w = 1.

The threshold's robustness (notes 000, after Pascanu et al. 2013: "values from half to ten
times the average can still yield convergence"): a tanh RNN h_t = tanh(U x_t + W h_{t−1} + b)
with a large recurrent init (W ~ N(0, 2²/H), spectral radius ≈ 2) learns to output x_1 after
T = 30 steps with plain SGD (fixed η), clipped at 0.5, 1, 2, 5 and 10 times the average
gradient norm measured at the start, and not clipped.
"""

from __future__ import annotations

import math

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.nn import functional as F
from tinygrad_rnn.nn.utils import clip_grad_norm_

from .common import Summary, parser, progress, pyplot, run_jobs, save, setup

T = 1000
LR = 0.01
# the threshold sweep: a tanh RNN recalling x_1 after RNN_T steps
RNN_T, HIDDEN, BATCH, W_SCALE, SGD_LR = 30, 16, 32, 2.0, 0.01
MULTIPLES = (0.5, 1, 2, 5, 10)
TARGET_VAR = 1 / 3           # Var(x_1), x_1 ~ U(−1, 1): the MSE of always answering 0


def unrolled_y(w: tg.Tensor) -> tg.Tensor:
    """y = h_T for h_t = w h_{t−1}, h_0 = 1: the same weight w at every one of the T steps."""
    h = tg.ones(1, dtype="float64", device=w.device)
    for _ in range(T):
        h = w * h
    return h


def descend(clip: bool, steps: int, decay: float, lr: float = LR, threshold: float = 1.0,
            w0: float = 0.99, device=None):
    """Gradient descent with η_k = lr · decay^k on L(w) = (w^T − 1)²; returns the path of (w, L)
    until it diverges."""
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


class Recall(nn.Module):
    """A tanh RNN over (B, T, 1) inputs and a linear read-out of h_T: the prediction of x_1."""

    def __init__(self, seed: int):
        super().__init__()
        self.rnn = nn.RNN(1, HIDDEN, batch_first=True)
        self.head = nn.Linear(HIDDEN, 1)
        w = np.random.default_rng(seed).normal(0, W_SCALE / math.sqrt(HIDDEN), (HIDDEN, HIDDEN))
        self.rnn.weight_hh_l0.data[:] = w.astype("float32")

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        out, _ = self.rnn(x)
        return self.head(out[:, -1]).reshape(-1)


def recall_batch(n: int, seed: int, device=None):
    x = np.random.default_rng(seed).uniform(-1, 1, (n, RNN_T, 1)).astype("float32")
    return tg.tensor(x, device=device), tg.tensor(x[:, 0, 0].copy(), device=device)


def sgd(threshold: float | None, steps: int, seed: int, test: tuple[int, int], device=None
        ) -> tuple[float, list]:
    """Plain SGD (fixed η) clipped at ``threshold`` (None: not clipped); the final test MSE on
    ``recall_batch(*test)`` (inf if it diverged) and the gradient norm of every step (before
    clipping). A job of run_jobs."""
    tg.manual_seed(seed)
    test = recall_batch(*test, device)
    model = Recall(seed).to(device)
    opt = tg.optim.SGD(model.parameters(), lr=SGD_LR)
    norms = []
    for step in range(steps):
        x, y = recall_batch(BATCH, 1000 * seed + step, device)
        loss = F.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        norms.append(clip_grad_norm_(model.parameters(), threshold or math.inf).item())
        if not math.isfinite(norms[-1]):
            return math.inf, norms
        opt.step()
    with tg.no_grad():
        mse = F.mse_loss(model(test[0]), test[1]).item()
    return (mse if math.isfinite(mse) else math.inf), norms


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
    steps, decay = (100, 0.93) if args.quick else (300, 0.97)   # --quick: a faster decay
    fixed_steps = 60   # enough to reach w = 1 and bounce
    with np.errstate(all="ignore"):
        plain = descend(False, steps, decay, device=args.device)
        clipped = descend(True, steps, decay, device=args.device)
        fixed = descend(True, fixed_steps, 1.0, device=args.device)
    w_end, loss_end = clipped[-1]
    print(f"unclipped: left the surface after {len(plain)} steps at w = {plain[-1][0]:.4g}")
    print(f"clipped:   w = {w_end:.6f}, L = {loss_end:.2e} after {len(clipped)} steps")
    schedule = f"η_k = {LR}·{decay}^k"
    s.claim(f"unclipped gradient descent ({schedule}) jumps off the cliff and diverges",
            f"after {len(plain)} steps, w = {plain[-1][0]:.3g}", len(plain) < steps)
    s.claim(f"clipped gradient descent (threshold 1, the same {schedule}) converges",
            f"w = {w_end:.5f}, L = {loss_end:.1e} after {steps} steps",
            loss_end < 1e-3 and abs(w_end - 1) < 1e-3)
    tail = fixed[-20:]
    bounce = max(abs(w - 1) for w, _ in tail)
    s.claim(f"with a fixed η = {LR} (no decay) clipped descent stays on the surface, within η·threshold "
            "of w = 1, but does not converge (the learning-rate dilemma, notes 003)",
            f"last 20 steps: |w − 1| ≤ {bounce:.4f}, L from {min(v for _, v in tail):.1e} "
            f"to {max(v for _, v in tail):.1e}",
            len(fixed) == fixed_steps and bounce <= 1.01 * LR and max(v for _, v in tail) > 1e-3)

    # the threshold sweep (notes 000): a tanh RNN, plain SGD, thresholds relative to the average norm
    rnn_steps = 250 if args.quick else 500
    average = start_norm(args.seed, args.device)
    thresholds = (*MULTIPLES, None)
    sweep = dict(zip(thresholds, run_jobs(sgd, [(None if m is None else m * average, rnn_steps, args.seed,
                                                 (500, 999_999), args.device) for m in thresholds],
                                          args.device, desc="threshold sweep")))
    print(f"tanh RNN recalling x_1 after {RNN_T} steps, SGD η = {SGD_LR}, {rnn_steps} steps; "
          f"average gradient norm at the start {average:.3g}; answering 0: MSE {TARGET_VAR:.3f}")
    for m, (mse, norms) in sweep.items():
        what = "not clipped" if m is None else f"clipped at {m:g}× = {m * average:.3g}"
        never = m is not None and m * average >= max(norms)
        print(f"  {what:<26} test MSE {mse:.4f}, largest gradient norm {max(norms):.3g}"
              + (" (never clipped: the same run as unclipped)" if never else ""))
    converged = {m: mse < TARGET_VAR / 2 for m, (mse, _) in sweep.items() if m is not None}
    s.claim(f"every threshold from 0.5 to 10 times the average gradient norm converges: test MSE below "
            f"half of 'answer 0' ({TARGET_VAR / 2:.3f}) after {rnn_steps} SGD steps (notes 000)",
            ", ".join(f"{m:g}×: {sweep[m][0]:.3f}" for m in MULTIPLES)
            + f"; not clipped: {sweep[None][0]:.3f}", all(converged.values()))

    plot(plain, clipped, fixed, sweep, average, out, s)
    s.print()
    return s


def start_norm(seed: int, device=None, batches: int = 20) -> float:
    """The average ‖∂L/∂θ‖ over ``batches`` batches at the initial weights (no update)."""
    tg.manual_seed(seed)
    model = Recall(seed).to(device)
    total = 0.0
    for k in range(batches):
        x, y = recall_batch(BATCH, 1000 * seed + k, device)
        model.zero_grad()
        F.mse_loss(model(x), y).backward()
        total += clip_grad_norm_(model.parameters(), math.inf).item()
    return total / batches


def plot(plain, clipped, fixed, sweep, average, out, s) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(1, 3, figsize=(17, 4))
    grid = np.linspace(0.975, 1.01, 800)
    ax[0].semilogy(grid, (grid ** T - 1) ** 2 + 1e-12, color="k", lw=1, label="L(w) = (w^1000 − 1)²")
    runs = ((plain, "tab:red", "unclipped"), (clipped, "tab:green", "clipped, η decays"),
            (fixed, "tab:orange", "clipped, fixed η"))
    for path, colour, name in runs:
        pts = [(w, loss) for w, loss in path if grid[0] <= w <= grid[-1]]
        if pts:
            ax[0].plot(*zip(*pts), "o-", ms=3, lw=0.5, alpha=0.8, color=colour, label=name)
    ax[0].set(title="the cliff: flat for w < 1, steep for w > 1", xlabel="w", ylim=(1e-8, 1e12))
    ax[0].legend(fontsize=8)
    for path, colour, name in runs:
        ax[1].semilogy([min(max(loss, 1e-12), 1e12) for _, loss in path], color=colour, label=name)
    ax[1].set(title="loss per step (unclipped: off the chart, then inf)", xlabel="step", ylim=(1e-8, 1e13))
    ax[1].legend(fontsize=8)
    labels = [f"{m:g}×" for m in MULTIPLES] + ["no clip"]
    mses = [min(mse, 10.0) for mse, _ in sweep.values()]
    ax[2].bar(labels, mses, color=["tab:green" if v < TARGET_VAR / 2 else "tab:red" for v in mses])
    ax[2].axhline(TARGET_VAR, color="k", ls=":", lw=1, label="answer 0")
    ax[2].axhline(TARGET_VAR / 2, color="k", ls="--", lw=1, label="converged below")
    ax[2].set(yscale="log", xlabel=f"clipping threshold (× average norm {average:.3g})",
              title="tanh RNN, SGD: final test MSE per threshold")
    ax[2].legend(fontsize=8)
    save(fig, out, "exploding_gradients.png", s)


if __name__ == "__main__":
    main()

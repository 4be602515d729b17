"""Clockwork RNN, SCRN, skip-through-time RNN, LSTM and a tanh RNN on the adding problem (notes 001, 003).

One long-dependency task, five recurrent layers at a similar parameter budget (≈ 1.2k), the
same read-out ŷ = V o_T + c of the last output and the same training (Adam, norm clipping
1.0, fresh batches). The adding problem (see adding-problem): x_t = [v_t, m_t], two marked
values, one in each half; target v + v′; predicting 1 scores MSE 1/6.

    tanh RNN   h_t = tanh(W_ih x_t + W_hh h_{t−1} + b)
    Clockwork  module k updates when (t − 1) mod T_k = 0, T = (1, 2, 4, 8); W_hh slow → fast
    SCRN       s_t = (1 − α) B x_t + α s_{t−1},  h_t = σ(P s_t + A x_t + R h_{t−1}),  o_t = [h_t; s_t]
    Skip RNN   h_t = tanh(W_ih x_t + W_hh h_{t−1} + W_skip h_{t−d} + b),  d = 4
    LSTM       c_t = f ⊙ c_{t−1} + i ⊙ g,  h_t = o ⊙ tanh(c_t)

The notes present the clockwork RNN and the SCRN as fixes for the tanh RNN's short memory:
the slow modules and the slow context are paths back in time with fewer (or gentler)
Jacobians. Claimed here: both end below the plain tanh RNN's test MSE. Where a claim does not
hold the demo prints ✗, the numbers and the reason: the SCRN's slow context is a linear
average of the inputs and cannot pick out the marked values, and --quick is too short a run
for the clockwork RNN to leave the predict-1 plateau.
"""

from __future__ import annotations

import time

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.nn import functional as F
from tinygrad_rnn.tasks.adding import BASELINE_MSE, adding_problem

from .adding_problem import fit
from .common import Summary, parser, pyplot, run_jobs, save, setup

MODELS = ["tanh RNN", "Clockwork RNN", "SCRN", "Skip RNN", "LSTM"]
COST = {"tanh RNN": 3, "Clockwork RNN": 11, "SCRN": 8, "Skip RNN": 6, "LSTM": 9}  # seconds, full run


def layer(kind: str) -> tuple[nn.Module, int]:
    """The recurrent layer (batch_first) and the size of its per-step output."""
    if kind == "tanh RNN":
        return nn.RNN(2, 32, batch_first=True), 32
    if kind == "Clockwork RNN":
        return nn.ClockworkRNN(2, 40, periods=(1, 2, 4, 8), batch_first=True), 40
    if kind == "SCRN":
        return nn.SCRN(2, 26, 14, alpha=0.95, batch_first=True), 40
    if kind == "Skip RNN":
        return nn.SkipRNN(2, 24, skip=4, batch_first=True), 24
    return nn.LSTM(2, 16, batch_first=True), 16


class Model(nn.Module):
    def __init__(self, kind: str):
        super().__init__()
        self.rnn, width = layer(kind)
        self.head = nn.Linear(width, 1)

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        out, _ = self.rnn(x)
        return self.head(out[:, -1]).reshape(-1)


def budget(model: Model) -> int:
    """Trainable parameters that can be nonzero (the clockwork's masked blocks do not count)."""
    n = sum(p.numel() for p in model.parameters())
    rnn = model.rnn
    if isinstance(rnn, nn.ClockworkRNN):
        n -= int((1 - rnn.block_mask().numpy()).sum())
    return n


def train(kind: str, length: int, steps: int, batch: int, seed: int, test, device=None, every: int = 25):
    """Adam (lr 1e-2) through adding-problem's fit(); ``test`` is (inputs, targets) as NumPy arrays.
    Returns the parameter budget, [(step, test MSE)] and seconds (a job of run_jobs)."""
    tg.manual_seed(seed)
    test = tuple(tg.tensor(a, device=device) for a in test)
    model = Model(kind).to(device)
    opt = tg.optim.Adam(model.parameters(), lr=1e-2)

    def evaluate() -> float:
        with tg.no_grad():
            return F.mse_loss(model(test[0]), test[1]).item()

    start = time.perf_counter()
    curve = fit(model, opt, length, steps, batch, seed, device, evaluate, every, f"{kind:13} T={length}")
    return budget(model), curve, time.perf_counter() - start


def main(argv=None) -> Summary:
    args = parser("clockwork-scrn", __doc__.splitlines()[0], steps=1500).parse_args(argv)
    out = setup(args)
    s = Summary("clockwork-scrn")
    length, steps, batch = (20, 600, 32) if args.quick else (40, args.steps, 64)
    test = adding_problem(500, length, seed=999_999)
    curves, final, params = {}, {}, {}
    runs = run_jobs(train, [(kind, length, steps, batch, args.seed, test, args.device) for kind in MODELS],
                    args.device, cost=[COST[kind] for kind in MODELS])
    for kind, (params[kind], curves[kind], secs) in zip(MODELS, runs):
        final[kind] = sum(mse for _, mse in curves[kind][-3:]) / 3  # the last three evaluations
        print(f"{kind:13} {params[kind]:5d} params: test MSE {final[kind]:.4f} after {steps} steps "
              f"({secs:.0f} s)")
    where = f"T = {length}, {steps} Adam steps of {batch}"
    lo, hi = min(params.values()), max(params.values())
    s.claim("the five models have a similar parameter budget (max/min ≤ 1.35)",
            ", ".join(f"{k} {v}" for k, v in params.items()), hi / lo <= 1.35)
    s.claim(f"the LSTM beats the plain tanh RNN (test MSE ≤ 0.5 × the tanh RNN's; {where})",
            f"{final['LSTM']:.4f} vs {final['tanh RNN']:.4f}", final["LSTM"] <= 0.5 * final["tanh RNN"])
    why = {  # printed only where a claim does not hold
        "Clockwork RNN": " — --quick is too short: the clockwork RNN sits on the predict-1 plateau for "
                         "its first several hundred steps; run without --quick (T = 40, 1500 steps)"
                         if args.quick else "",
        "SCRN": " — the context s_t is a linear leaky average of x_t = [v_t, m_t]: it cannot form "
                "the product v_t·m_t the task needs, so the SCRN remembers with its sigmoid h, a "
                "plain RNN",
    }
    for kind in ("Clockwork RNN", "SCRN"):
        held = final[kind] <= 0.8 * final["tanh RNN"]
        s.claim(f"{kind} beats the plain tanh RNN (test MSE ≤ 0.8 × the tanh RNN's; {where})",
                f"{final[kind]:.4f} vs tanh RNN {final['tanh RNN']:.4f} (baseline 1/6 ≈ "
                f"{BASELINE_MSE:.3f}){'' if held else why[kind]}", held)

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for kind, curve in curves.items():
        ax.plot(*zip(*curve), label=f"{kind} ({params[kind]} params)")
    ax.axhline(BASELINE_MSE, color="k", ls="--", lw=1, label="predict 1: MSE 1/6")
    ax.set(title=f"adding problem, T = {length}", xlabel="training step", ylabel="test MSE", yscale="log")
    ax.legend(fontsize=8)
    save(fig, out, "clockwork_scrn.png", s)
    s.print()
    return s


if __name__ == "__main__":
    main()

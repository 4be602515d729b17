"""LSTM variants side by side: standard, peephole, coupled-gate LSTM and GRU (notes 001 §4).

The notes: "there are lots of variants of the described LSTM structure, including
connections from the cell state to the gates as another input or combining different gates
into one, e.g. the forget gate and input gate into one update gate", and "both LSTM and GRU
achieve similar performance on many tasks". The four cells, gates σ(·) of x_t and h_{t−1}:

    LSTM       c_t = f ⊙ c_{t−1} + i ⊙ g,   h_t = o ⊙ tanh(c_t)              nn.LSTM
    peephole   the same, i and f also see c_{t−1}, o sees c_t (w_ci, w_cf, w_co)
                                                                 nn.LSTM(peephole=True)
    coupled    f = 1 − i:  c_t = (1 − i) ⊙ c_{t−1} + i ⊙ g       nn.LSTM(coupled=True)
    GRU        h_t = (1 − z) ⊙ h̃ + z ⊙ h_{t−1},  h̃ = tanh(W x_t + U (r ⊙ h_{t−1}) + b)
                                                 nn.GRU(reset_after=False), the notes' eq. 7

The task is the notes' memory toy (003), learned as in gru-vs-lstm: x2 = 1 adds x1 to the
memory, x2 = −1 clears it, x2 = 0 keeps it; the target at every step is the memory m_t, read
out as ŷ_t = V h_t + c. The budget is the same for all four: about the same number of
parameters (hidden sizes 24, 24, 28, 28 give 2 713–2 785 with the read-out), the same data,
batches, optimiser (Adam 0.01, clipping at 1), learning rate and number of steps.

Claims: each variant learns the task (test MSE < 10 % of Var(m), the predict-the-mean error),
and "similar performance" measured as: the largest and smallest test MSE of the four differ by
less than ``TOLERANCE`` = 2 % of Var(m). Which one is best is printed, not claimed.
"""

from __future__ import annotations

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import nn

from .common import Summary, parser, run_jobs, save, setup, subplots
from .gru_vs_lstm import fit, memory_task

TOLERANCE = 0.02  # (max − min test MSE) / Var(m) of the four variants: "similar performance"
LEARNED = 0.10    # test MSE / Var(m) below this: the variant learned the task

VARIANTS = {  # name -> (hidden size, constructor); the sizes even out the parameter counts
    "LSTM": (24, lambda H: nn.LSTM(2, H, batch_first=True)),
    "peephole LSTM": (24, lambda H: nn.LSTM(2, H, batch_first=True, peephole=True)),
    "coupled LSTM": (28, lambda H: nn.LSTM(2, H, batch_first=True, coupled=True)),
    "GRU": (28, lambda H: nn.GRU(2, H, batch_first=True, reset_after=False)),
}
COST = {"LSTM": 11, "peephole LSTM": 15, "coupled LSTM": 11, "GRU": 15}  # seconds each (full run)


class Regressor(nn.Module):
    def __init__(self, variant: str):
        super().__init__()
        H, make = VARIANTS[variant]
        self.rnn = make(H)
        self.V = nn.Linear(H, 1)

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        h, _ = self.rnn(x)
        return self.V(h).reshape(x.shape[0], x.shape[1])  # ŷ_t = V h_t + c at every step


def train(variant: str, data, test, steps: int, seed: int, device, batch: int = 32):
    """Adam on the same batches for every variant; returns (losses, test MSE, seconds, params)."""
    tg.manual_seed(seed)
    model = Regressor(variant).to(device)
    return fit(model, data, test, steps, device, variant, batch=batch, seed=seed)


def main(argv=None) -> Summary:
    ap = parser("lstm-variants", __doc__.splitlines()[0], steps=1500)
    ap.add_argument("--length", type=int, default=None, help="sequence length (default 50; quick 20)")
    args = ap.parse_args(argv)
    out = setup(args)
    s = Summary("lstm-variants")
    length = args.length or (20 if args.quick else 50)
    steps = 400 if args.quick else args.steps
    data = memory_task(2000, length, seed=args.seed)
    test = memory_task(500, length, seed=args.seed + 1000)
    var = float(test[1].var())
    print(f"memory task, T = {length}: Adam 0.01, batch 32, {steps} steps each, same batches")
    results = dict(zip(VARIANTS, run_jobs(train, [(v, data, test, steps, args.seed, args.device)
                                                  for v in VARIANTS], args.device, cost=list(COST.values()))))
    print(f"\n{'':15s}{'hidden':>7s}{'params':>8s}{'test MSE':>10s}{'/ Var(m)':>10s}"
          f"{'last-50 train':>15s}{'seconds':>9s}")
    for v, (losses, mse, sec, n) in results.items():
        print(f"{v:15s}{VARIANTS[v][0]:7d}{n:8d}{mse:10.4f}{mse / var:10.4f}"
              f"{np.mean(losses[-50:]):15.4f}{sec:9.1f}")
    print(f"(predict the mean: MSE Var(m) = {var:.4f})")
    params = {v: r[3] for v, r in results.items()}
    s.claim("the same parameter budget (max/min ≤ 1.05)",
            ", ".join(f"{v} {n}" for v, n in params.items()),
            max(params.values()) / min(params.values()) <= 1.05)
    for v, (_, mse, _, _) in results.items():
        s.claim(f"{v} learns the memory task (test MSE < {LEARNED:.0%} of Var(m))",
                f"{mse:.4f} = {mse / var:.3f} Var(m)", mse < LEARNED * var)
    mses = {v: r[1] for v, r in results.items()}
    best, worst = min(mses, key=mses.get), max(mses, key=mses.get)
    gap = (mses[worst] - mses[best]) / var
    s.claim(f"similar performance (notes 001): (max − min test MSE) / Var(m) < {TOLERANCE}",
            f"best {best} {mses[best]:.4f}, worst {worst} {mses[worst]:.4f}: gap {gap:.4f} of Var(m)",
            gap < TOLERANCE)

    fig, ax = subplots(1, 2, figsize=(12, 4))
    for v, (losses, *_) in results.items():
        smooth = np.convolve(losses, np.ones(20) / 20, mode="valid")
        ax[0].semilogy(range(19, len(losses)), smooth, label=f"{v} ({params[v]} params)")
    ax[0].axhline(var, color="k", ls="--", lw=1, label="predict the mean: Var(m)")
    ax[0].set(title=f"memory task, T = {length}: one budget", xlabel="step",
              ylabel="training MSE (20-step mean)")
    ax[0].legend(fontsize=8)
    ax[1].bar(range(len(mses)), [m / var for m in mses.values()], color="C0")
    ax[1].axhspan(mses[best] / var, mses[best] / var + TOLERANCE, color="C2", alpha=0.2,
                  label=f"best + {TOLERANCE} Var(m): 'similar'")
    ax[1].set_xticks(range(len(mses)))
    ax[1].set_xticklabels(list(mses), fontsize=8)
    ax[1].set(title="test MSE / Var(m)", ylabel="fraction of the predict-the-mean error")
    ax[1].legend(fontsize=8)
    save(fig, out, "lstm_variants.png", s)
    s.print()
    return s


if __name__ == "__main__":
    main()

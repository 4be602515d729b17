"""GRU vs LSTM on the notes' memory task, with the same budget (notes 001, 002, 003).

Both gated cells keep a memory that is updated additively, which is what lets the gradient
reach back across the sequence:

    LSTM   c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t,         h_t = o_t ⊙ tanh(c_t)
    GRU    h_t = (1 − z_t) ⊙ h̃_t + z_t ⊙ h_{t−1},   h̃_t = tanh(W x_t + U (r_t ⊙ h_{t−1}) + b)

(gates σ(·) of x_t and h_{t−1}). The GRU is the notes' (001 eq. 7): the reset gate scales
h_{t−1} before U multiplies it, ``nn.GRU(..., reset_after=False)``; ``--gru pytorch`` runs
PyTorch's form h̃_t = tanh(W x_t + b + r_t ⊙ (U h_{t−1} + b')) instead. The task is the
memory toy of notes 003, learned instead of hand-wired: each step brings (x1, x2) with
x1 ~ U(0, 1); x2 = 1 adds x1 to the memory, x2 = −1 resets it to 0, x2 = 0 leaves it; the
target at every step is the memory m_t, read out as ŷ_t = V h_t + c. Predicting the mean
scores MSE Var(m); remembering gets near 0. Both cells get the same hidden size, data,
optimiser, learning rate, batches and steps.

The notes (001): "both LSTM and GRU achieve similar performance". Measured here as: the two
test MSEs, each divided by Var(m), differ by less than ``TOLERANCE`` (2 % of the
predict-the-mean error; 3 % in --quick mode): either both cells learned the task or neither.
"""

from __future__ import annotations

import time

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.nn import functional as F

from .common import Summary, parser, progress, run_jobs, save, setup, subplots

TOLERANCE = 0.02  # |MSE_GRU − MSE_LSTM| / Var(m): "similar performance"

def memory_task(n: int, length: int, seed: int):
    """Inputs (n, length, 2) = (x1, x2) and targets (n, length): the running memory m_t."""
    rng = np.random.default_rng(seed)
    x1 = rng.random((n, length)).astype(np.float32)
    x2 = rng.choice([0, 1, -1], size=(n, length), p=[0.55, 0.35, 0.1]).astype(np.float32)
    m, y = np.zeros(n, np.float32), np.zeros((n, length), np.float32)
    for t in range(length):
        m = np.where(x2[:, t] == -1, 0, m + (x2[:, t] == 1) * x1[:, t])
        y[:, t] = m
    return np.stack([x1, x2], axis=-1), y


class Regressor(nn.Module):
    def __init__(self, cell: str, hidden: int, reset_after: bool = False):
        super().__init__()
        if cell == "LSTM":
            self.rnn = nn.LSTM(2, hidden, batch_first=True)
        else:  # reset_after=False: the notes' GRU, U (r ⊙ h)
            self.rnn = nn.GRU(2, hidden, batch_first=True, reset_after=reset_after)
        self.V = nn.Linear(hidden, 1)

    def forward(self, x):
        h, _ = self.rnn(x)
        return self.V(h).reshape(x.shape[0], x.shape[1])  # ŷ_t = V h_t + c at every step


def fit(model, data, test, steps: int, device, desc: str, batch: int = 32, lr: float = 0.01,
        seed: int = 0):
    """Adam with norm clipping on batches drawn by ``seed`` (the same batches for every model
    given the same seed); returns (losses, test MSE, seconds, number of parameters)."""
    x, y = data
    opt = tg.optim.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    losses, start = [], time.perf_counter()
    for _ in progress(range(steps), desc=desc, leave=False):
        i = rng.choice(len(x), batch, replace=False)
        loss = F.mse_loss(model(tg.tensor(x[i], device=device)), tg.tensor(y[i], device=device))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
    seconds = time.perf_counter() - start
    with tg.no_grad():
        pred = model(tg.tensor(test[0], device=device)).numpy()
    n_params = sum(p.numel() for p in model.parameters())
    return losses, float(np.mean((pred - test[1]) ** 2)), seconds, n_params


def main(argv=None) -> Summary:
    ap = parser("gru-vs-lstm", __doc__.splitlines()[0], steps=2000)
    ap.add_argument("--length", type=int, default=None, help="sequence length (default 50; quick 20)")
    ap.add_argument("--hidden", type=int, default=32, help="hidden size of both cells")
    ap.add_argument("--gru", choices=("notes", "pytorch"), default="notes",
                    help="GRU form: the notes' U (r ⊙ h) or PyTorch's r ⊙ (U h + b)")
    args = ap.parse_args(argv)
    out = setup(args)
    s = Summary("gru-vs-lstm")
    length = args.length or (20 if args.quick else 50)
    steps = 250 if args.quick else args.steps
    data = memory_task(2000, length, seed=args.seed)
    test = memory_task(500, length, seed=args.seed + 1000)
    baseline = float(test[1].var())
    reset_after = args.gru == "pytorch"
    print(f"memory task, T = {length}: hidden {args.hidden}, Adam 0.01, batch 32, {steps} steps each")
    print("GRU: " + ("PyTorch's form, h̃ = tanh(W x + b + r ⊙ (U h + b')) (reset_after=True)" if reset_after
                     else "the notes' form (001 eq. 7), h̃ = tanh(W x + U (r ⊙ h) + b) (reset_after=False)"))
    # built here, one after the other from the seeded generator; trained side by side
    models = {cell: Regressor(cell, args.hidden, reset_after).to(args.device) for cell in ("GRU", "LSTM")}
    results = dict(zip(models, run_jobs(fit, [(model, data, test, steps, args.device, cell)
                                              for cell, model in models.items()], args.device)))
    print(f"\n{'':6s}{'parameters':>12s}{'test MSE':>12s}{'last-50 train MSE':>20s}{'seconds':>10s}")
    for cell, (losses, mse, sec, n) in results.items():
        print(f"{cell:6s}{n:12d}{mse:12.4f}{np.mean(losses[-50:]):20.4f}{sec:10.1f}")
    print(f"(baseline: predict the mean → MSE Var(m) = {baseline:.4f})")
    for cell, (_, mse, _, _) in results.items():
        s.claim(f"{cell} learns (test MSE well below Var(m), the predict-the-mean MSE)",
                f"{mse:.4f} vs {baseline:.4f}", mse < 0.1 * baseline)
    g, lstm = results["GRU"][1], results["LSTM"][1]
    tol = 0.03 if args.quick else TOLERANCE
    gap = abs(g - lstm) / baseline
    s.claim(f"similar performance (notes 001): |MSE_GRU − MSE_LSTM| / Var(m) < {tol}",
            f"GRU {g:.4f} | LSTM {lstm:.4f}: gap {gap:.3f} of Var(m)", gap < tol)

    fig, ax = subplots(figsize=(7, 4))
    for cell, (losses, *_) in results.items():
        smooth = np.convolve(losses, np.ones(20) / 20, mode="valid")
        ax.semilogy(range(19, len(losses)), smooth, label=f"{cell} (test MSE {results[cell][1]:.3f})")
    ax.axhline(baseline, color="k", ls="--", lw=1, label="predict the mean: Var(m)")
    ax.set(title=f"memory task, T = {length}: same budget", xlabel="step",
           ylabel="training MSE (20-step mean)")
    ax.legend()
    save(fig, out, "gru_vs_lstm.png", s)
    s.print()
    return s


if __name__ == "__main__":
    main()

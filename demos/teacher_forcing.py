"""Teacher forcing vs free running vs scheduled sampling for an output-to-hidden RNN (notes 001 §6.1).

The Jordan RNN's only memory is its previous output:

    h_t = tanh(U x_t + W y_{t−1} + b),    o_t = V h_t + c,    L = Σ_t (o_t − y_t)²

Teacher forcing feeds the TRUE y_{t−1} while training, so the steps decouple (here all T
steps run as one batched call, the notes' "trained in parallel"). At test time the truth is
not there and the model's own o_{t−1} is fed back: the inputs it sees differ from the
training ones, and its errors compound. Free-running training feeds o_{t−1} all along
(BPTT through the fed-back outputs); scheduled sampling feeds the truth with probability ε
that falls from 1 to 0 over training (the notes' curriculum). The data: a driven system
y_t = tanh(1.2 y_{t−1} + x_t), x_t ~ U(−1, 1), y_0 = 0, whose slope above 1 near 0 lets a
small error in the fed-back y_{t−1} grow.
"""

from __future__ import annotations

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import nn

from .common import Summary, parser, progress, run_jobs, save, setup, subplots

GAIN = 1.2
MODES = ("teacher forcing", "free running", "scheduled sampling")


def system(n: int, length: int, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, length)).astype(np.float32)
    y = np.zeros((n, length), np.float32)
    prev = np.zeros(n, np.float32)
    for t in range(length):
        prev = y[:, t] = np.tanh(GAIN * prev + x[:, t])
    return x, y


def shifted(y):
    """y_{t−1} for every t (y_0 = 0): what teacher forcing feeds back."""
    return np.concatenate([np.zeros_like(y[:, :1]), y[:, :-1]], axis=1)


def teacher_forced(cell, x, y, device):
    """All T steps at once: each step sees the true y_{t−1}, so none waits for another."""
    B, T = x.shape
    o, _ = cell(tg.tensor(x.reshape(-1, 1), device=device),
                tg.tensor(shifted(y).reshape(-1, 1), device=device))
    return o.reshape(B, T)


def run_free(cell, x, y, device, p_truth=0.0, rng=None):
    """Step by step; y_{t−1} is the truth with probability p_truth, else the model's o_{t−1}."""
    B, T = x.shape
    y_prev, outs = tg.zeros(B, 1, device=device), []
    for t in range(T):
        with tg.scope(f"t={t + 1}"):
            o, _ = cell(tg.tensor(x[:, t:t + 1], device=device), y_prev)
        outs.append(o)
        y_prev = o
        if p_truth > 0:
            use = (rng.random((B, 1)) < p_truth).astype(np.float32)
            y_prev = o * tg.tensor(1 - use, device=device) + tg.tensor(use * y[:, t:t + 1], device=device)
    return tg.cat(outs, axis=1)


def train(mode, data, steps, device, hidden=16, batch=32, seed=0):
    x, y = data
    tg.manual_seed(seed)
    cell = nn.JordanRNNCell(1, hidden, 1).to(device)
    opt = tg.optim.Adam(cell.parameters(), lr=0.01)
    rng = np.random.default_rng(seed)
    for k in progress(range(steps), desc=mode, leave=False):
        i = rng.choice(len(x), batch, replace=False)
        if mode == "teacher forcing":
            o = teacher_forced(cell, x[i], y[i], device)
        else:
            eps = max(0.0, 1 - k / (0.75 * steps)) if mode == "scheduled sampling" else 0.0
            o = run_free(cell, x[i], y[i], device, eps, rng)
        loss = ((o - tg.tensor(y[i], device=device)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(cell.parameters(), 1.0)
        opt.step()
    return cell


def errors(cell, data, device):
    """Test MSE with the true y_{t−1} fed back (teacher-forced) and with o_{t−1} (free running)."""
    x, y = data
    with tg.no_grad():
        tf = teacher_forced(cell, x, y, device).numpy()
        fr = run_free(cell, x, y, device).numpy()
    return float(((tf - y) ** 2).mean()), float(((fr - y) ** 2).mean()), fr


def train_and_score(mode, data, test, steps, device, seed):
    """``errors`` on ``test`` of a cell trained in ``mode`` (a job of run_jobs)."""
    return errors(train(mode, data, steps, device, seed=seed), test, device)


def main(argv=None) -> Summary:
    args = parser("teacher-forcing", __doc__.splitlines()[0], steps=800).parse_args(argv)
    out = setup(args)
    s = Summary("teacher-forcing")
    length = 30
    steps = 250 if args.quick else args.steps
    data, test = system(2000, length, args.seed), system(500, length, args.seed + 1000)
    print(f"y_t = tanh({GAIN} y_(t−1) + x_t), T = {length}; Jordan RNN hidden 16, Adam 0.01, {steps} steps")
    res = dict(zip(MODES, run_jobs(train_and_score, [(m, data, test, steps, args.device, args.seed)
                                                      for m in MODES], args.device)))
    print(f"\n{'trained with':20s}{'test MSE, fed y_(t−1)':>24s}{'test MSE, fed o_(t−1)':>24s}{'ratio':>8s}")
    for m, (tf, fr, _) in res.items():
        print(f"{m:20s}{tf:24.2e}{fr:24.2e}{fr / tf:8.1f}")
    tf, fr, _ = res["teacher forcing"]
    s.claim("teacher-forced model: free-running test error higher than teacher-forced error",
            f"MSE {fr:.2e} vs {tf:.2e} (×{fr / tf:.1f})", fr > 2 * tf)
    best = min(res["free running"][1], res["scheduled sampling"][1])
    s.claim("training on its own outputs (free running or scheduled sampling) lowers that error",
            f"best {best:.2e} vs teacher forcing {fr:.2e}", best < fr)
    print("free-running test error of each training mode (fed o_(t−1)): "
          + ", ".join(f"{m} {v[1]:.2e}" for m, v in res.items()))

    fig, ax = subplots(figsize=(9, 4))
    b = int(np.argmax(np.abs(res["teacher forcing"][2] - test[1]).max(axis=1)))  # its worst case
    ax.plot(test[1][b], "k-", lw=2, label="true y_t")
    for m, (_, _, fr) in res.items():
        ax.plot(fr[b], "o-", ms=3, lw=1, label=f"trained with {m}")
    ax.set(title="a test sequence (teacher forcing's worst), each model fed its own o_(t−1)",
           xlabel="t", ylabel="y_t")
    ax.legend(fontsize=8)
    save(fig, out, "teacher_forcing.png", s)
    s.print()
    return s


if __name__ == "__main__":
    main()

"""An RNN conditioned on a context vector, two ways (notes 001 §6.3; one-to-many, notes 002).

A generator of real-valued sequences, told which of K classes to produce by a one-hot context
vector c. Class k is the wave y_t = sin(2π (k + 1) t / T), t = 1 … T, with k + 1 periods in the
sequence. The notes: the context "can be incorporated into the hidden state h_0 or given as a
bias term in each time step". Both, with the same hidden size and read-out ŷ_t = v h_t + b_v:

    context as h_0     h_0 = tanh(W_c c + b_c),  h_t = tanh(W_hh h_{t−1} + b),        t ≥ 1
    context as bias    h_0 = 0,                  h_t = tanh(W_hh h_{t−1} + W_c c + b)

Both are one-to-many: a single input vector, a whole sequence out. In the first the class must
be carried in the state for all T steps; in the second it is given again at every step.
Measured: the MSE to the requested wave, and whether the generated sequence is of the
requested class by the task's own rule — the strongest frequency of its spectrum is k + 1.
Which way conditions better is printed (median MSE over seeds), not claimed: in our runs it
changes with T and the seed. At T = 60 neither learns the waves in 1500 steps (free-running
oscillators are hard to train by BPTT), so both modes use T = 30.
"""

from __future__ import annotations

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.nn import functional as F

from .common import Summary, parser, progress, pyplot, run_jobs, save, setup

K = 4


def targets(T: int) -> np.ndarray:
    """(K, T): class k is sin(2π (k + 1) t / T)."""
    t = np.arange(1, T + 1)
    return np.stack([np.sin(2 * np.pi * (k + 1) * t / T) for k in range(K)]).astype("float32")


class Generator(nn.Module):
    def __init__(self, how: str, hidden: int):
        super().__init__()
        self.how = how
        self.context = nn.Linear(K, hidden)  # W_c c + b_c
        # "bias": the context enters as the input at every step (W_ih c is the bias term)
        self.rnn = nn.RNN(K if how == "bias" else 1, hidden)
        self.out = nn.Linear(hidden, 1)

    def forward(self, c: tg.Tensor, T: int) -> tg.Tensor:
        """c: (B, K) one-hot → (B, T) sequences."""
        B = c.shape[0]
        if self.how == "h_0":
            h0 = self.context(c).tanh().reshape(1, B, -1)
            out, _ = self.rnn(tg.zeros(T, B, 1, dtype=c.dtype), h0)
        else:
            x = c.reshape(1, B, K).expand(T, B, K)
            out, _ = self.rnn(x)
        return self.out(out).reshape(T, B).transpose(0, 1)


def recognised(seqs: np.ndarray) -> np.ndarray:
    """The class of each sequence by the task's rule: its strongest frequency (1 … K) − 1."""
    spectrum = np.abs(np.fft.rfft(seqs - seqs.mean(1, keepdims=True), axis=1))
    return spectrum[:, 1:].argmax(1)


def generate(how: str, hidden: int, T: int, steps: int, seed: int) -> np.ndarray:
    """Train a generator with the context as ``how`` (Adam, norm clipping); its sequence for each
    class, (K, T) (a job of run_jobs)."""
    tg.manual_seed(seed)
    c, y = tg.tensor(np.eye(K, dtype="float32")), targets(T)
    model = Generator(how, hidden)
    opt = tg.optim.Adam(model.parameters(), lr=1e-2)
    for _ in progress(range(steps), desc=f"{how} seed {seed}", leave=False):
        loss = F.mse_loss(model(c, T), tg.tensor(y))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    with tg.no_grad():
        return model(c, T).numpy()


def main(argv=None) -> Summary:
    args = parser("context-rnn", __doc__.splitlines()[0]).parse_args(argv)
    out = setup(args)
    s = Summary("context-rnn")
    T, steps, hidden, seeds = (30, 400, 24, 1) if args.quick else (30, 1000, 32, 3)
    y = targets(T)
    baseline = float(((y - y.mean(0)) ** 2).mean())  # one sequence for every class
    runs = [(how, seed) for how in ("h_0", "bias") for seed in range(args.seed, args.seed + seeds)]
    done = iter(run_jobs(generate, [(how, hidden, T, steps, seed) for how, seed in runs]))
    results = {}  # how -> [(mse, recognised classes, generated)] per seed
    for how, seed in runs:
        gen = next(done)
        results.setdefault(how, []).append((float(((gen - y) ** 2).mean()), recognised(gen), gen))
        mse, classes, _ = results[how][-1]
        print(f"context as {how:4}, seed {seed}: MSE {mse:.4f} (one sequence for all classes: "
              f"{baseline:.3f}); recognised classes {classes.tolist()} for requested {list(range(K))}")
    where = f"T = {T}, H = {hidden}, {steps} Adam steps, {seeds} seed{'s' if seeds > 1 else ''}"
    for how in ("h_0", "bias"):
        right = sum(int((classes == np.arange(K)).sum()) for _, classes, _ in results[how])
        worst = max(mse for mse, _, _ in results[how])
        s.claim(f"context as {how}: every generated sequence is of the requested class ({where})",
                f"{right}/{K * seeds}", right == K * seeds)
        s.claim(f"context as {how}: MSE below 1/10 of the class-blind baseline (worst seed)",
                f"{worst:.4f} vs {baseline:.3f}", worst < 0.1 * baseline)
    median = {how: float(np.median([mse for mse, _, _ in r])) for how, r in results.items()}
    better = min(median, key=median.get)
    print(f"conditions better here (median MSE, printed, not claimed): context as {better} "
          f"({median[better]:.4f} vs {median['bias' if better == 'h_0' else 'h_0']:.4f})")

    plt = pyplot()
    fig, ax = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
    t = np.arange(1, T + 1)
    for a, how in zip(ax, ("h_0", "bias")):
        for k in range(K):
            a.plot(t, y[k], color=f"C{k}", lw=0.8, ls="--")
            a.plot(t, results[how][0][2][k], color=f"C{k}", lw=1.5, label=f"class {k}")
        a.set(title=f"context as {how}, seed {args.seed} (dashed: requested)", xlabel="t")
        a.legend(fontsize=7)
    save(fig, out, "context_rnn.png", s)
    s.print()
    return s


if __name__ == "__main__":
    main()

"""Parameter sharing: an RNN finds a pattern at positions it never saw it at, a fixed-window
feed-forward net does not (notes 001, L50-53).

The task: sequences of T = 10 symbols from {0, 1, 2, 3}; the label is 1 when the bigram
"1 2" occurs somewhere. Positives contain it once, at a position p; negatives never contain
it (but contain 1s and 2s elsewhere). Training positives have the pattern at even positions
p ∈ {0, 2, 4, 6, 8} only; the test asks about the odd ones p ∈ {1, 3, 5, 7}.

    feed-forward   ŷ = w₂ᵀ tanh(W₁ [x_1; x_2; …; x_T] + b₁) + b₂     one weight block per position
    RNN            h_t = GRU(x_t, h_{t−1}),  ŷ = vᵀ h_T + c            the same weights at every t

The notes: a feed-forward network "must learn all rules of language for each position anew",
while the RNN shares its parameters across time. The feed-forward net's weights for a "1" at
an odd position only ever saw pattern-free inputs, so it has no rule there; the RNN applies
the rule it learned at even positions at every step.

The RNN here uses the GRU cell: once it has seen the pattern it must hold a "seen" state
still until the end. A plain tanh RNN (16 units) is trained too and its detection rate
per position printed and plotted, not claimed: in our runs it fits the training positions but
finds the pattern only at even positions — its answer depends on the parity of T − p, as if its
"seen" state flipped sign every step. Sharing parameters makes generalising across positions
possible; it does not guarantee it.
"""

from __future__ import annotations

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.nn import functional as F

from .common import Summary, parser, progress, pyplot, run_jobs, save, setup

T, K, PATTERN = 10, 4, (1, 2)
TRAIN_POSITIONS, TEST_POSITIONS = range(0, 9, 2), range(1, 9, 2)  # interleaved: same distances to the end


def occurrences(seq) -> int:
    return sum(seq[i] == PATTERN[0] and seq[i + 1] == PATTERN[1] for i in range(len(seq) - 1))


def background(rng) -> np.ndarray:
    """T random symbols without the pattern anywhere (a 2 right after a 1 is redrawn)."""
    seq = rng.integers(0, K, T)
    for i in range(1, T):
        while seq[i - 1] == PATTERN[0] and seq[i] == PATTERN[1]:
            seq[i] = rng.integers(0, K)
    return seq


def dataset(n: int, positions, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n sequences, half positive with the pattern at a position drawn from ``positions``.

    Returns one-hot inputs (n, T, K), labels (n,) and the positions (−1 for negatives).
    """
    seqs, labels, where = [], [], []
    for k in range(n):
        seq = background(rng)
        if k % 2:
            p = int(rng.choice(list(positions)))
            while True:  # exactly one occurrence, at p (placing it can create a second one)
                seq[p:p + 2] = PATTERN
                if occurrences(seq) == 1:
                    break
                seq = background(rng)
            where.append(p)
        else:
            where.append(-1)
        seqs.append(seq)
        labels.append(k % 2)
    onehot = np.eye(K, dtype="float32")[np.array(seqs)]
    return onehot, np.array(labels, dtype="float32"), np.array(where)


class FeedForward(nn.Module):
    def __init__(self, hidden: int):
        super().__init__()
        self.l1, self.l2 = nn.Linear(T * K, hidden), nn.Linear(hidden, 1)

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        return self.l2(self.l1(x.reshape(x.shape[0], T * K)).tanh()).reshape(-1)


class Recurrent(nn.Module):
    def __init__(self, hidden: int, cell: str = "GRU"):
        super().__init__()
        rnn = nn.GRU if cell == "GRU" else nn.RNN
        self.rnn, self.head = rnn(K, hidden, batch_first=True), nn.Linear(hidden, 1)

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        out, _ = self.rnn(x)
        return self.head(out[:, -1]).reshape(-1)


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray, device=None) -> float:
    with tg.no_grad():
        logits = model(tg.tensor(x, device=device)).numpy()
    return float(((logits > 0) == (y > 0.5)).mean())


def batches(steps: int, seed: int) -> list:
    """The training batches: every model trains on the same ones, so they are drawn once."""
    rng = np.random.default_rng(seed)
    return [dataset(64, TRAIN_POSITIONS, rng) for _ in range(steps)]


def train(model: nn.Module, data: list, device=None) -> nn.Module:
    """Adam (lr 1e-2) on the batches ``data``, one step each."""
    opt = tg.optim.Adam(model.parameters(), lr=1e-2)
    for x, y, _ in progress(data, desc=type(model).__name__, leave=False):
        loss = F.binary_cross_entropy_with_logits(model(tg.tensor(x, device=device)),
                                                  tg.tensor(y, device=device))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


def _fit_and_test(model: nn.Module, data: list, seen, unseen, by_position: list, device=None):
    """Train ``model`` (a job of run_jobs); its accuracy on the seen and unseen positions, its
    detection rate at each position, and its number of parameters."""
    model = train(model.to(device), data, device)
    acc = (accuracy(model, *seen[:2], device), accuracy(model, *unseen[:2], device))
    rates = [accuracy(model, x[y > 0.5], y[y > 0.5], device) for x, y, _ in by_position]
    return acc, rates, sum(q.numel() for q in model.parameters())


def main(argv=None) -> Summary:
    args = parser("parameter-sharing", __doc__.splitlines()[0]).parse_args(argv)
    out = setup(args)
    s = Summary("parameter-sharing")
    steps, n_test = (300, 400) if args.quick else (1500, 2000)
    rng = np.random.default_rng(10_000 + args.seed)
    seen = dataset(n_test, TRAIN_POSITIONS, rng)
    unseen = dataset(n_test, TEST_POSITIONS, rng)
    models = {"feed-forward": FeedForward(32), "RNN": Recurrent(12), "tanh RNN": Recurrent(16, "tanh")}
    # positives only, one position at a time: each model's detection rate by position
    by_position = {name: [dataset(2 * (n_test // 8), [p], rng) for p in range(T - 1)] for name in models}
    data = batches(steps, args.seed)
    runs = run_jobs(_fit_and_test, [(model, data, seen, unseen, by_position[name], args.device)
                                    for name, model in models.items()], args.device)
    acc, per_position = {}, {}
    for name, (acc[name], per_position[name], n_params) in zip(models, runs):
        print(f"{name:12} ({n_params} params): accuracy {acc[name][0]:.3f} at training positions, "
              f"{acc[name][1]:.3f} at unseen positions; detection by position p = 0…{T - 2}: "
              + " ".join(f"{r:.2f}" for r in per_position[name]))
    where = f"{steps} Adam steps; held-out sets of {n_test}"
    s.claim(f"both fit the positions they were trained on (accuracy ≥ 0.9; {where})",
            f"feed-forward {acc['feed-forward'][0]:.3f}, RNN {acc['RNN'][0]:.3f}",
            min(acc["feed-forward"][0], acc["RNN"][0]) >= 0.9)
    s.claim("the RNN (GRU cell) finds the pattern at odd positions, never seen in training (accuracy ≥ 0.85)",
            f"{acc['RNN'][1]:.3f}", acc["RNN"][1] >= 0.85)
    s.claim("the feed-forward net does not: at unseen positions it is near chance (≤ 0.65)",
            f"{acc['feed-forward'][1]:.3f} (chance 0.5)", acc["feed-forward"][1] <= 0.65)

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, colour in (("feed-forward", "tab:red"), ("RNN", "tab:blue"), ("tanh RNN", "tab:gray")):
        ax.plot(range(T - 1), per_position[name], "o-", color=colour,
                label="RNN (GRU cell)" if name == "RNN" else name + " (printed, not claimed)")
    for k, p in enumerate(TRAIN_POSITIONS):
        ax.axvspan(p - 0.4, p + 0.4, color="gray", alpha=0.15, label="seen in training" if k == 0 else None)
    ax.set(title="detection rate of the bigram \"1 2\" by its position", xlabel="position p",
           ylabel="fraction of positives found", ylim=(-0.05, 1.05))
    ax.legend(fontsize=8)
    save(fig, out, "parameter_sharing.png", s)
    s.print()
    return s


if __name__ == "__main__":
    main()

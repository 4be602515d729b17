"""The copy (memorisation) task: an LSTM remembers, a tanh RNN does not; reversing the input (notes 004).

The input is 10 symbols from {1, …, 8}, T − 1 blanks, a delimiter and 10 more blanks; the
network must then output the 10 symbols. Each step reads a symbol (a 1-of-N input, i.e. a row
of U) and predicts a distribution over the 10 classes:

    tanh RNN   h_t = tanh(U x_t + W h_{t−1} + b)
    LSTM       c_t = f ⊙ c_{t−1} + i ⊙ g,  h_t = o ⊙ tanh(c_t)
    ŷ_t = softmax(V h_t + c),   L = mean over the T + 20 steps of −log ŷ_t[y_t]

A model that remembers nothing outputs blanks and then guesses among the 8 symbols, a mean
cross-entropy of 10 ln 8 / (T + 20) per step: the memoryless baseline. With the input reversed
(notes 004) the first symbol to recall is the last one read, so some predictions need only
short-range dependencies and can be learnt first.
"""

from __future__ import annotations

import time

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.nn import functional as F
from tinygrad_rnn.nn.utils import clip_grad_norm_
from tinygrad_rnn.tasks.copying import VOCAB, baseline_loss, copy_task

from .common import Summary, parser, progress, pyplot, save, setup

HIDDEN, BATCH, LR = 64, 32, 3e-2
RUNS = [("LSTM", False), ("LSTM", True), ("tanh RNN", False), ("tanh RNN", True)]


class CopyModel(nn.Module):
    """1-of-N input (an embedding row of U), a recurrent layer, and ŷ_t = softmax(V h_t + c)."""

    def __init__(self, kind: str, hidden: int = HIDDEN):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, VOCAB)
        self.rnn = (nn.LSTM if kind == "LSTM" else nn.RNN)(VOCAB, hidden, batch_first=True)
        self.head = nn.Linear(hidden, VOCAB)

    def forward(self, x) -> tg.Tensor:
        out, _ = self.rnn(self.embed(x))
        return self.head(out)  # (B, T + 20, VOCAB) logits


def loss_of(model: CopyModel, x, y) -> tg.Tensor:
    logits = model(x)
    return F.cross_entropy(logits.reshape(-1, VOCAB), y.reshape(-1))


def train(kind: str, reverse: bool, delay: int, steps: int, seed: int, device=None,
          eval_every: int = 50, length: int = 10):
    """Adam with norm clipping 1.0 on fresh batches; returns [(step, held-out loss)] and seconds."""
    tg.manual_seed(seed)
    model = CopyModel(kind, HIDDEN).to(device)
    opt = tg.optim.Adam(model.parameters(), lr=LR)
    x_test, y_test = (tg.tensor(a, device=device)
                      for a in copy_task(256, delay, seed=999_999, reverse=reverse,
                                                length=length))

    def evaluate():
        with tg.no_grad():
            return loss_of(model, x_test, y_test).item()

    curve = [(0, evaluate())]
    start = time.perf_counter()
    name = f"{kind}{' reversed' if reverse else ''}"
    for step in progress(range(1, steps + 1), desc=f"{name:17} T={delay}", leave=False):
        xb, yb = copy_task(BATCH, delay, seed=1000 * seed + step, reverse=reverse,
                           length=length)
        loss = loss_of(model, tg.tensor(xb, device=device), tg.tensor(yb, device=device))
        opt.zero_grad()
        loss.backward()
        clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % eval_every == 0 or step == steps:
            curve.append((step, evaluate()))
    return curve, time.perf_counter() - start


def main(argv=None) -> Summary:
    args = parser("copy-task", __doc__.splitlines()[0], steps=1500).parse_args(argv)
    out = setup(args)
    s = Summary("copy-task")
    if args.quick:  # 3 symbols over a delay of 5 instead of 10 over 10
        delay, length, steps, runs = 5, 3, 300, [("LSTM", False), ("tanh RNN", False)]
    else:
        delay, length, steps, runs = 10, 10, args.steps, RUNS
    lstm = "LSTM"
    baseline = baseline_loss(delay, length)
    curves, final = {}, {}
    for kind, reverse in runs:
        name = f"{kind}{' reversed' if reverse else ''}"
        curves[name], secs = train(kind, reverse, delay, steps, args.seed, args.device,
                                   length=length)
        final[name] = sum(loss for _, loss in curves[name][-3:]) / 3  # the last three evaluations
        print(f"{name:17} T={delay}: held-out loss {final[name]:.4f} (baseline {baseline:.4f}) "
              f"after {steps} steps ({secs:.0f} s)")

    where = f"T = {delay}, {steps} Adam steps"
    if args.quick:
        where += " (--quick: 3 symbols, baseline 3·ln 8/(T+6))"
    s.claim(f"{lstm} ends below the memoryless baseline 10·ln 8/(T+20) = {baseline:.3f} ({where})",
            f"held-out loss {final[lstm]:.4f} ({final[lstm] / baseline:.0%} of it)",
            final[lstm] < 0.95 * baseline)
    for name, loss in final.items():
        print(f"  {name:17} {loss:.4f} = {loss / baseline:.0%} of the baseline")

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, curve in curves.items():
        ax.plot(*zip(*curve), label=name, ls="--" if "reversed" in name else "-")
    ax.axhline(baseline, color="k", ls=":", lw=1, label="memoryless: 10 ln 8 / (T + 20)")
    ax.set(title=f"copy task, T = {delay}", xlabel="training step",
           ylabel="held-out cross-entropy per step", yscale="log")
    ax.legend()
    save(fig, out, "copy_task.png", s)
    s.print()
    return s


if __name__ == "__main__":
    main()

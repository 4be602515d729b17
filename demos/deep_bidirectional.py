"""A deep bidirectional tagger vs a deep unidirectional one on a task that needs the future
(notes 000, 001, 002).

The notes' deep bidirectional RNN, layer i = 1..L (h_t^(0) = x_t):

    →h_t^(i) = f(→W^(i) h_t^(i−1) + →V^(i) →h_{t−1}^(i) + →b^(i))
    ←h_t^(i) = f(←W^(i) h_t^(i−1) + ←V^(i) ←h_{t+1}^(i) + ←b^(i))
    h_t^(i) = [→h_t^(i); ←h_t^(i)],      y_t = g(U [→h_t^(L); ←h_t^(L)] + c)

(here W is the input and V the recurrent weight, as in the notes' slide). The task: a
sequence of random digits; tag each digit 1 if it is a local peak, x_{t−1} < x_t > x_{t+1}
(the ends count their one neighbour). Whether x_t is a peak depends on the next digit, so a
left-to-right tagger can only guess from the past: its best possible accuracy is computed
exactly below, and both models have L layers of the same width.
"""

from __future__ import annotations

import itertools

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.nn import functional as F

from .common import Summary, parser, progress, pyplot, save, setup

DIGITS = 10


def peaks(n: int, length: int, seed: int):
    """One-hot digits (n, length, 10) and peak labels (n, length)."""
    x = np.random.default_rng(seed).integers(0, DIGITS, (n, length))
    pad = np.full((n, 1), -1)
    left, right = np.hstack([pad, x[:, :-1]]), np.hstack([x[:, 1:], pad])
    y = ((x > left) & (x > right)).astype(np.int64)
    return np.eye(DIGITS, dtype=np.float32)[x], y


def causal_ceiling() -> float:
    """The best accuracy of any tagger that sees x_{≤t} only (for an inner position): for
    each (x_{t−1}, x_t) guess the likelier label of the unseen x_{t+1}."""
    total = 0.0
    for a, b in itertools.product(range(DIGITS), repeat=2):
        p_peak = (a < b) * b / DIGITS  # P(x_{t+1} < x_t) when x_t > x_{t−1}
        total += max(p_peak, 1 - p_peak)
    return total / DIGITS ** 2


class Tagger(nn.Module):
    def __init__(self, bidirectional: bool, layers: int, hidden: int):
        super().__init__()
        self.rnn = nn.RNN(DIGITS, hidden, num_layers=layers, batch_first=True,
                          bidirectional=bidirectional)
        self.U = nn.Linear(hidden * (2 if bidirectional else 1), 2)  # U, c

    def forward(self, x):
        return self.U(self.rnn(x)[0])


def run(bidirectional, data, test, steps, layers, hidden, device, batch=32):
    x, y = data
    model = Tagger(bidirectional, layers, hidden).to(device)
    opt = tg.optim.Adam(model.parameters(), lr=0.01)
    rng = np.random.default_rng(0)
    losses = []
    for _ in progress(range(steps), desc="bidirectional" if bidirectional else "unidirectional",
                      leave=False):
        i = rng.choice(len(x), batch, replace=False)
        logits = model(tg.tensor(x[i], device=device))
        loss = F.cross_entropy(logits.reshape(-1, 2), tg.tensor(y[i].reshape(-1), device=device))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with tg.no_grad():
        pred = model(tg.tensor(test[0], device=device)).numpy().argmax(-1)
    inner = slice(1, -1)  # the ends have one neighbour; compare where the ceiling applies
    return losses, float((pred == test[1]).mean()), float((pred == test[1])[:, inner].mean())


def main(argv=None) -> Summary:
    ap = parser("deep-bidirectional", __doc__.splitlines()[0], steps=600)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=24)
    args = ap.parse_args(argv)
    out = setup(args)
    s = Summary("deep-bidirectional")
    steps, length = (150 if args.quick else args.steps), 12
    data, test = peaks(2000, length, args.seed), peaks(500, length, args.seed + 1000)
    ceiling = causal_ceiling()
    print(f"peak tagging on {length} digits: {args.layers}-layer tanh RNNs, hidden {args.hidden} "
          f"per direction, Adam 0.01, {steps} steps")
    res = {name: run(bi, data, test, steps, args.layers, args.hidden, args.device)
           for name, bi in (("unidirectional", False), ("bidirectional", True))}
    for name, (_, acc, inner) in res.items():
        print(f"  {name:15s} test accuracy {acc:.1%} (inner positions {inner:.1%})")
    print(f"  best possible from the past alone (inner positions): {ceiling:.1%}")
    uni, bi = res["unidirectional"][2], res["bidirectional"][2]
    s.claim("bidirectional accuracy clearly above unidirectional (inner positions)",
            f"{bi:.1%} vs {uni:.1%}", bi > uni + 0.07)
    s.claim("unidirectional is capped by the past-only ceiling (up to sampling noise)",
            f"{uni:.1%} vs ceiling {ceiling:.1%}", uni <= ceiling + 0.02)

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, (losses, acc, _) in res.items():
        ax.plot(np.convolve(losses, np.ones(10) / 10, mode="valid"), label=f"{name} (test {acc:.1%})")
    ax.set(title=f"tagging local peaks: {args.layers}-layer RNNs", xlabel="step",
           ylabel="cross-entropy (10-step mean)", yscale="log")
    ax.legend()
    save(fig, out, "deep_bidirectional.png", s)
    s.print()
    return s


if __name__ == "__main__":
    main()

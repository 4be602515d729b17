"""Many-to-one: classify a whole sentence from the RNN's last state (notes 001 §6.2, 002).

Generated movie-review sentences ("the plot was not very good") are negative, neutral or
positive by the sum of their words' polarities, with "not" flipping and "very" doubling the
next polar word, so word order matters. One output, at the end only:

    h_t = tanh(U x_t + W h_{t−1} + b)   (t = 1..T, T the sentence's own length)
    ŷ = softmax(V h_T + c),            L = −log ŷ[label]

x_t is 1-of-N, so U x_t is a row lookup (``nn.Embedding``). Sentences of different lengths
share a batch: ``lengths=`` stops each recurrence at its own T, and h_n is that h_T.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.nn import functional as F
from tinygrad_rnn.tasks import sentiment_sentences
from tinygrad_rnn.tasks.sentiment import CLASSES

from .common import Summary, parser, progress, pyplot, save, setup


class Classifier(nn.Module):
    def __init__(self, vocab: int, cell: str, hidden: int = 32):
        super().__init__()
        self.U = nn.Embedding(vocab, hidden)  # U x_t for a 1-of-N x_t
        self.rnn = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[cell](hidden, hidden, batch_first=True)
        self.V = nn.Linear(hidden, len(CLASSES))

    def forward(self, ids, lengths):
        _, h_n = self.rnn(self.U(ids), lengths=lengths)
        h_T = (h_n[0] if isinstance(h_n, tuple) else h_n)[-1]  # the last layer's h_T
        return self.V(h_T)


def encode(sentences, index):
    T = max(len(w) for w, _ in sentences)
    ids = np.zeros((len(sentences), T), dtype=np.int64)  # 0 pads (never read: lengths=)
    for b, (words, _) in enumerate(sentences):
        ids[b, :len(words)] = [index[w] for w in words]
    return ids, np.array([len(w) for w, _ in sentences]), np.array([c for _, c in sentences])


def main(argv=None) -> Summary:
    ap = parser("many-to-one", __doc__.splitlines()[0], steps=1000)
    ap.add_argument("--cell", choices=("rnn", "gru", "lstm"), default="rnn")
    args = ap.parse_args(argv)
    out = setup(args)
    s = Summary("many-to-one")
    train_set, vocab = sentiment_sentences(3000, seed=args.seed)
    test_set, _ = sentiment_sentences(600, seed=args.seed + 1000)
    index = {w: i + 1 for i, w in enumerate(vocab)}
    (ids, lengths, labels), (tids, tlengths, tlabels) = encode(train_set, index), encode(test_set, index)
    chance = max(Counter(tlabels.tolist()).values()) / len(tlabels)
    for words, c in train_set[:3]:
        print(f"  {' '.join(words)!r} → {CLASSES[c]}")
    steps = 400 if args.quick else args.steps
    model = Classifier(len(vocab) + 1, args.cell).to(args.device)
    opt = tg.optim.Adam(model.parameters(), lr=0.005)
    rng = np.random.default_rng(0)
    losses, accs = [], []

    def accuracy():
        with tg.no_grad():
            pred = model(tg.tensor(tids, device=args.device), tlengths).numpy().argmax(-1)
        return float((pred == tlabels).mean())

    for step in progress(range(steps), desc=f"many-to-one {args.cell}"):
        i = rng.choice(len(ids), 32, replace=False)
        logits = model(tg.tensor(ids[i], device=args.device), lengths[i])
        loss = F.cross_entropy(logits, tg.tensor(labels[i], device=args.device))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        if (step + 1) % 25 == 0:
            accs.append((step + 1, accuracy()))
    acc = accs[-1][1]
    print(f"{args.cell}: test accuracy {acc:.1%}; chance (the majority class) {chance:.1%}")
    s.claim("accuracy well above chance", f"{acc:.1%} vs chance {chance:.1%}", acc > chance + 0.2)

    plt = pyplot()
    fig, ax = plt.subplots(1, 2, figsize=(11, 3.8))
    ax[0].plot(np.convolve(losses, np.ones(10) / 10, mode="valid"))
    ax[0].set(title="training loss (10-step mean)", xlabel="step", ylabel="cross-entropy")
    ax[1].plot(*zip(*accs), "o-", ms=3, label="test accuracy")
    ax[1].axhline(chance, color="k", ls="--", lw=1, label="chance (majority class)")
    ax[1].set(title=f"sentiment from the last state ({args.cell})", xlabel="step", ylim=(0, 1))
    ax[1].legend()
    save(fig, out, "many_to_one.png", s)
    s.print()
    return s


if __name__ == "__main__":
    main()

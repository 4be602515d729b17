"""Slot filling: "arrive Taipei on November 2nd" vs "leave Taipei on …" (notes 003).

Every word gets a slot (other, dest, dep, time). The city is the same word in both
sentences, so a feed-forward tagger that sees one word at a time,

    y_t = softmax(V tanh(U x_t + b) + c),

must guess dest or dep for "Taipei" (≈ 50 %). A network with memory sees the verb first:

    RNN     h_t = tanh(U x_t + W h_{t−1} + b),               y_t = softmax(V h_t + c)
    BiRNN   →h_t as above, ←h_t = tanh(U' x_t + W' ←h_{t+1} + b'),  y_t = softmax(V [→h_t; ←h_t] + c)

Words are encoded 1-of-N over the training lexicon with an extra "other" dimension for
unseen words (``--encoding onehot``), or by word hashing: counts of the letter trigrams of
``#word#`` (``--encoding hashing``).
"""

from __future__ import annotations

import numpy as np

import tinygrad_rnn as tg
from demos.common import Summary, parser, progress, pyplot, save, setup
from tinygrad_rnn import nn
from tinygrad_rnn.nn import functional as F
from tinygrad_rnn.tasks import slot_filling_sentences
from tinygrad_rnn.tasks.slots import LABELS, Lexicon, TrigramHasher

KINDS = ("feed-forward", "RNN", "BiRNN")


class Tagger(nn.Module):
    def __init__(self, n_in: int, kind: str, hidden: int = 32):
        super().__init__()
        self.kind = kind
        if kind == "feed-forward":
            self.U = nn.Linear(n_in, hidden)
        else:
            self.rnn = nn.RNN(n_in, hidden, batch_first=True, bidirectional=kind == "BiRNN")
        self.V = nn.Linear(hidden * (2 if kind == "BiRNN" else 1), len(LABELS))

    def forward(self, x, lengths):
        h = self.U(x).tanh() if self.kind == "feed-forward" else self.rnn(x, lengths=lengths)[0]
        return self.V(h)


def batch(sentences, encoder, n_in: int):
    """Padded inputs (B, T, n_in), labels (B, T) with −100 at padding, and the lengths."""
    T = max(len(w) for w, _ in sentences)
    x = np.zeros((len(sentences), T, n_in), dtype=np.float32)
    y = np.full((len(sentences), T), -100)
    for b, (words, labels) in enumerate(sentences):
        x[b, :len(words)] = encoder(words)
        y[b, :len(words)] = [LABELS.index(label) for label in labels]
    return x, y, np.array([len(w) for w, _ in sentences])


def make_encoder(kind: str, train):
    if kind == "hashing":
        hasher = TrigramHasher(train)
        return hasher.encode, len(hasher)
    lexicon = Lexicon(train)  # index 0 is the "other" dimension

    def one_hot(words):
        return np.eye(len(lexicon), dtype=np.float32)[lexicon.encode(words)]
    return one_hot, len(lexicon)


def accuracy(model, data, device):
    """(accuracy over all words, accuracy on the city word: dest vs dep)."""
    x, y, lengths = data
    with tg.no_grad():
        pred = model(tg.tensor(x, device=device), lengths).numpy().argmax(-1)
    real = y != -100
    city = (y == LABELS.index("dest")) | (y == LABELS.index("dep"))
    return (pred == y)[real].mean(), (pred == y)[city].mean()


def train(model, data, steps, device, batch_size=32, desc=""):
    x, y, lengths = data
    opt = tg.optim.Adam(model.parameters(), lr=0.01)
    rng = np.random.default_rng(0)
    losses = []
    for _ in progress(range(steps), desc=desc, leave=False):
        i = rng.choice(len(x), batch_size, replace=False)
        logits = model(tg.tensor(x[i], device=device), lengths[i])
        loss = F.cross_entropy(logits.reshape(-1, len(LABELS)),
                               tg.tensor(y[i].reshape(-1), device=device))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def main(argv=None) -> Summary:
    ap = parser("slot-filling", __doc__.splitlines()[0], steps=400)
    ap.add_argument("--encoding", choices=("onehot", "hashing"), default=None,
                    help="word encoding (default: both; --quick: onehot)")
    args = ap.parse_args(argv)
    out = setup(args)
    s = Summary("slot-filling")
    train_set = slot_filling_sentences(400, seed=args.seed)
    test_set = slot_filling_sentences(200, seed=args.seed + 1000)
    words, labels = train_set[0]
    print("e.g. " + " ".join(f"{w}/{lab}" for w, lab in zip(words, labels)))
    steps = 100 if args.quick else args.steps
    encodings = [args.encoding] if args.encoding else ["onehot"] if args.quick else ["onehot", "hashing"]
    plt = pyplot()
    fig, axes = plt.subplots(1, len(encodings), figsize=(6 * len(encodings), 4), squeeze=False)
    for enc, ax in zip(encodings, axes[0]):
        encoder, n_in = make_encoder(enc, train_set)
        tr, te = batch(train_set, encoder, n_in), batch(test_set, encoder, n_in)
        print(f"\nencoding {enc}: {n_in} input dimensions")
        results = {}
        for kind in KINDS:
            model = Tagger(n_in, kind).to(args.device)
            losses = train(model, tr, steps, args.device, desc=f"{enc} {kind}")
            results[kind] = accuracy(model, te, args.device)
            ax.plot(losses, label=kind)
            print(f"  {kind:12s} test accuracy: all words {results[kind][0]:.1%}, "
                  f"city (dest vs dep) {results[kind][1]:.1%}")
        ff_city = results["feed-forward"][1]
        s.claim(f"[{enc}] the feed-forward tagger cannot tell destination from departure",
                f"city accuracy {ff_city:.1%} (chance 50%)", ff_city < 0.7)
        rnn_city = min(results["RNN"][1], results["BiRNN"][1])
        s.claim(f"[{enc}] the RNNs can", f"city accuracy RNN {results['RNN'][1]:.1%}, "
                f"BiRNN {results['BiRNN'][1]:.1%}", rnn_city > 0.95)
        s.claim(f"[{enc}] accuracies printed (all words, test set)",
                ", ".join(f"{k} {v[0]:.1%}" for k, v in results.items()), True)
        ax.set(title=f"slot filling, {enc} input: training loss", xlabel="step", ylabel="cross-entropy",
               yscale="log")
        ax.legend()
    save(fig, out, "slot_filling_loss.png", s)
    s.print()
    return s


if __name__ == "__main__":
    main()

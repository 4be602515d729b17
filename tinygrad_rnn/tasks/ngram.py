"""The language models the RNN LM is measured against (notes 000, 002): character n-grams
with add-k smoothing, and a fixed-window feed-forward neural LM.

n-gram (the Markov assumption: only the last n − 1 characters matter), add-k smoothed:

    P(c_t | c_{t−n+1} … c_{t−1}) = (count(c_{t−n+1} … c_t) + k) / (count(c_{t−n+1} … c_{t−1}) + k·V)

(n = 1 is the unigram, n = 2 the notes' bigram p(w_2 | w_1) = count(w_1, w_2) / count(w_1) plus
smoothing, so that a pair never seen in training still gets a probability). k is chosen on a
validation slice of the training text.

Feed-forward neural LM (Bengio et al. 2003), the same n − 1 = ``context`` characters in, one
embedding row E[c] per position:

    h = tanh(W [E[c_{t−n+1}]; … ; E[c_{t−1}]] + b),    P(c_t | …) = softmax(V h + d)

Every model is scored the same way: bits per character, −(1/N) Σ_t log₂ P(c_t | its context),
over the held-out text.
"""

from __future__ import annotations

import math
from collections import Counter

import tinygrad_rnn as tg
from tinygrad_rnn import backend, nn
from tinygrad_rnn.nn import functional as F

KS = (1.0, 0.3, 0.1, 0.03, 0.01, 0.003)  # the add-k values tried on the validation slice


class CharNGram:
    """A character n-gram model with add-k smoothing over the alphabet ``vocab``."""

    def __init__(self, n: int, vocab, k: float = 1.0):
        if n < 1 or k <= 0:
            raise ValueError(f"CharNGram: n must be ≥ 1 and k > 0, got n={n}, k={k}")
        self.n, self.k, self.vocab = n, k, sorted(set(vocab))
        self.counts: Counter = Counter()   # (context, c) → count
        self.totals: Counter = Counter()   # context → count

    def fit(self, text: str) -> CharNGram:
        unknown = set(text) - set(self.vocab)
        if unknown:
            raise ValueError(f"CharNGram: characters outside the vocabulary: {sorted(unknown)[:10]}")
        m = self.n - 1
        for t in range(m, len(text)):
            context = text[t - m:t]
            self.counts[context, text[t]] += 1
            self.totals[context] += 1
        return self

    def prob(self, context: str, c: str) -> float:
        """P(c | the last n − 1 characters of ``context``)."""
        context = context[len(context) - (self.n - 1):] if self.n > 1 else ""
        V = len(self.vocab)
        return (self.counts[context, c] + self.k) / (self.totals[context] + self.k * V)

    def bits_per_char(self, text: str, start: int | None = None) -> float:
        """−mean log₂ P(text[t] | text[t−n+1:t]) over t ≥ ``start`` (default n − 1)."""
        m = self.n - 1
        start = m if start is None else start
        if start < m:
            raise ValueError(f"CharNGram: start must be ≥ n − 1 = {m}, got {start}")
        total = sum(-math.log2(self.prob(text[t - m:t], text[t])) for t in range(start, len(text)))
        return total / (len(text) - start)

    @classmethod
    def tuned(cls, n: int, train: str, vocab, ks=KS, valid_fraction: float = 0.1) -> CharNGram:
        """The model fitted on ``train`` with the k (of ``ks``) that scores best on the last
        ``valid_fraction`` of ``train`` when fitted on the rest."""
        cut = int(len(train) * (1 - valid_fraction))
        fit, valid = train[:cut], train[cut:]
        base = cls(n, vocab).fit(fit)

        def score(k: float) -> float:
            base.k = k
            return base.bits_per_char(valid)
        return cls(n, vocab, min(ks, key=score)).fit(train)


def windows(ids, context: int):
    """Every window of ``ids`` (a host int array): inputs (N, context) = ids[t−context:t] and
    targets (N,) = ids[t], for t = context … len(ids) − 1."""
    N = len(ids) - context
    idx = backend.host_arange(N)[:, None] + backend.host_arange(context)[None, :]
    return ids[idx], ids[context:]


class FeedForwardLM(nn.Module):
    """Bengio's fixed-window LM: h = tanh(W [E c_{t−n+1}; …; E c_{t−1}] + b), logits V h + d."""

    def __init__(self, vocab: int, context: int = 5, embed: int = 16, hidden: int = 128):
        super().__init__()
        self.context = context
        self.embed = nn.Embedding(vocab, embed)  # E
        self.hidden = nn.Linear(context * embed, hidden)  # W, b
        self.out = nn.Linear(hidden, vocab)  # V, d

    def forward(self, ctx) -> tg.Tensor:
        """ctx: (B, context) character ids → logits (B, vocab)."""
        e = self.embed(ctx)
        return self.out(self.hidden(e.reshape(e.shape[0], -1)).tanh())

    def fit(self, ids, steps: int, batch: int = 256, lr: float = 3e-3, seed: int = 0,
            device=None, progress=None) -> list[float]:
        """Adam on random windows of ``ids``; returns the loss (nats per character) per step."""
        x, y = windows(ids, self.context)
        rng = backend.host_random(seed)
        opt = tg.optim.Adam(self.parameters(), lr=lr)
        losses = []
        for _ in (progress or iter)(range(steps)):
            i = rng.integers(0, len(y), batch)
            loss = F.cross_entropy(self(tg.tensor(x[i], device=device)), tg.tensor(y[i], device=device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses

    def bits_per_char(self, ids, start: int | None = None, device=None, chunk: int = 8192) -> float:
        """−mean log₂ P(ids[t] | the ``context`` ids before it) over t ≥ ``start``."""
        start = self.context if start is None else start
        if start < self.context:
            raise ValueError(f"FeedForwardLM: start must be ≥ context = {self.context}, got {start}")
        x, y = windows(ids, self.context)
        x, y = x[start - self.context:], y[start - self.context:]
        total = 0.0
        with tg.no_grad():
            for a in range(0, len(y), chunk):
                logits = self(tg.tensor(x[a:a + chunk], device=device))
                total += F.cross_entropy(logits, tg.tensor(y[a:a + chunk], device=device),
                                         reduction="sum").item()
        return total / len(y) / math.log(2)

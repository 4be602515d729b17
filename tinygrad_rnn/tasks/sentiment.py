"""Sentiment-style sequence classification (notes 001: one output at the end of the sequence).

Sentences like "the film was not good at all" are labelled negative, neutral or positive by
the sum of their words' polarities, where "not" flips and "very" doubles the next polar word.
The label depends on word order ("not good" vs "good … not"), so the classifier has to read
the whole sequence and decide from its last state.
"""

from __future__ import annotations

from tinygrad_rnn import backend

CLASSES = ("negative", "neutral", "positive")
POLARITY = {"good": 1, "great": 1, "fun": 1, "moving": 1, "clever": 1,
            "bad": -1, "dull": -1, "boring": -1, "awful": -1, "silly": -1}
NEUTRAL = ("the", "film", "movie", "plot", "acting", "was", "is", "and", "but", "quite", "a", "bit")
MODIFIERS = ("not", "very")


def score(words) -> int:
    """Σ polarity, with "not" flipping and "very" doubling the next polar word."""
    total, sign, scale = 0, 1, 1
    for w in words:
        if w == "not":
            sign = -sign
        elif w == "very":
            scale = 2
        elif w in POLARITY:
            total += sign * scale * POLARITY[w]
            sign, scale = 1, 1
    return total


def sentiment_sentences(n: int, seed: int = 0, min_len: int = 4, max_len: int = 12):
    """``n`` (words, class index) pairs with classes balanced roughly evenly."""
    rng = backend.host_random(seed)
    polar, vocab = sorted(POLARITY), NEUTRAL + MODIFIERS
    out = []
    while len(out) < n:
        length = int(rng.integers(min_len, max_len + 1))
        words = []
        for _ in range(length):
            r = rng.random()
            pool = polar if r < 0.3 else MODIFIERS if r < 0.45 else NEUTRAL
            words.append(pool[int(rng.integers(len(pool)))])
        s = score(words)
        label = 0 if s < 0 else 1 if s == 0 else 2
        if label == 1 and rng.random() < 0.5:  # neutral sentences are common: keep about half
            continue
        out.append((words, label))
    return out, sorted(set(vocab) | set(polar))

"""Slot filling (notes 003): "arrive Taipei on November 2nd" vs "leave Taipei on November 2nd".

Every word gets a slot label: ``other``, ``dest`` (destination), ``dep`` (place of departure)
or ``time``. The city is the same word in both sentences; only the verb before it tells
destination from departure, so a tagger that sees one word at a time cannot get it right,
and a network with memory can. Words are encoded 1-of-N with an extra "other" dimension for
words outside the lexicon, or by word hashing (letter trigrams of ``#word#``).
"""

from __future__ import annotations

import zlib

from tinygrad_rnn import backend

LABELS = ("other", "dest", "dep", "time")
CITIES = ("taipei", "tokyo", "paris", "london", "boston", "denver", "seattle", "munich")
# cities for test sentences only: words the training lexicon never saw (notes 003: "other")
UNSEEN_CITIES = ("osaka", "berlin", "madrid", "chicago", "dallas", "lisbon", "toronto", "kyoto")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")


def ordinal(day: int) -> str:
    """1 → 1st, 2 → 2nd, 11 → 11th, 23 → 23rd."""
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


DAYS = tuple(ordinal(d) for d in range(1, 29))
OPENINGS = ((), ("i", "want", "to"), ("i", "would", "like", "to"), ("please",))
ARRIVE = ("arrive", "arrive in", "fly to", "go to")
LEAVE = ("leave", "leave from", "depart from", "fly from")


def slot_filling_sentences(n: int, seed: int = 0, cities: tuple[str, ...] = CITIES
                           ) -> list[tuple[list[str], list[str]]]:
    """``n`` (words, labels) pairs; half arrive somewhere, half leave from somewhere, the
    city drawn from ``cities`` (``UNSEEN_CITIES`` makes a test set of unseen words)."""
    rng = backend.host_random(seed)
    pick = lambda options: options[int(rng.integers(len(options)))]
    sentences = []
    for k in range(n):
        arriving = k % 2 == 0
        opening = list(pick(OPENINGS))
        verb = pick(ARRIVE if arriving else LEAVE).split()
        words = opening + verb + [pick(cities), "on", pick(MONTHS), pick(DAYS)]
        labels = ["other"] * (len(opening) + len(verb)) + ["dest" if arriving else "dep",
                                                          "other", "time", "time"]
        sentences.append((words, labels))
    order = rng.permutation(n)
    return [sentences[i] for i in order]


class Lexicon:
    """1-of-N encoding over the words seen, with index 0 the "other" dimension.

    ``other=False`` is plain 1-of-N: a word outside the lexicon has no dimension, and
    ``encode`` raises ``KeyError`` for it (the notes' reason for the "other" dimension).
    """

    def __init__(self, sentences, size: int | None = None, other: bool = True):
        counts: dict[str, int] = {}
        for words, _ in sentences:
            for w in words:
                counts[w] = counts.get(w, 0) + 1
        ranked = sorted(counts, key=lambda w: (-counts[w], w))
        keep = (size - int(other)) if size else None
        self.other = other
        self.words = (["<other>"] if other else []) + ranked[:keep]
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def unknown(self, words) -> list[str]:
        """The words of ``words`` that have no dimension of their own."""
        return [w for w in words if w not in self.index]

    def encode(self, words) -> list[int]:
        if not self.other:
            missing = self.unknown(words)
            if missing:
                raise KeyError(f"1-of-N without an 'other' dimension cannot encode {missing} "
                               "(not in the lexicon); use Lexicon(..., other=True) or word hashing")
        return [self.index.get(w, 0) for w in words]


def letter_trigrams(word: str) -> list[str]:
    """Word hashing: the letter trigrams of ``#word#`` (e.g. apple → #ap app ppl ple le#)."""
    padded = f"#{word}#"
    return [padded[i:i + 3] for i in range(len(padded) - 2)]


class TrigramHasher:
    """Word vectors as counts of letter trigrams.

    Without ``buckets``: one dimension per trigram seen in training (a trigram never seen is
    dropped, so a word made only of unseen trigrams becomes the zero vector). With
    ``buckets=N``: the notes' fixed trigram space (26 × 26 × 26 there), folded into N
    dimensions by a fixed hash (CRC-32 of the trigram mod N), so every word, seen or not, gets
    a non-zero vector and the dimension does not depend on the training words.
    """

    def __init__(self, sentences, buckets: int | None = None):
        self.buckets = buckets
        grams = sorted({g for words, _ in sentences for w in words for g in letter_trigrams(w)})
        self.index = {g: i for i, g in enumerate(grams)}

    def __len__(self) -> int:
        return self.buckets or len(self.index)

    def dimension(self, gram: str) -> int | None:
        """Where trigram ``gram`` is counted (None: dropped)."""
        if self.buckets:
            return zlib.crc32(gram.encode()) % self.buckets
        return self.index.get(gram)

    def encode(self, words):
        """A (len(words), len(self)) float32 array of trigram counts."""
        out = backend.host_zeros((len(words), len(self)), dtype="float32")
        for row, w in enumerate(words):
            for g in letter_trigrams(w):
                k = self.dimension(g)
                if k is not None:
                    out[row, k] += 1
        return out

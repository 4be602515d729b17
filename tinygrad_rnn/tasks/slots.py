"""Slot filling (notes 003): "arrive Taipei on November 2nd" vs "leave Taipei on November 2nd".

Every word gets a slot label: ``other``, ``dest`` (destination), ``dep`` (place of departure)
or ``time``. The city is the same word in both sentences; only the verb before it tells
destination from departure, so a tagger that sees one word at a time cannot get it right,
and a network with memory can. Words are encoded 1-of-N with an extra "other" dimension for
words outside the lexicon, or by word hashing (letter trigrams of ``#word#``).
"""

from __future__ import annotations

from tinygrad_rnn import backend

LABELS = ("other", "dest", "dep", "time")
CITIES = ("taipei", "tokyo", "paris", "london", "boston", "denver", "seattle", "munich")
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


def slot_filling_sentences(n: int, seed: int = 0) -> list[tuple[list[str], list[str]]]:
    """``n`` (words, labels) pairs; half arrive somewhere, half leave from somewhere."""
    rng = backend.host_random(seed)
    pick = lambda options: options[int(rng.integers(len(options)))]
    sentences = []
    for k in range(n):
        arriving = k % 2 == 0
        opening = list(pick(OPENINGS))
        verb = pick(ARRIVE if arriving else LEAVE).split()
        words = opening + verb + [pick(CITIES), "on", pick(MONTHS), pick(DAYS)]
        labels = ["other"] * (len(opening) + len(verb)) + ["dest" if arriving else "dep",
                                                          "other", "time", "time"]
        sentences.append((words, labels))
    order = rng.permutation(n)
    return [sentences[i] for i in order]


class Lexicon:
    """1-of-N encoding over the words seen, with index 0 the "other" dimension."""

    def __init__(self, sentences, size: int | None = None):
        counts: dict[str, int] = {}
        for words, _ in sentences:
            for w in words:
                counts[w] = counts.get(w, 0) + 1
        ranked = sorted(counts, key=lambda w: (-counts[w], w))
        self.words = ["<other>"] + ranked[: (size - 1) if size else None]
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, words) -> list[int]:
        return [self.index.get(w, 0) for w in words]


def letter_trigrams(word: str) -> list[str]:
    """Word hashing: the letter trigrams of ``#word#`` (e.g. apple → #ap app ppl ple le#)."""
    padded = f"#{word}#"
    return [padded[i:i + 3] for i in range(len(padded) - 2)]


class TrigramHasher:
    """Word vectors as counts of letter trigrams over the trigrams seen in training."""

    def __init__(self, sentences):
        grams = sorted({g for words, _ in sentences for w in words for g in letter_trigrams(w)})
        self.index = {g: i for i, g in enumerate(grams)}

    def __len__(self) -> int:
        return len(self.index)

    def encode(self, words):
        """A (len(words), len(self)) float32 array of trigram counts."""
        out = backend.host_zeros((len(words), len(self)), dtype="float32")
        for row, w in enumerate(words):
            for g in letter_trigrams(w):
                if g in self.index:
                    out[row, self.index[g]] += 1
        return out

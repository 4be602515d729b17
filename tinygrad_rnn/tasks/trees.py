"""Labelled binary parse trees for recursive (tree) networks (notes 001).

Each phrase is a binary tree over words; every node carries a sentiment class computed from
its children the way the treebank annotators would: polar words have a polarity, "not"
flips its sibling, "very" strengthens it, anything else adds. Trees are written in the
Stanford Sentiment Treebank bracket format, ``(2 (1 not) (3 good))``: a class, then either a
word or two subtrees. Classes 0, 1, 2 = negative, neutral, positive.
"""

from __future__ import annotations

from tinygrad_rnn import backend
from tinygrad_rnn.tasks.sentiment import POLARITY

WORDS = tuple(sorted(POLARITY)) + ("not", "very", "the", "film", "plot", "acting", "and")


def _label(value: int) -> int:
    return 0 if value < 0 else 1 if value == 0 else 2


def _combine(left_text: str, left_value: int, right_value: int) -> int:
    """A parent's value: "not" flips its sibling, "very" doubles it, otherwise values add."""
    if left_text == "not":
        return -right_value
    if left_text == "very":
        return 2 * right_value
    return left_value + right_value


def random_trees(n: int, seed: int = 0, min_leaves: int = 2, max_leaves: int = 7) -> list[str]:
    """``n`` trees in bracket format with a class at every node."""
    rng = backend.host_random(seed)
    trees = []
    for _ in range(n):
        leaves = int(rng.integers(min_leaves, max_leaves + 1))
        # (bracket string, value, text) for every current subtree, merged pairwise at random
        nodes = []
        for _ in range(leaves):
            w = WORDS[int(rng.integers(len(WORDS)))]
            value = POLARITY.get(w, 0)
            nodes.append((f"({_label(value)} {w})", value, w))
        while len(nodes) > 1:
            k = int(rng.integers(len(nodes) - 1))
            (ls, lv, lt), (rs, rv, rt) = nodes[k], nodes[k + 1]
            value = _combine(lt, lv, rv)
            nodes[k:k + 2] = [(f"({_label(value)} {ls} {rs})", value, f"{lt} {rt}")]
        trees.append(nodes[0][0])
    return trees

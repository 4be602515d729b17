"""The copy (memorisation) task (notes 004; Arjovsky et al. 2016 for this exact form).

The input is 10 symbols drawn from {1, …, 8}, then T − 1 blanks (0), a delimiter (9) and
10 more blanks; the target is blanks for the first T + 10 steps, then the 10 symbols. A model
that remembers nothing predicts blanks and then guesses uniformly among 8 symbols: its mean
cross-entropy per step is 10 ln 8 / (T + 20), the baseline.
"""

from __future__ import annotations

import math

from tinygrad_rnn import backend

SYMBOLS, BLANK, DELIMITER, VOCAB = 8, 0, 9, 10


def baseline_loss(delay: int, length: int = 10) -> float:
    """Mean cross-entropy per step of the memoryless strategy: 10 ln 8 / (T + 20) (for 10 symbols)."""
    return length * math.log(SYMBOLS) / (delay + 2 * length)


def copy_task(n: int, delay: int, seed: int = 0, reverse: bool = False, length: int = 10):
    """Integer inputs and targets of shape (n, delay + 2·length), vocabulary 10.

    With ``reverse=True`` the symbols are presented in reverse order (the notes' trick of
    reversing the input: the first symbol to recall is then the last one seen).
    """
    if delay < 1:
        raise ValueError(f"copy_task needs delay ≥ 1, got {delay}")
    rng = backend.host_random(seed)
    total = delay + 2 * length
    symbols = rng.integers(1, SYMBOLS + 1, (n, length))
    x = backend.host_zeros((n, total), dtype="int64")
    y = backend.host_zeros((n, total), dtype="int64")
    x[:, :length] = symbols[:, ::-1] if reverse else symbols
    x[:, length + delay - 1] = DELIMITER
    y[:, -length:] = symbols
    return x, y

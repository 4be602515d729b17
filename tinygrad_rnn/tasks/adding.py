"""The adding problem (Hochreiter & Schmidhuber 1997; Le et al. 2015, the IRNN paper).

Each step t has two inputs: a value v_t ~ U(0, 1) and a marker m_t ∈ {0, 1}. Exactly two
markers are 1, one in each half of the sequence; the target is the sum of the two marked
values. Predicting the constant 1 gives MSE Var(v + v') = 2/12 = 1/6 ≈ 0.167, the baseline a
model must beat to show it remembers across the sequence.
"""

from __future__ import annotations

from tinygrad_rnn import backend

BASELINE_MSE = 1 / 6


def adding_problem(n: int, length: int, seed: int = 0):
    """Inputs of shape (n, length, 2) [value, marker] and targets of shape (n,), float32."""
    if length < 2:
        raise ValueError(f"adding_problem needs length ≥ 2, got {length}")
    rng = backend.host_random(seed)
    values = rng.random((n, length)).astype("float32")
    markers = backend.host_zeros((n, length), dtype="float32")
    half = length // 2
    first = rng.integers(0, half, n)
    second = rng.integers(half, length, n)
    rows = backend.host_arange(n)
    markers[rows, first] = 1
    markers[rows, second] = 1
    x = backend.host_stack([values, markers], axis=-1)
    y = (values[rows, first] + values[rows, second]).astype("float32")
    return x, y

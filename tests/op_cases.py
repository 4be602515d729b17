"""One table of op cases, used by the finite-difference tests and by the PyTorch parity tests.

Each case: a function of our Tensors, the same function written for torch tensors, and a
maker of float64 input arrays (kept away from kinks such as relu's 0 so that finite
differences are meaningful).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import tinygrad_rnn as tg


def away_from_zero(a: np.ndarray, gap: float = 0.2) -> np.ndarray:
    return np.where(a >= 0, a + gap, a - gap)


def positive(a: np.ndarray) -> np.ndarray:
    return np.abs(a) + 0.5


def distinct(a: np.ndarray) -> np.ndarray:
    """Values with no ties (for max, maximum): a shuffled, well-separated ramp."""
    ramp = np.linspace(-2.0, 2.0, a.size) if a.size > 1 else np.array([0.7])
    return np.random.default_rng(a.size).permutation(ramp).reshape(a.shape)


@dataclass
class Case:
    name: str
    ours: Callable
    theirs: Callable
    shapes: list
    prepare: list = field(default_factory=list)  # one function per input, or None

    def inputs(self, rng: np.random.Generator) -> list[np.ndarray]:
        arrays = []
        for k, shape in enumerate(self.shapes):
            a = rng.standard_normal(shape)
            fix = self.prepare[k] if k < len(self.prepare) else None
            arrays.append(fix(a) if fix else a)
        return arrays


IDX = np.array([2, 0, 2, 1])  # repeated index: its gradients must accumulate
P_INT = np.array([2.0, 3.0, 0.0, -1.0])  # integral exponents: real values for negative bases

CASES = [
    Case("add", lambda x, y: x + y, lambda x, y: x + y, [(3, 1, 4), (2, 4)]),
    Case("sub", lambda x, y: x - y, lambda x, y: x - y, [(2, 3), (3,)]),
    Case("mul", lambda x, y: x * y, lambda x, y: x * y, [(4, 1), (1, 5)]),
    Case("div", lambda x, y: x / y, lambda x, y: x / y, [(2, 3), (2, 1)], [None, positive]),
    Case("neg", lambda x: -x, lambda x: -x, [(3, 2)]),
    Case("pow", lambda x: x ** 3, lambda x: x ** 3, [(5,)]),
    Case("pow_frac", lambda x: x ** 0.5, lambda x: x ** 0.5, [(5,)], [positive]),
    Case("exp", lambda x: x.exp(), lambda x: x.exp(), [(2, 3)]),
    Case("log", lambda x: x.log(), lambda x: x.log(), [(2, 3)], [positive]),
    Case("tanh", lambda x: x.tanh(), lambda x: x.tanh(), [(3, 4)]),
    Case("sigmoid", lambda x: x.sigmoid(), lambda x: x.sigmoid(), [(3, 4)]),
    Case("relu", lambda x: x.relu(), lambda x: x.relu(), [(3, 4)], [away_from_zero]),
    Case("abs", lambda x: x.abs(), lambda x: x.abs(), [(3, 4)], [away_from_zero]),
    Case("sqrt", lambda x: x.sqrt(), lambda x: x.sqrt(), [(3, 4)], [positive]),
    Case("maximum", lambda x, y: tg.maximum(x, y), lambda x, y: __import__("torch").maximum(x, y),
         [(3, 4), (4,)], [distinct, lambda a: distinct(a) + 0.01]),
    Case("minimum", lambda x, y: tg.minimum(x, y), lambda x, y: __import__("torch").minimum(x, y),
         [(3, 4), (3, 1)], [distinct, lambda a: distinct(a) + 0.01]),
    Case("clip", lambda x: x.clip(-0.5, 0.7), lambda x: x.clamp(-0.5, 0.7), [(4, 5)],
         [lambda a: np.linspace(-1.5, 1.4, a.size).reshape(a.shape)]),
    Case("where", lambda x, y: tg.where(x.data > 0, x, y),
         lambda x, y: __import__("torch").where(x > 0, x, y), [(3, 4), (4,)]),
    Case("matmul_2d", lambda x, y: x @ y, lambda x, y: x @ y, [(3, 4), (4, 2)]),
    Case("matmul_vec_mat", lambda x, y: x @ y, lambda x, y: x @ y, [(4,), (4, 3)]),
    Case("matmul_mat_vec", lambda x, y: x @ y, lambda x, y: x @ y, [(3, 4), (4,)]),
    Case("matmul_dot", lambda x, y: x @ y, lambda x, y: x @ y, [(4,), (4,)]),
    Case("matmul_batched", lambda x, y: x @ y, lambda x, y: x @ y, [(2, 1, 3, 4), (5, 4, 2)]),
    Case("matmul_batched_vec", lambda x, y: x @ y, lambda x, y: x @ y, [(4,), (2, 4, 3)]),
    Case("sum", lambda x: x.sum(), lambda x: x.sum(), [(3, 4)]),
    Case("sum_axis", lambda x: x.sum(axis=1), lambda x: x.sum(dim=1), [(3, 4, 2)]),
    Case("sum_keepdims", lambda x: x.sum(axis=(0, 2), keepdims=True),
         lambda x: x.sum(dim=(0, 2), keepdim=True), [(3, 4, 2)]),
    Case("mean_axis", lambda x: x.mean(axis=-1), lambda x: x.mean(dim=-1), [(3, 4)]),
    Case("max", lambda x: x.max(), lambda x: x.amax(), [(3, 4)], [distinct]),
    Case("amax_axis", lambda x: x.amax(axis=0, keepdims=True),
         lambda x: x.amax(dim=0, keepdim=True), [(3, 4)], [distinct]),
    Case("amin_axis", lambda x: x.amin(axis=1), lambda x: x.amin(dim=1), [(3, 4)], [distinct]),
    Case("max_dim_values", lambda x: x.max(dim=0, keepdim=True).values,
         lambda x: x.max(dim=0, keepdim=True).values, [(3, 4)], [distinct]),
    Case("min_dim_values", lambda x: x.min(1)[0], lambda x: x.min(1)[0], [(3, 4, 2)], [distinct]),
    Case("softmax", lambda x: x.softmax(axis=-1), lambda x: x.softmax(dim=-1), [(3, 5)]),
    Case("softmax_axis0", lambda x: x.softmax(axis=0), lambda x: x.softmax(dim=0), [(3, 5)]),
    Case("log_softmax", lambda x: x.log_softmax(axis=-1), lambda x: x.log_softmax(dim=-1), [(3, 5)]),
    Case("reshape", lambda x: x.reshape(4, 3), lambda x: x.reshape(4, 3), [(2, 6)]),
    Case("permute", lambda x: x.permute(2, 0, 1), lambda x: x.permute(2, 0, 1), [(2, 3, 4)]),
    Case("transpose", lambda x: x.transpose(0, 2), lambda x: x.transpose(0, 2), [(2, 3, 4)]),
    Case("T", lambda x: x.T, lambda x: x.T, [(2, 3)]),
    Case("expand", lambda x: x.expand(2, 3, 4), lambda x: x.expand(2, 3, 4), [(3, 1)]),
    Case("getitem_int", lambda x: x[1], lambda x: x[1], [(3, 4)]),
    Case("getitem_slice", lambda x: x[:, 1:3], lambda x: x[:, 1:3], [(3, 4)]),
    Case("getitem_repeated", lambda x: x[IDX], lambda x: x[IDX], [(3, 4)]),
    Case("getitem_pairs", lambda x: x[IDX, np.array([0, 1, 0, 3])],
         lambda x: x[IDX, np.array([0, 1, 0, 3])], [(3, 4)]),
    Case("getitem_none_ellipsis", lambda x: x[None, ..., 0], lambda x: x[None, ..., 0], [(3, 4)]),
    Case("embedding", lambda w: tg.embedding(w, np.array([[1, 1], [0, 2]])),
         lambda w: __import__("torch").nn.functional.embedding(
             __import__("torch").tensor([[1, 1], [0, 2]]), w), [(3, 4)]),
    Case("cat", lambda x, y: tg.cat([x, y, x], axis=1),
         lambda x, y: __import__("torch").cat([x, y, x], dim=1), [(2, 3), (2, 1)]),
    Case("stack", lambda x, y: tg.stack([x, y], axis=1),
         lambda x, y: __import__("torch").stack([x, y], dim=1), [(2, 3), (2, 3)]),
    Case("split", lambda x: x.split(2, axis=1)[1] * 2 + x.split(2, axis=1)[0],
         lambda x: x.split(2, dim=1)[1] * 2 + x.split(2, dim=1)[0], [(3, 4)]),
    Case("chunk", lambda x: x.chunk(3, axis=0)[2] - x.chunk(3, axis=0)[0],
         lambda x: x.chunk(3, dim=0)[2] - x.chunk(3, dim=0)[0], [(6, 2)]),
    Case("x_times_x", lambda x: x * x, lambda x: x * x, [(3,)]),
    # Tensor bounds: each side gets the gradient where it wins (values kept off the kinks)
    Case("clip_tensor_bounds", lambda x, lo, hi: x.clip(lo, hi), lambda x, lo, hi: x.clamp(lo, hi),
         [(4, 5), (4, 1), (5,)], [lambda a: np.linspace(-1.5, 1.4, a.size).reshape(a.shape),
                                  lambda a: np.array([[-0.52], [-0.61], [-0.33], [-0.95]]),
                                  lambda a: np.array([0.7, 0.3, 1.0, 0.45, 0.2])]),
    Case("pow_tensor", lambda x, p: x ** p, lambda x, p: x ** p, [(3, 4), (4,)], [positive]),
    Case("pow_tensor_negative_base", lambda x: x ** tg.Tensor(P_INT, dtype=x.dtype, device=x.device),
         lambda x: x ** __import__("torch").tensor(P_INT), [(2, 4)], [away_from_zero]),
    Case("min_full", lambda x: x.min(), lambda x: x.min(), [(3, 4)], [distinct]),
    Case("max_dim", lambda x: x.max(dim=-1).values, lambda x: x.max(dim=-1).values, [(3, 4)], [distinct]),
    # PyTorch's shape (3, 4): the integer is applied first (NumPy would give (4, 3))
    Case("getitem_int_slice_array", lambda x: x[1, :, IDX], lambda x: x[1, :, IDX],
         [(2, 3, 3)]),
]

BY_NAME = {c.name: c for c in CASES}

"""Gradients kept in factored form until summed: for speed (sums equal up to float rounding).

* :class:`IndexedGrad`, the gradient of ``x[index]``: zero except at ``index``, so it is added
  into x's gradient in place instead of as a full-size array of zeros;
* :class:`ProductGrad`, the gradient Xᵀ G of a thin product's right factor: the messages to one
  weight are stacked and multiplied once, Σ_t X_tᵀ G_t = [X_1; …; X_T]ᵀ [G_1; …; G_T].

The ops' VJPs make them (``ops.py``); the engine adds them up with :func:`add_factored`
(``autograd.py``). Each has ``dense()``, the plain array it stands for.
"""

from __future__ import annotations

from tinygrad_rnn import backend

ARRAY_TYPES = backend.ARRAY_TYPES


def scatter_forward(g, index, shape, basic):
    """zeros(shape) with g added at index; repeated indices accumulate."""
    z = backend.xp_of(g).zeros(shape, dtype=g.dtype)
    if basic:
        z[index] = g  # no element repeats, so assigning is adding
    else:
        backend.index_add(z, index, g)
    return z


class IndexedGrad:
    """The gradient of ``x[index]`` with respect to x: zero except ``values`` at ``index``.

    Kept sparse so that the engine can add it into x's gradient in place: backprop through
    ``x_proj[t]`` for T steps then costs T slice-additions instead of T full-size arrays.
    """

    __slots__ = ("values", "index", "shape", "basic")

    def __init__(self, values, index, shape, basic):
        self.values, self.index, self.shape, self.basic = values, index, shape, basic

    def add_to(self, target) -> None:
        if self.basic:
            view = target[self.index]  # basic indexing gives a view: adding into it adds in place
            if type(view) in ARRAY_TYPES:
                view += self.values
            else:  # a single element comes back as a scalar, not a view
                target[self.index] += self.values
        else:
            backend.index_add(target, self.index, self.values)

    def dense(self):
        return scatter_forward(self.values, self.index, self.shape, self.basic)


class ProductGrad:
    """The gradient Xᵀ G of a product's right factor, kept as its two factors until summed.

    A weight used at T steps receives T messages X_tᵀ G_t; their sum is one product of
    stacked factors, Σ_t X_tᵀ G_t = [X_1; …; X_T]ᵀ [G_1; …; G_T]. With few rows per step
    (a batch up to 64, see ``stacks``) one product with T times the rows is faster than T thin
    ones and their T additions of a full-size matrix, so the engine stacks the factors of the
    messages to one weight and multiplies once when the weight's gradient is complete, or
    whenever STACK rows have piled up (which bounds the memory held for long sequences).
    """

    __slots__ = ("xs", "gs", "rows", "total")
    # Which messages are stacked (benchmarks/bench_products.py, CPU time, side by side): up to
    # SMALL rows always; up to THIN rows when the weight has at least WIDE entries (a small
    # weight's T additions are cheap: 100 × 100 at 32–64 rows was 1.1–1.2× slower stacked).
    THIN = 64
    SMALL = 16
    WIDE = 40_000
    STACK = 256  # rows stacked before they are multiplied out into the running total

    @classmethod
    def stacks(cls, x, g) -> bool:
        """Whether the message xᵀ g (x: rows × n, g: rows × m) is kept factored."""
        rows = len(x)
        return rows <= cls.THIN and (rows <= cls.SMALL or x.shape[1] * g.shape[1] >= cls.WIDE)

    def __init__(self, x, g):
        self.xs, self.gs, self.rows, self.total = [x], [g], len(x), None

    def extend(self, other: ProductGrad) -> None:
        self.xs += other.xs
        self.gs += other.gs
        self.rows += other.rows
        if self.rows >= self.STACK:
            self.total = self.dense()
            self.xs, self.gs, self.rows = [], [], 0

    def add_to(self, target) -> None:
        target += self.dense()

    def dense(self):
        """Σ X_tᵀ G_t as one array (ours: the caller may add into it)."""
        if not self.xs:
            return self.total
        xp = backend.xp_of(self.gs[0])
        x = self.xs[0] if len(self.xs) == 1 else xp.concatenate(self.xs)
        g = self.gs[0] if len(self.gs) == 1 else xp.concatenate(self.gs)
        product = x.T.dot(g)
        if self.total is None:
            return product
        self.total += product
        return self.total


FACTORED = (IndexedGrad, ProductGrad)


def add_factored(grads: dict, owned: set, parent, gi) -> bool:
    """Add the factored message ``gi`` into ``grads[parent]``; True if it is the first one.

    Products to one parent are collected (see ProductGrad); a scatter is added in place into
    an array of ours (``owned``), copying first a message that arrived from elsewhere.
    """
    old = grads.get(parent)
    if old is None:
        if type(gi) is ProductGrad:
            grads[parent] = gi  # ours: later products extend it
            return True
        grads[parent] = gi.dense()
        owned.add(parent)
        return True
    if type(old) is ProductGrad:
        if type(gi) is ProductGrad:
            old.extend(gi)
            return False
        grads[parent] = old = old.dense()
    elif parent not in owned:
        grads[parent] = old = old.copy()
    gi.add_to(old)
    owned.add(parent)
    return False


def multiply_out_products(grads: dict) -> None:
    """Replace every pending ProductGrad by its array (before a hook that may change inputs)."""
    for node, g in grads.items():
        if type(g) is ProductGrad:
            grads[node] = g.dense()

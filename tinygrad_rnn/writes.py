"""In-place writes made through the library, and the check backward runs against them.

PyTorch keeps a version counter per tensor and each op remembers the versions it saved; here
the writes pay instead of the saves, so recording an op costs nothing extra. Every library
write into an existing array (``x[i] = v``, an optimizer step, ``nn.init``, ``clip_grad_*``,
``load_state_dict``) calls :func:`mark_written`, which notes the array (and the array whose
memory it views) with a rank from the counter that also numbers the Nodes. Backward looks
only at nodes older than the newest write: an array such a node saved that was written after
the node was made means its VJP would read changed values, which raises.
"""

from __future__ import annotations

import itertools
import weakref

from tinygrad_rnn import backend

ranks = itertools.count()  # creation order of Nodes and of writes: one clock for both


class _Writes:
    """The newest write's rank, and the arrays written (each with the rank of its last write)."""

    __slots__ = ("last", "arrays")

    def __init__(self):
        self.last = -1     # rank of the newest write (-1: none yet)
        self.arrays = {}   # id(array) → (weakref to it, rank of its last write)


WRITES = _Writes()


def mark_written(array) -> None:
    """Note that the library changed ``array`` in place (call it after every such write)."""
    rank = next(ranks)
    WRITES.last = rank
    for a in (array, getattr(array, "base", None)):
        if a is None:
            continue
        key = id(a)
        entry = WRITES.arrays.get(key)
        if entry is not None and entry[0]() is a:
            WRITES.arrays[key] = (entry[0], rank)
            continue
        try:
            ref = weakref.ref(a, lambda r, key=key: _forget(key, r))
        except TypeError:  # memory owned by something that takes no weak reference
            continue
        WRITES.arrays[key] = (ref, rank)


def _forget(key: int, ref) -> None:
    entry = WRITES.arrays.get(key)
    if entry is not None and entry[0] is ref:
        del WRITES.arrays[key]


def written_after(array, rank: int) -> bool:
    """Whether ``array`` (or the memory it views) was written in place after ``rank``."""
    for a in (array, getattr(array, "base", None)):
        entry = None if a is None else WRITES.arrays.get(id(a))
        if entry is not None and entry[1] > rank and entry[0]() is a:
            return True
    return False


def check_not_written(node, saved) -> None:
    """Raise if an array ``node`` saved for backward was changed in place after it was saved."""
    n_inputs = len(saved) - 1
    for k, value in enumerate(saved):
        if value is not None and written_after(value, node.rank):
            what = "the output" if k == 0 else "the input" if n_inputs == 1 else f"input {k - 1}"
            raise _written_error(f"{what} of {node.op.name}", node)
    for key, value in (node.attrs or {}).items():
        if backend.is_array(value) and written_after(value, node.rank):
            raise _written_error(f"the argument {key} of {node.op.name}", node)


def _written_error(what: str, node) -> RuntimeError:
    where = f" in {node.scope}" if node.scope else ""
    return RuntimeError(
        f"modified in place after it was saved for backward: {what}{where}; update after "
        f"backward(), or clone() it first. (An optimizer step, x[i] = ..., nn.init or "
        f"clip_grad_* wrote into an array this op needs to compute its gradient.)")

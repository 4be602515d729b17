"""What :func:`tinygrad_rnn.graph.graph` captures, as plain records, and the helpers that read them.

A :class:`GraphNode` is a copy of one recorded node (op, shape, scope, name, kind, value and
gradient summaries), a :class:`GraphEdge` one input edge. The views, the renderer, the explorer
and the tied-gradient check all read these records; none of them needs the Graph class itself
(it sits above them and offers them as methods).
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass

from tinygrad_rnn import backend

STEP = re.compile(r"^t=(-?\d+)$")

# Layout ops that only re-view a parameter (a layer's W_hh.T, made once and used by every
# step, or a cell's, made in its step): the graph counts and draws their uses as the parameter's own. Each
# maps a gradient message back to the parameter's layout.
VIEW_BACK = {"permute": lambda g, attrs: g.transpose(attrs["inverse"]),
              "reshape": lambda g, attrs: g.reshape(attrs["in_shape"])}


@dataclass(frozen=True)
class Summary:
    """Norm, min and max of an array (a value or a gradient)."""

    norm: float
    min: float
    max: float

    @classmethod
    def of(cls, array) -> Summary | None:
        a = host64(array)
        if a.size == 0:
            return None
        return cls(norm(a), float(a.min()), float(a.max()))


def norm(a) -> float:
    """‖a‖ of a host array (the Frobenius norm for matrices)."""
    return math.sqrt(float((a * a).sum()))


def host64(array):
    return backend.to_host(backend.ensure_array(array)).astype("float64")


@functools.lru_cache(maxsize=65536)
def _split_scope(scope: tuple[str, ...]) -> tuple[int | None, tuple[str, ...], tuple[str, ...]]:
    """(step, lane, step scope) of a scope path: asked for every node by every view, and a
    1,000-step graph has only a few thousand distinct scopes, so each is parsed once."""
    for i, part in enumerate(scope):
        m = STEP.match(part)
        if m:
            return int(m.group(1)), scope[:i], scope[:i + 1]
    return None, scope, scope


@dataclass
class GraphNode:
    """One node of a captured graph (a copy: changing it changes nothing recorded)."""

    id: int
    kind: str                  # "parameter" (leaf that requires grad) | "input" (constant) | "op"
    op: str                    # the op's name; "parameter" or "input" for the others
    name: str | None
    shape: tuple
    dtype: str
    scope: tuple[str, ...]     # ("rnn", "l0", "fwd", "t=3")
    inputs: tuple[int, ...]    # ids of the inputs drawn as nodes, in order
    consts: tuple              # (input index, number) for scalar constants folded into the op
    is_output: bool = False
    alias_of: int | None = None  # a parameter this node only re-views (W_hh.T), see VIEW_BACK
    views: tuple = ()            # for a parameter: the ops that re-view it ("permute", ...)
    value: Summary | None = None
    grad: Summary | None = None

    @property
    def step(self) -> int | None:
        """The time step k of the first ``t=k`` scope, or None outside time steps."""
        return _split_scope(self.scope)[0]

    @property
    def lane(self) -> tuple[str, ...]:
        """The scope path above the time step (a layer/direction), or the whole scope."""
        return _split_scope(self.scope)[1]

    @property
    def step_scope(self) -> tuple[str, ...]:
        """The scope path down to and including ``t=k`` (the whole scope outside steps)."""
        return _split_scope(self.scope)[2]

    @property
    def short_name(self) -> str:
        """Scope-free label: the notes' symbol for a parameter name, else the name or op."""
        return short_name(self.name) if self.name else self.op


@dataclass
class GraphEdge:
    """Input ``index`` of node ``dst`` is node ``src``; ``grad_norm`` is the message's norm."""

    src: int
    dst: int
    index: int
    grad_norm: float | None = None


_PARAM_SYMBOLS = {"weight_hh": "W_hh", "weight_ih": "W_ih", "bias_hh": "b_hh", "bias_ih": "b_ih",
                  "weight_hr": "W_hr"}
_PARAM_NAME = re.compile(r"^(weight_hh|weight_ih|bias_hh|bias_ih|weight_hr)(?:_l(\d+))?(_reverse)?$")


_GENERIC = {"weight", "bias"}  # names that say nothing without their module: kept with it


def short_name(name: str) -> str:
    """``'lstm.weight_hh_l1_reverse'`` → ``'W_hh l1←'``; other names lose their module prefix,
    except a bare ``weight``/``bias``: ``'encoder.embedding.weight'`` → ``'embedding.weight'``."""
    parts = name.rsplit(".", 2)
    last = parts[-1]
    m = _PARAM_NAME.match(last)
    if not m:
        return ".".join(parts[-2:]) if last in _GENERIC and len(parts) > 1 else last
    layer = f" l{m.group(2)}" if m.group(2) not in (None, "0") else ""
    return _PARAM_SYMBOLS[m.group(1)] + layer + ("←" if m.group(3) else "")

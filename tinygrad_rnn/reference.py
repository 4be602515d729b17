"""Reverse mode in its plainest form, over the same op table: the engine to read first.

For a scalar C and every node x of the recorded graph, the chain rule over x's consumers y is

    ∂C/∂x = Σ_y  vjp_{y←x}(∂C/∂y)

:func:`reference_messages` is that sum and nothing else: take the nodes in decreasing
creation rank (every consumer of x was made after x, so x's gradient is complete when it is
reached), apply each op's VJPs from ``ops.py`` to get one message per input, undo
broadcasting with :func:`~tinygrad_rnn.ops.sum_to`, and add what arrives at each input.

``autograd._run`` is this loop plus: hooks and ``retain_grad``; accumulation into the leaves'
``.grad``; freeing each op's saved arrays once its VJPs have run; ``create_graph`` (the VJPs run
on Tensors); ``targets`` and ``needed`` (for ``grad()``); factored messages (``IndexedGrad``,
``ProductGrad`` from ``factored.py``, added in place or stacked into one product); in-place
sums into arrays it owns; and a heap instead of a sort. Here every message is a plain array
(factored ones are made dense), nothing is freed and nothing is mutated, so the same graph can
then be run through ``backward()``: :func:`check_backward` does that and names the first op
whose gradient differs — the oracle that says which fast path broke.
"""

from __future__ import annotations

from tinygrad_rnn import backend
from tinygrad_rnn.factored import FACTORED
from tinygrad_rnn.modes import record_messages
from tinygrad_rnn.ops import sum_to
from tinygrad_rnn.tensor import FREED, Node, Tensor, reachable


class Reference:
    """What reverse mode computed: ``grads`` (node → ∂C/∂node) and ``messages``
    ((consumer, i) → the gradient the consumer sent to its input i)."""

    def __init__(self, grads: dict, messages: dict):
        self.grads, self.messages = grads, messages


def reference_messages(output: Tensor, grad=None) -> Reference:
    """Backpropagate from ``output`` (seed ``grad``, default ones) by the chain rule alone."""
    if output._node is None:
        raise RuntimeError("reference_messages: the output does not require grad")
    seed = backend.xp_of(output.data).ones_like(output.data) if grad is None else \
        (grad.data if isinstance(grad, Tensor) else grad)
    grads, messages = {output._node: seed}, {}
    for node in sorted(reachable([output._node]), key=lambda n: n.rank, reverse=True):
        if node.op is None:  # a leaf: nothing further back
            continue
        if node.saved is FREED:
            raise RuntimeError(f"reference_messages: '{node.op.name}' was freed by an earlier "
                               f"backward; build the graph again (or backward with retain_graph=True)")
        g = grads[node]  # complete: every consumer has a higher rank and has been visited
        for i, x in enumerate(node.inputs):
            if type(x) is not Node:
                continue  # a constant: no gradient
            gx = node.op.vjps[i](g, *node.saved, **node.attrs)
            if type(gx) in FACTORED:
                gx = gx.dense()
            gx = backend.ensure_array(gx)
            if node.op.broadcasts:
                gx = sum_to(gx, x.shape)  # undo broadcasting
            messages[node, i] = gx
            grads[x] = gx if x not in grads else grads[x] + gx  # the chain rule's sum
    return Reference(grads, messages)


def reference_grad(output: Tensor, inputs, grad=None) -> list:
    """∂output/∂x for each of ``inputs`` (arrays; None where an input does not reach output)."""
    if any(x._node is None for x in inputs):
        raise RuntimeError("reference_grad: every input must require grad")
    grads = reference_messages(output, grad).grads
    return [grads.get(x._node) for x in inputs]


# ---- the oracle ---------------------------------------------------------------------------


def _differs(a, b, rtol: float, atol: float) -> float | None:
    """max |a − b| if it exceeds rtol · max |b| + atol (or the shapes differ), else None."""
    a, b = backend.to_host(a), backend.to_host(b)
    if a.shape != b.shape:
        return float("inf")
    err = float(abs(a - b).max()) if a.size else 0.0
    scale = float(abs(b).max()) if b.size else 0.0
    return err if not err <= rtol * scale + atol else None  # NaN counts as a difference


def _where(node: Node) -> str:
    what = "leaf" if node.op is None else f"'{node.op.name}'"
    name = f" '{node.name}'" if node.name else ""
    scope = f" in scope '{node.scope}'" if node.scope else ""
    return f"{what}{name}{scope} (shape {tuple(node.shape)})"


def _senders(ref: Reference, node: Node) -> str:
    ops = [c.op.name for (c, i), _ in ref.messages.items() if c.inputs[i] is node]
    return ", ".join(f"{op} ×{ops.count(op)}" for op in dict.fromkeys(ops))


def check_backward(output: Tensor, grad=None, rtol: float = 1e-10, atol: float = 0.0,
                   expected: Reference | None = None) -> None:
    """Run ``output.backward(grad)`` and compare it with the reference, message by message.

    Every message the engine sent (recorded with ``record_messages``) and every leaf's
    ``.grad`` must equal the reference to ``rtol`` (relative to the largest entry), else an
    AssertionError names the first op, in backward order, whose message differs — every
    message into that op agreed, so the fault is in its VJP or in the engine's sum of the
    messages it received — or the leaf whose summed gradient differs. ``expected`` is a
    :class:`Reference` computed earlier on the same graph (default: computed here first).
    """
    ref = reference_messages(output, grad) if expected is None else expected
    leaves = [n for n in ref.grads if n.op is None and n.watch is not None and n.watch.leaf]
    tensors = {n: n.watch.leaf() for n in leaves}
    before = {n: None if t is None or t.grad is None else t.grad.data.copy()
              for n, t in tensors.items()}
    with record_messages() as recorder:
        output.backward(grad)
    sent = {(c, i): g for c, i, _, g in recorder.messages}
    for (node, i), want in sorted(ref.messages.items(), key=lambda m: (-m[0][0].rank, m[0][1])):
        got = sent.get((node, i))
        err = float("inf") if got is None else _differs(got, want, rtol, atol)
        if err is not None:
            raise AssertionError(
                f"backward differs from the reference at {_where(node)}: the gradient it sent to "
                f"its input {i} is off by max |Δ| = {err:.3g}"
                f"{' (no message sent)' if got is None else ''}; every message into it agreed "
                f"(from: {_senders(ref, node) or 'the output'}), so its VJP or the engine's sum "
                f"of those messages broke")
    for node, t in tensors.items():
        if t is None:
            continue
        want = ref.grads[node] if before[node] is None else before[node] + ref.grads[node]
        err = float("inf") if t.grad is None else _differs(t.grad.data, want, rtol, atol)
        if err is not None:
            raise AssertionError(
                f"backward differs from the reference at {_where(node)}: its .grad is off by "
                f"max |Δ| = {err:.3g} though every message to it agreed; the engine's sum of "
                f"its messages (from: {_senders(ref, node)}) broke")

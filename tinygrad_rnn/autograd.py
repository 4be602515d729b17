"""Reverse mode: walk the recorded graph backwards and apply each op's VJPs.

Read :mod:`tinygrad_rnn.reference` first: the same algorithm in its plainest form. Here the
whole algorithm is :func:`_run`, right below the imports; ``backward`` and ``grad`` are its
two ways in, and the helpers follow in the order ``_run`` calls them. Nodes come off a heap
in decreasing creation rank, so a node is processed only after every consumer of it has
sent its gradient; gradients that arrive at one node from several consumers are summed.
Nothing here knows about RNNs: BPTT is this loop run over an unrolled graph, and a weight
shared by T time steps receives T messages whose sum is its gradient (∂C/∂w = Σ_t ∂C/∂w_t).

Two kinds of message are kept factored until they are summed, for speed only (the sums are
equal up to float rounding): the gradient of ``x[index]`` (``IndexedGrad``, added into x's gradient in place)
and the gradient Xᵀ G of a thin product's right factor (``ProductGrad``: a weight's T
messages become one product of stacked factors, Σ_t X_tᵀ G_t = [X_1; …; X_T]ᵀ [G_1; …; G_T]).

Backward also refuses to read stale values: an array an op saved that the library wrote in
place afterwards (an optimizer step, ``x[i] = v``; see ``writes.mark_written``) raises,
naming the op and its scope, as PyTorch's version counter does.

There is no recursion anywhere, so a 100,000-step unrolled graph backpropagates, and the
arrays an op saved are released as soon as its VJPs have run (unless ``retain_graph``; the
factors of pending products are held until at most ``ProductGrad.STACK`` rows have piled up).
"""

from __future__ import annotations

import heapq

from tinygrad_rnn import backend
from tinygrad_rnn.errors import ShapeError
from tinygrad_rnn.factored import FACTORED, ProductGrad, add_factored, multiply_out_products
from tinygrad_rnn.modes import _GradMode, state
from tinygrad_rnn.ops import ARRAY_TYPES, raw, sum_to
from tinygrad_rnn.tensor import FREED, Node, Tensor, Watch, reachable
from tinygrad_rnn.writes import WRITES, check_not_written, mark_written

# ---- the engine: _run, and the two ways in (backward, grad) ---------------------------------


def _run(roots, retain_graph: bool, create_graph: bool, targets=None, needed=None):
    """Backpropagate from ``roots`` = [(node, grad)].

    With ``targets`` (a dict node → slot) the gradients of those nodes are returned instead
    of being accumulated into leaves, and only ``needed`` nodes are visited.
    """
    grads, found = {}, {}  # node → its gradient so far; the gradients of targets
    heap, waiting = [], {}  # −rank of every node with a gradient pending (ranks are unique),
    #                         and −rank → that node
    owned = set()  # nodes whose summed gradient is an array we allocated (safe to add into)
    push, pop = heapq.heappush, heapq.heappop
    for node, g in roots:
        if node in grads:
            grads[node] = grads[node] + g
        else:
            grads[node] = g
            waiting[-node.rank] = node
            push(heap, -node.rank)
    st = state()
    observe = st.recorder is not None or st.anomaly  # per-edge extras, off by default
    to_leaves = targets is None
    last_write = WRITES.last  # rank of the newest in-place write (VJPs write nothing)
    with _GradMode(create_graph):
        while heap:
            node = waiting.pop(pop(heap))
            g = grads.pop(node)
            if type(g) is ProductGrad:  # every message has arrived: one stacked product
                g = g.dense()
            if node.watch is not None:
                if node.watch.hooks:  # a hook may change arrays that pending products read
                    multiply_out_products(grads)
                g = _apply_watch(node, g, create_graph, to_leaves)
                last_write = WRITES.last  # a hook may have written (e.g. an update in place)
            if targets is not None and node in targets:
                found[node] = g
            op = node.op
            if op is None:  # a leaf: nothing further back
                continue
            saved = node.saved
            if saved is FREED:
                raise _freed_error(node)
            if node.rank < last_write:  # something was written in place after this op ran
                check_not_written(node, saved)
            if create_graph:
                saved = _as_tensor_saved(node)
            if not retain_graph:
                node.saved = FREED  # release what this op kept for backward (``saved`` holds it)
            attrs, vjps, broadcasts = node.attrs, op.vjps, op.broadcasts
            for i, parent in enumerate(node.inputs):
                if type(parent) is not Node or (needed is not None and parent not in needed):
                    continue  # a constant, or a branch that leads to no requested input
                gi = vjps[i](g, *saved, **attrs) if attrs else vjps[i](g, *saved)
                if type(gi) not in ARRAY_TYPES:  # factored, a Tensor (create_graph) or a scalar
                    if type(gi) in FACTORED:
                        if observe:
                            _observe(node, i, parent, gi)
                        if add_factored(grads, owned, parent, gi):  # the parent's first message
                            waiting[-parent.rank] = parent
                            push(heap, -parent.rank)
                        continue
                    if not create_graph:
                        gi = backend.ensure_array(gi)  # NumPy makes 0-d results scalars
                if broadcasts:  # undo broadcasting: the one place it happens
                    shape = parent.shape if parent.op is not None else _leaf_shape(parent)
                    if gi.shape != shape:
                        gi = sum_to(gi, shape)
                if observe:
                    _observe(node, i, parent, gi)
                # the chain rule's sum: messages from several consumers add up
                old = grads.get(parent)
                if old is None:
                    grads[parent] = gi
                    waiting[-parent.rank] = parent
                    push(heap, -parent.rank)
                elif parent in owned:
                    old += gi
                elif type(old) is ProductGrad:  # products so far, then this dense message
                    grads[parent] = old = old.dense()
                    old += gi
                    owned.add(parent)
                elif create_graph:
                    grads[parent] = old + gi
                else:
                    grads[parent] = backend.ensure_array(old + gi)
                    owned.add(parent)
    return found


def backward(tensor: Tensor, grad=None, retain_graph: bool | None = None,
             create_graph: bool = False) -> None:
    """Accumulate ∂tensor/∂leaf into ``leaf.grad`` for every leaf that requires grad."""
    if tensor._node is None:
        raise RuntimeError("backward() on a tensor that does not require grad: no leaf it depends "
                           "on has requires_grad=True (or it was made under no_grad)")
    if retain_graph is None:
        retain_graph = create_graph
    _run([(tensor._node, _root_grad(tensor, grad, create_graph))], retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple:
    """The gradients of ``outputs`` with respect to ``inputs``, returned (not stored in .grad).

    With ``create_graph=True`` the returned gradients are themselves differentiable.
    """
    outputs, inputs = _as_list(outputs), _as_list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    else:
        grad_outputs = _as_list(grad_outputs) if not isinstance(grad_outputs, (list, tuple)) \
            else list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(outputs)} outputs but {len(grad_outputs)} grad_outputs")
    for k, x in enumerate(inputs):
        if x._node is None:
            raise RuntimeError(f"grad: input {k}{_named(x)} does not require grad")
    roots = []
    for k, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if out._node is None:
            raise RuntimeError(f"grad: output {k} does not require grad (it does not depend on "
                               f"any tensor with requires_grad=True)")
        roots.append((out._node, _root_grad(out, g, create_graph)))
    if retain_graph is None:
        retain_graph = create_graph
    targets = {x._node: k for k, x in enumerate(inputs)}
    needed = _nodes_leading_to([n for n, _ in roots], targets)
    found = _run(roots, retain_graph, create_graph, targets=targets, needed=needed)
    results = []
    for k, x in enumerate(inputs):
        g = found.get(x._node)
        if g is None:
            if not allow_unused:
                raise RuntimeError(f"grad: input {k}{_named(x)} is not part of the graph of the "
                                   f"outputs; pass allow_unused=True to get None for it")
            results.append(None)
        else:
            results.append(_own(g))
    return tuple(results)

# ---- backward's and grad's helpers ----------------------------------------------------------


def _root_grad(t: Tensor, grad, create_graph: bool):
    if grad is None:
        if t.data.size != 1:
            raise RuntimeError(
                f"backward() on a tensor of shape {tuple(t.shape)} needs grad=: the gradient of "
                f"a non-scalar is only defined against a vector. Reduce it first (loss.sum() or "
                f"loss.mean()) or pass grad with the same shape")
        g = backend.xp_of(t.data).ones_like(t.data)
        return Tensor._wrap(g) if create_graph else g
    if not isinstance(grad, Tensor):
        grad = Tensor(grad, device=t.device, dtype=t.dtype)
    if tuple(grad.shape) != tuple(t.shape):
        raise ValueError(f"backward: grad has shape {tuple(grad.shape)} but the tensor has shape "
                         f"{tuple(t.shape)}")
    if grad.dtype != t.dtype:
        grad = Tensor._wrap(grad.data.astype(t.dtype), grad._node)
    # a copy: every gradient a VJP sees is then an array of this backward pass, so a fused
    # op's VJPs may share work through the identity of their g (a caller may refill its
    # buffer between two passes, e.g. Jacobian rows)
    return grad if create_graph else grad.data.copy()


def _as_list(x) -> list:
    return [x] if isinstance(x, Tensor) else list(x)


def _nodes_leading_to(roots, targets) -> set:
    """Nodes reachable from ``roots`` from which some target can be reached (iteratively)."""
    needed = set()
    for node in sorted(reachable(roots), key=lambda n: n.rank):  # inputs always come before their consumers
        if node in targets or any(type(p) is Node and p in needed for p in node.inputs):
            needed.add(node)
    return needed


def _named(t: Tensor) -> str:
    return f" ('{t.name}')" if t.name else ""

# ---- _run's helpers, in the order it calls them ---------------------------------------------


def _apply_watch(node: Node, g, create_graph: bool, to_leaves: bool):
    """Hooks, retain_grad and leaf accumulation for a node whose gradient is complete."""
    watch = node.watch
    for hook in list(watch.hooks):
        result = hook(g if create_graph else Tensor._wrap(g))
        if result is not None:
            _check_hook_result(hook, result, node)
            g = result if create_graph else raw(result)
    if watch.retained is not None and to_leaves:
        t = watch.retained()
        if t is not None:
            t.grad = _own(g)
    if watch.leaf is not None and to_leaves:
        t = watch.leaf()
        if t is not None:
            if create_graph:
                t.grad = _own(g) if t.grad is None else t.grad + g
            elif t.grad is None:
                # a copy: one array may have reached several leaves (x + y sends g to both)
                t.grad = Tensor._wrap(g.copy())
            else:
                _accumulate(t, g)
    return g


def _accumulate(t: Tensor, g) -> None:
    """``t.grad += g`` in place, as PyTorch accumulates: a reference to ``t.grad`` kept from
    before (e.g. after ``zero_grad(set_to_none=False)``) sees the sum. A gradient that is a
    recorded tensor, or an array of another kind, shape or dtype, is replaced by the sum."""
    old = t.grad.data
    if (t.grad._node is None and type(old) is type(g) and old.shape == g.shape
            and old.dtype == g.dtype and getattr(old.flags, "writeable", True)):
        old += g
        mark_written(old)  # a graph that saved this gradient's values raises at its backward
    else:
        t.grad = Tensor._wrap(backend.ensure_array(old + g))


def _check_hook_result(hook, result, node: Node):
    """A hook may replace the gradient, but not change its shape, dtype or device."""
    if not isinstance(result, Tensor) and not backend.is_array(result):
        raise TypeError(f"hook {getattr(hook, '__name__', hook)!r} returned "
                        f"{type(result).__name__}; a hook returns a Tensor (the new gradient) "
                        f"or None (keep it)")
    arr = raw(result)
    what = f"hook {getattr(hook, '__name__', hook)!r} on {_node_label(node)}"
    if tuple(arr.shape) != tuple(node.shape):
        raise ShapeError(f"{what} returned a gradient of shape {tuple(arr.shape)} for a tensor of "
                         f"shape {tuple(node.shape)}; a hook must keep the gradient's shape")
    if arr.dtype != node.dtype:
        raise RuntimeError(f"{what} returned a gradient of dtype {arr.dtype} for a tensor of "
                           f"dtype {node.dtype}; a hook must keep the dtype (as in PyTorch): "
                           f"return g * scale, not g.to(dtype=...)")


def _node_label(node: Node) -> str:
    label = "a leaf" if node.op is None else f"the output of {node.op.name}"
    if node.name:
        label += f" '{node.name}'"
    return label + (f" in {node.scope}" if node.scope else "")


def _own(g):
    """A gradient handed to the user: an array (or a Tensor's data) of its own, writable.

    Inside backward one array may reach several tensors (x + y sends g to both) and may be a
    read-only broadcast view (the gradient of a sum); ``.grad`` and ``tg.grad`` results must
    be neither, so that in-place updates such as ``clip_grad_norm_`` work and stay private.
    """
    if isinstance(g, Tensor):
        return Tensor._wrap(g.data.copy(), g._node)  # same node: still differentiable
    return Tensor._wrap(g.copy())


def _freed_error(node: Node) -> RuntimeError:
    where = f" in scope '{node.scope}'" if node.scope else ""
    return RuntimeError(
        f"backward through the graph a second time: the arrays saved by '{node.op.name}'{where} "
        f"were freed by an earlier backward. Pass retain_graph=True to the first backward if you "
        f"really need two; if a hidden state is carried from one training chunk to the next, "
        f"detach() it (h = h.detach()) so each chunk's graph stands alone (truncated BPTT).")


def _as_tensor_saved(node: Node) -> tuple:
    """The saved arrays as Tensors that keep their place in the graph (for create_graph)."""
    out, *inputs = node.saved
    wrapped = [None if out is None else Tensor._wrap(out, node)]
    for value, parent in zip(inputs, node.inputs):
        if value is None or not backend.is_array(value):
            wrapped.append(value)
        else:
            wrapped.append(Tensor._wrap(value, parent if type(parent) is Node else None))
    return tuple(wrapped)


def _leaf_shape(node: Node) -> tuple:
    """A leaf's current shape: its tensor's data may have been replaced since it was made."""
    tensor = node.watch.leaf()
    return node.shape if tensor is None else tensor.data.shape


def _observe(node: Node, i: int, parent: Node, gi) -> None:
    """Anomaly check and message recording for one edge (only when switched on)."""
    if type(gi) in FACTORED:
        gi = gi.dense()
    st = state()
    if st.anomaly:
        _check_finite(node, i, gi)
    if st.recorder is not None:
        st.recorder.messages.append((node, i, parent, backend.to_host(raw(gi))))


def _check_finite(node: Node, i: int, grad) -> None:
    arr = raw(grad)
    if not bool(backend.xp_of(arr).isfinite(arr).all()):
        where = f" in scope '{node.scope}'" if node.scope else ""
        raise FloatingPointError(
            f"detect_anomaly: backward of '{node.op.name}'{where} produced NaN/Inf in the "
            f"gradient of its input {i} (shape {tuple(arr.shape)})")

# ---- hooks ----------------------------------------------------------------------------------


def watch_of(node: Node) -> Watch:
    if node.watch is None:
        node.watch = Watch()
    return node.watch


class RemovableHandle:
    """Returned by ``register_hook``; ``remove()`` takes the hook off."""

    def __init__(self, hooks: list, fn):
        self._hooks, self._fn = hooks, fn

    def remove(self) -> None:
        if self._fn in self._hooks:
            self._hooks.remove(self._fn)


def register_hook(tensor: Tensor, fn) -> RemovableHandle:
    if tensor._node is None:
        raise RuntimeError("cannot register a hook on a tensor that does not require grad")
    hooks = watch_of(tensor._node).hooks
    hooks.append(fn)
    return RemovableHandle(hooks, fn)

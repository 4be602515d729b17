"""The recorded graph, read back: nodes, edges, scopes, parameters, and what networkx says.

``graph(loss)`` walks back from the output through ``Node.inputs`` (with a stack, never by
recursion) and copies what it finds into plain records: op, shape, dtype, scope path, name,
kind (parameter / input / op) and, after backward, value and gradient summaries. It only
reads the recorded graph; nothing in it is changed.

Gradients come from two places. A parameter's ``.grad`` and a ``retain_grad()`` tensor's
``.grad`` are read directly; every other node's gradient is the sum of the messages its
consumers sent it, which ``record_messages()`` keeps. The notes' tied-weight rule
``∂C/∂w = Σ_t ∂C/∂w_t`` is that sum for a parameter, checked by :func:`check_tied_gradient`.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import networkx as nx

from tinygrad_rnn import backend, explore, render
from tinygrad_rnn.capture import VIEW_BACK, GraphEdge, GraphNode, Summary, host64, norm, short_name
from tinygrad_rnn.modes import MessageRecorder
from tinygrad_rnn.tensor import Node, Tensor, reachable


def _leaf_tensor(node: Node):
    watch = node.watch
    return watch.leaf() if watch is not None and watch.leaf is not None else None


def _retained_tensor(node: Node):
    watch = node.watch
    return watch.retained() if watch is not None and watch.retained is not None else None


def _is_scalar_constant(x) -> bool:
    return not isinstance(x, Tensor) or (x.data.size == 1 and not x.name)


def graph(outputs: Tensor | list[Tensor] | tuple[Tensor, ...],
          messages: MessageRecorder | None = None) -> Graph:
    """Capture every node reachable from ``outputs`` (a tensor or several) as a :class:`Graph`.

    Call it after ``backward()`` for gradient summaries; pass the ``record_messages()``
    recorder to get every node's gradient and every edge's message norm.
    """
    if not isinstance(outputs, (Tensor, list, tuple)):
        raise TypeError(f"graph() takes a Tensor or a list of Tensors, got {type(outputs).__name__}")
    if messages is not None and not isinstance(messages, MessageRecorder):
        raise TypeError("graph(messages=...) takes the recorder of `with record_messages() as "
                        f"messages:`, got {type(messages).__name__}")
    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    roots = []
    for k, t in enumerate(outs):
        if not isinstance(t, Tensor):
            raise TypeError(f"graph(): output {k} is a {type(t).__name__}, not a Tensor")
        if t._node is None:
            raise ValueError(f"graph(): output {k} does not require grad, so no graph was recorded "
                             f"for it (make a parameter with requires_grad=True, outside no_grad)")
        roots.append(t._node)
    order = sorted(reachable(roots), key=lambda n: n.rank)  # inputs come before their consumers

    nodes: list[GraphNode] = []
    edges: list[GraphEdge] = []
    ids: dict = {}           # Node → id
    const_ids: dict = {}     # id(Tensor) → id, so one constant tensor is one node
    const_keep = []          # keeps those tensors alive while ids are handed out

    def add(**kw) -> int:
        nodes.append(GraphNode(id=len(nodes), **kw))
        return len(nodes) - 1

    for n in order:
        inputs, consts = [], []
        for i, p in enumerate(n.inputs):
            if type(p) is Node:
                inputs.append((i, ids[p]))
            elif _is_scalar_constant(p):
                consts.append((i, float(p.item() if isinstance(p, Tensor) else p)))
            else:
                cid = const_ids.get(id(p))
                if cid is None:
                    cid = add(kind="input", op="input", name=p.name, shape=tuple(p.shape),
                              dtype=str(p.dtype), scope=(), inputs=(), consts=(),
                              value=Summary.of(p.data))
                    const_ids[id(p)], _ = cid, const_keep.append(p)
                inputs.append((i, cid))
        leaf, retained = _leaf_tensor(n), _retained_tensor(n)
        kind = "op" if n.op is not None else "parameter"
        grad_t = leaf if leaf is not None else retained
        value = n.value if n.value is not None else (grad_t.data if grad_t is not None else None)
        nid = add(kind=kind, op=n.op.name if n.op is not None else "parameter", name=n.name,
                  shape=tuple(n.shape), dtype=str(n.dtype),
                  scope=tuple(n.scope.split("/")) if n.scope else (),
                  inputs=tuple(j for _, j in inputs), consts=tuple(consts),
                  value=Summary.of(value) if value is not None else None,
                  grad=Summary.of(grad_t.grad.data) if grad_t is not None and grad_t.grad is not None
                  else None)
        if kind == "parameter":
            nodes[nid].scope = ()  # a parameter belongs to no time step, whatever made it
        elif n.op.name in VIEW_BACK and len(inputs) == 1:
            src = nodes[inputs[0][1]]
            if src.kind == "parameter" or src.alias_of is not None:
                nodes[nid].alias_of = src.id if src.alias_of is None else src.alias_of
                param = nodes[nodes[nid].alias_of]
                param.views = (*param.views, n.op.name)
        ids[n] = nid
        edges.extend(GraphEdge(src, nid, i) for i, src in inputs)
    for r in roots:
        nodes[ids[r]].is_output = True
    g = Graph(nodes, edges)
    if messages is not None:
        g._read_messages(messages, ids, roots)
    return g


class Graph:
    """A captured computation graph: ``nodes`` and ``edges`` in creation order.

    Parameters are single nodes, however many steps use them; ``to_networkx()`` gives the
    DiGraph, ``to_dot()`` / ``render()`` draw it (see :mod:`tinygrad_rnn.render`).
    """

    def __init__(self, nodes: list[GraphNode], edges: list[GraphEdge]):
        self.nodes = nodes
        self.edges = edges
        self._nx: nx.DiGraph | None = None
        # with a recorder: every message (consumer id, input index, producer id, ‖message‖) in
        # the order backward sent it, and per parameter its messages mapped back to its layout
        # (through W_hh.T), as (position in the log, array): what the explorer plays back
        self.backward_log: list[tuple[int, int, int, float]] = []
        self.param_messages: dict[int, list] = {}

    # ---- gradients ---------------------------------------------------------------------
    def _read_messages(self, recorder: MessageRecorder, ids: dict, roots: list) -> None:
        totals: dict = {}
        edge_grads: dict = {}
        for consumer, i, producer, g in recorder.messages:
            if consumer not in ids or producer not in ids:
                continue
            a = host64(g)
            p = ids[producer]
            self.backward_log.append((ids[consumer], i, p, norm(a)))
            self._to_parameter(len(self.backward_log) - 1, ids[consumer], producer, a, ids)
            totals[p] = a if p not in totals else totals[p] + a
            key = (ids[consumer], i)
            edge_grads[key] = a if key not in edge_grads else edge_grads[key] + a
        for r in roots:  # backward seeds a scalar output with 1
            rid = ids[r]
            if rid not in totals and math.prod(r.shape) == 1:
                totals[rid] = backend.host_asarray([1.0])
        for nid, a in totals.items():
            if self.nodes[nid].grad is None:  # a leaf's own .grad wins
                self.nodes[nid].grad = Summary.of(a)
        for e in self.edges:
            a = edge_grads.get((e.dst, e.index))
            if a is not None:
                e.grad_norm = norm(a)

    def _to_parameter(self, position: int, consumer: int, producer: Node, a, ids: dict) -> None:
        """Note a message that reaches a parameter, directly or through views of it (a
        view's own message to the parameter is their sum, so it is not noted again)."""
        node = self.nodes[ids[producer]]
        if node.kind != "parameter" and node.alias_of is None or \
                self.nodes[consumer].alias_of is not None:
            return
        while node.alias_of is not None:  # undo W_hh.T (and reshapes) back to W_hh's layout
            a = VIEW_BACK[producer.op.name](a, producer.attrs)
            producer = producer.inputs[0]
            node = self.nodes[ids[producer]]
        self.param_messages.setdefault(node.id, []).append((position, a))

    @property
    def has_gradients(self) -> bool:
        return any(n.grad is not None for n in self.nodes)

    # ---- lookups -------------------------------------------------------------------------
    @property
    def parameters(self) -> list[GraphNode]:
        return [n for n in self.nodes if n.kind == "parameter"]

    @property
    def outputs(self) -> list[GraphNode]:
        return [n for n in self.nodes if n.is_output]

    @property
    def steps(self) -> list[int]:
        """The time steps present (from ``t=k`` scopes), sorted."""
        return sorted({n.step for n in self.nodes if n.step is not None})

    def named(self, name: str) -> list[GraphNode]:
        """The nodes called ``name`` (full name or scope-free short name), in creation order."""
        return [n for n in self.nodes if n.name == name or (n.name and short_name(n.name) == name)]

    def parameter(self, name: str) -> GraphNode:
        found = [n for n in self.named(name) if n.kind == "parameter"]
        if not found:
            known = ", ".join(sorted(str(p.name) for p in self.parameters))
            raise KeyError(f"no parameter named {name!r} in this graph; parameters: {known}")
        return found[0]

    def __len__(self) -> int:
        return len(self.nodes)

    def __repr__(self) -> str:
        steps = self.steps
        when = f", steps {steps[0]}..{steps[-1]}" if steps else ""
        grads = ", with gradients" if self.has_gradients else ""
        return (f"<Graph {len(self.nodes)} nodes, {len(self.edges)} edges, "
                f"{len(self.parameters)} parameters{when}{grads}>")

    # ---- networkx ----------------------------------------------------------------------
    def to_networkx(self) -> nx.DiGraph:
        """An ``nx.DiGraph``: node attributes kind, op, name, label, shape, dtype, scope, step,
        value_norm/min/max, grad_norm/min/max; edge attributes ``indices`` (input slots;
        ``x * x`` gives two) and ``grad_norm`` (the messages' combined norm, if recorded)."""
        if self._nx is not None:
            return self._nx.copy()
        G = nx.DiGraph()
        for n in self.nodes:
            attrs = dict(kind=n.kind, op=n.op, name=n.name, label=n.short_name, shape=n.shape,
                         dtype=n.dtype, scope="/".join(n.scope), step=n.step,
                         is_output=n.is_output)
            for prefix, s in (("value", n.value), ("grad", n.grad)):
                if s is not None:
                    attrs.update({f"{prefix}_norm": s.norm, f"{prefix}_min": s.min,
                                  f"{prefix}_max": s.max})
            G.add_node(n.id, **attrs)
        for e in self.edges:
            if G.has_edge(e.src, e.dst):
                data = G.edges[e.src, e.dst]
                data["indices"].append(e.index)
                if e.grad_norm is not None:
                    data["grad_norm"] = math.hypot(data.get("grad_norm") or 0.0, e.grad_norm)
            else:
                G.add_edge(e.src, e.dst, indices=[e.index], grad_norm=e.grad_norm)
        self._nx = G
        return G.copy()

    def _G(self) -> nx.DiGraph:
        if self._nx is None:
            self.to_networkx()
        return self._nx

    # ---- analysis ------------------------------------------------------------------------
    def scope_counts(self, depth: int | None = None) -> dict[str, Counter]:
        """Op counts per scope path (cut to ``depth`` parts): ``{"rnn/t=0": Counter(...)}``.

        ``sum(counter.values())`` is the scope's node count; "" is the top level.
        """
        counts: dict[str, Counter] = {}
        for n in self.nodes:
            key = "/".join(n.scope if depth is None else n.scope[:depth])
            counts.setdefault(key, Counter())[n.op] += 1
        return counts

    def op_counts(self) -> Counter:
        return Counter(n.op for n in self.nodes)

    def _param_key(self, p: GraphNode) -> str:
        return p.name or f"parameter{p.id}"

    def bptt_depth(self) -> dict[str, int]:
        """For each parameter, the longest path (in edges) from it to an output: how deep
        backpropagation through time goes for that weight."""
        G = self._G()
        outs = {n.id for n in self.outputs}
        reach_out = set(outs)
        for o in outs:
            reach_out |= nx.ancestors(G, o)
        depth = {}
        for p in self.parameters:
            keep = (nx.descendants(G, p.id) | {p.id}) & reach_out
            depth[self._param_key(p)] = nx.dag_longest_path_length(G.subgraph(keep)) if keep else 0
        return depth

    def uses(self, param: GraphNode) -> list[GraphNode]:
        """The nodes that consume a parameter, directly or through a re-view (W_hh.T)."""
        G, nodes = self._G(), self.nodes
        own = {param.id} | {n.id for n in nodes if n.alias_of == param.id}
        return [nodes[c] for c in sorted({c for o in own for c in G.successors(o)} - own)]

    def fan_out(self) -> dict[str, int]:
        """For each parameter, how many time steps use it: the distinct steps of its consumers,
        followed through ops outside any step (a layer's input projection x W_ihᵀ, made once
        for all steps and sliced by each)."""
        return {self._param_key(p): len(self.steps_using(p)) for p in self.parameters}

    def steps_using(self, param: GraphNode) -> set[int]:
        """The time steps that use ``param``, directly or through step-less ops."""
        G, nodes = self._G(), self.nodes
        steps: set[int] = set()
        seen: set[int] = set()
        work = [c.id for c in self.uses(param)]
        while work:
            c = work.pop()
            if c in seen:
                continue
            seen.add(c)
            if nodes[c].step is not None:
                steps.add(nodes[c].step)
            elif nodes[c].kind == "op":  # outside steps: whatever it feeds uses param too
                work.extend(G.successors(c))
        return steps

    def lanes(self) -> list[tuple[str, ...]]:
        """The scope paths that hold time steps (one per layer/direction), in creation order."""
        found = {}
        for n in self.nodes:
            if n.step is not None:
                found.setdefault(n.lane, None)
        return list(found)

    def step_grad_norms(self, name: str = "h_t", lane: tuple[str, ...] | str | None = None
                        ) -> dict[int, float]:
        """‖∂L/∂h_t‖ for each time step t: the gradient norm of the node called ``name`` in
        each step (by default ``h_t``; with no such node, the last node of each step that the
        next step consumes). Needs gradients: a recorder passed to :func:`graph`, or
        ``retain_grad()`` on the states."""
        if isinstance(lane, str):
            lane = tuple(lane.split("/")) if lane else ()
        candidates = [n for n in self.named(name) if n.step is not None] or self._carried()
        lanes = list(dict.fromkeys(n.lane for n in candidates))
        if lane is None:
            if len(lanes) > 1:
                raise ValueError(f"step_grad_norms: several lanes have {name!r}; pick one with "
                                 f"lane=: {['/'.join(x) for x in lanes]}")
            lane = lanes[0] if lanes else ()
        norms = {}
        for n in candidates:
            if n.lane == lane and n.grad is not None:
                norms[n.step] = n.grad.norm  # the last per step wins (creation order)
        if not norms:
            raise ValueError("step_grad_norms: no gradients recorded; capture with "
                             "graph(loss, messages=recorder) after backward inside record_messages()")
        return dict(sorted(norms.items()))

    def _carried(self) -> list[GraphNode]:
        """Nodes whose value the next time step of the same lane consumes (the hidden state)."""
        nodes, carried = self.nodes, {}
        for e in self.edges:
            s, d = nodes[e.src], nodes[e.dst]
            if s.step is not None and d.step is not None and d.lane == s.lane and d.step > s.step:
                carried[s.id] = s
        return [carried[k] for k in sorted(carried)]

    # ---- drawing (see render.py) -------------------------------------------------------------
    def to_dot(self, view: str = "auto", **options) -> str:
        """The graphviz DOT text of a view ("block", "unrolled", "rolled", "collapsed" or "auto");
        deterministic: the same model and input give the same bytes. Options: see
        :func:`tinygrad_rnn.render.to_dot`."""
        return render.to_dot(self, view=view, **options)

    def render(self, path: str | Path, format: str = "svg", view: str = "auto",
               open: bool = False, **options) -> Path:
        """Write ``path`` (.dot always, then .svg/.png/.pdf through graphviz's ``dot``).

        A view too big for dot is refused, and dot is stopped after ``timeout=`` seconds (60
        by default), with :class:`~tinygrad_rnn.render.LayoutTooBig` saying what to draw
        instead (see :func:`tinygrad_rnn.render.render`)."""
        return render.render(self, path, format=format, view=view, open=open, **options)

    def source(self, view: str = "auto", **options):
        """A ``graphviz.Source`` of a view, for notebooks: ``g.source(view="rolled")`` shows it
        inline. Without graphviz's ``dot`` Jupyter shows how to install it instead."""
        return render.source(self, view=view, **options)

    def to_html(self, path: str | Path, **options) -> Path:
        """Write the explorer, one self-contained HTML file (see :mod:`tinygrad_rnn.explore`)."""
        return explore.Explorer(self, **options).save(path)

    def explorer(self, **options):
        """The explorer as an object Jupyter shows inline (``_repr_html_``)."""
        return explore.Explorer(self, **options)

    def _repr_svg_(self) -> str | None:
        return render.svg_or_none(self)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        if render.dot_program() is None:  # say so, rather than showing only the repr
            return render.missing_dot_bundle(repr(self))
        return {"text/plain": repr(self), "image/svg+xml": self._repr_svg_()}

"""The "block" view: one box per named quantity of a time step, as the notes draw the network.

Inside each step the named nodes (x_t, the gates, c_t, h_t, C(t), …) are the boxes; an
unnamed op is folded into the named node it feeds (the four slices and the sigmoid are the
gate; reshape → log_softmax → … → C(t) is the step's loss, one box). Unnamed ops that feed
several named ones (an LSTM's pre-activation x W_ihᵀ + h W_hhᵀ + b) are one box of their own.
The same quantity sits on the same row in every step, so the recurrence h_{t−1} → h_t is a
straight horizontal arrow; time runs left to right, the inputs at the bottom. A step is one
column (boxes fed by the same boxes, like an LSTM's gates, are stacked) and its state box
says "at t=k"; the elided steps of a long unroll are one ``⋯`` box on the state's row. Shared
parameters are drawn once, with one arrow per step (labelled with that step's contribution
in gradient mode) and their total on the box.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from tinygrad_rnn.capture import GraphNode
from tinygrad_rnn.views import (
    Arrow,
    Box,
    Drawing,
    _connect,
    _finish,
    _hidden_steps,
    _hypot,
    _input_homes,
    _kind,
    _shape,
    _skip_box,
    initial_states,
    node_label,
    node_tooltip,
    sci,
)

if TYPE_CHECKING:  # the Graph class sits above the drawings: annotations only
    from tinygrad_rnn.graph import Graph


def _cluster(n: GraphNode, homes: dict) -> tuple:
    where = homes.get(n.id, n)
    return where.scope if where.step is None else where.step_scope


def _name(n: GraphNode, homes: dict) -> str:
    """A node's label: its name; an unnamed input read inside a step is that step's x_t."""
    if n.name:
        return n.short_name
    return "x_t" if n.kind == "input" and n.id in homes else n.op


def _blocks(g: Graph, homes: dict) -> dict[int, tuple]:
    """node id → its block: ("n", id) of a named node, or ("ops", cluster, targets, after)."""
    consumers: dict = {}
    for e in g.edges:
        consumers.setdefault(e.src, []).append(e.dst)
    block: dict[int, tuple] = {}
    targets: dict[int, frozenset] = {}
    after: set[int] = set()  # computed from some step's result: not part of the input side
    for n in g.nodes:
        if n.step is not None or any(i in after for i in n.inputs):
            after.add(n.id)
    for n in reversed(g.nodes):  # consumers come after their inputs: walk back
        if n.alias_of is not None or n.kind == "parameter":
            continue
        if n.name or n.kind == "input" or n.is_output:
            block[n.id] = ("n", n.id)
            targets[n.id] = frozenset([n.id])
            continue
        home = _cluster(n, homes)
        found = frozenset().union(*[targets.get(c, frozenset()) for c in consumers.get(n.id, [])
                                    if _cluster(g.nodes[c], homes) == home])
        targets[n.id] = found
        block[n.id] = ("n", next(iter(found))) if len(found) == 1 else \
            ("ops", home, found, n.id in after)
    return block


def block(g: Graph, first_last: int | None = None, gradients: bool = False) -> Drawing:
    """The block view of ``g`` (see the module's docstring)."""
    hidden = _hidden_steps(g, first_last)
    homes = _input_homes(g)
    initial = initial_states(g)  # h_0 / c_0 for nn layers' zero states
    of = _blocks(g, homes)
    members: dict[tuple, list] = {}
    for n in g.nodes:
        if n.id in of:
            members.setdefault(of[n.id], []).append(n)
    boxes, key_of, skips, chains, rows, step_of = [], {}, {}, {}, {}, {}
    for n in g.nodes:
        if n.kind == "parameter":
            key_of[n.id] = f"n{n.id}"
            boxes.append(Box(f"n{n.id}", node_label(n, gradients), "parameter", (),
                             n.grad.norm if n.grad is not None else None, node_tooltip(n)))
    for b, ns in members.items():
        head = g.nodes[b[1]] if b[0] == "n" else ns[-1]  # the named node, or the last op
        where = homes.get(head.id, head)
        lane = where.lane
        if where.step in hidden:
            if lane not in skips:
                skips[lane] = _skip_box(lane, hidden)
                boxes.append(skips[lane])
                chains.setdefault(lane, {}).setdefault(min(hidden), [skips[lane].key])
            for n in ns:
                key_of[n.id] = skips[lane].key
            continue
        key = f"b{head.id}"
        for n in ns:
            key_of[n.id] = key
        ops = [n.op for n in ns if n.kind == "op"]
        if b[0] == "n":
            name = initial.get(head.id) or _name(head, homes)
            label = [name, _shape(head.shape)]
            if len(ops) > 1:
                label[1] += f" · {len(ops)} ops"
            elif ops and head.name:
                label[1] = f"{ops[0]} {label[1]}"
        else:
            label = [" + ".join(dict.fromkeys(ops)), _shape(head.shape)]
        if gradients and head.grad is not None:
            label.append(f"‖g‖={head.grad.norm:.2g}")
        tip = (label[0] + (f" at t={where.step}" if where.step is not None else "")
               + (f" in {'/'.join(lane)}" if lane else "")
               + f": {', '.join(ops) or head.kind}, {_shape(head.shape)}"
               + (f", ‖∂L/∂{label[0]}‖ = {sci(head.grad.norm)}" if head.grad is not None else ""))
        kind = "output" if head.is_output else "input" if head.kind == "input" else \
            "block" if where.step is not None else _kind(head) if len(ns) == 1 else "block"
        # a step is a column of its lane, not a cluster: dot keeps a row's order left to right
        # only inside one cluster, and with a cluster per step it shuffled the steps
        boxes.append(Box(key, "\n".join(label), kind, where.scope if where.step is None
                         else where.step_scope[:-1],
                         head.grad.norm if head.grad is not None else None, tip))
        if where.step is not None:
            chains.setdefault(lane, {}).setdefault(where.step, []).append(key)
            rows.setdefault((lane, re.sub(r"\(\d+\)", "(t)", label[0])), []).append(
                (where.step, key))
            step_of[key] = (lane, where.step)
    arrows: dict = {}
    for e in g.edges:
        src, dst = g.nodes[e.src], g.nodes[e.dst]
        a = key_of[src.alias_of] if src.alias_of is not None else key_of.get(e.src)
        b = key_of.get(e.dst)
        if a is None or b is None or a == b:
            continue
        s = homes.get(src.id, src)
        kind = "param" if src.kind == "parameter" or src.alias_of is not None else "data"
        if s.step is not None and dst.step is not None and s.step != dst.step:
            kind = "recurrent" if s.lane == dst.lane else "carry"
        if kind == "param" and not a.startswith("skip_") and not b.startswith("skip_"):
            key = (a, b, kind)
            old = arrows.get(key)
            arrows[key] = [Arrow(a, b, kind, _hypot([old[0].grad if old else None, e.grad_norm])),
                           {dst.step}]
        else:
            _connect(arrows, a, b, kind, e.grad_norm, dst.step)
    out = _finish(arrows, gradients)
    for arrow in out:
        if arrow.kind == "recurrent":
            arrow.label = None
    stacks = _stacks(out, step_of)
    handed = {a.src for a in out if a.kind == "recurrent"}
    state_rows = {k for k, v in rows.items() if any(key in handed for _, key in v)}
    by_key = {b.key: b for b in boxes}
    for lane in sorted({k[0] for k in rows}):  # each column's step: "at t=k" on its state
        for step, key in rows[_fullest(rows, lane, state_rows)]:
            by_key[key].label += f"\nat t={step}"
    same = _rows(rows, skips, hidden, state_rows)
    # the rows hold the steps in time order; render's invisible time axis is for lanes
    # without a row (its ticks sit on the bottom rank, where the parameters push them apart)
    in_rows = {step_of[k][0] for keys in same for k in keys if k in step_of}
    return Drawing(boxes, out, "block", chains=[[c[k] for k in sorted(c)] for lane, c in
                                                chains.items() if lane not in in_rows],
                   same_rank=same, stacks=stacks)


def _rows(rows: dict, skips: dict, hidden: set, state_rows: set) -> list[list[str]]:
    """The rows (h_1 … h_T, in time order; render keeps each row's order left to right). A
    lane's ``⋯`` box goes into the row of its state (h_t), between the last step before the elided ones
    and the first after them: without that nothing holds it there, and dot used to put it
    wherever its arrows pulled (e.g. between t=2 and t=3)."""
    ordered = {k: [key for _, key in sorted(v)] for k, v in rows.items()}
    for lane, skip in skips.items():
        mine = [k for k in rows if k[0] == lane]
        if not mine:
            continue
        fullest = _fullest(rows, lane, state_rows)
        before = [key for step, key in sorted(rows[fullest]) if step < min(hidden)]
        after = [key for step, key in sorted(rows[fullest]) if step > max(hidden)]
        ordered[fullest] = before + [skip.key] + after
    return [keys for keys in ordered.values() if len(keys) > 1]


def _fullest(rows: dict, lane: tuple, state_rows: set) -> tuple:
    """The row of ``lane`` that stands for its steps: of the rows with the most steps, the
    last state handed to the next step (h_t rather than c_t), else the last of them."""
    mine = [k for k in rows if k[0] == lane]
    most = max(len(rows[k]) for k in mine)
    full = [k for k in mine if len(rows[k]) == most]
    return ([k for k in full if k in state_rows] or full)[-1]


def _stacks(arrows: list, step_of: dict, least: int = 3) -> list[list[str]]:
    """Boxes of one step fed by the same boxes of that step (an LSTM's four gates, all read
    from the pre-activation): drawn one above the other, so a step is one column wide."""
    sources: dict = {}
    for a in arrows:
        # a source outside every step (a layer's x W_ihᵀ + b computed for all steps at once)
        # counts too: a clockwork RNN's modules of one step all read it, and stack
        if a.kind == "data" and a.dst in step_of and step_of.get(a.src, step_of[a.dst]) == step_of[a.dst]:
            sources.setdefault(a.dst, set()).add(a.src)
    groups: dict = {}
    for key, found in sources.items():
        groups.setdefault((step_of[key], frozenset(found)), []).append(key)
    return [keys for keys in groups.values() if len(keys) >= least]


def block_heads(g: Graph) -> tuple[dict[int, int], dict[int, str]]:
    """(node id → the id standing for its block, head id → the block's label): the block view's
    grouping, for the explorer."""
    homes = _input_homes(g)
    of = _blocks(g, homes)
    initial = initial_states(g)
    members: dict[tuple, list] = {}
    for n in g.nodes:
        if n.id in of:
            members.setdefault(of[n.id], []).append(n)
    head_of, labels = {}, {}
    for b, ns in members.items():
        head = g.nodes[b[1]] if b[0] == "n" else ns[-1]
        for n in ns:
            head_of[n.id] = head.id
        ops = [n.op for n in ns if n.kind == "op"]
        labels[head.id] = (initial.get(head.id) or _name(head, homes)
                           if b[0] == "n" else " + ".join(dict.fromkeys(ops)))
    return head_of, labels

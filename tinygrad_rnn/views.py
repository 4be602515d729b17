"""The three pictures of a captured Graph, as boxes and arrows (render.py turns them into DOT).

* ``unrolled``: every node; one cluster per time step inside clusters for the layer/direction
  scopes; parameters once, outside the clusters, with an arrow to every step that uses them.
* ``rolled``: the time steps folded into one cell; the state a step hands to the next is
  drawn as a ``t−1 → t`` arrow (the dynamical-system picture of the notes).
* ``collapsed``: one box per time step (or per scope), so a 100-step graph stays readable.
* ``block`` (the default when steps have named quantities) is in :mod:`tinygrad_rnn.blocks`.

``first_last=k`` keeps the first k and the last k steps and puts one ``⋯`` box per lane in
place of the others. Every walk here is a loop over node and edge lists: no recursion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tinygrad_rnn.capture import GraphNode

if TYPE_CHECKING:  # the Graph class sits above the drawings: annotations only
    from tinygrad_rnn.graph import Graph


@dataclass
class Box:
    key: str                   # the DOT node id
    label: str                 # lines joined by "\n"
    kind: str                  # parameter | input | op | output | cell | skip
    cluster: tuple = ()        # scope path of the clusters it sits in
    grad: float | None = None  # gradient norm shown by colour in gradient mode
    tooltip: str | None = None  # hover text: what the box is, never its DOT id


@dataclass
class Arrow:
    src: str
    dst: str
    kind: str = "data"         # data | param | recurrent | carry (state handed to the next step)
    grad: float | None = None  # message norm: pen width and colour in gradient mode
    label: str | None = None
    lhead: tuple | None = None  # ends at this cluster's border (one arrow for a whole lane)
    ltail: tuple | None = None  # starts at this cluster's border


@dataclass
class Drawing:
    boxes: list
    arrows: list
    title: str
    rankdir: str = "BT"        # BT: each step reads bottom (x_t) to top; steps left to right
    chains: list = field(default_factory=list)  # per lane, per step its boxes: kept in time order
    same_rank: list = field(default_factory=list)  # rows of boxes, left to right (h_1 … h_T)
    stacks: list = field(default_factory=list)  # boxes drawn one above the other (a step's gates)


def _shape(shape: tuple) -> str:
    return "×".join(str(d) for d in shape) if shape else "scalar"


def _hypot(values) -> float | None:
    values = [v for v in values if v is not None]
    return math.sqrt(sum(v * v for v in values)) if values else None


def node_label(n: GraphNode, gradients: bool) -> str:
    """Scope-free label: the notes' symbol or name, the op, the shape (and ‖grad‖)."""
    lines = []
    if n.kind == "op":
        head = n.op
        if n.consts:
            head += " " + ", ".join(f"{v:g}" for _, v in n.consts)
        lines = [n.short_name, head] if n.name else [head]
    else:
        lines = [n.short_name if n.name else n.kind]
    lines.append(_shape(n.shape))
    if gradients and n.grad is not None:
        lines.append(("Σ " if n.kind == "parameter" else "") + f"‖g‖={n.grad.norm:.2g}")
    return "\n".join(lines)


def sci(v: float) -> str:
    """2.1e-4 rather than 0.00021 or 2.1e-04: short, and comparable across decades."""
    mantissa, exponent = f"{v:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def node_tooltip(n: GraphNode) -> str:
    """``h_t at t=3 in lstm/l0/fwd: mul, 2×4, ‖∂L/∂h_t‖ = 2.1e-4``: the node, named."""
    name = n.short_name if n.name else (n.op if n.kind == "op" else n.kind)
    where = f" at t={n.step}" if n.step is not None else ""
    lane = "/".join(n.lane)
    text = name + where + (f" in {lane}" if lane else "") + ": "
    text += (n.op + ", " if n.kind == "op" and n.name else "") + _shape(n.shape)
    if n.grad is not None:
        text += f", ‖∂L/∂{name}‖ = {sci(n.grad.norm)}"
    return text


def _kind(n: GraphNode) -> str:
    return "output" if n.is_output else n.kind


def _hidden_steps(g: Graph, first_last: int | None) -> set:
    steps = g.steps
    if first_last is not None and (not isinstance(first_last, int) or first_last < 1):
        raise ValueError(f"first_last must be a positive number of steps, got {first_last!r}")
    if first_last is None or len(steps) <= 2 * first_last + 1:
        return set()
    return set(steps[first_last:len(steps) - first_last])


def _input_homes(g: Graph) -> dict:
    """An input used only inside one time step is drawn in that step: id → the consumer."""
    consumers: dict = {}
    for e in g.edges:
        if g.nodes[e.src].kind == "input":
            consumers.setdefault(e.src, []).append(g.nodes[e.dst])
    homes = {}
    for src, cs in consumers.items():
        if len({c.step_scope for c in cs}) == 1 and cs[0].step is not None:
            homes[src] = cs[0]
    return homes


def _skip_box(lane: tuple, hidden: set) -> Box:
    lo, hi = min(hidden), max(hidden)
    return Box("skip_" + "_".join(lane), f"⋯ {len(hidden)} steps ⋯\nt={lo}..{hi}", "skip", lane)


def _connect(arrows: dict, src_key: str, dst_key: str, kind: str, grad, step) -> None:
    """Add (or merge into) the arrow src → dst, noting the time step it stands for."""
    if src_key == dst_key:
        return
    a = arrows.get((src_key, dst_key, kind))
    if a is None:
        arrows[(src_key, dst_key, kind)] = [Arrow(src_key, dst_key, kind, grad), {step}]
    else:
        a[0].grad = _hypot([a[0].grad, grad])
        a[1].add(step)


def unrolled(g: Graph, first_last: int | None = None, gradients: bool = False) -> Drawing:
    """Every node, time steps as clusters, parameters once outside them."""
    hidden = _hidden_steps(g, first_last)
    homes = _input_homes(g)
    boxes, key_of, skips, chains = [], {}, {}, {}
    for n in g.nodes:
        if n.alias_of is not None:  # W_hh.T: drawn as W_hh itself
            key_of[n.id] = f"n{n.alias_of}"
            continue
        where = homes.get(n.id, n)
        lane = where.lane
        if where.step in hidden:
            if lane not in skips:
                skips[lane] = _skip_box(lane, hidden)
                boxes.append(skips[lane])
                chains.setdefault(lane, {}).setdefault(min(hidden), [skips[lane].key])
            key_of[n.id] = skips[lane].key
            continue
        if where.step is not None:
            chains.setdefault(lane, {}).setdefault(where.step, []).append(f"n{n.id}")
        key_of[n.id] = f"n{n.id}"
        boxes.append(Box(f"n{n.id}", node_label(n, gradients), _kind(n), where.scope,
                         n.grad.norm if n.grad is not None else None, node_tooltip(n)))
    arrows: dict = {}
    for e in g.edges:
        src, dst = g.nodes[e.src], g.nodes[e.dst]
        kind = "param" if src.kind == "parameter" or src.alias_of is not None else "data"
        if src.step is not None and dst.step is not None and src.step != dst.step:
            kind = "carry"  # drawn without pulling the next step upwards: steps stay side by side
        a, b = key_of[e.src], key_of[e.dst]
        if a.startswith("skip_") or b.startswith("skip_"):
            _connect(arrows, a, b, kind, e.grad_norm, dst.step)
        elif a != b:  # every edge of a shown node is drawn, duplicates included (x * x: two)
            arrows[(a, b, kind, e.index)] = [Arrow(a, b, kind, e.grad_norm), {dst.step}]
    return Drawing(boxes, _finish(arrows, gradients), "unrolled",
                   chains=[[c[k] for k in sorted(c)] for c in chains.values()])


def _finish(arrows: dict, gradients: bool) -> list:
    """Label parameter arrows with the message norm (gradient mode) or the number of steps."""
    out = []
    for arrow, steps in arrows.values():
        n = len(steps - {None})
        if arrow.kind == "param" and gradients and arrow.grad is not None:
            arrow.label = f"{arrow.grad:.2g}"
        elif n > 1:
            arrow.label = f"×{n}"
        out.append(arrow)
    return out


def rolled(g: Graph, gradients: bool = False) -> Drawing:
    """The recurrence folded: the k-th node of a kind in every step becomes one node."""
    homes = _input_homes(g)
    first_use = {}
    for e in g.edges:
        if e.src in homes:
            first_use.setdefault(e.src, (e.dst, e.index))
    role_of, boxes, roles, occurrences = {}, [], {}, {}

    def place(n: GraphNode, role, where: GraphNode, unnamed: str = "x_t") -> None:
        if role not in roles:
            roles[role] = f"r{len(roles)}"
            label = node_label(n, False).split("\n")
            if n.kind == "input" and not n.name:
                label[0] = unnamed
            within = where.scope[len(where.step_scope):]
            tip = " ".join(label) + (f" in {'/'.join(where.lane)}" if where.lane else "") + \
                ", one box for every time step"
            boxes.append(Box(roles[role], "\n".join(label), _kind(n), where.lane + ("t",) + within,
                             tooltip=tip))
        role_of[n.id] = roles[role]

    for n in g.nodes:
        if n.id in homes:
            continue
        if n.alias_of is not None:
            role_of[n.id] = f"n{n.alias_of}"
            continue
        if n.step is None or n.is_output:
            role_of[n.id] = f"n{n.id}"
            boxes.append(Box(f"n{n.id}", node_label(n, gradients), _kind(n), n.lane,
                             n.grad.norm if n.grad is not None else None, node_tooltip(n)))
            continue
        what = (n.lane, n.scope[len(n.step_scope):], n.op, n.name)
        k = occurrences.get((n.step_scope, what), 0)
        occurrences[(n.step_scope, what)] = k + 1
        place(n, (what, k), n)
    carried_into = {}  # (consumer's role, input slot) → a state an earlier step hands over
    for e in g.edges:
        src, dst = g.nodes[e.src], g.nodes[e.dst]
        if src.step is not None and dst.step is not None and src.lane == dst.lane \
                and src.step < dst.step and e.dst in role_of:
            carried_into.setdefault((role_of[e.dst], e.index), src)
    for i in homes:  # an input takes the role of its consumer's slot (x_t feeds U @ x_t)
        consumer, index = first_use[i]
        state = carried_into.get((role_of[consumer], index))
        # where later steps get a state from the step before, the input is the initial state
        unnamed = "x_t" if state is None else _initial_name(state)
        place(g.nodes[i], ("input", role_of[consumer], index), homes[i], unnamed)
    arrows: dict = {}
    for e in g.edges:
        src, dst = g.nodes[e.src], g.nodes[e.dst]
        s = homes.get(src.id, src)
        kind = "param" if src.kind == "parameter" or src.alias_of is not None else "data"
        if s.step is not None and dst.step is not None and s.lane == dst.lane and s.step < dst.step:
            kind = "recurrent"
        _connect(arrows, role_of[e.src], role_of[e.dst], kind, None, dst.step)
    out = _finish(arrows, False)
    for a in out:
        if a.kind == "recurrent":
            a.label = "t−1 → t"
        elif a.kind == "data" and a.src[0] == a.dst[0] == "r":
            a.label = None  # inside the cell every arrow stands for all steps
    return Drawing(boxes, out, "rolled", rankdir="LR")  # one cell: wider than tall, as a page


def _initial_name(state: GraphNode) -> str:
    """h_t → h_0, c_t → c_0: the name of the state a recurrence starts from."""
    name = state.short_name if state.name else ""
    return name[:-2] + "_0" if name.endswith("_t") else "initial state"


def initial_states(g: Graph) -> dict[int, str]:
    """Unnamed inputs that start a recurrence (nn.LSTM's zeros h_0, c_0), by the state the
    later steps hand over in the same slot: input id → "h_0" / "c_0"."""
    role, seen = {}, {}
    for n in g.nodes:
        if n.step is not None:
            what = (n.lane, n.scope[len(n.step_scope):], n.op, n.name)
            k = seen.get((n.step_scope, what), 0)
            seen[(n.step_scope, what)] = k + 1
            role[n.id] = (what, k)
    carried, starts = {}, {}
    for e in g.edges:
        src, dst = g.nodes[e.src], g.nodes[e.dst]
        if e.dst in role and src.step is not None and src.lane == dst.lane and src.step < dst.step:
            carried.setdefault((role[e.dst], e.index), src)
        elif src.kind == "input" and not src.name and e.dst in role:
            starts.setdefault(e.src, (role[e.dst], e.index))
    return {i: _initial_name(carried[slot]) for i, slot in starts.items() if slot in carried}


def collapsed(g: Graph, first_last: int | None = None, gradients: bool = False) -> Drawing:
    """One box per time step (per scope outside steps); parameters and outputs stay nodes."""
    hidden = _hidden_steps(g, first_last)
    homes = _input_homes(g)
    key_of, members, boxes, skips, step_cells = {}, {}, [], {}, set()
    for n in g.nodes:
        if n.alias_of is not None:
            key_of[n.id] = f"n{n.alias_of}"
            continue
        where = homes.get(n.id, n)
        if n.kind == "parameter" or n.is_output or not where.scope:
            key_of[n.id] = f"n{n.id}"
            boxes.append(Box(f"n{n.id}", node_label(n, gradients), _kind(n), (),
                             n.grad.norm if n.grad is not None else None, node_tooltip(n)))
            continue
        if where.step in hidden:
            if where.lane not in skips:
                skips[where.lane] = _skip_box(where.lane, hidden)
                boxes.append(skips[where.lane])
            key_of[n.id] = skips[where.lane].key
            continue
        home = where.step_scope
        key = "c_" + "_".join(home).replace("=", "")
        if where.step is not None:
            step_cells.add(key)
        if key not in members:
            members[key] = []
            boxes.append(Box(key, home[-1], "cell", where.lane if where.step is not None else home[:-1]))
        members[key].append(n)
        key_of[n.id] = key
    cell_grad: dict = {}
    for e in g.edges:  # a cell's gradient: what reaches the state it hands to a later step
        src, dst = g.nodes[e.src], g.nodes[e.dst]
        a, b = key_of[e.src], key_of[e.dst]
        if a in members and a != b and src.grad is not None:
            later = dst.step is not None and src.step is not None and dst.step > src.step
            cell_grad.setdefault(a, {})[src.id] = (later, src.grad.norm)
    for box in boxes:
        if box.key in members:
            ns = members[box.key]
            ops = sum(1 for n in ns if n.kind == "op")
            names = sorted({n.short_name for n in ns if n.name and n.kind == "op"})
            shown = [", ".join(names[i:i + 2]) for i in range(0, min(len(names), 4), 2)]
            box.label += f"\n{ops} ops" + "".join("\n" + line for line in shown)  # 2 a line
            found = cell_grad.get(box.key, {}).values()
            carried = [v for later, v in found if later] or [v for _, v in found]
            box.grad = _hypot(carried)
            if gradients and box.grad is not None:
                box.label += f"\n‖g‖={box.grad:.2g}"
    arrows: dict = {}
    for e in g.edges:
        src, dst = g.nodes[e.src], g.nodes[e.dst]
        kind = "param" if src.kind == "parameter" or src.alias_of is not None else "data"
        _connect(arrows, key_of[e.src], key_of[e.dst], kind, e.grad_norm, dst.step)
    lane_of = {b.key: b.cluster for b in boxes if b.key in step_cells and b.cluster}
    return Drawing(boxes, _fold_fans(_finish(arrows, gradients), lane_of), "collapsed",
                   rankdir="LR")


def _fold_fans(arrows: list, lane_of: dict, least: int = 3) -> list:
    """One arrow instead of many: a node feeding (or fed by) every step box of a lane gets a
    single arrow to (from) the lane's cluster, labelled with the number of steps."""
    fans: dict = {}
    for a in arrows:
        if a.dst in lane_of and lane_of.get(a.src) != lane_of[a.dst]:
            fans.setdefault(("in", a.src, a.kind, lane_of[a.dst]), []).append(a)
        elif a.src in lane_of and lane_of.get(a.dst) != lane_of[a.src]:
            fans.setdefault(("out", a.dst, a.kind, lane_of[a.src]), []).append(a)
    folded, out = set(), []
    for (way, _, _, lane), group in fans.items():
        if len(group) < least:
            continue
        folded.update(id(a) for a in group)
        first = group[0] if way == "in" else group[-1]
        out.append(Arrow(first.src, first.dst, first.kind, _hypot(a.grad for a in group),
                         f"×{len(group)} steps", lhead=lane if way == "in" else None,
                         ltail=lane if way == "out" else None))
    return [a for a in arrows if id(a) not in folded] + out

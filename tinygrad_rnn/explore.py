"""The explorer: a captured Graph as one self-contained, interactive HTML page.

``graph.to_html(path)`` writes it; ``graph.explorer()`` shows it inline in Jupyter. The page
needs no network at all (its script and style are inlined from ``explore.js`` and
``explore.css`` next to this module, and a Content-Security-Policy forbids any request). In it
one can switch between the block, unrolled, collapsed and rolled views, click a time step to expand
it into its ops (and again to fold it), hover a node for its op, shape, value and gradient
statistics and the VJP rule it applies, export the picture as SVG, and play backward back in
the order the engine ran it: each message arriving, ‖∂L/∂h_t‖ filling in from t = T down to
t = 1, and each shared weight's Σ_t ∂C/∂w_t growing step by step until it equals ``.grad``.

Gradients need the recorder: capture with ``graph(loss, messages=recorder)`` after
``loss.backward()`` inside ``with record_messages() as recorder:``.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING

from tinygrad_rnn.capture import GraphNode, Summary, norm
from tinygrad_rnn.views import _input_homes, initial_states

if TYPE_CHECKING:  # the Graph class sits above the drawings: annotations only
    from tinygrad_rnn.graph import Graph

# One line per op: the vector–Jacobian product it applies (g = ∂L/∂out; y = the output).
RULES = {
    "add": "∂x = g, ∂y = g (summed over broadcast axes)",
    "sub": "∂x = g, ∂y = −g",
    "mul": "∂x = g ⊙ y, ∂y = g ⊙ x",
    "div": "∂x = g / y, ∂y = −g x / y²",
    "neg": "∂x = −g",
    "pow": "∂x = g · p x^(p−1)",
    "maximum": "g goes to the larger input (split on ties)",
    "where": "g goes to x where cond, to y elsewhere",
    "exp": "∂x = g ⊙ y",
    "log": "∂x = g / x",
    "tanh": "∂x = g ⊙ (1 − y²)",
    "sigmoid": "∂x = g ⊙ y(1 − y)",
    "relu": "∂x = g ⊙ [x > 0]",
    "abs": "∂x = g ⊙ sign(x)",
    "sqrt": "∂x = g / (2y)",
    "clip": "∂x = g where lo ≤ x ≤ hi, else 0",
    "cast": "∂x = g cast back to x's dtype",
    "to_device": "∂x = g moved back to x's device",
    "matmul": "∂X = G Yᵀ, ∂Y = Xᵀ G",
    "sum": "∂x = g broadcast back to x's shape",
    "max": "g goes to the maximal entries (split on ties)",
    "softmax": "∂x = y ⊙ (g − Σ g ⊙ y)",
    "log_softmax": "∂x = g − softmax(x) Σ g",
    "reshape": "∂x = g reshaped back",
    "permute": "∂x = g permuted back (the inverse axes)",
    "expand": "∂x = g summed over the expanded axes",
    "getitem": "∂x = zeros with g scattered into x[index]",
    "embedding": "∂W = zeros with g added into the looked-up rows",
    "scatter_add": "∂x = g gathered at the index",
    "cat": "∂x_k = the slice of g that x_k filled",
    "stack": "∂x_k = g[k]",
    "lstm_gates": "gates_t = xw[t] + h_{t−1} W_hhᵀ: ∂xw[t] = G, ∂h_{t−1} = G W_hh, ∂W_hhᵀ = h_{t−1}ᵀ G",
    "lstm_cell_state": "c_t = f ⊙ c_{t−1} + i ⊙ g: ∂f = g c_{t−1}, ∂c_{t−1} = g f, ∂i = g ⊙ g̃, ∂g̃ = g ⊙ i",
    "lstm_cell_output": "h_t = o ⊙ tanh(c_t): ∂o = g tanh(c_t), ∂c_t = g o (1 − tanh² c_t)",
    "gru_cell": "h_t = (1 − z) n + z h_{t−1}: the GRU's gates, differentiated together",
    "parameter": "a leaf: .grad = Σ of the messages it receives (∂C/∂w = Σ_t ∂C/∂w_t)",
    "input": "a constant: no gradient",
}

_ASSETS = Path(__file__).resolve().parent
# no request of any kind may leave the page: scripts and styles are inline, images data:
_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "img-src data: blob:")


# errors and blocked requests are kept where the page's self-test (and a reader) can see them
_CATCH = ("window.__errors=[];addEventListener('error',e=>__errors.push('error: '+e.message));"
          "addEventListener('securitypolicyviolation',e=>__errors.push('blocked: '+e.blockedURI));"
          "{const f=console.error;console.error=(...a)=>{__errors.push(a.join(' '));f(...a)}}")


def _stats(s: Summary | None):
    return [s.norm, s.min, s.max] if s is not None else 0


def _shape(shape: tuple) -> str:
    return "×".join(str(d) for d in shape) if shape else "scalar"


def _name(n: GraphNode) -> str:
    return n.short_name if n.name else (n.op if n.kind == "op" else n.kind)


class Explorer:
    """The explorer page of a Graph: ``save(path)``, ``html()``; Jupyter shows it inline."""

    def __init__(self, graph: Graph, title: str | None = None):
        if not (hasattr(graph, "nodes") and hasattr(graph, "edges")):
            raise TypeError(f"Explorer takes a Graph (tinygrad_rnn.graph(loss, ...)), "
                            f"got {type(graph).__name__}")
        self.graph = graph
        self.title = title or repr(graph)

    # ---- the data the page draws -------------------------------------------------------------
    def data(self) -> dict:
        """Nodes, rows (one per layer/direction lane), time steps, the backward log and each
        parameter's running Σ, as plain JSON-able values."""
        g = self.graph
        lanes = g.lanes()
        lane_index = {lane: k for k, lane in enumerate(lanes)}
        homes = _input_homes(g)
        first_step_id = {}
        for n in g.nodes:
            if n.step is not None:
                first_step_id.setdefault(n.lane, n.id)
        after_steps: set[int] = set()   # step-less nodes computed from some step's result
        for n in g.nodes:
            if n.step is not None or any(i in after_steps for i in n.inputs):
                after_steps.add(n.id)
        from tinygrad_rnn.blocks import block_heads
        rep = {n.id: n.alias_of for n in g.nodes if n.alias_of is not None}
        initial = initial_states(g)
        head_of, block_labels = block_heads(g)
        placed: dict[int, tuple] = {}

        def place(n: GraphNode) -> tuple:
            """(row, cell, step): a lane's row and its step, or the cells before/after them."""
            where = g.nodes[homes[n.id].id] if n.id in homes else n
            if n.kind == "parameter":
                return -2, "param", None
            if where.step is not None:
                return lane_index[where.lane], f"t{where.step}", where.step
            row = lane_index.get(where.scope, -1)
            later = (where.id in after_steps if row == -1 else
                     where.id > first_step_id.get(where.scope, len(g.nodes)))
            return row, "post" if later else "pre", None

        for n in g.nodes:
            if n.kind != "input":
                placed[n.id] = place(n)
        users: dict[int, set] = {}
        for e in g.edges:
            if g.nodes[e.src].kind == "input":
                users.setdefault(e.src, set()).add(placed[e.dst])
        for n in g.nodes:  # an input used by one cell only is drawn in it (x by x W_ihᵀ)
            if n.kind == "input":
                found = users.get(n.id, set())
                placed[n.id] = next(iter(found)) if len(found) == 1 else place(n)
        nodes = []
        for n in g.nodes:
            if n.id in rep:
                continue  # W_hh.T is drawn as W_hh
            row, cell, step = placed[n.id]
            nodes.append([n.id, n.kind, n.op, initial.get(n.id) or _name(n), _shape(n.shape), row,
                          cell, step,
                          _stats(n.value), _stats(n.grad),
                          [rep.get(i, i) for i in n.inputs], int(n.is_output), head_of.get(n.id, n.id)])
        return dict(title=self.title, lanes=["/".join(lane) for lane in lanes], steps=g.steps,
                    nodes=nodes, states=self._states(lanes), rules=RULES, blocks=block_labels,
                    log=[[rep.get(c, c), rep.get(p, p), round(v, 12)] for c, _, p, v in g.backward_log],
                    params=self._params())

    def _states(self, lanes: list) -> list:
        """Per lane, {step: id of the state h_t the step hands on} (for ‖∂L/∂h_t‖)."""
        g, out = self.graph, []
        named = [n for n in g.named("h_t") if n.step is not None]
        for lane in lanes:
            found = {}
            for n in (named if any(n.lane == lane for n in named) else g._carried()):
                if n.lane == lane:
                    found[n.step] = n.id  # the last per step wins (creation order)
            out.append(found)
        return out

    def _params(self) -> list:
        """Each parameter's messages in backward order, summed as they arrive: [log position,
        step, ‖Σ so far‖, min, max], next to the statistics of its own ``.grad``."""
        g, out = self.graph, []
        for p in g.parameters:
            running, series = None, []
            for position, a in g.param_messages.get(p.id, []):
                running = a if running is None else running + a
                consumer = g.nodes[g.backward_log[position][0]]
                series.append([position, consumer.step, norm(running), float(running.min()),
                               float(running.max())])
            out.append(dict(id=p.id, name=_name(p), full=p.name, shape=_shape(p.shape),
                            grad=_stats(p.grad), series=series))
        return out

    # ---- the page ------------------------------------------------------------------------------
    def html(self) -> str:
        """The whole page: data, script and style inline; nothing is fetched."""
        script = (_ASSETS / "explore.js").read_text(encoding="utf-8")
        style = (_ASSETS / "explore.css").read_text(encoding="utf-8")
        payload = json.dumps(self.data(), ensure_ascii=False, separators=(",", ":"))
        payload = payload.replace("</", "<\\/")  # never ends the <script> early
        return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<title>{html.escape(self.title)}</title>
<script>{_CATCH}</script>
<style>{style}</style></head>
<body>
<div id="bar">
 <span class="views"><button data-view="block">block</button><button
  data-view="unrolled">unrolled</button><button
  data-view="collapsed">collapsed</button><button data-view="rolled">rolled</button></span>
 <button id="play">▶ play backward</button>
 <input id="slider" type="range" min="0" value="0" step="1">
 <span id="pos"></span>
 <button id="export">export SVG</button>
</div>
<div id="main"><div id="canvas"></div><div id="side"><div id="message"></div>
 <div id="params"></div><div id="states"></div></div></div>
<div id="tip"></div>
<pre id="selftest-result"></pre>
<script id="data" type="application/json">{payload}</script>
<script>{script}</script>
</body></html>
"""

    def save(self, path: str | Path) -> Path:
        """Write the page to ``path`` (".html" is added when it has no suffix)."""
        path = Path(path)
        if not path.suffix:
            path = path.with_suffix(".html")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.html(), encoding="utf-8")
        return path

    def _repr_html_(self) -> str:
        # an iframe keeps the page's script, ids and style away from the notebook's
        return (f'<iframe srcdoc="{html.escape(self.html(), quote=True)}" '
                f'style="width:100%;height:720px;border:1px solid #ccc"></iframe>')

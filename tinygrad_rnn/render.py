"""Graphviz drawing of a captured Graph: DOT text, gradient colours, and the ``dot`` program.

``to_dot(graph, view=...)`` writes a view of :mod:`tinygrad_rnn.views` as DOT, time flowing
left to right. In gradient mode every node and arrow is coloured by log10 ‖gradient‖ on one
scale (pale = vanishing, dark red = large), drawn as a legend; arrows get thicker with their
message's norm, and a shared parameter's arrows carry the norm of each step's contribution
while its box shows the total. The text is deterministic: ids are positions in the graph,
floats are rounded, and nothing depends on memory addresses or dict hashing of objects.
"""

from __future__ import annotations

import html
import math
import re
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from tinygrad_rnn import views
from tinygrad_rnn.errors import GraphvizNotFound, LayoutTooBig

if TYPE_CHECKING:  # the Graph class sits above the drawings: annotations only
    from tinygrad_rnn.graph import Graph

FORMATS = ("svg", "png", "pdf", "dot")
VIEWS = ("auto", "unrolled", "rolled", "collapsed", "block")
UNROLLED_MAX_STEPS = 40   # dot 2.43 gives up on ~100 step clusters ("trouble in init_rank")
COLLAPSED_MAX_STEPS = 200
BLOCK_MAX_STEPS = 8
# dot's time to lay out clusters grows with (boxes + arrows) × clusters ("layout work"). Measured
# with dot 2.43 on nn.LSTM graphs, unrolled (s = seconds to SVG; 2 shared cores):
#   1 layer, T=15/30: 22k/39k → 0.4/1.9 s; with gradients T=20/30/40: 19k/41k/70k → 3.0/5.5/11.4 s
#   2 layers, T=10/15: 21k/42k → 3.7/8.7 s; 2 bidirectional layers, T=10/15/20: 77k/163k/279k
#   → 15.5/38.7/> 150 s (stopped), i.e. up to 2.4e-4 s per unit and growing ~ work^2.5.
AUTO_WORK_LIMIT = 40_000     # view="auto" draws unrolled only up to here (≈ 10 s at worst)
DOT_WORK_LIMIT = 200_000     # render() refuses more than this up front (≳ 1 min of dot)
DOT_TIMEOUT_S = 60.0         # and stops dot after this long (render(..., timeout=None): no limit)

# ColorBrewer YlOrRd: pale yellow (tiny gradients) to dark red (large ones)
PALETTE = ("#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c",
           "#bd0026", "#800026")
_FILL = {"parameter": "#dbe9f6", "input": "#eeeeee", "op": "#ffffff", "output": "#fde0c5",
         "cell": "#f4f4f4", "skip": "#ffffff", "block": "#ffffff"}
_SHAPE = {"parameter": "box", "input": "box", "op": "ellipse", "output": "doubleoctagon",
          "cell": "box", "skip": "plaintext", "block": "box"}




def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class ColourScale:
    """log10 of a norm → a palette colour, over [lo, hi] decades."""

    def __init__(self, lo: float, hi: float):
        self.lo, self.hi = lo, max(hi, lo + 1)

    @classmethod
    def fit(cls, norms, grad_range: tuple[float, float] | None = None) -> ColourScale:
        if grad_range is not None:
            return cls(math.log10(grad_range[0]), math.log10(grad_range[1]))
        logs = [math.log10(v) for v in norms if v is not None and v > 0]
        if not logs:
            return cls(-1.0, 0.0)
        return cls(math.floor(min(logs)), math.ceil(max(logs)))

    def position(self, norm: float) -> float:
        x = (math.log10(norm) - self.lo) / (self.hi - self.lo)
        return min(1.0, max(0.0, x))

    def colour(self, norm: float | None) -> str | None:
        if norm is None or norm <= 0:
            return None
        return PALETTE[round(self.position(norm) * (len(PALETTE) - 1))]

    def light_text(self, norm: float) -> bool:
        """White text reads better than black on the darker half of the palette."""
        return self.position(norm) > 0.6

    def _legend_text(self, decade: int) -> str:
        text = f"1e{decade}"
        return f'<font color="white">{text}</font>' if self.light_text(10.0 ** decade) else text

    def legend(self) -> str:
        decades = list(range(int(self.lo), int(self.hi) + 1))
        step = max(1, math.ceil(len(decades) / 9))
        cells = "".join(f'<td bgcolor="{self.colour(10.0 ** d)}">{self._legend_text(d)}</td>'
                        for d in decades[::step])
        return (f'  legend [shape=plaintext, label=<<table border="0" cellborder="1" '
                f'cellspacing="0" cellpadding="4"><tr><td colspan="{len(decades[::step])}">'
                f'‖∂L/∂·‖ (log scale; grey: no gradient)</td></tr><tr>{cells}</tr></table>>];')


def _pick_view(graph: Graph, view: str, first_last: int | None) -> tuple[str, int | None]:
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, not {view!r}")
    n_steps = len(graph.steps)
    if view == "auto":
        if n_steps and any(n.name and n.kind == "op" and n.step is not None for n in graph.nodes):
            view = "block"  # named quantities in the steps: draw them as the notes do
        else:
            view = "unrolled" if n_steps <= UNROLLED_MAX_STEPS and len(graph) <= 3000 else "collapsed"
    if first_last is None:
        if view == "unrolled" and n_steps > UNROLLED_MAX_STEPS:
            first_last = 3
        elif view == "block" and n_steps > BLOCK_MAX_STEPS:
            first_last = 3  # first and last 3 steps: a 30-step picture still fits a slide
        elif view == "collapsed" and n_steps > COLLAPSED_MAX_STEPS:
            first_last = 10
    return view, first_last


def layout_work(drawing: views.Drawing) -> int:
    """(boxes + arrows) × clusters: what dot's layout time grows with (see DOT_WORK_LIMIT)."""
    clusters = {b.cluster[:d] for b in drawing.boxes for d in range(1, len(b.cluster) + 1)}
    return (len(drawing.boxes) + len(drawing.arrows)) * max(1, len(clusters))


def _drawing(graph: Graph, view: str, first_last: int | None, gradients: bool | None):
    """(drawing, gradients, view) for ``to_dot``; "auto" falls back to collapsed when the
    unrolled drawing would be slow to lay out."""
    asked = view
    view, steps_shown = _pick_view(graph, view, first_last)
    if gradients is None:
        gradients = graph.has_gradients and view != "rolled"
    if view in ("unrolled", "block"):
        if view == "block":
            from tinygrad_rnn.blocks import block
            drawing = block(graph, steps_shown, gradients)
        else:
            drawing = views.unrolled(graph, steps_shown, gradients)
        if asked != "auto" or layout_work(drawing) <= AUTO_WORK_LIMIT:
            return drawing, gradients, view
        view, steps_shown = _pick_view(graph, "collapsed", first_last)
    if view == "rolled":
        return views.rolled(graph, gradients), gradients, view
    return views.collapsed(graph, steps_shown, gradients), gradients, view


def to_dot(graph: Graph, view: str = "auto", first_last: int | None = None,
           gradients: bool | None = None, grad_range: tuple[float, float] | None = None,
           title: str | None = None) -> str:
    """DOT text for one view of ``graph``.

    ``view``: "block", "unrolled", "rolled", "collapsed", or "auto" (block when the steps have
    named quantities, first and last 3 steps past 8; otherwise unrolled up to 40 steps when dot
    can lay it out quickly, see AUTO_WORK_LIMIT; else collapsed). ``first_last=k`` draws only
    the first and last k steps (auto for long graphs). ``gradients``: colour by ‖grad‖
    (default: when the graph has gradients). ``grad_range=(lo, hi)`` fixes the colour scale,
    to compare two pictures.
    """
    return _dot_text(graph, view, first_last, gradients, grad_range, title)[0]


def _dot_text(graph: Graph, view: str = "auto", first_last: int | None = None,
              gradients: bool | None = None, grad_range: tuple[float, float] | None = None,
              title: str | None = None) -> tuple[str, int, str, views.Drawing]:
    """(DOT text, its layout work, the view drawn, the drawing)."""
    drawing, gradients, view = _drawing(graph, view, first_last, gradients)
    scale = None
    if gradients:
        scale = ColourScale.fit([b.grad for b in drawing.boxes] + [a.grad for a in drawing.arrows],
                                grad_range)
    return _write(drawing, scale, title), layout_work(drawing), view, drawing


def _box_line(box: views.Box, scale: ColourScale | None, indent: str) -> str:
    attrs = [f'label="{_escape(box.label)}"', f"shape={_SHAPE[box.kind]}"]
    fill = _FILL[box.kind]
    if scale is not None and box.kind != "skip":
        colour = scale.colour(box.grad)
        fill = colour or "#e0e0e0"
        if colour and scale.light_text(box.grad):
            attrs.append("fontcolor=white")
    if box.kind == "parameter":
        attrs.append('style="rounded,filled,bold"')
    elif box.kind == "block":
        attrs.append('style="rounded,filled"')
    elif box.kind != "skip":
        attrs.append('style="filled"')
    attrs.append(f'fillcolor="{fill}"')
    if box.tooltip:
        attrs.append(f'tooltip="{_escape(box.tooltip)}"')
    return f"{indent}{box.key} [{', '.join(attrs)}];"


def arrow_tooltip(a: views.Arrow, names: dict) -> str:
    """Hover text of an arrow: what it joins, and the message's norm when recorded."""
    text = f"{names.get(a.src, a.src)} → {names.get(a.dst, a.dst)}"
    return text + (f", ‖message‖ = {a.grad:.2g}" if a.grad is not None else "")


def _arrow_line(a: views.Arrow, scale: ColourScale | None, clusters: dict, names: dict,
                flat: frozenset = frozenset()) -> str:
    attrs = [f'tooltip="{_escape(arrow_tooltip(a, names))}"']
    # along a row (h_{t−1} → h_t in the block view) an arrow keeps its constraint: dot then
    # holds the row's order left to right (a constraint=false twin would cancel that)
    loose = [] if (a.src, a.dst) in flat else ["constraint=false"]
    if a.kind == "param":
        attrs += ['color="#4a78a8"', "arrowsize=0.6"]
    elif a.kind == "recurrent":
        attrs += ['color="#b03030"', "style=bold", *loose]
    elif a.kind == "carry":
        attrs += loose
    if scale is not None and a.grad is not None and a.grad > 0:
        p = scale.position(a.grad)
        attrs += [f'color="{scale.colour(a.grad)}"', f"penwidth={0.6 + 3.4 * p:.2f}"]
    if a.lhead is not None:
        attrs.append(f"lhead=cluster_{clusters[a.lhead]}")
    if a.ltail is not None:
        attrs.append(f"ltail=cluster_{clusters[a.ltail]}")
    if a.label:
        attrs.append(f'label="{_escape(a.label)}"')
        if a.kind == "param":
            attrs.append('fontcolor="#4a78a8"')
    return f"  {a.src} -> {a.dst}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";"


def _cluster_label(part: str) -> str:
    return "cell at time t" if part == "t" else part


def _cluster_ids(drawing: views.Drawing) -> dict:
    """Cluster path → its number in the DOT text (in the order the boxes first enter it)."""
    first_seen: dict = {}
    for box in drawing.boxes:
        for depth in range(1, len(box.cluster) + 1):
            first_seen.setdefault(box.cluster[:depth], len(first_seen))
    return first_seen


def _write(drawing: views.Drawing, scale: ColourScale | None, title: str | None) -> str:
    """Emit clusters by walking the boxes sorted by cluster path (a loop, not a recursion)."""
    label = f', label="{_escape(title)}"' if title else ""
    lines = ["digraph G {",
             f'  graph [rankdir={drawing.rankdir}, fontname="Helvetica", fontsize=12, nodesep=0.25, '
             f'ranksep=0.2, newrank=true, compound=true, labelloc=t{label}'
             # a second crossing minimisation across clusters ignores the rows' left-to-right
             # order (the block view's steps came out shuffled): the block view skips it
             + (", remincross=false" if drawing.title == "block" else "") + "];",
             '  node [fontname="Helvetica", fontsize=10, margin="0.06,0.03", height=0.3];',
             '  edge [fontname="Helvetica", fontsize=8, arrowsize=0.7, color="#555555"];']
    first_seen = _cluster_ids(drawing)
    order = sorted(drawing.boxes, key=lambda b: [first_seen[b.cluster[:d]]
                                                 for d in range(1, len(b.cluster) + 1)])
    open_path: tuple = ()
    for box in order:
        common = 0
        while (common < len(open_path) and common < len(box.cluster)
               and open_path[common] == box.cluster[common]):
            common += 1
        for depth in range(len(open_path), common, -1):
            lines.append("  " * depth + "}")
        for depth in range(common + 1, len(box.cluster) + 1):
            path = box.cluster[:depth]
            part = path[-1]
            lines.append("  " * depth + f"subgraph cluster_{first_seen[path]} {{")
            pad = "  " * (depth + 1)
            style = 'style="rounded,filled"; fillcolor="#f7f7f7"' if part.startswith("t=") \
                else 'style="rounded,dashed"; color="#888888"'
            lines.append(f'{pad}label="{_escape(_cluster_label(part))}"; {style};')
        open_path = box.cluster
        lines.append(_box_line(box, scale, "  " * (len(box.cluster) + 1)))
    for depth in range(len(open_path), 0, -1):
        lines.append("  " * depth + "}")
    sources = [b.key for b in drawing.boxes if b.kind == "parameter"]
    sinks = [b.key for b in drawing.boxes if b.kind == "output"]
    if sources:
        lines.append("  { rank=source; " + " ".join(sources) + "; }")
    if sinks:
        lines.append("  { rank=sink; " + " ".join(sinks) + "; }")
    # dot orders clusters as it likes; an invisible time axis below them (flat edges outside
    # clusters do keep their order) holds the steps left to right. The block view ties each
    # tick to one box of its step only: a tick pulled by every box of a step drifts away from
    # all of them, and the axis stretched the page to twice the picture's width
    one = drawing.title == "block"
    axis = []
    for i, chain in enumerate(drawing.chains):
        ticks = [f"tick{i}_{k}" for k in range(len(chain))]
        axis += ticks
        lines += [f"  {tick} [style=invis, shape=point, width=0.01];" for tick in ticks]
        lines += [f"  {a} -> {b} [style=invis];" for a, b in zip(ticks, ticks[1:])]
        lines += [f"  {tick} -> {box} [style=invis];" for tick, step in zip(ticks, chain)
                  for box in (step[:1] if one else step)]
    if axis:
        lines.append("  { rank=min; " + " ".join(axis) + "; }")
    lines += ["  { rank=same; " + " ".join(keys) + "; }" for keys in drawing.same_rank]
    # flat edges keep a row in time order (invisible where no arrow joins the two already);
    # invisible edges across ranks stack boxes one above the other
    flat = frozenset((a, b) for keys in drawing.same_rank for a, b in zip(keys, keys[1:]))
    drawn = {(a.src, a.dst) for a in drawing.arrows}
    lines += [f"  {a} -> {b} [style=invis];" for a, b in sorted(flat - drawn)]
    lines += [f"  {a} -> {b} [style=invis];" for keys in drawing.stacks
              for a, b in zip(keys, keys[1:])]
    names = {b.key: b.label.split("\n")[0] for b in drawing.boxes}
    lines += [_arrow_line(a, scale, first_seen, names, flat) for a in drawing.arrows]
    if scale is not None:
        lines.append(scale.legend())
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---- running dot ---------------------------------------------------------------------------

def dot_program() -> str | None:
    """The path of graphviz's ``dot``, or None when it is not installed."""
    return shutil.which("dot")


MISSING_DOT = ("graphviz's `dot` program is not installed, so the graph could not be drawn. "
               "Install graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install "
               "graphviz; conda: conda install graphviz), then show it again.")


def _missing(what: str) -> GraphvizNotFound:
    return GraphvizNotFound(
        f"{what}, but graphviz's `dot` program is not installed, so it could not be drawn. "
        f"Install graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install "
        f"graphviz; conda: conda install graphviz), then render it again.")


def missing_dot_bundle(plain: str) -> dict:
    """What a notebook shows in place of a picture when ``dot`` is missing: how to install it."""
    return {"text/plain": f"{plain}\n{MISSING_DOT}",
            "text/html": f"<pre>{html.escape(plain)}</pre><p style=\"color:#a00\"><b>Not drawn:"
                         f"</b> {html.escape(MISSING_DOT)}</p>"}


_TITLE = re.compile(r"<title>([^<]*)</title>")


def titled_svg(svg: str, drawing: views.Drawing) -> str:
    """dot writes each node's id (``<title>n12</title>``) as its hover text: put the node's
    description there instead, and ``W → matmul, ‖message‖ = …`` on arrows."""
    tips = {b.key: b.tooltip or b.label.replace("\n", " ") for b in drawing.boxes}
    names = {b.key: b.label.split("\n")[0] for b in drawing.boxes}
    for a in drawing.arrows:
        tips.setdefault(f"{a.src}->{a.dst}", arrow_tooltip(a, names))
    for path, k in _cluster_ids(drawing).items():
        tips[f"cluster_{k}"] = "/".join(path)

    def title(m: re.Match) -> str:
        key = html.unescape(m.group(1))
        return f"<title>{html.escape(tips[key], quote=False)}</title>" if key in tips else m.group(0)
    return _TITLE.sub(title, svg)


_HINT = ("Draw fewer boxes: view='collapsed' (one box per step), or the first and last k "
         "steps only with first_last=k (e.g. first_last=3).")


def _run_dot(args: list[str], what: str, stdin: bytes | None = None,
             timeout: float | None = DOT_TIMEOUT_S) -> bytes:
    exe = dot_program()
    if exe is None:
        raise _missing(what)
    try:
        done = subprocess.run([exe, *args], input=stdin, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:  # subprocess.run has killed dot already
        raise LayoutTooBig(f"dot was stopped after {timeout:g} s without finishing the layout "
                           f"({what}): the view is too big for it (the limit is render(..., "
                           f"timeout=seconds); None waits as long as it takes). {_HINT}") from None
    if done.returncode != 0:
        err = done.stderr.decode(errors="replace").strip()
        hint = f" Long unrolled graphs are too much for dot's cluster layout. {_HINT}" \
            if "init_rank" in err else ""
        raise RuntimeError(f"dot failed on {what}: {err}{hint}")
    return done.stdout


def _check_size(work: int, view: str, what: str) -> None:
    if work > DOT_WORK_LIMIT:
        raise LayoutTooBig(f"the {view} view of this graph is too big for dot to lay out in "
                           f"reasonable time: (boxes + arrows) × clusters = {work:,} > "
                           f"{DOT_WORK_LIMIT:,} (render.DOT_WORK_LIMIT; dot would take minutes), "
                           f"so it was not drawn ({what}). {_HINT}")


def render(graph: Graph, path: str | Path, format: str = "svg", view: str = "auto",
           open: bool = False, timeout: float | None = DOT_TIMEOUT_S, **options) -> Path:
    """Write the DOT file next to ``path`` and, unless ``format="dot"``, draw it with ``dot``.

    Returns the path of the file drawn. Without ``dot`` the .dot file is still written and
    :class:`GraphvizNotFound` says how to install graphviz. ``open=True`` shows the result.
    A view too big for dot (see DOT_WORK_LIMIT) is refused before dot starts, and dot is
    stopped after ``timeout`` seconds (DOT_TIMEOUT_S = 60; None: no limit); both raise
    :class:`LayoutTooBig` saying to use ``view="collapsed"`` or ``first_last=k``.
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, not {format!r}")
    path = Path(path)
    base = path.with_suffix("") if path.suffix.lstrip(".") in FORMATS else path
    dot_path = base.parent / (base.name + ".dot")
    dot_path.parent.mkdir(parents=True, exist_ok=True)
    text, work, drawn, drawing = _dot_text(graph, view=view, **options)
    dot_path.write_text(text, encoding="utf-8")
    if format == "dot":
        return dot_path
    _check_size(work, drawn, f"{dot_path} was written")
    out = base.parent / (base.name + "." + format)
    _run_dot([f"-T{format}", str(dot_path), "-o", str(out)], f"{dot_path} was written",
             timeout=timeout)
    if format == "svg":
        out.write_text(titled_svg(out.read_text(encoding="utf-8"), drawing), encoding="utf-8")
    if open:
        import graphviz  # its viewer knows each platform's "open this file"
        graphviz.view(str(out))
    return out


def svg_or_none(graph: Graph, timeout: float | None = DOT_TIMEOUT_S, **options) -> str | None:
    """SVG text of the default view (for notebooks), or None when ``dot`` is missing."""
    if dot_program() is None:
        return None
    text, work, drawn, drawing = _dot_text(graph, **options)
    _check_size(work, drawn, "nothing was written")
    return titled_svg(_run_dot(["-Tsvg"], "the graph", text.encode(), timeout=timeout).decode(),
                      drawing)


def source(graph: Graph, view: str = "auto", **options):
    """A ``graphviz.Source`` of one view (notebooks show it inline); without ``dot`` it shows
    how to install graphviz instead of failing or printing bare DOT text."""
    import graphviz

    class Source(graphviz.Source):
        def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
            if dot_program() is None:
                return missing_dot_bundle(f"<graphviz.Source of the {view} view>")
            return super()._repr_mimebundle_(include, exclude, **kwargs)

    return Source(to_dot(graph, view=view, **options))

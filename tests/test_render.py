"""Drawing a Graph: deterministic DOT for each view, gradient colouring, rendering through
graphviz's `dot` when it is installed, and a clear error (with the .dot written) when not."""

import re
import shlex
import shutil
import subprocess

import pytest
from test_graph import captured, vanilla_rnn

import tinygrad_rnn as tg
from tinygrad_rnn import render

HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="graphviz's `dot` is not installed "
                                                   "(apt-get install graphviz) so nothing is drawn")


def step_clusters(dot: str) -> list[str]:
    return re.findall(r'label="(t=\d+)"; style="rounded,filled"', dot)


def step_columns(dot: str) -> list[str]:
    """The steps of the block view's columns: "at t=k" on each step's state (h_t)."""
    return re.findall(r'^\s+b\d+ \[label="[^"]*\\nat (t=\d+)"', dot, re.M)


@pytest.mark.parametrize("view", ["unrolled", "rolled", "collapsed"])
def test_same_model_and_input_give_identical_dot(view):
    first = captured(4)[0].to_dot(view=view)
    second = captured(4)[0].to_dot(view=view)
    assert first == second
    assert tg.graph(vanilla_rnn(4)[0]).to_dot(view=view) == tg.graph(vanilla_rnn(4)[0]).to_dot(view=view)


def test_unrolled_draws_one_cluster_per_step_and_parameters_outside_them():
    g = captured(4)[0]
    dot = g.to_dot(view="unrolled")
    assert step_clusters(dot) == ["t=1", "t=2", "t=3", "t=4"]
    for p in g.parameters:  # at depth 1: outside every cluster, drawn once
        assert len(re.findall(rf"^  n{p.id} \[", dot, re.M)) == 1
        assert len(re.findall(rf"^  n{p.id} -> ", dot, re.M)) == 4  # one arrow per step


def test_first_and_last_steps_only():
    dot = captured(12)[0].to_dot(view="unrolled", first_last=2)
    assert step_clusters(dot) == ["t=1", "t=2", "t=11", "t=12"]
    assert "⋯ 8 steps ⋯\\nt=3..10" in dot


def _unnamed(g):
    for n in g.nodes:  # the captured nodes are copies: nothing recorded changes
        n.name = None
    return g


def test_long_graphs_default_to_a_view_dot_can_lay_out():
    g = captured(60)[0]
    assert g.to_dot() == g.to_dot(view="block")  # auto: the named quantities, first/last 3 steps
    assert step_columns(g.to_dot()) == ["t=1", "t=2", "t=3", "t=58", "t=59", "t=60"]
    g = _unnamed(g)   # nothing to draw as blocks: one box per step
    assert g.to_dot() == g.to_dot(view="collapsed")
    assert len(re.findall(r'label="t=\d+\\n', g.to_dot())) == 60
    assert len(step_clusters(g.to_dot(view="unrolled"))) == 6  # first and last 3 steps


def test_rolled_view_folds_the_recurrence_into_one_cell():
    dot = captured(5)[0].to_dot(view="rolled")
    assert 'label="cell at time t"' in dot and not step_clusters(dot)
    assert dot.count('label="t−1 → t"') == 1  # h_{t-1} → W_hh @ h
    assert len(re.findall(r'label="[^"]*tanh', dot)) == 1


def test_gradient_mode_colours_by_log_norm_with_a_legend():
    g = captured(4)[0]
    dot = g.to_dot(view="unrolled")
    assert "legend [" in dot and "penwidth=" in dot and "fillcolor=\"#ffffff\"" not in dot
    forward = tg.graph(vanilla_rnn(4)[0]).to_dot(view="unrolled")
    assert "legend" not in forward and "penwidth" not in forward
    w = g.parameter("W_hh")
    norms = [float(x) for x in re.findall(rf'^  n{w.id} -> \S+ \[.*label="([^"]+)"', dot, re.M)]
    assert len(norms) == 4  # each step's contribution next to the arrow
    assert f"Σ ‖g‖={w.grad.norm:.2g}" in dot  # and the total on the parameter


def test_a_fixed_colour_range_makes_two_pictures_comparable():
    g = captured(4)[0]
    dot = g.to_dot(view="collapsed", grad_range=(1e-8, 1e2))
    assert ">1e-8<" in dot and ">1e2<" in dot


def test_vanishing_gradient_shows_as_paler_early_steps():
    g = captured(12, per_step_loss=False)[0]
    norms = g.step_grad_norms()
    scale = render.ColourScale.fit(norms.values())
    assert norms[1] < norms[12] / 100
    assert render.PALETTE.index(scale.colour(norms[1])) < render.PALETTE.index(scale.colour(norms[12]))


@needs_dot
@pytest.mark.parametrize("fmt", ["svg", "png", "pdf"])
def test_render_through_dot(tmp_path, fmt):
    out = captured(3)[0].render(tmp_path / f"rnn.{fmt}", format=fmt)
    assert out == tmp_path / f"rnn.{fmt}" and out.stat().st_size > 1000
    assert (tmp_path / "rnn.dot").exists()
    if fmt == "svg":
        assert "<svg" in out.read_text()


@needs_dot
def test_notebooks_show_the_graph_inline():
    g = captured(3)[0]
    assert "<svg" in g._repr_svg_()
    assert set(g._repr_mimebundle_()) == {"text/plain", "image/svg+xml"}


def test_without_dot_the_dot_file_is_written_and_the_error_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert render.dot_program() is None
    g = captured(3)[0]
    with pytest.raises(render.GraphvizNotFound, match=r"apt-get install graphviz"):
        g.render(tmp_path / "rnn", format="svg")
    assert (tmp_path / "rnn.dot").read_text().startswith("digraph")
    assert g.render(tmp_path / "only", format="dot") == tmp_path / "only.dot"
    assert g._repr_svg_() is None
    bundle = g._repr_mimebundle_()  # Jupyter shows how to install it, not just the repr
    assert "apt-get install graphviz" in bundle["text/plain"]
    assert "apt-get install graphviz" in bundle["text/html"] and "&lt;Graph" in bundle["text/html"]
    source = g.source(view="rolled")
    assert source.source == g.to_dot(view="rolled")
    assert "apt-get install graphviz" in source._repr_mimebundle_()["text/html"]


def test_unknown_view_or_format_is_refused():
    g = captured(2)[0]
    with pytest.raises(ValueError, match="view must be one of"):
        g.to_dot(view="sideways")
    with pytest.raises(ValueError, match="format must be one of"):
        g.render("x", format="gif")


def test_gallery_tanh_rnn_gradient_vanishes_where_the_lstm_one_does_not():
    from tinygrad_rnn.gallery import tanh_vs_lstm
    g = tanh_vs_lstm(T=30)
    rnn = g.step_grad_norms(lane="rnn/l0/fwd")
    lstm = g.step_grad_norms(lane="lstm/l0/fwd")
    assert rnn[1] / rnn[30] < 1e-4 < lstm[1] / lstm[30]
    assert g.to_dot(view="collapsed") == tanh_vs_lstm(T=30).to_dot(view="collapsed")


def test_gallery_clockwork_slow_modules_skip_steps_and_scrn_context_keeps_its_gradient():
    from tinygrad_rnn.blocks import block
    from tinygrad_rnn.gallery import clockwork, scrn, state_grad_norm
    g = clockwork(T=8, periods=(1, 2, 4))
    steps = {k: sorted(n.step for n in g.nodes if n.name == f"module{k} T={T}")
             for k, T in enumerate((1, 2, 4))}
    assert steps == {0: list(range(1, 9)), 1: [1, 3, 5, 7], 2: [1, 5]}
    drawing = block(g, None, True)
    label = {b.key: b.label.split("\n")[0] for b in drawing.boxes}
    slow = [(a.src, a.dst) for a in drawing.arrows if a.kind == "recurrent"
            and label[a.src] == label[a.dst] == "module2 T=4"]
    assert len(slow) == 1, "module2 (T=4): one arrow from its state at t=1 to its update at t=5"
    stacked = [sorted(label[k] for k in stack) for stack in drawing.stacks]
    assert stacked.count(["module0 T=1", "module1 T=2", "module2 T=4"]) == 2  # t=1, t=5: one row each
    context = scrn(T=6)
    assert state_grad_norm(context, "s_t", 1) > 100 * state_grad_norm(context, "h_t", 1)


def test_committed_gallery_matches_the_code(monkeypatch):
    """graphs/*.dot are what `make graphs` writes today (regenerate them when this fails)."""
    monkeypatch.setenv("TINYGRAD_RNN_DEVICE", "cpu")  # drawn from the CPU's random stream
    from pathlib import Path

    from tinygrad_rnn.gallery import entries
    folder = Path(__file__).resolve().parents[1] / "graphs"
    for name, g, options in entries():
        committed = (folder / f"{name}.dot").read_text(encoding="utf-8")
        assert g.to_dot(**options) == committed, f"graphs/{name}.dot is stale: run make graphs"
    from tinygrad_rnn.gallery import explorer

    def rounded(page: str) -> str:  # float32 sums may differ in the last digits across BLAS builds
        return re.sub(r"-?\d+\.\d+(?:e-?\d+)?", lambda m: f"{float(m.group()):.4g}", page)
    page = (folder / "explorer.html").read_text(encoding="utf-8")
    assert rounded(explorer().html()) == rounded(page), "graphs/explorer.html is stale: run make graphs"
    assert (folder / "explorer.png").exists()  # its screenshot (a picture: looked at, not compared)


def _png_size(path) -> tuple[int, int]:
    """(width, height) from a PNG's header: the IHDR chunk right after the 8-byte signature."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", f"{path} is not a PNG"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def test_committed_gallery_pictures_fit_a_1080p_screen_with_a_caption_and_a_legend():
    """Every picture of graphs/ fits 1920×1080 at the DPI it is written with (dot's 96 for the
    drawings, the screenshot's own size), has a one-line title, and a gradient picture has its
    colour legend."""
    from pathlib import Path

    from tinygrad_rnn.gallery import entries
    folder = Path(__file__).resolve().parents[1] / "graphs"
    pngs = sorted(folder.glob("*.png"))
    assert {p.stem for p in pngs} == {name for name, _, _ in entries()} | {"explorer"}
    for png in pngs:
        width, height = _png_size(png)
        assert width <= 1920 and height <= 1080, f"{png.name} is {width}×{height}"
    for name, _, _ in entries():
        dot = (folder / f"{name}.dot").read_text(encoding="utf-8")
        assert "dpi=" not in dot   # written at dot's default 96 DPI: the size above is the size
        title = re.search(r'^  graph \[.*, label="((?:[^"\\]|\\.)*)"', dot, re.M)
        assert title and title.group(1).strip() and "\\n" not in title.group(1), name
        if "penwidth=" in dot:   # coloured by gradient: the legend says what the colours mean
            assert re.search(r"^  legend \[.*‖∂L/∂·‖", dot, re.M), name


# ---- rendering never blocks for minutes ----------------------------------------------------


def _lstm_graph(T, num_layers=1, bidirectional=False):
    tg.manual_seed(0)
    lstm = tg.nn.LSTM(3, 4, num_layers=num_layers, bidirectional=bidirectional)
    out, _ = lstm(tg.randn(T, 2, 3))
    return tg.graph(out.sum())


def test_a_view_too_big_for_dot_is_refused_before_dot_starts(tmp_path, monkeypatch):
    import subprocess
    import time

    g = _lstm_graph(25, num_layers=2, bidirectional=True)  # dot would take minutes

    def no_dot(*args, **kwargs):
        raise AssertionError("dot was started on a view too big for it")
    monkeypatch.setattr(subprocess, "run", no_dot)
    monkeypatch.setattr(render, "dot_program", lambda: "/usr/bin/dot")
    start = time.perf_counter()
    with pytest.raises(render.LayoutTooBig, match=r"the unrolled view of this graph is too big for "
                                                  r"dot.*\(boxes \+ arrows\) × clusters = .*"
                                                  r"view='collapsed'.*first_last=k"):
        g.render(tmp_path / "big", view="unrolled")
    with pytest.raises(render.LayoutTooBig, match="first_last=k"):
        render.svg_or_none(g, view="unrolled")
    assert time.perf_counter() - start < 5
    assert (tmp_path / "big.dot").exists() and not (tmp_path / "big.svg").exists()
    assert g.render(tmp_path / "big", view="unrolled", format="dot").exists()  # no dot: no limit


@needs_dot
def test_dot_is_stopped_after_the_time_limit_with_the_hint(tmp_path):
    import time

    g = _lstm_graph(10, num_layers=2)   # about 4 s of dot, under the size limit
    start = time.perf_counter()
    with pytest.raises(render.LayoutTooBig, match=r"dot was stopped after 0.2 s.*timeout=seconds.*"
                                                  r"view='collapsed'.*first_last=k"):
        g.render(tmp_path / "slow", view="unrolled", timeout=0.2)
    assert time.perf_counter() - start < 5
    assert render.DOT_TIMEOUT_S == 60


def test_auto_view_is_collapsed_when_the_unrolled_one_would_be_slow_to_lay_out():
    g = _unnamed(_lstm_graph(10, num_layers=2, bidirectional=True))  # 10 steps, 4 lanes of ops
    assert g.to_dot() == g.to_dot(view="collapsed")
    small = _lstm_graph(4)
    assert small.to_dot() == small.to_dot(view="block")   # gates, c_t, h_t: the block view
    assert _unnamed(small).to_dot() == small.to_dot(view="unrolled")


# ---- labels that say what a thing is ------------------------------------------------------


def _lstm_with_grads(T=3):
    tg.manual_seed(0)
    lstm = tg.nn.LSTM(3, 4)
    out, _ = lstm(tg.randn(T, 2, 3))
    loss = out.sum()
    with tg.record_messages() as messages:
        loss.backward()
    return tg.graph(loss, messages=messages)


def test_rolled_view_names_the_initial_states_not_x_t():
    dot = _lstm_with_grads().to_dot(view="rolled")
    inputs = re.findall(r'label="([^"\\]*)\\n[^"]*", shape=box, style="filled", fillcolor="#eeeeee"', dot)
    assert "h_0" in inputs and "c_0" in inputs and "x_t" not in inputs
    notes = captured(3)[0].to_dot(view="rolled")  # an input read at every step stays x_t
    assert 'label="x_t\\n2"' in notes and 'label="h_0\\n3"' in notes


def test_fan_out_counts_uses_through_the_input_projection():
    assert _lstm_with_grads(5).fan_out() == {"weight_ih_l0": 5, "weight_hh_l0": 5,
                                             "bias_ih_l0": 5, "bias_hh_l0": 5}


def test_different_parameters_never_show_as_a_bare_weight():
    from tinygrad_rnn.gallery import recursive_net
    dot = recursive_net()[0].to_dot(view="collapsed")
    labels = re.findall(r'label="([^"\\]*)\\n[^"]*", shape=box, (?:fontcolor=white, )?style="rounded', dot)
    assert "weight" not in labels and "bias" not in labels
    assert len(set(labels)) == len(labels) >= 4


@needs_dot
def test_svg_hover_text_names_the_node_never_its_id(tmp_path):
    g = _lstm_with_grads()
    svg = g.render(tmp_path / "lstm", view="unrolled").read_text()
    titles = re.findall(r"<title>([^<]*)</title>", svg)
    assert not [t for t in titles if re.fullmatch(r"n\d+|r\d+|c_\S+|cluster_\d+|n\d+&#45;&gt;\S+", t)]
    h3 = g.named("h_t")[2]
    assert f"h_t at t=3 in lstm/l0/fwd: mul, 2×4, ‖∂L/∂h_t‖ = {views_sci(h3.grad.norm)}" in titles
    assert any(t.startswith("W_hh → matmul, ‖message‖ = ") for t in titles)
    assert "<title>" in g._repr_svg_() and "<title>n1</title>" not in g._repr_svg_()


def views_sci(v):
    from tinygrad_rnn.views import sci
    return sci(v)


def test_scientific_hover_numbers():
    from tinygrad_rnn.views import sci
    assert sci(2.1e-4) == "2.1e-4" and sci(3.0) == "3.0e0" and sci(12345.0) == "1.2e4"


def test_the_darkest_legend_cells_have_light_text():
    scale = render.ColourScale(-8, 0)
    legend = scale.legend()
    assert '<td bgcolor="#800026"><font color="white">1e0</font></td>' in legend
    assert '<td bgcolor="#ffffcc">1e-8</td>' in legend


# ---- the block view ---------------------------------------------------------------------------


def _block_labels(dot: str) -> list[str]:
    return re.findall(r'^\s+b\d+ \[label="([^"\\]*)\\n', dot, re.M)


def test_block_view_draws_one_box_per_named_quantity_of_a_step():
    g = captured(4)[0]
    dot = g.to_dot(view="block")
    labels = _block_labels(dot)
    assert labels.count("h_t") == 4 and labels.count("C_t") == 4 and labels.count("x_t") == 4
    assert labels.count("h_0") == 1 and "tanh" not in labels and "matmul" not in labels
    assert step_columns(dot) == ["t=1", "t=2", "t=3", "t=4"]
    h = [f"b{n.id}" for n in g.named("h_t")]
    assert "{ rank=same; " + " ".join(h) + "; }" in dot   # h_1 … h_4 on one row
    for a, b in zip(h, h[1:]):   # h_{t−1} → h_t: a straight recurrent arrow, holding the order
        line = re.search(rf"^  {a} -> {b} \[.*style=bold.*$", dot, re.M).group(0)
        assert "constraint=false" not in line
    w = g.parameter("W_hh")
    assert len(re.findall(rf"^  n{w.id} -> b\d+ \[.*label=\"[\d.e-]+\"", dot, re.M)) == 4


def test_block_view_of_an_lstm_shows_gates_and_both_states():
    from tinygrad_rnn.gallery import lstm_layer
    labels = _block_labels(lstm_layer(4).to_dot(view="block"))
    for name in ("input_gate", "forget_gate", "candidate", "output_gate", "c_t", "h_t"):
        assert labels.count(name) == 4, name
    assert {"h_0", "c_0"} <= set(labels)


def test_block_view_of_a_long_unroll_shows_the_first_and_last_steps():
    dot = captured(30)[0].to_dot(view="block")
    assert step_columns(dot) == ["t=1", "t=2", "t=3", "t=28", "t=29", "t=30"]
    assert "⋯ 24 steps ⋯" in dot


def _laid_out(dot: str) -> dict[str, tuple[float, float, str]]:
    """node → (x, y, first line of its label) as dot lays it out (inches)."""
    plain = subprocess.run(["dot", "-Tplain"], input=dot.encode(), capture_output=True,
                           check=True).stdout.decode()
    out = {}
    for line in plain.splitlines():
        if line.startswith("node "):
            parts = shlex.split(line)
            out[parts[1]] = (float(parts[2]), float(parts[3]), parts[6])
    return out


@needs_dot
@pytest.mark.parametrize("T", [4, 30])
def test_block_view_lays_the_steps_out_in_time_order_with_the_elision_between(T):
    """The ⋯ box used to land wherever dot put it (t=1, t=2, ⋯, t=3, …, or steps shuffled
    around it): now every row runs t=1 … T left to right, the ⋯ between t=3 and t=T−2."""
    from tinygrad_rnn.gallery import lstm_layer
    g = lstm_layer(T)
    at = _laid_out(g.to_dot())
    columns = sorted((x, label.split("at t=")[1]) for x, _, label in at.values() if "at t=" in label)
    shown = [1, 2, 3, 4] if T == 4 else [1, 2, 3, T - 2, T - 1, T]
    assert [int(t) for _, t in columns] == shown
    h = sorted((at[f"b{n.id}"][0], n.step) for n in g.named("h_t") if f"b{n.id}" in at)
    assert [step for _, step in h] == shown
    if T > 4:
        skip = next(x for x, _, label in at.values() if label.startswith("⋯"))
        assert h[2][0] < skip < h[3][0]


@needs_dot
def test_block_view_stacks_a_steps_gates_so_a_step_is_one_column():
    from tinygrad_rnn.gallery import lstm_layer
    g = lstm_layer(4)
    at = _laid_out(g.to_dot())
    for t in (1, 4):
        gates = [at[f"b{n.id}"] for name in ("input_gate", "forget_gate", "candidate",
                                             "output_gate") for n in g.named(name) if n.step == t]
        assert len({round(y, 2) for _, y, _ in gates}) == 4   # four rows, not side by side
        assert max(x for x, _, _ in gates) - min(x for x, _, _ in gates) < 2.0   # inches


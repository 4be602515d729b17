"""Time drawing long unrolls: the default view of a 1,000-step nn.LSTM and of the notes' RNN
(the block view, first and last 3 steps), and the collapsed and first/last-k unrolled views of
a 100-step LSTM, through graphviz's `dot`. Issue 15 asks for < 1 s of layout for any default
view of up to 1,000 steps. Run: python benchmarks/bench_render.py"""

import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import tinygrad_rnn as tg  # noqa: E402
from tinygrad_rnn import nn, render  # noqa: E402
from tinygrad_rnn.gallery import notes_rnn  # noqa: E402


def lstm_graph(T: int) -> tg.Graph:
    tg.manual_seed(0)
    lstm = nn.LSTM(8, 16)
    out, _ = lstm(tg.randn(T, 1, 8))
    loss = (out * out).sum()
    with tg.record_messages() as messages:
        loss.backward()
    return tg.graph(loss, messages=messages)


def notes_graph(T: int) -> tg.Graph:
    total, _ = notes_rnn(T=T)
    with tg.record_messages() as messages:
        total.backward()
    return tg.graph(total, messages=messages)


def time_views(what: str, g, views: list, tmp: str, has_dot: bool) -> None:
    for view, opts in views:
        t0 = time.perf_counter()
        text, _, drawn, _ = render._dot_text(g, view=view, **opts)
        dot_s = time.perf_counter() - t0
        shown = f"{view} → {drawn}" if view == "auto" else view
        line = f"  {what:<10} {shown:<16} {str(opts):<18} to_dot {dot_s:.2f} s"
        if has_dot:
            t0 = time.perf_counter()
            g.render(Path(tmp) / view, format="svg", view=view, **opts)
            line += f", render svg (to_dot + dot) {time.perf_counter() - t0:.2f} s"
        print(line + f", {len(text):,} bytes of DOT")


def main() -> None:
    has_dot = shutil.which("dot") is not None
    print(f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")
    with tempfile.TemporaryDirectory() as tmp:
        for what, make, T, views in [
            ("nn.LSTM(8, 16)", lstm_graph, 1000, [("auto", {})]),
            ("notes' RNN", notes_graph, 1000, [("auto", {})]),
            ("nn.LSTM(8, 16)", lstm_graph, 100, [("auto", {}), ("collapsed", {}),
                                                 ("unrolled", {"first_last": 3})]),
        ]:
            t0 = time.perf_counter()
            g = make(T)
            print(f"{T}-step {what}: {len(g):,} nodes; run + backward + capture "
                  f"{time.perf_counter() - t0:.2f} s (not layout)")
            time_views(f"{T} steps", g, views, tmp, has_dot)
    if not has_dot:
        print("  (graphviz's dot is not installed: only the DOT text was timed)")


if __name__ == "__main__":
    main()

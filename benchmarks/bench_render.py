"""Time capturing and drawing a 100-step LSTM: collapsed view (default for long graphs) and
the first/last-k unrolled view, through graphviz's `dot`. Run: python benchmarks/bench_render.py"""

import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import tinygrad_rnn as tg  # noqa: E402
from tinygrad_rnn import nn  # noqa: E402


def main(T: int = 100) -> None:
    tg.manual_seed(0)
    lstm = nn.LSTM(8, 16)
    out, _ = lstm(tg.randn(T, 1, 8))
    loss = (out * out).sum()
    with tg.record_messages() as messages:
        loss.backward()
    t0 = time.perf_counter()
    g = tg.graph(loss, messages=messages)
    capture = time.perf_counter() - t0
    print(f"{T}-step LSTM: {len(g)} nodes; capture {capture:.2f} s "
          f"(OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']})")
    has_dot = shutil.which("dot") is not None
    with tempfile.TemporaryDirectory() as tmp:
        for view, opts in [("collapsed", {}), ("unrolled", {"first_last": 3})]:
            t0 = time.perf_counter()
            text = g.to_dot(view=view, **opts)
            dot_s = time.perf_counter() - t0
            line = f"  {view:<9} {str(opts):<18} to_dot {dot_s:.2f} s"
            if has_dot:
                t0 = time.perf_counter()
                g.render(Path(tmp) / view, format="svg", view=view, **opts)
                line += f", render svg (incl. dot) {time.perf_counter() - t0:.2f} s"
            print(line + f", {len(text)} bytes of DOT")
    if not has_dot:
        print("  (graphviz's dot is not installed: only the DOT text was timed)")


if __name__ == "__main__":
    main()

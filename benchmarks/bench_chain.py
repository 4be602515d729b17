"""A very long unrolled chain: h_t = tanh(W h_{t−1} + x) for T steps, then ∂(Σ h_T)/∂W.

    python benchmarks/bench_chain.py [--steps 100000] [--repeats 3]

The graph has 3·T recorded ops (matmul, add, tanh per step) and backward walks all of them.
tinygrad_rnn's backward is a loop over a heap (no recursion) and frees each op's saved arrays
as it passes, so the length of the chain is bounded by memory only. Both engines build the
same chain (W 3 × 3, float64, as ``tests/test_notes_core.py``) and are checked against each
other first. Reported: the time of forward + backward (median of ``--repeats``, one engine
after the other in each round; wall and CPU time) and the peak resident memory one run adds,
each engine measured in a fresh process (Linux ``VmHWM − VmRSS``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ENGINES = ("tg", "torch")


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--worker", choices=ENGINES, help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def make_runner(engine: str, steps: int):
    """A zero-argument function: build the chain, backpropagate, return ∂(Σ h_T)/∂W."""
    import numpy as np
    rng = np.random.default_rng(0)
    W0, x0 = rng.standard_normal((3, 3)) * 0.4, rng.standard_normal(3) * 0.1
    if engine == "tg":
        import tinygrad_rnn as tg

        def run():
            W = tg.tensor(W0, dtype="float64", requires_grad=True)
            x, h = tg.tensor(x0, dtype="float64"), tg.zeros(3, dtype="float64")
            for _ in range(steps):
                h = (W @ h + x).tanh()
            h.sum().backward()
            return W.grad.numpy()
        return run
    import torch
    torch.set_num_threads(1)

    def run():
        W = torch.tensor(W0, requires_grad=True)
        x, h = torch.tensor(x0), torch.zeros(3, dtype=torch.float64)
        for _ in range(steps):
            h = (W @ h + x).tanh()
        h.sum().backward()
        return W.grad.numpy()
    return run


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def worker(engine: str, steps: int) -> None:
    run = make_runner(engine, steps)
    before = _status_kib("VmRSS")
    run()
    print(json.dumps({"peak_mib": max(_status_kib("VmHWM") - before, 0) / 1024}))


def peak_memory(engine: str, steps: int) -> float | None:
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", engine,
                          "--steps", str(steps)], capture_output=True, text=True)
    if out.returncode != 0:
        print(out.stderr[-2000:], file=sys.stderr)
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])["peak_mib"]


def main(argv=None) -> None:
    args = parse_args(argv)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    if args.worker:
        return worker(args.worker, args.steps)
    import numpy as np
    try:
        import torch
        engines = ENGINES
    except ImportError:
        torch, engines = None, ("tg",)
    check = {e: make_runner(e, 200)() for e in engines}
    if torch is not None:
        assert np.allclose(check["tg"], check["torch"], rtol=1e-10, atol=1e-12), "engines differ"
    runs = {e: make_runner(e, args.steps) for e in engines}
    wall, cpu = {e: [] for e in engines}, {e: [] for e in engines}
    for _ in range(args.repeats):
        for e, run in runs.items():
            w, c = time.perf_counter(), time.process_time()
            run()
            wall[e].append(time.perf_counter() - w)
            cpu[e].append(time.process_time() - c)
    mem = {e: peak_memory(e, args.steps) for e in engines}
    print(f"h_t = tanh(W h_(t-1) + x), T = {args.steps:,}, float64, forward + backward, median of "
          f"{args.repeats} · torch {'absent' if torch is None else torch.__version__}")
    for e in engines:
        m = mem[e]
        print(f"  {e:<6} wall {statistics.median(wall[e]):6.2f} s   cpu "
              f"{statistics.median(cpu[e]):6.2f} s   peak RSS added "
              f"{'?' if m is None else f'{m:6.0f}'} MiB")
    if torch is not None and mem["tg"] and mem["torch"]:
        print(f"  tg / torch: wall {statistics.median(wall['tg']) / statistics.median(wall['torch']):.2f}×"
              f"   cpu {statistics.median(cpu['tg']) / statistics.median(cpu['torch']):.2f}×"
              f"   memory {mem['tg'] / mem['torch']:.2f}×")


if __name__ == "__main__":
    main()

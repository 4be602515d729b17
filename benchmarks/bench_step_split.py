"""Where one nn.LSTM training step's CPU time goes: each kind of matrix product, and the rest.

    python benchmarks/bench_step_split.py [--configs M L] [--mode LSTM|RNN] [--fused]

Wraps the matmul op's forward and VJPs and ``ProductGrad.dense`` (the stacked weight gradient)
with CPU-time counters, runs bench_nn.py's training step (a warm-up, then the measured one) and
prints the time per kind: the per-step products h_{t−1} W_hhᵀ and g_t W_hh (rows = the batch),
the stacked Σ h_{t−1}ᵀ g_t, and the big products over all T·B rows (input projection,
read-out, their gradients). ``rest`` is everything else: pointwise ops, the engine, allocation.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_nn  # noqa: E402
import nn_models as M  # noqa: E402

import tinygrad_rnn as tg  # noqa: E402
from tinygrad_rnn import ops  # noqa: E402
from tinygrad_rnn.factored import ProductGrad  # noqa: E402
from tinygrad_rnn.packed import MATMUL_PACKED as PACKED  # noqa: E402


def split(config: str, mode: str, fused: bool = False) -> tuple[float, dict]:
    B, T, n_in, H, V = bench_nn.CONFIGS[config]
    params = M.init_params(mode, n_in, H, V, "float32")
    x, y = M.make_batch(B, T, n_in, V, "float32")
    model, xt, yt = M.tg_model(tg, mode, params, fused=fused), tg.tensor(x), tg.tensor(y)
    spent = collections.defaultdict(float)

    def counted(kind, f):
        def run(*args, **kw):
            start = time.process_time()
            out = f(*args, **kw)
            name = kind(args) if callable(kind) else kind
            spent[name] += time.process_time() - start
            return out
        return run

    per_step = lambda what: lambda args: f"per-step {what}" if len(args[-2]) == B else "big products"  # noqa: E731
    saved = ops.MATMUL.forward, ops.MATMUL.vjps, ProductGrad.dense, PACKED.forward
    ops.MATMUL.forward = counted(lambda a: "per-step h W_hhᵀ" if len(a[0]) == B else "big products",
                                 saved[0])
    PACKED.forward = counted("per-step h W_hhᵀ (packed)", saved[3])
    ops.MATMUL.vjps = PACKED.vjps = (counted(per_step("g W_hh"), saved[1][0]),
                                     counted(per_step("weight-gradient messages"), saved[1][1]))
    ProductGrad.dense = counted("stacked Σ h_{t−1}ᵀ g_t", saved[2])
    try:
        M.tg_step(tg, model, xt, yt)  # warm-up
        spent.clear()
        start = time.process_time()
        M.tg_step(tg, model, xt, yt)
        total = time.process_time() - start
    finally:
        ops.MATMUL.forward, ops.MATMUL.vjps, ProductGrad.dense, PACKED.forward = saved
        PACKED.vjps = saved[1]
    return total, dict(spent)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", nargs="+", default=["M", "L"], choices=sorted(bench_nn.CONFIGS))
    ap.add_argument("--mode", default="LSTM", choices=["LSTM", "RNN"])
    ap.add_argument("--fused", action="store_true", help="nn.LSTM(fused=True)")
    args = ap.parse_args(argv)
    for config in args.configs:
        total, spent = split(config, args.mode, args.fused)
        print(f"{args.mode}{' fused' if args.fused else ''} {config}: one step {total * 1e3:.1f} ms CPU")
        for kind, t in sorted(spent.items(), key=lambda kv: -kv[1]):
            print(f"  {kind:<40}{t * 1e3:>9.1f} ms")
        print(f"  {'rest':<40}{(total - sum(spent.values())) * 1e3:>9.1f} ms")


if __name__ == "__main__":
    main()

"""Packing W_hhᵀ (tinygrad_rnn/packed.py): the product alone, and whole nn training steps.

    python benchmarks/bench_packed.py [--repeats 15]

1. The per-step product h_{t−1} W_hhᵀ as NumPy hands it to OpenBLAS: by the transposed view of
   W_hh ("A·Bᵀ", what an unpacked layer does) against by a C-contiguous copy ("A·B", what a
   packed layer does), and what the copy costs once per forward.
2. One training step of ``nn.LSTM``/``nn.RNN`` + ``nn.Linear`` + cross-entropy (bench_nn.py's
   step), packing on against packing off, alternated in one process (A B B A in each round),
   CPU time, median over rounds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import nn_models as M  # noqa: E402
import numpy as np  # noqa: E402

import tinygrad_rnn as tg  # noqa: E402
from tinygrad_rnn import backend, packed  # noqa: E402

PRODUCTS = [(1, 100), (8, 128), (16, 64), (32, 128), (32, 256), (64, 512)]  # (batch, hidden)
STEPS = [("LSTM", 32, 64, 128, 256, 128), ("RNN", 32, 64, 128, 256, 128),   # M of bench_nn
         ("LSTM", 64, 128, 256, 512, 256),                                   # L
         ("LSTM", 32, 30, 8, 128, 10), ("LSTM", 16, 50, 16, 64, 16)]         # demo-sized


def cpu_time(f, n: int) -> float:
    f()
    start = time.process_time()
    for _ in range(n):
        f()
    return (time.process_time() - start) / n


def products(repeats: int) -> None:
    print("h (B × H) times W_hhᵀ (H × 4H), float32, one thread, CPU time per product")
    print(f"{'B × H':<12}{'A·Bᵀ (view)':>14}{'A·B (packed)':>14}{'ratio':>8}{'copy once':>12}")
    rng = np.random.default_rng(0)
    for B, H in PRODUCTS:
        h = rng.standard_normal((B, H), dtype=np.float32)
        W = rng.standard_normal((4 * H, H), dtype=np.float32)
        view, copy = W.T, backend.c_contiguous(W.T)
        n = max(20, repeats * int(2e6 / (B * H * 4 * H + 1e4)))
        nt = cpu_time(lambda h=h, v=view: h.dot(v), n)
        nn_ = cpu_time(lambda h=h, c=copy: h.dot(c), n)
        c = cpu_time(lambda v=view: backend.c_contiguous(v), max(5, n // 10))
        print(f"{f'{B} × {H}':<12}{nt * 1e6:>11.1f} µs{nn_ * 1e6:>11.1f} µs{nn_ / nt:>7.2f}×"
              f"{c * 1e6:>9.0f} µs")


def steps(repeats: int) -> None:
    print("\none training step, packing on vs off in one process (A B B A rounds), CPU time")
    print(f"{'step':<36}{'off':>10}{'on':>10}{'on/off':>9}")
    for mode, B, T, n_in, H, V in STEPS:
        params = M.init_params(mode, n_in, H, V, "float32")
        x, y = M.make_batch(B, T, n_in, V, "float32")
        model, xt, yt = M.tg_model(tg, mode, params), tg.tensor(x), tg.tensor(y)
        times = {False: [], True: []}
        rounds = max(3, repeats if B * T * H < 2e6 else repeats // 3)
        for r in range(rounds + 1):
            for on in (False, True, True, False):
                packed.MIN_ROWS = 4 if on else 10 ** 9
                start = time.process_time()
                M.tg_step(tg, model, xt, yt)
                if r:  # round 0 warms up
                    times[on].append(time.process_time() - start)
        packed.MIN_ROWS = 4
        off, on = statistics.median(times[False]), statistics.median(times[True])
        label = f"{mode} B={B} T={T} H={H}"
        print(f"{label:<36}{off * 1e3:>7.1f} ms{on * 1e3:>7.1f} ms{on / off:>8.3f}×", flush=True)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args(argv)
    products(args.repeats)
    steps(args.repeats)


if __name__ == "__main__":
    main()

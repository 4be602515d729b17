"""Time one LSTM language-model training step: tinygrad_rnn vs PyTorch primitive ops vs NumPy.

    python benchmarks/bench_lstm.py [--configs S M] [--repeats 7] [--threads 1]

Before timing, the three implementations are checked against each other in float64 (same
loss, same gradients), so the timings compare the same computation. Reported: the median
step time of each engine and ratios to tinygrad_rnn (< 1 means tinygrad_rnn is faster).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

CONFIGS = {  # batch, steps T, vocab, hidden
    "S": (1, 25, 65, 100),
    "M": (32, 64, 128, 256),
    "L": (64, 128, 256, 512),
}


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", nargs="+", default=["S", "M"], choices=sorted(CONFIGS))
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1,
                    help="BLAS / torch threads for every engine (default 1)")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    return ap.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)  # before numpy is imported
    import numpy as np

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import lstm_lm

    import tinygrad_rnn as tg
    try:
        import torch
        torch.set_num_threads(args.threads)
    except ImportError:
        torch = None

    check(np, tg, torch, lstm_lm)
    print(f"threads: {args.threads} (BLAS and torch) · dtype {args.dtype} · median of "
          f"{args.repeats} steps · torch {'absent' if torch is None else torch.__version__} · "
          f"numpy {np.__version__}")
    header = f"{'config':<28}{'tinygrad_rnn':>14}{'torch prims':>14}{'numpy BPTT':>14}" \
             f"{'tg/torch':>10}{'tg/numpy':>10}"
    print(header)
    print("-" * len(header))
    for name in args.configs:
        B, T, V, H = CONFIGS[name]
        params = lstm_lm.init_params(V, H, args.dtype)
        xs, ys = lstm_lm.make_batch(B, T, V)
        engines = {"tg": (lstm_lm.engine_step, tg), "numpy": (lstm_lm.numpy_step, None)}
        if torch is not None:
            engines["torch"] = (lstm_lm.torch_step, torch)
        times = {k: median_time(step, lib, params, xs, ys, args.repeats)
                 for k, (step, lib) in engines.items()}
        tg_t, np_t, th_t = times["tg"], times["numpy"], times.get("torch")
        label = f"{name} (B={B}, T={T}, V={V}, H={H})"
        print(f"{label:<28}{ms(tg_t):>14}{ms(th_t):>14}{ms(np_t):>14}"
              f"{ratio(tg_t, th_t):>10}{ratio(tg_t, np_t):>10}")


def median_time(step, lib, params, xs, ys, repeats: int) -> float:
    args = (params, xs, ys) if lib is None else (lib, params, xs, ys)
    step(*args)  # warm-up
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        step(*args)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def ms(seconds) -> str:
    return "—" if seconds is None else f"{seconds * 1e3:.2f} ms"


def ratio(a, b) -> str:
    return "—" if b is None else f"{a / b:.2f}×"


def check(np, tg, torch, lstm_lm) -> None:
    """The three implementations agree in float64 on a small problem."""
    params = lstm_lm.init_params(7, 5, "float64", seed=3)
    xs, ys = lstm_lm.make_batch(3, 6, 7, seed=4)
    loss, grads = lstm_lm.engine_step(tg, params, xs, ys)
    others = [("numpy", lstm_lm.numpy_step(params, xs, ys))]
    if torch is not None:
        others.append(("torch", lstm_lm.torch_step(torch, params, xs, ys)))
    for name, (other_loss, other_grads) in others:
        assert abs(loss - other_loss) < 1e-10, (name, loss, other_loss)
        for k, a, b in zip(lstm_lm.PARAMS, grads, other_grads):
            assert np.allclose(a, b, atol=1e-10), f"{name}: gradient of {k} differs"


if __name__ == "__main__":
    main()

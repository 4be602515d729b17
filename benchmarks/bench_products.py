"""Where stacking a weight's per-step gradients pays: ProductGrad on and off, side by side.

    python benchmarks/bench_products.py [--batches 1 2 4 8 16 32 64] [--repeats 9]

A weight W (H × wH) used at T steps, h_t = tanh(x_t + (h_{t−1} W)[:, :H]), receives T messages
h_{t−1}ᵀ G_t (width w = 1 is a tanh RNN's W_hh; w = 4 has the shape of an LSTM's gate weight).
The engine sums the messages of thin products (at most ``ProductGrad.THIN`` rows each) as one
product of stacked factors; this script times the backward pass of that RNN with stacking on
(every batch size counted as thin) and off (every product summed one step at a time), checks
that both give the same gradient, and prints the ratio. The threshold in ops.py comes from it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import tinygrad_rnn as tg  # noqa: E402
from tinygrad_rnn.factored import ProductGrad  # noqa: E402


def backward_time(batch: int, hidden: int, width: int, steps: int, stacked: bool, repeats: int):
    rng = np.random.default_rng(0)
    W = tg.Tensor(rng.uniform(-0.1, 0.1, (hidden, width * hidden)).astype("float32"),
                  requires_grad=True)
    xs = tg.Tensor(rng.standard_normal((steps, batch, hidden)).astype("float32"))
    default, ProductGrad.THIN = ProductGrad.THIN, (1 << 30) if stacked else 0
    try:
        samples = []
        for _ in range(repeats + 1):  # the first is a warm-up
            h = tg.zeros(batch, hidden)
            for t in range(steps):
                h = (xs[t] + (h @ W)[:, :hidden]).tanh()
            loss = (h * h).sum()
            W.grad = None
            start = time.perf_counter()
            loss.backward()
            samples.append(time.perf_counter() - start)
    finally:
        ProductGrad.THIN = default
    return statistics.median(samples[1:]), W.grad.numpy()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32, 64])
    ap.add_argument("--hidden", type=int, nargs="+", default=[100, 256])
    ap.add_argument("--widths", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--repeats", type=int, default=9)
    args = ap.parse_args(argv)
    print(f"backward of a {args.steps}-step tanh RNN · median of {args.repeats} · "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']} · "
          f"ProductGrad.THIN = {ProductGrad.THIN} rows")
    print(f"{'batch':>6}{'W':>11}{'stacked':>12}{'step by step':>14}{'ratio':>8}")
    for width in args.widths:
        for hidden in args.hidden:
            for batch in args.batches:
                on, g_on = backward_time(batch, hidden, width, args.steps, True, args.repeats)
                off, g_off = backward_time(batch, hidden, width, args.steps, False, args.repeats)
                # the same sum in another order: equal to float32 rounding of the largest entries
                np.testing.assert_allclose(g_on, g_off, rtol=0, atol=1e-5 * np.abs(g_off).max())
                shape = f"{hidden}×{width * hidden}"
                print(f"{batch:>6}{shape:>11}{on * 1e3:>10.2f}ms{off * 1e3:>12.2f}ms"
                      f"{on / off:>7.2f}×")


if __name__ == "__main__":
    main()

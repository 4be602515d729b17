"""Where stacking a weight's per-step gradients pays: ProductGrad on and off, side by side.

    python benchmarks/bench_products.py [--batches 1 2 4 8 16 32 64] [--repeats 9]

A weight W (H × wH) used at T steps, h_t = tanh(x_t + (h_{t−1} W)[:, :H]), receives T messages
h_{t−1}ᵀ G_t (width w = 1 is a tanh RNN's W_hh; w = 4 has the shape of an LSTM's gate weight).
The engine sums the messages of thin products (``ProductGrad.stacks``: few rows each) as one
product of stacked factors; this script times the backward pass of that RNN with stacking on
(every batch size counted as thin) and off (every product summed one step at a time), checks
that both give the same gradient, and prints the ratio. The thresholds of ``ProductGrad``
(factored.py) come from it.
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


def _graph(batch: int, hidden: int, width: int, steps: int):
    rng = np.random.default_rng(0)
    W = tg.Tensor(rng.uniform(-0.1, 0.1, (hidden, width * hidden)).astype("float32"),
                  requires_grad=True)
    xs = tg.Tensor(rng.standard_normal((steps, batch, hidden)).astype("float32"))

    def backward(stacked: bool) -> float:
        """CPU seconds of one backward pass (the forward is rebuilt first, not timed)."""
        default = ProductGrad.THIN, ProductGrad.SMALL
        ProductGrad.THIN = ProductGrad.SMALL = (1 << 30) if stacked else 0
        try:
            h = tg.zeros(batch, hidden)
            for t in range(steps):
                h = (xs[t] + (h @ W)[:, :hidden]).tanh()
            loss = (h * h).sum()
            W.grad = None
            start = time.process_time()  # CPU time: steadier than wall time on a shared machine
            loss.backward()
            return time.process_time() - start
        finally:
            ProductGrad.THIN, ProductGrad.SMALL = default
    return W, backward


def backward_times(batch: int, hidden: int, width: int, steps: int, repeats: int):
    """Median backward time stacked and step by step, in interleaved rounds, and both gradients."""
    W, backward = _graph(batch, hidden, width, steps)
    samples, grads = {True: [], False: []}, {}
    for stacked in (True, False):  # warm-up
        backward(stacked)
    for _ in range(repeats):
        for stacked in (True, False):
            samples[stacked].append(backward(stacked))
            grads[stacked] = W.grad.numpy()
    return (statistics.median(samples[True]), statistics.median(samples[False]), grads[True],
            grads[False])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32, 64])
    ap.add_argument("--hidden", type=int, nargs="+", default=[100, 256])
    ap.add_argument("--widths", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--repeats", type=int, default=9)
    args = ap.parse_args(argv)
    print(f"backward of a {args.steps}-step tanh RNN · median of {args.repeats} interleaved "
          f"rounds (CPU time) · "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']} · "
          f"ProductGrad: SMALL = {ProductGrad.SMALL}, THIN = {ProductGrad.THIN} rows, "
          f"WIDE = {ProductGrad.WIDE} entries")
    print(f"{'batch':>6}{'W':>11}{'stacked':>12}{'step by step':>14}{'ratio':>8}")
    for width in args.widths:
        for hidden in args.hidden:
            for batch in args.batches:
                on, off, g_on, g_off = backward_times(batch, hidden, width, args.steps,
                                                      args.repeats)
                # the same sum in another order: equal to float32 rounding of the largest entries
                np.testing.assert_allclose(g_on, g_off, rtol=0, atol=1e-5 * np.abs(g_off).max())
                shape = f"{hidden}×{width * hidden}"
                print(f"{batch:>6}{shape:>11}{on * 1e3:>10.2f}ms{off * 1e3:>12.2f}ms"
                      f"{on / off:>7.2f}×")


if __name__ == "__main__":
    main()

"""Weight tying (notes 004): ∂C/∂w = Σ_t ∂C/∂w_t.

An RNN h_t = tanh(W h_{t−1} + U x_t) with C = Σ_t ‖h_t‖² is run twice on the same data:
with one shared W, and with W untied into copies W_1 … W_T that start equal. Autograd gives
the shared W the sum of the messages from every step; the untied copies each get one.
"""

from __future__ import annotations

import tinygrad_rnn as tg

from .common import Summary, parser, setup


def unrolled_cost(W_at, U, xs, h0):
    """C = Σ_t ‖h_t‖² with h_t = tanh(W_t h_{t−1} + U x_t); W_at(t) gives the weight of step t."""
    h, cost = h0, 0
    for t, x in enumerate(xs, start=1):
        with tg.scope(f"t={t}"):
            h = (W_at(t) @ h + U @ x).tanh()
            cost = cost + (h * h).sum()
    return cost


def tied_vs_untied(T: int = 5, hidden: int = 3, device=None):
    W0 = tg.randn(hidden, hidden, dtype="float64", device=device) * 0.6
    U = tg.randn(hidden, 2, dtype="float64", device=device)
    xs = [tg.randn(2, dtype="float64", device=device) for _ in range(T)]
    h0 = tg.zeros(hidden, dtype="float64", device=device)
    W = tg.Tensor(W0, requires_grad=True, name="W")
    unrolled_cost(lambda t: W, U, xs, h0).backward()
    copies = [tg.Tensor(W0, requires_grad=True, name=f"W_{t}") for t in range(1, T + 1)]
    unrolled_cost(lambda t: copies[t - 1], U, xs, h0).backward()
    return W.grad.numpy(), [c.grad.numpy() for c in copies]


def main(argv=None) -> Summary:
    args = parser("tied-weights", __doc__.splitlines()[0]).parse_args(argv)
    setup(args)
    T = 3 if args.quick else 5
    tied, untied = tied_vs_untied(T, device=args.device)
    total = sum(untied)
    for t, g in enumerate(untied, start=1):
        print(f"‖∂C/∂W_{t}‖ = {float((g * g).sum()) ** 0.5:.6f}")
    err = float(abs(tied - total).max())
    print(f"‖∂C/∂W‖ (tied) = {float((tied * tied).sum()) ** 0.5:.6f}")
    s = Summary("tied-weights")
    s.claim("tied gradient = Σ_t untied gradients (to 1e-10)", f"max difference {err:.2e}", err < 1e-10)
    s.print()
    return s


if __name__ == "__main__":
    main()

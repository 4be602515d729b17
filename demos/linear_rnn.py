"""The notes' linear RNN (003): every weight 1, no bias, linear units.

    h_t = W_x x_t + W_h h_{t−1},    y_t = W_y h_t,    W_x = W_h = W_y = [[1, 1], [1, 1]]

Inputs [1,1], [1,1], [2,2] give outputs [4,4], [12,12], [32,32]; the memory h makes the
output depend on order, so the reversed inputs give different outputs.
"""

from __future__ import annotations

import tinygrad_rnn as tg

from .common import Summary, parser, setup

INPUTS = ([1.0, 1.0], [1.0, 1.0], [2.0, 2.0])


def run_linear_rnn(inputs, device=None) -> list:
    W_x, W_h, W_y = (tg.ones(2, 2, device=device) for _ in range(3))
    h = tg.zeros(2, device=device)
    outputs = []
    for t, x in enumerate(inputs, start=1):
        with tg.scope(f"t={t}"):
            h = W_x @ tg.tensor(x, device=device) + W_h @ h
            outputs.append((W_y @ h).tolist())
    return outputs


def main(argv=None) -> Summary:
    args = parser("linear-rnn", __doc__.splitlines()[0]).parse_args(argv)
    setup(args)
    forward = run_linear_rnn(INPUTS, args.device)
    backward = run_linear_rnn(INPUTS[::-1], args.device)
    for t, (x, y) in enumerate(zip(INPUTS, forward), start=1):
        print(f"t={t}: x={x} → y={y}")
    print(f"reversed inputs {list(INPUTS[::-1])} → {backward}")
    s = Summary("linear-rnn")
    s.claim("linear RNN outputs as in the notes", " ".join(str(y) for y in forward),
            forward == [[4, 4], [12, 12], [32, 32]])
    s.claim("reversing the inputs changes the outputs", str(backward), backward != forward)
    s.print()
    return s


if __name__ == "__main__":
    main()

"""The tour: the quickest look at what tinygrad_rnn does (what `make demo` runs).

1. the notes' linear RNN (outputs 4, 12, 32);
2. weight tying: a shared weight's gradient is the sum of its per-step gradients;
3. a small character-level LSTM language model trained with truncated BPTT, then sampled.
"""

from __future__ import annotations

import math

import tinygrad_rnn as tg
from demos import linear_rnn, tied_weights
from demos.common import Summary, parser, progress, setup

TEXT = ("the quick brown fox jumps over the lazy dog. " * 8 +
        "backpropagation through time is backpropagation on the unrolled graph. " * 4)


def train_char_lstm(steps: int, hidden: int = 64, seq: int = 25, device=None):
    """h_t, c_t from LSTM gates over one-hot characters; loss = mean −log p(x_{t+1} | x_≤t)."""
    chars = sorted(set(TEXT))
    V = len(chars)
    data = [chars.index(c) for c in TEXT]
    s = 1 / math.sqrt(hidden)
    p = {"W_x": tg.uniform(V, 4 * hidden, low=-s, high=s, device=device, requires_grad=True),
         "W_h": tg.uniform(hidden, 4 * hidden, low=-s, high=s, device=device, requires_grad=True),
         "b": tg.zeros(4 * hidden, device=device, requires_grad=True),
         "W_y": tg.uniform(hidden, V, low=-s, high=s, device=device, requires_grad=True),
         "b_y": tg.zeros(V, device=device, requires_grad=True)}
    memory = {k: tg.zeros(*v.shape, device=device) for k, v in p.items()}
    H = hidden

    def cell(x_proj, h, c):
        gates = x_proj + h @ p["W_h"] + p["b"]
        i, f = gates[:, :H].sigmoid(), gates[:, H:2 * H].sigmoid()
        g, o = gates[:, 2 * H:3 * H].tanh(), gates[:, 3 * H:].sigmoid()
        c = f * c + i * g
        return o * c.tanh(), c

    h, c = tg.zeros(1, H, device=device), tg.zeros(1, H, device=device)
    losses, pos = [], 0
    for _ in progress(range(steps), desc="char-LSTM", unit="step"):
        if pos + seq + 1 > len(data):
            pos, h, c = 0, tg.zeros(1, H, device=device), tg.zeros(1, H, device=device)
        xs, ys = data[pos:pos + seq], data[pos + 1:pos + seq + 1]
        h, c = h.detach(), c.detach()  # truncated BPTT: the graph stops at the chunk boundary
        x_proj = tg.embedding(p["W_x"], tg.tensor(xs, device=device))
        loss = 0
        for t in range(seq):
            with tg.scope(f"t={t}"):
                h, c = cell(x_proj[t:t + 1], h, c)
                loss = loss - (h @ p["W_y"] + p["b_y"]).log_softmax(axis=-1)[0, ys[t]]
        loss = loss * (1 / seq)
        for v in p.values():
            v.grad = None
        loss.backward()
        with tg.no_grad():  # Adagrad, as in min-char-rnn
            for k, v in p.items():
                g = v.grad.clip(-5, 5)
                memory[k] = memory[k] + g * g
                v.data = (v - 0.1 * g / (memory[k] + 1e-8).sqrt()).data
        losses.append(loss.item())
        pos += seq
    return losses, math.log(V)


def main(argv=None) -> Summary:
    args = parser("tour", __doc__.splitlines()[0], steps=300).parse_args(argv)
    setup(args)
    s = Summary("tour")
    print("1. the notes' linear RNN (all weights 1, linear units)")
    outputs = linear_rnn.run_linear_rnn(linear_rnn.INPUTS, args.device)
    print(f"   inputs {list(linear_rnn.INPUTS)} → outputs {outputs}")
    s.claim("linear RNN outputs [4,4] [12,12] [32,32]", str(outputs),
            outputs == [[4, 4], [12, 12], [32, 32]])
    print("2. weight tying: ∂C/∂W = Σ_t ∂C/∂W_t")
    tied, untied = tied_weights.tied_vs_untied(device=args.device)
    err = float(abs(tied - sum(untied)).max())
    s.claim("tied gradient equals the sum of per-step gradients", f"max difference {err:.1e}",
            err < 1e-10)
    print("3. a character-level LSTM trained with truncated BPTT")
    steps = 30 if args.quick else args.steps
    losses, uniform = train_char_lstm(steps, device=args.device)
    first, last = losses[0], sum(losses[-10:]) / len(losses[-10:])
    s.claim("LSTM loss falls below the uniform guess ln V", f"{first:.3f} → {last:.3f} "
            f"(ln V = {uniform:.3f})", last < uniform * (0.9 if args.quick else 0.5))
    s.print()
    return s


if __name__ == "__main__":
    main()

"""The tour: the quickest look at what tinygrad_rnn does (what `make demo` runs).

1. the notes' linear RNN (outputs 4, 12, 32);
2. weight tying: a shared weight's gradient is the sum of its per-step gradients, and the
   notes' RNN unrolled over 4 steps drawn with its gradients into ``--out`` (the same
   picture as the gallery's ``graphs/rnn_unrolled_gradients.svg``, which only
   ``make graphs`` / ``tinygrad-rnn render --gallery graphs/`` write);
3. a small character-level LSTM language model trained with truncated BPTT, then sampled.
"""

from __future__ import annotations

import math
import os

import tinygrad_rnn as tg
from tinygrad_rnn import gallery, nn
from tinygrad_rnn.errors import GraphvizNotFound
from tinygrad_rnn.tasks import text_corpus

from . import linear_rnn, tied_weights
from .common import Summary, parser, progress, setup

TEXT = text_corpus(max_chars=857, lowercase=True)  # the Zen of Python, from the standard library


class CharLSTM(nn.Module):
    """x_t one-hot (an embedding row) → LSTM (h_t, c_t) → y_t = softmax(V h_t + c)."""

    def __init__(self, vocab: int, hidden: int):
        super().__init__()
        self.embed = nn.Embedding(vocab, hidden)
        self.lstm = nn.LSTM(hidden, hidden)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, tokens, state=None):
        h, state = self.lstm(self.embed(tokens), state)
        return self.out(h), state


def train_char_lstm(steps: int, hidden: int = 64, seq: int = 25, device=None):
    """Truncated BPTT over 25-character chunks, Adagrad 0.1 (min-char-rnn's recipe)."""
    chars = sorted(set(TEXT))
    data = tg.tensor([chars.index(ch) for ch in TEXT])
    model = CharLSTM(len(chars), hidden).to(device)
    opt = tg.optim.Adagrad(model.parameters(), lr=0.1)
    losses, pos, state = [], 0, None
    for _ in progress(range(steps), desc="char-LSTM", unit="step"):
        if pos + seq + 1 > len(TEXT):
            pos, state = 0, None
        xs = data[pos:pos + seq].reshape(seq, 1).to(device)
        ys = data[pos + 1:pos + seq + 1].to(device)
        state = nn.utils.detach_state(state)  # the graph stops at the chunk boundary
        logits, state = model(xs, state)
        loss = nn.functional.cross_entropy(logits.reshape(seq, -1), ys)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_value_(model.parameters(), 5.0)
        opt.step()
        losses.append(loss.item())
        pos += seq
    return model, chars, losses


@tg.no_grad()
def generate_text(model: CharLSTM, chars: list, prompt: str, length: int, temperature: float,
                  device=None) -> str:
    """Feed the prompt, then draw x_{t+1} ~ softmax(y_t / temperature) for `length` characters."""
    logits, state = model(tg.tensor([[chars.index(ch)] for ch in prompt], device=device))
    text = prompt
    for _ in range(length):
        nxt = int(nn.sample(logits[-1, 0], temperature))
        text += chars[nxt]
        logits, state = model(tg.tensor([[nxt]], device=device), state)
    return text


def main(argv=None) -> Summary:
    ap = parser("tour", __doc__.splitlines()[0], steps=300)
    ap.add_argument("--graphs", default=None, help="folder for the unrolled graph (default: --out)")
    args = ap.parse_args(argv)
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
    total, W = gallery.notes_rnn()   # the notes' RNN: h_t = tanh(W h_{t−1} + U x_t), C = Σ_t C(t)
    tg.manual_seed(args.seed)        # (the gallery's picture seeds itself; --seed is ours again)
    with tg.record_messages() as messages:
        total.backward()
    check = tg.check_tied_gradient(W, messages)
    print(f"   {check}")
    s.claim("in the drawn 4-step RNN, W.grad = Σ_t of its per-step messages",
            f"max difference {check.max_abs_error:.1e}", check.holds())
    folder = args.graphs or args.out  # render() makes the folder
    g = tg.graph(total, messages=messages)
    stem = os.path.join(folder, "rnn_unrolled_gradients")  # the gallery's picture, same bytes
    try:
        s.files.append(str(g.render(stem, format="svg", view=gallery.RNN_GRADIENTS_VIEW,
                                    title=gallery.RNN_GRADIENTS_TITLE)))
    except GraphvizNotFound as e:  # the .dot is written all the same
        print(f"   {e}")
        s.files.append(stem + ".dot")
    print("3. a character-level LSTM trained with truncated BPTT")
    steps = 30 if args.quick else args.steps
    model, chars, losses = train_char_lstm(steps, device=args.device)
    uniform = math.log(len(chars))
    first, last = losses[0], sum(losses[-10:]) / len(losses[-10:])
    s.claim("LSTM loss falls below the uniform guess ln V", f"{first:.3f} → {last:.3f} "
            f"(ln V = {uniform:.3f})", last < uniform * (0.9 if args.quick else 0.5))
    for temperature in (0.5, 1.0):
        print(f"   sample at temperature {temperature}: "
              f"{generate_text(model, chars, 'the ', 60, temperature, args.device)!r}")
    s.print()
    return s


if __name__ == "__main__":
    main()

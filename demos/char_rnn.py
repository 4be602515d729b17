"""Character-level RNN language model with truncated BPTT and sampling (notes 000, 001).

The notes' RNNLM, with min-char-rnn's sizes (hidden 100, 25-step chunks, Adagrad 0.1):

    s_t = tanh(U x_t + W s_{t−1} + b),   ŷ_t = softmax(V s_t + c),   P(x_{t+1} | x_≤t) = ŷ_t
    L = Σ_{t=1..25} −log ŷ_t[x_{t+1}]        (the SUM over the chunk, as in min-char-rnn)

so an untrained net (ŷ uniform over the K characters) starts at L ≈ 25·ln K. The corpus is
Python's own docstrings (``tasks.text_corpus``: no download). ``--cell lstm`` swaps the tanh
recurrence for an LSTM. Sampling draws x_{t+1} ~ softmax(o_t / τ) at temperatures τ, and the
notes' three ways to end a sample are all trained and used:

1. an end symbol: the line break "\\n" is a character; a sample ends when it is drawn;
2. a Bernoulli stop output p_t = σ(w_s·s_t + b_s), trained to fire after a sentence's
   final "." and sampled at every step;
3. a given length: two extra inputs tell the net how far the end of the line is
   (known-flag, 1/(1 + characters left)); sampling counts down from the length asked for.
"""

from __future__ import annotations

import math

import numpy as np

import tinygrad_rnn as tg
from demos.common import Summary, parser, progress, pyplot, save, setup
from tinygrad_rnn import nn
from tinygrad_rnn.nn import functional as F
from tinygrad_rnn.tasks import text_corpus

END = "\n"
SEQ = 25


class CharRNN(nn.Module):
    """U, W, b in the recurrent layer (weight_ih, weight_hh, biases); V, c in ``out``."""

    def __init__(self, vocab: int, hidden: int = 100, cell: str = "rnn"):
        super().__init__()
        layer = nn.LSTM if cell == "lstm" else nn.RNN
        self.rnn = layer(vocab + 2, hidden)  # one-hot x_t plus the two length inputs
        self.out = nn.Linear(hidden, vocab)  # V, c
        self.stop = nn.Linear(hidden, 1)     # w_s, b_s: the Bernoulli stop output
        for name, p in self.named_parameters():  # min-char-rnn: weights N(0, 0.01²), biases 0
            nn.init.normal_(p, std=0.01) if "weight" in name else nn.init.zeros_(p)

    def forward(self, x, state=None):
        """x: (T, K+2) → logits o_t (T, K), stop logits (T,), the carried state."""
        s, state = self.rnn(x, state)
        return self.out(s), self.stop(s).reshape(-1), state


def encode(text: str, chars: list[str]):
    """Inputs (one-hot + length inputs), next-character targets, stop targets for ``text``."""
    index = {c: i for i, c in enumerate(chars)}
    ids = np.array([index[c] for c in text])
    K = len(chars)
    x = np.zeros((len(text) - 1, K + 2), dtype=np.float32)
    x[np.arange(len(x)), ids[:-1]] = 1
    left = np.zeros(len(text), dtype=np.float32)  # characters before the next "\n"
    for i in range(len(text) - 2, -1, -1):
        left[i] = 0 if text[i + 1] == END else left[i + 1] + 1
    x[:, K + 1] = 1 / (1 + left[:-1])
    stops = np.array([text[i] == "." and text[i + 1] in " \n" for i in range(len(text) - 1)],
                     dtype=np.float32)
    return x, ids[1:], stops


def train(model, x, y, z, steps, device, lr=0.1):
    """min-char-rnn's loop: 25-step chunks, the state carried (detached) between chunks."""
    opt = tg.optim.Adagrad(model.parameters(), lr=lr)
    rng = np.random.default_rng(0)
    losses, pos, state = [], 0, None
    for _ in progress(range(steps), desc="char-rnn", unit="chunk"):
        if pos + SEQ > len(x):
            pos, state = 0, None
        xs = x[pos:pos + SEQ].copy()
        if rng.random() < 0.5:  # the length is known in half the chunks: flag 1
            xs[:, -2] = 1
        else:
            xs[:, -1] = 0
        logits, stop_logits, state = model(tg.tensor(xs, device=device), state)
        loss = F.cross_entropy(logits, tg.tensor(y[pos:pos + SEQ], device=device), reduction="sum")
        stop_loss = F.binary_cross_entropy_with_logits(
            stop_logits, tg.tensor(z[pos:pos + SEQ], device=device), reduction="sum")
        opt.zero_grad()
        (loss + stop_loss).backward()
        nn.utils.clip_grad_value_(model.parameters(), 5)
        opt.step()
        state = nn.utils.detach_state(state)
        losses.append(loss.item())
        pos += SEQ
    return losses


def sample(model, chars, first: str, rng, temperature=1.0, stop="end", length=None,
           device=None, limit=300):
    """Draw characters after ``first`` until the chosen stop: "end" (the end symbol is
    drawn), "bernoulli" (the stop output says so) or "length" (``length`` characters)."""
    K, index = len(chars), {c: i for i, c in enumerate(chars)}
    text, state, c = "", None, first
    with tg.no_grad():
        for t in range(limit if length is None else length + 1):
            x = np.zeros((1, K + 2), dtype=np.float32)
            x[0, index[c]] = 1
            if stop == "length":  # known length: 1/(1 + characters still to come)
                x[0, K:] = 1, 1 / (1 + length - t)
            logits, stop_logit, state = model(tg.tensor(x, device=device), state)
            if stop == "bernoulli" and rng.random() < 1 / (1 + math.exp(-stop_logit.item())):
                break
            if stop == "length" and t == length:
                break
            o = logits.numpy()[0] / temperature
            p = np.exp(o - o.max())
            c = chars[rng.choice(K, p=p / p.sum())]
            if stop == "end" and c == END:
                break
            text += c
    return text


def main(argv=None) -> Summary:
    ap = parser("char-rnn", __doc__.splitlines()[0], steps=20000)
    ap.add_argument("--cell", choices=("rnn", "lstm"), default="rnn")
    ap.add_argument("--hidden", type=int, default=100)
    args = ap.parse_args(argv)
    out = setup(args)
    s = Summary("char-rnn")
    text = text_corpus()
    chars = sorted(set(text))
    K = len(chars)
    x, y, z = encode(text, chars)
    steps = 1500 if args.quick else args.steps
    model = CharRNN(K, args.hidden, args.cell).to(args.device)
    print(f"corpus: {len(text):,} characters, K = {K} distinct; {args.cell}, hidden "
          f"{args.hidden}, {SEQ}-step truncated BPTT, Adagrad 0.1, {steps} chunks")
    losses = train(model, x, y, z, steps, args.device)
    smooth = [losses[0]]
    for v in losses[1:]:
        smooth.append(0.98 * smooth[-1] + 0.02 * v)
    uniform = SEQ * math.log(K)
    last = float(np.mean(losses[-50:]))
    print(f"loss per 25 characters: first {losses[0]:.1f}, last 50 chunks {last:.1f} "
          f"({last / SEQ / math.log(2):.2f} bits per character)")

    rng = np.random.default_rng(args.seed)
    samples = []
    for temperature in (0.5, 1.0, 1.5):
        for stop in ("end", "bernoulli", "length"):
            length = 40 if stop == "length" else None
            txt = sample(model, chars, END, rng, temperature, stop, length, args.device)
            samples.append((temperature, stop, txt))
            print(f"τ = {temperature}, stop by {stop:9s} ({len(txt):3d} chars): {txt!r}")

    s.claim("first-step loss ≈ 25·ln K (K = vocabulary size)", f"{losses[0]:.1f} vs {uniform:.1f}",
            abs(losses[0] - uniform) < 0.02 * uniform)
    s.claim("loss falls well below it", f"last 50 chunks {last:.1f} = {last / uniform:.0%} of it",
            last < (0.7 if args.quick else 0.6) * uniform)
    s.claim("samples printed at τ = 0.5, 1, 1.5 with each of the three stops",
            f"{len(samples)} samples, {sum(len(t) for *_, t in samples)} characters",
            len(samples) == 9)

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(losses, lw=0.5, alpha=0.4, label="loss per chunk")
    ax.plot(smooth, lw=1.5, label="smoothed")
    ax.axhline(uniform, color="k", ls="--", lw=1, label="25·ln K (uniform guess)")
    ax.set(title=f"char-level {args.cell.upper()} LM: summed loss per 25 characters",
           xlabel="chunk (truncated-BPTT step)", ylabel="loss")
    ax.legend()
    save(fig, out, "char_rnn_loss.png", s)
    s.print()
    return s


if __name__ == "__main__":
    main()

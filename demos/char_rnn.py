"""Character-level RNN language model with truncated BPTT and sampling (notes 000, 001).

The notes' RNNLM, with min-char-rnn's sizes (hidden 100, 25-step chunks, Adagrad):

    s_t = tanh(U x_t + W s_{t−1} + b),   ŷ_t = softmax(V s_t + c),   P(x_{t+1} | x_≤t) = ŷ_t
    L = Σ_{t=1..25} −log ŷ_t[x_{t+1}]        (the SUM over the chunk, as in min-char-rnn)

so an untrained net (ŷ uniform over the K characters) starts at L ≈ 25·ln K. The corpus is
Python's own docstrings (``tasks.text_corpus(plain=True)``: no download; runs of spaces,
indentation and blank lines removed, see below). 32 parallel streams of the text are
trained at once (one batch of 32 chunks per update, the loss averaged over them; Adagrad's
rate 0.05 — min-char-rnn's 0.1 learned slower and less stably here). ``--cell lstm`` swaps
the tanh recurrence for an LSTM.

The notes (000, 002) motivate the RNN LM by the n-gram model's limits, so the last 10 % of
the text is held out and every model is scored on it in bits per character: unigram, bigram
and trigram models with add-k smoothing and a fixed-window feed-forward neural LM (Bengio
2003) from ``tasks.ngram``, trained on the same 90 %, and the RNN LM. Sampling draws
x_{t+1} ~ softmax(o_t / τ) at temperatures τ, and the notes' three ways to end a sample are
all trained and used:

1. an end symbol: the line break "\\n" is a character; a sample ends when it is drawn;
2. a Bernoulli stop output p_t = σ(w_s·s_t + b_s), trained to fire after a sentence's
   final "." and sampled at every step;
3. a given length: two extra inputs tell the net how far the end of the line is
   (known-flag, 1/(1 + characters left)); sampling counts down from the length asked for.

Why the plain text: the docstrings indent their examples and separate paragraphs by blank
lines, so after a space the likeliest next character is another space, and after a line
break another line break. Dividing the logits by τ = 0.5 squares the probabilities (and
renormalises), which makes that likeliest continuation near-certain: the τ = 0.5 samples
were runs of spaces, and "end" samples stopped at once on a second line break. Without the
layout they read as text, and the line break ends a line.
"""

from __future__ import annotations

import math

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.nn import functional as F
from tinygrad_rnn.tasks import text_corpus
from tinygrad_rnn.tasks.ngram import CharNGram, FeedForwardLM

from .common import Summary, parser, progress, run_jobs, save, setup, subplots

END = "\n"
SEQ = 25
HELD_OUT = 0.1  # the last 10 % of the text: every model's test set
CONTEXT = 5     # the feed-forward LM's window: the 5 characters before


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
        """x: (T, B, K+2) → logits o_t (T, B, K), stop logits (T·B,), the carried state
        (x: (T, K+2) unbatched → (T, K), (T,))."""
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


def streams(a, B: int):
    """Cut ``a`` (length N, …) into B equal consecutive streams: shape (B, N // B, …)."""
    L = len(a) // B
    return a[:B * L].reshape(B, L, *a.shape[1:])


def train(model, x, y, z, steps, device, batch=32, lr=0.05, seed=0):
    """min-char-rnn's loop over ``batch`` parallel streams of the text: 25-step chunks, each
    stream's state carried (detached) between chunks; loss = Σ over the chunk, mean over streams."""
    opt = tg.optim.Adagrad(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    xs_all, ys_all, zs_all = streams(x, batch), streams(y, batch), streams(z, batch)
    losses, pos, state = [], 0, None
    for _ in progress(range(steps), desc="char-rnn", unit="chunk"):
        if pos + SEQ > xs_all.shape[1]:
            pos, state = 0, None
        xs = xs_all[:, pos:pos + SEQ].copy()
        known = rng.random(batch) < 0.5  # the length is known in half the streams: flag 1
        xs[known, :, -2] = 1
        xs[~known, :, -1] = 0
        logits, stop_logits, state = model(tg.tensor(xs.transpose(1, 0, 2), device=device), state)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                               tg.tensor(ys_all[:, pos:pos + SEQ].T.reshape(-1), device=device),
                               reduction="sum") / batch
        stop_loss = F.binary_cross_entropy_with_logits(
            stop_logits, tg.tensor(zs_all[:, pos:pos + SEQ].T.reshape(-1), device=device),
            reduction="sum") / batch
        opt.zero_grad()
        (loss + stop_loss).backward()
        nn.utils.clip_grad_value_(model.parameters(), 5)
        opt.step()
        state = nn.utils.detach_state(state)
        losses.append(loss.item())
        pos += SEQ
    return losses


def bits_per_char(model, x, y, start: int, device, chunk: int = 500) -> float:
    """−mean log₂ P(y_t | x_≤t) over t ≥ ``start``, one stream from the zero state, the
    length unknown (the n-gram models get no length either)."""
    x = x.copy()
    x[:, -2:] = 0
    nats, state = [], None
    with tg.no_grad():
        for a in range(0, len(y), chunk):
            logits, _, state = model(tg.tensor(x[a:a + chunk, None], device=device), state)
            nats.append(F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                        tg.tensor(y[a:a + chunk], device=device),
                                        reduction="none").numpy())
    return float(np.concatenate(nats)[start:].mean() / math.log(2))


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


def baselines(text: str, cut: int, chars: list, ff: FeedForwardLM, device, seed: int, quick: bool) -> dict:
    """Bits per character on text[cut:] for the n-grams and the feed-forward LM ``ff`` (trained
    here), all predicting the same characters (those with ≥ CONTEXT characters before them)."""
    train_text, held = text[:cut], text[cut:]
    index = {c: i for i, c in enumerate(chars)}
    bpc = {"uniform (log₂ K)": math.log2(len(chars))}
    for n, name in ((1, "unigram"), (2, "bigram"), (3, "trigram")):
        ngram = CharNGram.tuned(n, train_text, chars)
        bpc[f"{name}, add-k (k = {ngram.k:g})"] = ngram.bits_per_char(held, start=CONTEXT)
    ids = np.array([index[c] for c in text])
    ff.fit(ids[:cut], 300 if quick else 3000, device=device, seed=seed,
           progress=lambda r: progress(r, desc="feed-forward LM", leave=False))
    bpc[f"feed-forward LM ({CONTEXT} characters in)"] = ff.bits_per_char(ids[cut:], CONTEXT, device)
    return bpc


def _job(what: str, *args):
    """One of the demo's two independent trainings, for run_jobs: the RNN LM (its losses and
    the trained model) or the held-out table of the n-grams and the feed-forward LM."""
    if what == "rnn":
        model, x, y, z, steps, device, batch, seed = args
        return train(model, x, y, z, steps, device, batch=batch, seed=seed), model
    return baselines(*args)


def reads_as_text(samples: list[str], words: set) -> tuple[float, float]:
    """(fraction of spaces, fraction of the samples' words that are words of the corpus)."""
    joined = " ".join(samples)
    tokens = [w.strip(".,:;()'\"`") for w in joined.split()]
    tokens = [w for w in tokens if w.isalpha()]
    return joined.count(" ") / max(len(joined), 1), sum(w in words for w in tokens) / max(len(tokens), 1)


def main(argv=None) -> Summary:
    ap = parser("char-rnn", __doc__.splitlines()[0], steps=6000)
    ap.add_argument("--cell", choices=("rnn", "lstm"), default="rnn", help="the recurrent layer")
    ap.add_argument("--hidden", type=int, default=100, help="hidden size")
    ap.add_argument("--batch", type=int, default=32, help="parallel streams of the text per update")
    args = ap.parse_args(argv)
    out = setup(args)
    s = Summary("char-rnn")
    text = text_corpus(plain=True)
    chars = sorted(set(text))
    K = len(chars)
    cut = int(len(text) * (1 - HELD_OUT))
    x, y, z = encode(text[:cut], chars)
    steps = 600 if args.quick else args.steps
    model = CharRNN(K, args.hidden, args.cell).to(args.device)
    print(f"corpus: {len(text):,} characters ({cut:,} to train, {len(text) - cut:,} held out), K = {K} "
          f"distinct; {args.cell}, hidden {args.hidden}, {SEQ}-step truncated BPTT over {args.batch} "
          f"streams, Adagrad 0.05, {steps} updates")
    ff = FeedForwardLM(K, CONTEXT).to(args.device)  # drawn after the RNN LM, as always
    (losses, model), bpc = run_jobs(_job, [
        ("rnn", model, x, y, z, steps, args.device, args.batch, args.seed),
        ("baselines", text, cut, chars, ff, args.device, args.seed, args.quick)], args.device)
    smooth = [losses[0]]
    for v in losses[1:]:
        smooth.append(0.98 * smooth[-1] + 0.02 * v)
    uniform = SEQ * math.log(K)
    last = float(np.mean(losses[-50:]))
    print(f"loss per 25 characters: first {losses[0]:.1f}, last 50 updates {last:.1f} "
          f"({last / SEQ / math.log(2):.2f} bits per character on the training text)")

    hx, hy, _ = encode(text[cut:], chars)
    bpc[f"{args.cell.upper()} LM (this demo)"] = bits_per_char(model, hx, hy, CONTEXT - 1, args.device)
    print(f"\nheld-out text ({len(text) - cut:,} characters), bits per character:")
    for name, v in bpc.items():
        print(f"  {name:36s} {v:6.3f}")
    rnn_bpc = bpc[f"{args.cell.upper()} LM (this demo)"]
    bigram = next(v for k, v in bpc.items() if k.startswith("bigram"))

    rng = np.random.default_rng(args.seed)
    print()
    for temperature in (0.5, 1.0, 1.5):
        for stop in ("end", "bernoulli", "length"):
            length = 40 if stop == "length" else None
            txt = sample(model, chars, END, rng, temperature, stop, length, args.device)
            print(f"τ = {temperature}, stop by {stop:9s} ({len(txt):3d} chars): {txt!r}")
    n = 5 if args.quick else 10
    cold = [sample(model, chars, END, rng, 0.5, "end", device=args.device, limit=150) for _ in range(n)]
    spaces, known = reads_as_text(cold, set(text.split()) | {w.strip(".,:;()'\"`") for w in text.split()})
    limit = 300
    stopped = [sample(model, chars, END, rng, 1.0, "bernoulli", device=args.device, limit=limit)
               for _ in range(n)]
    fired = [t for t in stopped if len(t) < limit]
    after_dot = sum(t.endswith(".") for t in fired)
    print(f"\n{n} lines at τ = 0.5 (≤ 150 characters each): {spaces:.0%} spaces "
          f"(the text: {text.count(' ') / len(text):.0%}), "
          f"{known:.0%} of their words are words of the corpus; e.g. {cold[0]!r}")
    print(f"{n} samples at τ = 1 with the Bernoulli stop: {len(fired)} stopped before {limit} characters "
          f"(lengths {[len(t) for t in stopped]}), {after_dot} of them right after a '.'")

    s.claim("first-step loss ≈ 25·ln K (K = vocabulary size)", f"{losses[0]:.1f} vs {uniform:.1f}",
            abs(losses[0] - uniform) < 0.02 * uniform)
    s.claim("loss falls well below it", f"last 50 updates {last:.1f} = {last / uniform:.0%} of it",
            last < (0.7 if args.quick else 0.5) * uniform)
    s.claim(f"on held-out text the {args.cell.upper()} LM beats the bigram (bits per character)",
            f"{rnn_bpc:.3f} vs {bigram:.3f}", rnn_bpc < bigram)
    min_known = 0.5 if args.quick else 0.7
    s.claim(f"samples at τ = 0.5 read as text: < 25 % spaces, ≥ {min_known:.0%} corpus words",
            f"{spaces:.0%} spaces, {known:.0%} corpus words", spaces < 0.25 and known >= min_known)
    min_fired = 0.6 if args.quick else 0.8
    s.claim(f"the learned Bernoulli stop fires within {limit} characters (≥ {min_fired:.0%} of "
            "samples, τ = 1)",
            f"{len(fired)} of {n}, {after_dot} right after a '.'", len(fired) >= min_fired * n)

    fig, (ax, bx) = subplots(1, 2, figsize=(14, 4.2), width_ratios=(1.1, 1), layout="constrained")
    ax.plot(losses, lw=0.5, alpha=0.4, label="loss per update")
    ax.plot(smooth, lw=1.5, label="smoothed")
    ax.axhline(uniform, color="k", ls="--", lw=1, label="25·ln K (uniform guess)")
    ax.set(title=f"char-level {args.cell.upper()} LM: summed loss per 25 characters",
           xlabel="update (truncated-BPTT step)", ylabel="loss")
    ax.legend()
    names = list(bpc)
    colors = ["0.7"] * (len(names) - 1) + ["C0"]
    bx.barh(range(len(names)), [bpc[n] for n in names], color=colors)
    for k, n in enumerate(names):
        bx.text(bpc[n], k, f" {bpc[n]:.2f}", va="center")
    bx.set_yticks(range(len(names)), names)
    bx.invert_yaxis()
    bx.set(title="held-out text: bits per character (lower is better)", xlabel="bits per character",
           xlim=(0, max(bpc.values()) * 1.15))
    save(fig, out, "char_rnn_loss.png", s)
    s.print()
    return s


if __name__ == "__main__":
    main()

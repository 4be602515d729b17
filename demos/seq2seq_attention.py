"""Encoder–decoder with Bahdanau attention translates dates in words into ISO dates (notes 001, 002).

A bidirectional GRU encoder reads the source x_1 … x_T ("the 23rd of november 2026", one
token per word or digit) into annotations h_j = [→h_j ; ←h_j]. The decoder emits
y = "2026-11-23" one symbol at a time; before each symbol it looks back at the source:

    e_ij = v_aᵀ tanh(W_a s_{i−1} + U_a h_j)         the alignment score
    α_ij = exp(e_ij) / Σ_k exp(e_ik)                the attention weights
    c_i  = Σ_j α_ij h_j                             the context of symbol i
    s_i  = GRU(s_{i−1}, [E y_{i−1} ; c_i]),   p(y_i | y_<i, X) = softmax(W_o [E y_{i−1} ; s_i ; c_i] + b_o)

The classic encoder–decoder (attention=None) gives every step the same c_i = C = [→h_T ; ←h_1].
Training minimises Σ_i −log p(y_i | y_<i, X) with teacher forcing; the test set is decoded
greedily. Alignment is checked on numbers: while writing the year digits, how much of α lies
on the source's year tokens, against the share uniform attention would put there.
"""

from __future__ import annotations

import re

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.nn.seq2seq import sequence_loss
from tinygrad_rnn.tasks import date_pairs
from tinygrad_rnn.tasks.dates import WEEKDAYS
from tinygrad_rnn.tasks.slots import MONTHS

from .common import Summary, parser, progress, pyplot, run_jobs, save, setup

PAD, BOS, EOS = 0, 1, 2
SPECIALS = ["<pad>", "<bos>", "<eos>"]
MONTH_WORDS = [*MONTHS, *(m[:3] for m in MONTHS if len(m) > 3)]   # "may" is its own abbreviation
WORDS = [*MONTH_WORDS, *WEEKDAYS, "the", "of", "st", "nd", "rd", "th", ",", "/", *"0123456789"]
SOURCE_VOCAB = SPECIALS + WORDS
TARGET_VOCAB = SPECIALS + list("0123456789-")
SOURCE_INDEX = {w: i for i, w in enumerate(SOURCE_VOCAB)}
TARGET_INDEX = {c: i for i, c in enumerate(TARGET_VOCAB)}
# the ISO target "YYYY-MM-DD": which output positions write which field
OUTPUT_FIELDS = {"year": range(0, 4), "month": range(5, 7), "day": range(8, 10)}


def tokens(source: str) -> list[str]:
    """Words, single digits and punctuation: "nov 23, 2026" → nov 2 3 , 2 0 2 6."""
    return re.findall(r"\d|[a-z]+|[,/]", source)


def source_fields(toks: list[str]) -> list[str]:
    """The field each source token belongs to: year, month, day or other.

    Every format ends with the year; the month is a word, except in m/d/y where the first
    digits are the month; the remaining digits are the day."""
    runs, k = [], 0
    while k < len(toks):
        if toks[k].isdigit():
            start = k
            while k < len(toks) and toks[k].isdigit():
                k += 1
            runs.append(range(start, k))
        else:
            k += 1
    fields = ["month" if t in MONTH_WORDS else "other" for t in toks]
    names = ["month", "day", "year"] if "/" in toks else ["day", "year"]
    for name, run in zip(names, runs):
        for j in run:
            fields[j] = name
    return fields


def batch(pairs, reverse: bool = False):
    """Padded source ids, source lengths, target ids (the ISO date + <eos>) and the tokens."""
    toks = [tokens(s)[::-1] if reverse else tokens(s) for s, _ in pairs]
    lengths = np.array([len(t) for t in toks])
    src = np.full((len(pairs), lengths.max()), PAD, np.int64)
    for b, t in enumerate(toks):
        src[b, :len(t)] = [SOURCE_INDEX[w] for w in t]
    tgt = np.array([[TARGET_INDEX[c] for c in iso] + [EOS] for _, iso in pairs], np.int64)
    return src, lengths, tgt, toks


def make_model(attention, device, bidirectional: bool = True):
    encoder = nn.Encoder(len(SOURCE_VOCAB), 16, 16, bidirectional=bidirectional)
    decoder = nn.AttentionDecoder(len(TARGET_VOCAB), 16, 32, encoder.output_size,
                                  attention=attention)
    return nn.Seq2Seq(encoder, decoder, BOS, EOS).to(device)


def train(model, steps: int, seed: int, desc: str, reverse: bool = False) -> list[float]:
    opt = tg.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for step in progress(range(steps), desc=desc):
        src, lengths, tgt, _ = batch(date_pairs(32, seed=1_000_000 * (seed + 1) + step), reverse)
        logits, _ = model(src, tgt, lengths)
        loss = sequence_loss(logits, tgt)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # norm clipping, as the notes advise
        opt.step()
        losses.append(loss.item())
    return losses


def train_model(model, steps: int, seed: int, desc: str):
    """``train``, returning the losses and the trained model (a job of run_jobs)."""
    return train(model, steps, seed, desc), model


def exact_match(model, test) -> tuple[float, list]:
    src, lengths, tgt, _ = test
    hyps = model.greedy_decode(src, lengths, max_len=tgt.shape[1] + 2)
    return float(np.mean([h.tokens == list(row) for h, row in zip(hyps, tgt)])), hyps


def alignment(model, test) -> dict:
    """For each field: the mean attention mass on the source tokens of that field while the
    decoder writes the field's output digits (teacher forced), the share uniform attention
    over the real source tokens would give, and how often α's largest weight is in the field."""
    src, lengths, tgt, toks = test
    with tg.no_grad():
        _, alpha = model(src, tgt, lengths)
    alpha = alpha.numpy()
    result = {}
    for field, positions in OUTPUT_FIELDS.items():
        mass, uniform, argmax_in = [], [], []
        for b, t in enumerate(toks):
            inside = np.array([f == field for f in source_fields(t)] +
                              [False] * (src.shape[1] - len(t)))
            for i in positions:
                mass.append(alpha[b, i][inside].sum())
                argmax_in.append(inside[alpha[b, i].argmax()])
            uniform.append(inside.sum() / len(t))
        result[field] = (float(np.mean(mass)), float(np.mean(uniform)), float(np.mean(argmax_in)))
    return result


def heat_maps(hyps, test, out, summary, n: int = 4) -> str:
    plt = pyplot()
    fig, axes = plt.subplots(1, n, figsize=(4 * n, 4.2))
    _, _, tgt, toks = test
    for ax, hyp, src_toks, want in zip(axes, hyps, toks, tgt):
        a = np.array(hyp.attention)[:, :len(src_toks)]
        ax.imshow(a, cmap="Greys", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(len(src_toks)), src_toks, rotation=60, ha="right")
        ax.set_yticks(range(len(hyp.tokens)), [TARGET_VOCAB[k] for k in hyp.tokens])
        ax.set_xlabel("source x_j")
        ax.set_title("exact ✓" if hyp.tokens == list(want) else
                     "wrong ✗, want " + "".join(TARGET_VOCAB[k] for k in want if k != EOS))
    axes[0].set_ylabel("output y_i (greedy)")
    fig.suptitle("attention α_ij: row i = the weights over the source while writing y_i")
    fig.tight_layout()
    return save(fig, out, "attention.png", summary)


def render_short_decoding(model, test, out, summary) -> None:
    """The graph of one short decoding: 3 source tokens, 3 decoder steps, loss and backward.

    Drawn collapsed (one box per encoder or decoder step): the unrolled drawing of these
    ~300 ops takes dot about 20 s and is too wide to read; graphs/seq2seq_attention is the
    unrolled picture of a smaller model."""
    src, _, tgt, _ = test
    with tg.record_messages() as messages:
        logits, _ = model(src[:1, :3], tgt[:1, :3])
        loss = sequence_loss(logits, tgt[:1, :3])
        loss.name = "C"
        loss.backward()
    model.zero_grad()
    try:
        path = tg.graph(loss, messages=messages).render(
            f"{out}/graph_short_decoding", format="svg", view="collapsed",
            title="3 source tokens, 3 decoder steps with attention: colour = ‖∂C/∂node‖")
        summary.files.append(str(path))
    except RuntimeError as e:  # no `dot` binary: the .dot file is written, the error says how
        print(e)


def main(argv=None) -> Summary:
    args = parser("seq2seq-attention", __doc__.splitlines()[0], steps=600).parse_args(argv)
    out = setup(args)
    summary = Summary("seq2seq-attention")
    steps = 150 if args.quick else args.steps
    test = batch(date_pairs(100 if args.quick else 300, seed=10_000 + args.seed))
    for (source, iso), t in zip(date_pairs(3, seed=10_000 + args.seed), test[3]):
        print(f"  {source!r:32} → {iso}    tokens: {' '.join(t)}")

    model = make_model("additive", args.device)
    tg.manual_seed(args.seed)  # the classic encoder–decoder starts from the same seed
    fixed = make_model(None, args.device)
    # the two trainings are independent: side by side (run_jobs), each returns its trained model
    (attention_losses, model), (fixed_losses, fixed) = run_jobs(train_model, [
        (model, steps, args.seed, "seq2seq with attention"),
        (fixed, steps, args.seed, "seq2seq, fixed context")], args.device)
    losses = {"Bahdanau attention": attention_losses}
    accuracy, hyps = exact_match(model, test)
    print(f"exact match on {len(test[2])} test dates: {accuracy:.1%}")
    for (source, iso), hyp in zip(date_pairs(3, seed=10_000 + args.seed), hyps):
        decoded = "".join(TARGET_VOCAB[k] for k in hyp.tokens if k != EOS)
        print(f"  {source!r:32} → {decoded}  {'✓' if decoded == iso else '✗ (' + iso + ')'}")
    summary.claim(f"after {steps} steps the attention model translates most test dates exactly",
                  f"exact match {accuracy:.1%} of {len(test[2])}", accuracy >= 0.6)

    aligned = alignment(model, test)
    for field, (mass, uniform, argmax_in) in aligned.items():
        print(f"  writing the {field:<5} digits: α mass on the source {field} = {mass:.2f} "
              f"(uniform: {uniform:.2f}), largest α_ij inside it {argmax_in:.0%}")
    mass, uniform, _ = aligned["year"]
    summary.claim("the attention aligns: writing the year digits, most of α (≥ 0.7, and ≥ 1.5× "
                  "the uniform share) lies on the source year tokens",
                  f"{mass:.2f} vs {uniform:.2f} for uniform attention", mass >= 0.7 and mass >= 1.5 * uniform)
    rest = {f: aligned[f] for f in ("month", "day")}
    summary.claim("… and writing the month and the day digits, ≥ 0.6 of α (≥ 2× uniform) lies on "
                  "the source month and day", ", ".join(f"{f} {m:.2f} vs {u:.2f}"
                                                       for f, (m, u, _) in rest.items()),
                  all(m >= 0.6 and m >= 2 * u for m, u, _ in rest.values()))

    # the classic encoder–decoder, one context C for every step (--quick too: the same claim)
    losses["fixed context C"] = fixed_losses
    fixed_accuracy, _ = exact_match(fixed, test)
    print(f"fixed-context encoder–decoder: exact match {fixed_accuracy:.1%}")
    summary.claim(f"with the same {steps} steps the fixed-context encoder–decoder does worse",
                  f"{fixed_accuracy:.1%} vs {accuracy:.1%} with attention",
                  fixed_accuracy < accuracy)

    heat_maps(hyps, test, out, summary)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, curve in losses.items():
        ax.semilogy(curve, label=name)
    ax.set(xlabel="step", ylabel="mean −log p(y_i | y_<i, X)", title="training loss")
    ax.legend()
    save(fig, out, "loss.png", summary)
    render_short_decoding(model, test, out, summary)
    summary.print()
    return summary


if __name__ == "__main__":
    main()

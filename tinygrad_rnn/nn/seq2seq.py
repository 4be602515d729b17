"""Encoder–decoder (sequence-to-sequence) networks, with or without attention (notes 001, 002).

Encoder: a (bidirectional) GRU or LSTM over the embedded source x_1 … x_T gives

    h_j = [→h_j ; ←h_j]          one annotation per source position
    C   = [→h_T ; ←h_1]          the classic fixed-length context (the last states)

Decoder (Bahdanau et al. 2015), for i = 1 … n_y, with y_0 the start symbol:

    c_i = Σ_j α_ij h_j, α_ij = softmax_j(a(s_{i−1}, h_j))     (or c_i = C without attention)
    s_i = f(s_{i−1}, y_{i−1}, c_i)                           a GRU/LSTM cell on [E y_{i−1} ; c_i]
    p(y_i | y_<i, X) = g(y_{i−1}, s_i, c_i) = softmax(W_o [E y_{i−1} ; s_i ; c_i] + b_o)
    s_0 = tanh(W_s C + b_s)

Training feeds y_{i−1} from the data (teacher forcing) with probability ``teacher_forcing_ratio``
per step and sequence, otherwise the model's own argmax (free running); a ratio that decays
over training is scheduled sampling (Bengio et al. 2015; see the ``*_schedule`` functions).
Decoding stops at the end symbol or after ``max_len`` symbols: greedy, or beam search.

Each decoder step runs in ``scope("decoder")/scope("t=i")``, attention inside it in
``scope("attention")``, and the encoder in ``scope("encoder")``, so the graph shows the unrolling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from tinygrad_rnn import backend
from tinygrad_rnn.creation import zeros
from tinygrad_rnn.errors import IndexOutOfRange, ShapeError
from tinygrad_rnn.functions import cat, stack
from tinygrad_rnn.modes import no_grad, scope
from tinygrad_rnn.nn.attention import AdditiveAttention, DotAttention, GeneralAttention
from tinygrad_rnn.nn.cells import GRUCell, LSTMCell
from tinygrad_rnn.nn.layers import Embedding, Linear
from tinygrad_rnn.nn.module import Module
from tinygrad_rnn.nn.rnn import GRU, LSTM
from tinygrad_rnn.tensor import Tensor, host_array

CELLS = {"gru": (GRU, GRUCell), "lstm": (LSTM, LSTMCell)}


def _host_tokens(module, tokens, what: str, ndim: int = 2):
    """Integer tokens (list, array or Tensor) as a host array of rank ``ndim``."""
    name = module if isinstance(module, str) else module.short_repr()
    host = host_array(tokens)
    if host.ndim != ndim or host.dtype.kind not in "iu":
        shape = "(B, T)" if ndim == 2 else "(B,)"
        raise ShapeError(f"{name}: {what} must be integer tokens of shape {shape}, got "
                         f"{host.dtype} array of shape {host.shape}")
    return host


def _check_cell(name: str, cell: str) -> None:
    if cell not in CELLS:
        raise ValueError(f"{name}: cell must be 'gru' or 'lstm', got {cell!r}")


class Encoder(Module):
    """Embedding + (bidirectional) GRU/LSTM: returns (h (B, T, D·H) = the h_j, C (B, D·H))."""

    def __init__(self, vocab_size: int, embed_size: int, hidden_size: int, num_layers: int = 1,
                 cell: str = "gru", bidirectional: bool = True, dropout: float = 0.0):
        super().__init__()
        _check_cell("Encoder", cell)
        self.cell, self.sizes = cell, (vocab_size, embed_size, hidden_size)
        self.embedding = Embedding(vocab_size, embed_size)
        self.rnn = CELLS[cell][0](embed_size, hidden_size, num_layers, batch_first=True,
                                  bidirectional=bidirectional, dropout=dropout)
        self.output_size = hidden_size * (2 if bidirectional else 1)

    def forward(self, src, lengths=None) -> tuple[Tensor, Tensor]:
        tokens = _host_tokens(self, src, "the source")
        with scope("encoder"):
            h, state = self.rnn(self.embedding(tokens), lengths=lengths)
            h_n = state[0] if self.cell == "lstm" else state
            D = 2 if self.rnn.bidirectional else 1
            last = [h_n[h_n.shape[0] - D + d] for d in range(D)]  # the last layer's directions
            C = last[0] if D == 1 else cat(last, axis=-1)          # [→h_T ; ←h_1]
        return h.named("h_j"), C.named("C")

    def extra_repr(self) -> str:
        return (f"{', '.join(map(str, self.sizes))}, cell={self.cell!r}, "
                f"bidirectional={self.rnn.bidirectional}, output_size={self.output_size}")


@dataclass
class DecoderState:
    """What the decoder carries from step to step, one row per sequence (or hypothesis)."""

    s: Tensor                      # s_{i−1} (B, H)
    cell: Tensor | None            # the LSTM memory c_{i−1}, None for a GRU
    memory: Tensor | None          # the h_j (B, T, C) attention reads; None without attention
    context: Tensor                # C (B, C), the fixed context
    valid_lens: object = None      # (B,) host integers: the real source length of each row

    def select(self, rows) -> DecoderState:
        """The state of the given rows (beam search reorders and repeats hypotheses)."""
        rows = backend.host_asarray(rows)
        pick = (lambda t: None if t is None else t[rows])
        lens = None if self.valid_lens is None else self.valid_lens[rows]
        return DecoderState(pick(self.s), pick(self.cell), pick(self.memory), pick(self.context),
                            lens)


class AttentionDecoder(Module):
    """s_i = f(s_{i−1}, y_{i−1}, c_i), p(y_i | y_<i, X) = g(y_{i−1}, s_i, c_i).

    ``attention`` is "additive" (Bahdanau), "dot", "general", a ready attention module, or
    None for the classic encoder–decoder whose every step sees the same context C.
    """

    def __init__(self, vocab_size: int, embed_size: int, hidden_size: int, context_size: int,
                 cell: str = "gru", attention: str | Module | None = "additive",
                 attention_size: int | None = None):
        super().__init__()
        _check_cell("AttentionDecoder", cell)
        self.vocab_size, self.hidden_size, self.context_size = vocab_size, hidden_size, context_size
        self.cell_type, self.embed_size = cell, embed_size
        self.embedding = Embedding(vocab_size, embed_size)
        if attention == "additive":
            attention = AdditiveAttention(hidden_size, context_size, attention_size or hidden_size)
        elif attention == "dot":
            if hidden_size != context_size:
                raise ShapeError(f"AttentionDecoder: dot attention scores s_{{i−1}}ᵀ h_j, so the "
                                 f"decoder's hidden_size ({hidden_size}) must equal the context "
                                 f"size ({context_size}); use 'general' or 'additive'")
            attention = DotAttention(scale=True)
        elif attention == "general":
            attention = GeneralAttention(hidden_size, context_size)
        elif attention is not None and not isinstance(attention, Module):
            raise ValueError(f"AttentionDecoder: attention must be 'additive', 'dot', 'general', "
                             f"a Module or None, got {attention!r}")
        if attention is not None:
            self.attention = attention
        else:
            object.__setattr__(self, "attention", None)
        self.bridge = Linear(context_size, hidden_size)                  # s_0 = tanh(W_s C + b_s)
        self.cell = CELLS[cell][1](embed_size + context_size, hidden_size)          # f
        self.out = Linear(embed_size + hidden_size + context_size, vocab_size)      # g

    def init_state(self, h: Tensor, C: Tensor, src_lengths=None) -> DecoderState:
        """s_0 = tanh(W_s C + b_s) and the memory h_j the attention reads."""
        if C.ndim != 2 or C.shape[1] != self.context_size:
            raise ShapeError(f"{self.short_repr()}: expected the context C of shape "
                             f"(B, {self.context_size}), got {tuple(C.shape)}")
        with scope("decoder"):
            s0 = self.bridge(C).tanh().named("s_i")
        cell = zeros(*s0.shape, dtype=s0.dtype, device=s0.device) if self.cell_type == "lstm" else None
        lens = None if src_lengths is None else _host_tokens(self, src_lengths, "src_lengths", 1)
        return DecoderState(s0, cell, h if self.attention is not None else None, C, lens)

    def step(self, y_prev, state: DecoderState) -> tuple[Tensor, DecoderState, Tensor | None]:
        """One decoder step from the previous symbols y_{i−1} (B,): (logits (B, V), state, α_i)."""
        y = self.embedding(y_prev)                                         # E y_{i−1}
        alpha = None
        if self.attention is None:
            c = state.context                                              # c_i = C
        else:
            B = state.s.shape[0]
            c, alpha = self.attention(state.s.reshape(B, 1, self.hidden_size), state.memory,
                                      state.memory, valid_lens=state.valid_lens)
            c, alpha = c.reshape(B, self.context_size), alpha.reshape(B, state.memory.shape[1])
        c = c.named("c_i")
        x = cat([y, c], axis=-1)
        if self.cell_type == "lstm":
            s, memory = self.cell(x, (state.s, state.cell))
        else:
            s, memory = self.cell(x, state.s), None
        s = s.named("s_i")
        logits = self.out(cat([y, s, c], axis=-1)).named("logits")
        return logits, DecoderState(s, memory, state.memory, state.context, state.valid_lens), alpha

    def extra_repr(self) -> str:
        return (f"{self.vocab_size}, {self.embed_size}, {self.hidden_size}, "
                f"context_size={self.context_size}, cell={self.cell_type!r}")


@dataclass
class Hypothesis:
    """A decoded sequence: its symbols (the end symbol included if produced), Σ log p, α rows."""

    tokens: list
    log_prob: float
    attention: list = field(default_factory=list)  # one (T_src,) host array per symbol
    finished: bool = False                          # ended with the end symbol


class Seq2Seq(Module):
    """An Encoder and an AttentionDecoder with start (``bos_idx``) and end (``eos_idx``) symbols."""

    def __init__(self, encoder: Encoder, decoder: AttentionDecoder, bos_idx: int, eos_idx: int):
        super().__init__()
        if encoder.output_size != decoder.context_size:
            raise ShapeError(f"Seq2Seq: the encoder's annotations h_j have size "
                             f"{encoder.output_size} ({encoder.short_repr()}) but the decoder expects "
                             f"context_size={decoder.context_size}")
        for what, idx in (("bos_idx", bos_idx), ("eos_idx", eos_idx)):
            if not 0 <= idx < decoder.vocab_size:
                raise ValueError(f"Seq2Seq: {what}={idx} is outside the decoder's vocabulary of "
                                 f"{decoder.vocab_size} symbols")
        self.encoder, self.decoder = encoder, decoder
        self.bos_idx, self.eos_idx = bos_idx, eos_idx

    def encode(self, src, src_lengths=None) -> DecoderState:
        h, C = self.encoder(src, src_lengths)
        return self.decoder.init_state(h, C, src_lengths)

    def forward(self, src, tgt, src_lengths=None,
                teacher_forcing_ratio: float = 1.0) -> tuple[Tensor, Tensor | None]:
        """Logits (B, n_y, V) for the targets ``tgt`` (B, n_y) and the attention (B, n_y, T).

        Step i is fed the true y_{i−1} with probability ``teacher_forcing_ratio`` (drawn per
        sequence), else the model's own most likely y_{i−1}.
        """
        if not 0 <= teacher_forcing_ratio <= 1:
            raise ValueError(f"Seq2Seq: teacher_forcing_ratio must be in [0, 1], got "
                             f"{teacher_forcing_ratio}")
        tgt = _host_tokens(self, tgt, "the target")
        state = self.encode(src, src_lengths)
        B, n_y = tgt.shape
        y_prev = backend.host_asarray([self.bos_idx] * B)
        logits, alphas = [], []
        with scope("decoder"):
            for i in range(n_y):
                with scope(f"t={i + 1}"):
                    out, state, alpha = self.decoder.step(y_prev, state)
                logits.append(out)
                alphas.append(alpha)
                y_prev = tgt[:, i]
                if teacher_forcing_ratio < 1:
                    own = backend.to_host(out.data).argmax(-1)
                    forced = backend.generator("cpu").random(B) < teacher_forcing_ratio
                    y_prev = forced * y_prev + ~forced * own
        attention = None if alphas[0] is None else stack(alphas, axis=1).named("alpha")
        return stack(logits, axis=1), attention

    @no_grad()
    def greedy_decode(self, src, src_lengths=None, max_len: int = 20) -> list[Hypothesis]:
        """y_i = argmax p(y | y_<i, X) until the end symbol or ``max_len`` symbols."""
        _check_max_len(max_len)
        state = self.encode(src, src_lengths)
        B = state.s.shape[0]
        hyps = [Hypothesis([], 0.0) for _ in range(B)]
        y_prev = backend.host_asarray([self.bos_idx] * B)
        for _ in range(max_len):
            logits, state, alpha = self.decoder.step(y_prev, state)
            logp = backend.to_host(logits.log_softmax(-1).data)
            y_prev = logp.argmax(-1)
            for b, hyp in enumerate(hyps):
                if not hyp.finished:
                    tok = int(y_prev[b])
                    hyp.tokens.append(tok)
                    hyp.log_prob += float(logp[b, tok])
                    if alpha is not None:
                        hyp.attention.append(backend.to_host(alpha.data[b]))
                    hyp.finished = tok == self.eos_idx
            if all(h.finished for h in hyps):
                break
        return hyps

    @no_grad()
    def beam_search(self, src, beam_width: int = 4, max_len: int = 20,
                    src_lengths=None) -> list[Hypothesis]:
        """The most likely sequence found keeping the ``beam_width`` best prefixes per step.

        Hypotheses that produce the end symbol are set aside; the search stops when the best
        of them is at least as likely as every open prefix (log-probabilities only fall as a
        prefix grows, so none could overtake it), or after ``max_len`` symbols. Scores are
        plain Σ log p (no length normalisation), so beam width 1 is greedy decoding.
        """
        if not isinstance(beam_width, int) or beam_width < 1:
            raise ValueError(f"Seq2Seq.beam_search: beam_width must be an integer ≥ 1, "
                             f"got {beam_width!r}")
        _check_max_len(max_len)
        full = self.encode(src, src_lengths)
        return [self._beam_one(full.select([b]), beam_width, max_len)
                for b in range(full.s.shape[0])]

    def _beam_one(self, state: DecoderState, k: int, max_len: int) -> Hypothesis:
        alive, done = [Hypothesis([], 0.0)], []
        for _ in range(max_len):
            y_prev = backend.host_asarray([h.tokens[-1] if h.tokens else self.bos_idx
                                           for h in alive])
            logits, state, alpha = self.decoder.step(y_prev, state)
            logp = backend.to_host(logits.log_softmax(-1).data)
            V = logp.shape[1]
            total = logp + backend.host_asarray([h.log_prob for h in alive])[:, None]
            order = (-total).reshape(-1).argsort(kind="stable")  # ties: the lowest index, as argmax
            keep, survivors = [], []
            for flat in order:
                row, tok = divmod(int(flat), V)
                hyp = Hypothesis(alive[row].tokens + [tok], float(total[row, tok]),
                                 alive[row].attention + ([] if alpha is None else
                                                         [backend.to_host(alpha.data[row])]))
                if tok == self.eos_idx:
                    hyp.finished = True
                    done.append(hyp)
                else:
                    keep.append(row)
                    survivors.append(hyp)
                    if len(survivors) == k:
                        break
            alive = survivors
            best_done = max((h.log_prob for h in done), default=-math.inf)
            if not alive or best_done >= alive[0].log_prob:  # alive is sorted, best first
                break
            state = state.select(keep)
        return max(done + alive, key=lambda h: h.log_prob)  # on ties a finished one wins


def _check_max_len(max_len: int) -> None:
    if not isinstance(max_len, int) or max_len < 1:
        raise ValueError(f"Seq2Seq: max_len must be a positive integer, got {max_len!r}")


def sequence_loss(logits: Tensor, targets, lengths=None) -> Tensor:
    """Mean −log p(y_i | y_<i, X) over the real target symbols (padding beyond ``lengths``
    is left out). ``logits`` (B, n_y, V), ``targets`` (B, n_y) integers, ``lengths`` (B,)."""
    targets = _host_tokens("sequence_loss", targets, "targets")
    B, n_y = targets.shape
    V = logits.shape[-1]
    if targets.size and (targets.min() < 0 or targets.max() >= V):
        raise IndexOutOfRange(f"sequence_loss: targets range over [{targets.min()}, "
                              f"{targets.max()}] but there are {V} classes")
    if tuple(logits.shape[:2]) != (B, n_y):
        raise ShapeError(f"sequence_loss: logits {tuple(logits.shape)} do not match targets "
                         f"{tuple(targets.shape)}")
    logp = logits.log_softmax(-1)[backend.host_arange(B)[:, None], backend.host_arange(n_y)[None, :],
                                  targets]
    if lengths is None:
        return -logp.mean()
    lengths = _host_tokens("sequence_loss", lengths, "lengths", 1)
    real = backend.host_arange(n_y)[None, :] < lengths[:, None]
    weight = Tensor.wrap(backend.to_array(real, logits.device).astype(logits.dtype))
    return -(logp * weight).sum() * (1.0 / max(int(real.sum()), 1))


# ---- scheduled sampling: the teacher-forcing ratio ε_k at training step k (Bengio et al. 2015)

def linear_schedule(steps: int, start: float = 1.0, end: float = 0.0):
    """ε_k = start + (end − start)·k/steps, held at ``end`` after ``steps`` steps."""
    return lambda k: start + (end - start) * min(k, steps) / steps


def exponential_schedule(decay: float):
    """ε_k = decay^k (decay < 1)."""
    return lambda k: decay ** k


def inverse_sigmoid_schedule(k0: float):
    """ε_k = k0 / (k0 + exp(k / k0)) (k0 ≥ 1): near 1 for a while, then falling to 0."""
    return lambda k: k0 / (k0 + math.exp(min(k / k0, 700.0)))


__all__ = ["Encoder", "AttentionDecoder", "DecoderState", "Seq2Seq", "Hypothesis",
           "sequence_loss", "linear_schedule", "exponential_schedule", "inverse_sigmoid_schedule"]

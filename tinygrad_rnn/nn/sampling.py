"""Sampling from a generative RNN, and the notes' three ways to end a sequence (notes 001 §5.1).

At each step the model gives logits o_t over the vocabulary; we draw

    y_t ~ softmax(o_t / τ)                    temperature τ: τ → 0 is argmax, τ > 1 flattens
    restricted to the k most likely symbols   top-k: the rest get probability exactly 0

and the sequence ends in one of three ways:

1. an **end symbol**: stop once the special end token has been drawn;
2. a learned **Bernoulli stop output**: the model also gives z_t, P(stop after t) = σ(z_t),
   and we draw stop_t ~ Bernoulli(σ(z_t)) (:class:`StopOutput` is that head and its loss);
3. a **given length** n: exactly n symbols, and the model is told at every step how many
   remain (``remaining``), so it need not stop in the middle of a sentence.

Bad numbers are refused, as ``torch.multinomial`` refuses inf/NaN probabilities: a logit of
−inf is a legal masked-out symbol (probability exactly 0), but NaN, +inf, or a row whose
logits are all −inf raise ``ValueError`` (so does a NaN stop logit) rather than draw a symbol
from a meaningless distribution.
"""

from __future__ import annotations

import math

from tinygrad_rnn import backend
from tinygrad_rnn.errors import ShapeError
from tinygrad_rnn.functions import stack
from tinygrad_rnn.modes import no_grad
from tinygrad_rnn.nn.attention import masked_softmax
from tinygrad_rnn.nn.layers import Linear
from tinygrad_rnn.nn.module import Module
from tinygrad_rnn.tensor import Tensor


def check_logits(logits) -> None:
    """Raise ValueError for NaN or +inf logits, or a row with every logit −inf (no symbol left)."""
    host = backend.to_host(logits.data if isinstance(logits, Tensor) else logits)
    if (host != host).any() or (host == math.inf).any():
        raise ValueError("sampling: the logits (over the temperature) hold NaN or +inf, so there "
                         "is no distribution to draw from (−inf is allowed: it masks a symbol "
                         "out); check the model for a diverged loss, or raise the temperature")
    if host.ndim and host.shape[-1] and (host == -math.inf).all(-1).any():
        raise ValueError("sampling: every logit of a row is −inf, so no symbol can be drawn; "
                         "leave at least one symbol unmasked")


def sampling_probs(logits: Tensor, temperature: float = 1.0, top_k: int | None = None) -> Tensor:
    """softmax(o / τ) over the ``top_k`` largest logits (others exactly 0); (B, V) or (V,).

    NaN or +inf logits, or a row of −inf only, raise ValueError (see :func:`check_logits`).
    """
    V = logits.shape[-1]
    if temperature <= 0:
        raise ValueError(f"sampling: temperature must be > 0 (use greedy argmax for τ → 0), "
                         f"got {temperature}")
    if top_k is not None and not (isinstance(top_k, int) and 1 <= top_k <= V):
        raise ValueError(f"sampling: top_k must be an integer in [1, {V}] for {V} symbols, "
                         f"got {top_k!r}")
    scaled = logits * (1.0 / temperature)
    check_logits(scaled)  # after the scaling: a tiny τ can overflow finite logits to ±inf
    keep = None
    if top_k is not None and top_k < V:
        ordered = scaled.data.copy()
        ordered.sort(axis=-1)
        keep = scaled.data >= ordered[..., V - top_k:V - top_k + 1]  # ≥ the k-th largest (ties stay)
    return masked_softmax(scaled, keep)


@no_grad()
def sample(logits: Tensor, temperature: float = 1.0, top_k: int | None = None):
    """Draw one symbol per row of ``logits`` (B, V) (or one from (V,)): host integers.

    ``temperature=0`` means greedy: the argmax, no randomness. NaN or +inf logits, or a row
    of −inf only, raise ValueError; a −inf logit is a symbol that is never drawn.
    """
    if temperature == 0:
        check_logits(logits)
        return backend.to_host(logits.data).argmax(-1)
    probs = backend.to_host(sampling_probs(logits, temperature, top_k).data)
    u = backend.generator("cpu").random(probs.shape[:-1] + (1,))
    # inverse CDF: the first symbol whose cumulative probability exceeds u
    drawn = (probs.cumsum(-1) <= u).sum(-1)
    # rounding can end the cumulative sum just below 1 (0.99999994 in float32), under a u
    # drawn above it: take the last symbol of nonzero probability, never a masked-out one
    last = probs.shape[-1] - 1 - (probs[..., ::-1] > 0).argmax(-1)
    return drawn.clip(0, last)


class StopOutput(Module):
    """The learned Bernoulli stop output: P(stop after step t) = σ(w·h_t + b).

    ``loss(h, stop)`` is the Bernoulli negative log-likelihood
    −[s log σ(z) + (1 − s) log(1 − σ(z))], computed stably as log_softmax over [0, z].
    """

    def __init__(self, hidden_size: int):
        super().__init__()
        self.linear = Linear(hidden_size, 1)

    def forward(self, h: Tensor) -> Tensor:
        """z_t (B,): the stop logit."""
        z = self.linear(h)
        z = z.reshape(z.shape[:-1])
        z.name = "stop_logit"
        return z

    def loss(self, h: Tensor, stop) -> Tensor:
        """Mean −log P(stop_t | h_t) over the rows; ``stop`` holds 0/1 targets."""
        z = self(h)
        target = backend.host_asarray(stop.numpy() if isinstance(stop, Tensor) else stop)
        if target.shape != tuple(z.shape):
            raise ShapeError(f"StopOutput: stop targets of shape {target.shape} do not match the "
                             f"stop logits {tuple(z.shape)}")
        logp = stack([z * 0, z], axis=-1).log_softmax(-1)   # [log(1 − σ(z)), log σ(z)]
        pick = Tensor.wrap(backend.to_array(target, z.device).astype(z.dtype))
        return -(logp[..., 1] * pick + logp[..., 0] * (1 - pick)).mean()


@no_grad()
def generate(step, state, start, max_len: int, temperature: float = 1.0,
             top_k: int | None = None, end_token: int | None = None, stop: str = "end_symbol",
             length=None) -> list[list[int]]:
    """Sample sequences from a step function; returns one list of symbols per sequence.

    ``step(y_prev (B,), state, remaining)`` returns ``(logits (B, V), state)`` or, for the
    Bernoulli stop, ``(logits, state, stop_logit (B,))``; ``remaining`` is None except with
    ``stop="length"``, where it counts the symbols still to come, n, n − 1, …, 1. ``start``
    is the first input: (B,) symbols. ``stop`` is "end_symbol" (the end token is kept in the
    output), "bernoulli", or "length" (``length``: an int or (B,) ints ≤ ``max_len``).
    Every rule also stops at ``max_len`` symbols.
    """
    if stop not in ("end_symbol", "bernoulli", "length"):
        raise ValueError(f"generate: stop must be 'end_symbol', 'bernoulli' or 'length', got {stop!r}")
    if not isinstance(max_len, int) or max_len < 1:
        raise ValueError(f"generate: max_len must be a positive integer, got {max_len!r}")
    y_prev = backend.host_asarray(start)
    B = y_prev.shape[0]
    if stop == "end_symbol" and end_token is None:
        raise ValueError("generate: stop='end_symbol' needs end_token")
    target = None
    if stop == "length":
        if length is None:
            raise ValueError("generate: stop='length' needs length")
        target = backend.host_asarray(length) + y_prev * 0
        if target.shape != (B,) or target.min() < 1 or target.max() > max_len:
            raise ValueError(f"generate: length must be one integer or {B} integers in "
                             f"[1, {max_len}], got {backend.host_asarray(length).tolist()}")
    out: list[list[int]] = [[] for _ in range(B)]
    done = [False] * B
    for t in range(max_len):
        remaining = None if target is None else (target - t).clip(0, None)
        result = step(y_prev, state, remaining)
        if stop == "bernoulli" and len(result) != 3:
            raise ValueError("generate: stop='bernoulli' needs step to return (logits, state, "
                             "stop_logit)")
        logits, state = result[0], result[1]
        y_prev = sample(logits, temperature, top_k)
        if stop == "bernoulli":
            p_stop = backend.to_host(result[2].sigmoid().data).reshape(B)   # σ(z_t)
            if (p_stop != p_stop).any():  # NaN < u is False: it would never stop, silently
                raise ValueError("generate: a stop logit is NaN, so P(stop) is undefined; "
                                 "check the model for a diverged loss")
            halt = backend.generator("cpu").random(B) < p_stop
        for b in range(B):
            if done[b]:
                continue
            out[b].append(int(y_prev[b]))
            if stop == "end_symbol":
                done[b] = int(y_prev[b]) == end_token
            elif stop == "bernoulli":
                done[b] = bool(halt[b])
            else:
                done[b] = len(out[b]) >= int(target[b])
        if all(done):
            break
    return out


__all__ = ["sample", "sampling_probs", "generate", "StopOutput"]

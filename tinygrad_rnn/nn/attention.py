"""Attention: a soft, differentiable lookup of the encoder states (notes 002, Bahdanau et al.).

For a query s_{i−1} (the decoder state) and keys h_1 … h_T (the encoder states)

    e_ij = a(s_{i−1}, h_j)                         the score (alignment model)
    α_ij = exp(e_ij) / Σ_k exp(e_ik)               the attention weights
    c_i  = Σ_j α_ij h_j                            the context vector

Three scores a(·,·) are here, with one call interface:

    AdditiveAttention   a(s, h) = v_aᵀ tanh(W_a s + U_a h)        (Bahdanau, "concat")
    DotAttention        a(s, h) = sᵀ h        (÷ √d with scale)    (Luong "dot")
    GeneralAttention    a(s, h) = sᵀ W_a h    (÷ √d with scale)    (Luong "general", bilinear)

    context, weights = attn(queries (B, Q, dq), keys (B, K, dk), values (B, K, dv),
                            valid_lens=None, mask=None)
    context (B, Q, dv), weights (B, Q, K)

Padding: ``valid_lens`` (B,) or (B, Q) integers say that only keys 0 … n−1 are real;
``mask`` (B, K) or (B, Q, K) is the general form, in either of PyTorch's two conventions
(those of ``F.scaled_dot_product_attention``'s ``attn_mask``):

    booleans         True = keep (a real key), False = masked out
    floats           additive: e_ij + m_ij, with m_ij = −inf masking the key out and 0
                     leaving the score as it is (any finite value is a bias on the score)

Masked positions get weight exactly 0 (not merely e^−10⁹) and receive no gradient. A query
with no valid key at all gets all-zero weights and a zero context (as PyTorch's
scaled_dot_product_attention). An integer mask is refused (is 1 "keep" or "add 1"?), and so
are NaN and +inf in a float mask. The mask is a constant: no gradient reaches it.
"""

from __future__ import annotations

import math

from tinygrad_rnn import backend
from tinygrad_rnn.errors import DTypeError, ShapeError
from tinygrad_rnn.functions import softmax, where
from tinygrad_rnn.modes import scope
from tinygrad_rnn.nn.layers import new_parameter
from tinygrad_rnn.nn.module import Module
from tinygrad_rnn.tensor import Tensor, host_array


def key_mask(module, valid_lens, mask, B: int, Q: int, K: int, device: str):
    """``(keep, bias)``: the (B, Q, K) boolean array of real keys and the (B, Q, K) float
    array added to the scores; each is None when it would change nothing.

    ``valid_lens`` (B,) or (B, Q) integers in [0, K]; ``mask`` (B, K) or (B, Q, K) booleans
    (True = keep) or floats (additive: 0 keeps, −inf masks out).
    """
    if valid_lens is not None and mask is not None:
        raise ValueError(f"{module!r}: give valid_lens or mask, not both")
    bias = None
    if valid_lens is not None:
        on_device = valid_lens.data if isinstance(valid_lens, Tensor) else valid_lens
        if backend.is_array(on_device) and backend.device_of(on_device) != "cpu" and device != "cpu":
            return _device_lens(module, on_device, B, Q, K), None  # no host sync per call
        lens = host_array(valid_lens)
        if lens.dtype.kind not in "iu" or lens.shape not in ((B,), (B, Q)):
            raise ShapeError(f"{module!r}: valid_lens must be integers of shape ({B},) or "
                             f"({B}, {Q}) for {B} sequences and {Q} queries, got {lens.dtype} "
                             f"array of shape {lens.shape}")
        if lens.size and (lens.min() < 0 or lens.max() > K):
            raise ValueError(f"{module!r}: valid_lens must lie in [0, {K}] (there are {K} keys), "
                             f"got {lens.tolist()}")
        lens = lens.reshape(B, -1, 1)  # (B, 1 or Q, 1)
        host = backend.host_arange(K).reshape(1, 1, K) < lens
    elif mask is not None:
        host = host_array(mask)
        if host.shape == (B, K):
            host = host.reshape(B, 1, K)
        if host.shape not in ((B, 1, K), (B, Q, K)):
            raise ShapeError(f"{module!r}: mask must have shape ({B}, {K}) or ({B}, {Q}, {K}) for "
                             f"{B} sequences, {Q} queries and {K} keys, got {tuple(host.shape)}")
        if host.dtype.kind == "f":
            host, bias = _additive(module, host)
        elif host.dtype.kind == "b":
            host = host.copy()  # our own: the caller may refill their array before backward
        else:
            raise DTypeError(f"{module!r}: mask must be booleans (True = keep the key) or floats "
                             f"added to the scores (0 = keep, -inf = mask out), got {host.dtype}; "
                             f"for 0/1 integers write mask.astype(bool)")
    else:
        return None, None

    def full(a):  # (B, 1 or Q, K) host array → (B, Q, K) on the device
        return None if a is None else backend.to_array(a.repeat(Q, axis=1) if a.shape[1] != Q else a,
                                                       device)
    return full(host), full(bias)


def _device_lens(module, lens, B: int, Q: int, K: int):
    """The keep mask of ``valid_lens`` already on the GPU, made there: reading the lengths back
    would cost a host sync per call. Out-of-range lengths raise at the next host read."""
    if lens.dtype.kind not in "iu" or lens.shape not in ((B,), (B, Q)):
        raise ShapeError(f"{module!r}: valid_lens must be integers of shape ({B},) or ({B}, {Q}) "
                         f"for {B} sequences and {Q} queries, got {lens.dtype} array of shape "
                         f"{tuple(lens.shape)}")
    xp = backend.xp_of(lens)
    if lens.size:
        backend.defer_check((lens.min() < 0) | (lens.max() > K), ValueError,
                            f"{module!r}: valid_lens must lie in [0, {K}] (there are {K} keys); a "
                            f"length on the GPU was outside (found by a device-side check)")
    keep = xp.arange(K).reshape(1, 1, K) < lens.reshape(B, -1, 1)
    return keep if keep.shape[1] == Q else xp.broadcast_to(keep, (B, Q, K)).copy()


def _additive(module, host):
    """A float mask in PyTorch's additive convention as (keep, finite bias); None = no effect."""
    if (host != host).any() or (host == math.inf).any():
        raise ValueError(f"{module!r}: a float mask is added to the scores (0 = keep, -inf = mask "
                         f"out); it must not hold NaN or +inf")
    keep = host != -math.inf
    bias = host.copy()                    # the caller's array stays as it was
    bias[~keep] = 0                       # masked: weight 0 by `keep`, no −inf in the sum
    return (None if keep.all() else keep), (None if not bias.any() else bias)


def masked_softmax(scores: Tensor, mask=None, axis: int = -1) -> Tensor:
    """softmax over ``axis`` of the real positions only; masked weights are exactly 0.

    The masked scores are replaced by −∞ before the softmax (so they do not take part in
    the normalisation, however low the real scores are: a finite stand-in such as −10⁹ wins
    over real scores below it) and the masked weights are then set to 0 with ``where``, which
    also stops any gradient from reaching them. A row with nothing kept is softmaxed unmasked
    (no −∞ − (−∞) = NaN) and then zeroed.
    """
    if mask is None:
        return softmax(scores, axis)
    keep = mask.data if isinstance(mask, Tensor) else mask
    if not backend.is_array(keep):
        keep = backend.host_asarray(keep)
    rows = keep | ~keep.any(axis=axis, keepdims=True)  # True across rows with nothing kept
    weights = softmax(where(rows, scores, -math.inf), axis)
    return where(mask, weights, 0.0)


class _Attention(Module):
    """The shared call: check shapes, score, masked softmax, weighted sum of the values."""

    query_size: int | None = None
    key_size: int | None = None

    def score(self, queries: Tensor, keys: Tensor) -> Tensor:
        """e (B, Q, K): the score of every query against every key."""
        raise NotImplementedError

    def forward(self, queries: Tensor, keys: Tensor, values: Tensor, valid_lens=None,
                mask=None) -> tuple[Tensor, Tensor]:
        """context (B, Q, dv) = α V with α = softmax_j(e) over the real keys; returns (c, α)."""
        self._check(queries, keys, values)
        B, Q, K = queries.shape[0], queries.shape[1], keys.shape[1]
        real, bias = key_mask(self, valid_lens, mask, B, Q, K, queries.device)
        with scope("attention"):
            e = self.score(queries, keys).named("e_ij")
            if bias is not None:  # PyTorch's additive mask: e_ij + m_ij
                e = (e + Tensor.wrap(bias.astype(e.dtype))).named("e_ij + mask")
            alpha = masked_softmax(e, real).named("alpha")
            context = (alpha @ values).named("c_i")
        return context, alpha

    def _check(self, queries, keys, values) -> None:
        for what, t in (("queries", queries), ("keys", keys), ("values", values)):
            if not isinstance(t, Tensor):
                raise TypeError(f"{self!r}: {what} must be a Tensor, got {type(t).__name__}")
        q, k, v = (tuple(t.shape) for t in (queries, keys, values))
        dq = "dq" if self.query_size is None else self.query_size
        dk = "dk" if self.key_size is None else self.key_size
        expected = f"queries (B, Q, {dq}), keys (B, K, {dk}), values (B, K, dv)"
        if (len(q), len(k), len(v)) != (3, 3, 3) or q[0] != k[0] or k[0] != v[0] or k[1] != v[1]:
            raise ShapeError(f"{self!r}: expected {expected}; got queries {q}, keys {k}, values {v}")
        if (self.query_size is not None and q[2] != self.query_size) or \
                (self.key_size is not None and k[2] != self.key_size):
            raise ShapeError(f"{self!r}: expected {expected}; got queries {q}, keys {k} "
                             f"(query size {q[2]}, key size {k[2]})")
        dtypes = {t.dtype for t in (queries, keys, values)} | {p.dtype for p in self.parameters()}
        if len(dtypes) > 1:
            raise DTypeError(f"{self!r}: queries, keys, values and parameters mix dtypes "
                             f"{sorted(str(d) for d in dtypes)}; convert them to one")


class AdditiveAttention(_Attention):
    """Bahdanau's score e_ij = v_aᵀ tanh(W_a s_{i−1} + U_a h_j).

    Parameters ``W_a`` (hidden_size, query_size), ``U_a`` (hidden_size, key_size) and ``v_a``
    (hidden_size,), drawn from U(−1/√n, 1/√n) with n the fan-in, as PyTorch's Linear.
    """

    def __init__(self, query_size: int, key_size: int, hidden_size: int):
        super().__init__()
        for what, n in (("query_size", query_size), ("key_size", key_size),
                        ("hidden_size", hidden_size)):
            if not isinstance(n, int) or n < 1:
                raise ValueError(f"AdditiveAttention: {what} must be a positive integer, got {n!r}")
        self.query_size, self.key_size, self.hidden_size = query_size, key_size, hidden_size
        self.W_a = new_parameter(hidden_size, query_size, bound=1 / math.sqrt(query_size))
        self.U_a = new_parameter(hidden_size, key_size, bound=1 / math.sqrt(key_size))
        self.v_a = new_parameter(hidden_size, bound=1 / math.sqrt(hidden_size))

    def score(self, queries: Tensor, keys: Tensor) -> Tensor:
        B, Q, K, H = queries.shape[0], queries.shape[1], keys.shape[1], self.hidden_size
        Ws = (queries @ self.W_a.T).reshape(B, Q, 1, H)   # W_a s_{i−1}
        Uh = (keys @ self.U_a.T).reshape(B, 1, K, H)      # U_a h_j (once per key, not per query)
        features = (Ws + Uh).tanh()                       # (B, Q, K, H)
        return (features @ self.v_a.reshape(H, 1)).reshape(B, Q, K)

    def extra_repr(self) -> str:
        return f"query_size={self.query_size}, key_size={self.key_size}, hidden_size={self.hidden_size}"


class DotAttention(_Attention):
    """Luong's dot score e_ij = s_iᵀ h_j, divided by √d when ``scale`` (d = the key size).

    No parameters; queries and keys need the same size.
    """

    def __init__(self, scale: bool = False):
        super().__init__()
        self.scale = scale

    def score(self, queries: Tensor, keys: Tensor) -> Tensor:
        if queries.shape[2] != keys.shape[2]:
            raise ShapeError(f"{self!r}: the dot score needs queries and keys of one size; got "
                             f"queries {tuple(queries.shape)} and keys {tuple(keys.shape)} "
                             f"(use GeneralAttention or AdditiveAttention for different sizes)")
        e = queries @ keys.transpose(1, 2)
        return e * (1 / math.sqrt(keys.shape[2])) if self.scale else e

    def extra_repr(self) -> str:
        return f"scale={self.scale}"


class GeneralAttention(_Attention):
    """Luong's bilinear score e_ij = s_iᵀ W_a h_j (÷ √key_size when ``scale``).

    ``W_a`` has shape (query_size, key_size), drawn from U(−1/√key_size, 1/√key_size).
    """

    def __init__(self, query_size: int, key_size: int, scale: bool = False):
        super().__init__()
        for what, n in (("query_size", query_size), ("key_size", key_size)):
            if not isinstance(n, int) or n < 1:
                raise ValueError(f"GeneralAttention: {what} must be a positive integer, got {n!r}")
        self.query_size, self.key_size, self.scale = query_size, key_size, scale
        self.W_a = new_parameter(query_size, key_size, bound=1 / math.sqrt(key_size))

    def score(self, queries: Tensor, keys: Tensor) -> Tensor:
        e = (queries @ self.W_a) @ keys.transpose(1, 2)
        return e * (1 / math.sqrt(self.key_size)) if self.scale else e

    def extra_repr(self) -> str:
        return f"query_size={self.query_size}, key_size={self.key_size}, scale={self.scale}"


__all__ = ["AdditiveAttention", "DotAttention", "GeneralAttention", "masked_softmax", "key_mask"]

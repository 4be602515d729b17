"""Gradient clipping and truncated BPTT (PyTorch's ``torch.nn.utils`` where it has the concept).

Clipping acts on the raw gradient arrays in place and records nothing in the graph.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from tinygrad_rnn import backend
from tinygrad_rnn.tensor import Tensor
from tinygrad_rnn.writes import mark_written

__all__ = ["clip_grad_norm_", "clip_grad_value_", "detach_state", "truncated_bptt_chunks"]


def _grads(parameters: Tensor | Iterable[Tensor]) -> list:
    """The gradient arrays of ``parameters`` (a Tensor or an iterable of them); None skipped."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    from tinygrad_rnn.optim import grad_array  # here: optim must not load with nn
    return [grad_array(p, "clip_grad") for p in parameters if p.grad is not None]


def _vector_norm(array, norm_type: float):
    """‖array‖_p over all its elements, as a 0-d array of its dtype on its device."""
    xp = backend.xp_of(array)
    flat = array.reshape(-1)
    if norm_type == math.inf:
        return xp.abs(flat).max() if flat.size else xp.zeros((), flat.dtype)
    return xp.linalg.norm(flat, ord=norm_type)


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Rescale all gradients together so that their joint norm is at most ``max_norm``.

    total = ‖(‖g_1‖_p, …, ‖g_k‖_p)‖_p (the norm of all gradients seen as one vector), then
    every g_i ← g_i · min(1, max_norm / (total + 1e-6)). This is the notes' norm clipping
    (if ‖ĝ‖ ≥ threshold: ĝ ← threshold/‖ĝ‖ · ĝ), with PyTorch's 1e-6 guard. Returns the total
    norm *before* clipping, as a 0-d Tensor. A nan/inf total raises a RuntimeError when
    ``error_if_nonfinite`` is True (otherwise the gradients are scaled by it, as in PyTorch).
    """
    grads = _grads(parameters)
    norm_type = float(norm_type)
    if not grads:
        return Tensor(0.0)
    device = backend.device_of(grads[0])
    xp = backend.xp_for(device)
    norms = [backend.to_array(backend.ensure_array(_vector_norm(g, norm_type)), device)
             for g in grads]
    total = backend.ensure_array(_vector_norm(xp.stack(norms), norm_type))
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the gradients "
                           f"is non-finite ({float(total)}), so it cannot be clipped. Set "
                           f"error_if_nonfinite=False to scale the gradients by it anyway")
    coef = backend.ensure_array(xp.minimum(max_norm / (total + 1e-6), 1.0))
    for g in grads:
        g *= backend.to_array(coef, backend.device_of(g), g.dtype)
        mark_written(g)
    return Tensor.wrap(total)


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient element into [−clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        backend.xp_of(g).clip(g, -clip_value, clip_value, out=g)
        mark_written(g)


def detach_state(state: Any) -> Any:
    """Cut a carried recurrent state out of the graph: a Tensor, None, or a (nested)
    tuple/list of them (e.g. an LSTM's ``(h, c)``), with the same structure and values.

    Truncated BPTT carries the hidden state from one chunk of a long sequence to the next:
    detaching it there means the next ``backward()`` stops at the chunk boundary instead of
    running back to the start of the sequence.
    """
    if state is None:
        return None
    if isinstance(state, Tensor):
        return state.detach()
    if isinstance(state, (tuple, list)):
        return type(state)(detach_state(s) for s in state)
    raise TypeError(f"detach_state: expected a Tensor or a tuple/list of Tensors, "
                    f"got {type(state).__name__}")


def truncated_bptt_chunks(sequence: Tensor | Sequence[Tensor], chunk_len: int,
                          axis: int = 0) -> Iterator:
    """Cut a sequence into consecutive chunks of ``chunk_len`` steps along ``axis`` (the last
    chunk may be shorter). ``sequence`` is a Tensor, or a tuple/list of Tensors with the same
    length on ``axis`` (inputs and targets), cut at the same places and yielded as tuples.

    Truncated BPTT with cut length k: run the chunk from the carried state, backprop, step,
    then ``state = detach_state(state)``, so the graph is cut every k steps::

        state = None
        for x, y in truncated_bptt_chunks((inputs, targets), k):
            out, state = rnn(x, state)
            loss = F.cross_entropy(head(out).reshape(-1, C), y.reshape(-1))
            opt.zero_grad(); loss.backward(); opt.step()
            state = detach_state(state)
    """
    if not isinstance(chunk_len, int) or chunk_len <= 0:
        raise ValueError(f"truncated_bptt_chunks: chunk_len must be a positive int, got {chunk_len!r}")
    several = isinstance(sequence, (tuple, list))
    seqs = list(sequence) if several else [sequence]
    if not seqs:
        raise ValueError("truncated_bptt_chunks: got no sequences")
    lengths = {s.shape[axis] for s in seqs}
    if len(lengths) != 1:
        raise ValueError(f"truncated_bptt_chunks: the sequences have different lengths on axis "
                         f"{axis}: {[s.shape[axis] for s in seqs]}")
    n = lengths.pop()
    for start in range(0, n, chunk_len):
        pieces = tuple(_slice(s, axis, start, min(start + chunk_len, n)) for s in seqs)
        yield pieces if several else pieces[0]


def _slice(x: Tensor, axis: int, start: int, stop: int) -> Tensor:
    axis = axis % x.ndim
    return x[(slice(None),) * axis + (slice(start, stop),)]


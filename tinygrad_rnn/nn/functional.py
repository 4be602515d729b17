"""Losses and activations as functions (PyTorch's ``torch.nn.functional``).

Every loss here is composed from Tensor ops: there is no hand-written backward, so autograd
derives the gradients and ``create_graph=True`` works through them.

Class axis. As in PyTorch, ``cross_entropy`` and ``nll_loss`` take the class scores on
axis 1: ``input`` is ``(C,)``, ``(N, C)`` or ``(N, C, d1, ...)`` with ``target`` ``()``,
``(N,)`` or ``(N, d1, ...)``. A recurrent layer gives ``(N, T, C)`` (batch_first) or
``(T, N, C)`` logits; pass ``logits.reshape(-1, C)`` with ``targets.reshape(-1)`` (the usual
choice), or ``logits.permute(0, 2, 1)`` with ``(N, T)`` targets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from tinygrad_rnn import backend
from tinygrad_rnn import functions as F
from tinygrad_rnn.apply import apply1, where_scope
from tinygrad_rnn.creation import arange
from tinygrad_rnn.errors import IndexOutOfRange, ShapeError
from tinygrad_rnn.ops import GETITEM
from tinygrad_rnn.tensor import Tensor

__all__ = ["softmax", "log_softmax", "cross_entropy", "nll_loss", "mse_loss",
           "binary_cross_entropy_with_logits", "mixture_density_nll"]

REDUCTIONS = ("mean", "sum", "none")


def softmax(input: Tensor, dim: int = -1) -> Tensor:
    """exp(x_i) / Σ_j exp(x_j) along ``dim`` (the core op, under PyTorch's name)."""
    return F.softmax(input, dim)


def log_softmax(input: Tensor, dim: int = -1) -> Tensor:
    """x_i − log Σ_j exp(x_j) along ``dim``, computed stably (the core op)."""
    return F.log_softmax(input, dim)


def _check_reduction(fn: str, reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{fn}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.mean()
    return loss


def _class_indices(fn: str, input: Tensor, target, ignore_index: int):
    """Check ``target`` against ``input`` and return it as an integer array on input's device."""
    t = target.data if isinstance(target, Tensor) else target
    if not backend.is_array(t):
        t = backend.host_asarray(t)
    elif input.device == "cpu":
        t = backend.to_host(t)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{fn}: target has dtype {t.dtype}, but it must hold integer class "
                        f"indices (0 ≤ target < C). Pass class indices, e.g. "
                        f"Tensor(labels, dtype='int64'); one-hot or probability targets are not "
                        f"supported")
    if input.ndim == 0:
        raise ShapeError(f"{fn}{where_scope()}: input must have a class axis, got a scalar")
    want = () if input.ndim == 1 else (input.shape[0],) + tuple(input.shape[2:])
    if tuple(t.shape) != want:
        hint = ""
        if input.ndim == 3 and tuple(t.shape) == tuple(input.shape[:2]):
            hint = (" — the classes go on axis 1 (as in PyTorch): for (N, T, C) logits pass "
                    "input.reshape(-1, C) with target.reshape(-1), or input.permute(0, 2, 1)")
        raise ShapeError(f"{fn}{where_scope()}: input {tuple(input.shape)} needs a target of "
                         f"shape {want}, got {tuple(t.shape)}{hint}")
    n_classes = input.shape[0] if input.ndim == 1 else input.shape[1]
    valid = t != ignore_index
    message = (f"{fn}{where_scope()}: target holds class index {{}}, but input has {n_classes} "
               f"classes (valid indices 0..{n_classes - 1}; ignore_index={ignore_index})")
    if backend.device_of(t) == "cpu":  # checked here, for free, before any upload
        if t.size and bool(valid.any()):
            picked = t[valid]
            lo, hi = int(picked.min()), int(picked.max())
            if lo < 0 or hi >= n_classes:
                raise IndexOutOfRange(message.format(lo if lo < 0 else hi))
        t, valid = backend.to_array(t, input.device), backend.to_array(valid, input.device)
        return t, valid, None
    # already on the GPU: checked there without a sync (backend.check_index); the flag is
    # also returned, so the loss itself is NaN where a target was out of range
    bad = (((t < 0) | (t >= n_classes)) & valid).any()
    backend.defer_check(bad, IndexOutOfRange, message.format("out of range") +
                        " (found on the GPU by a device-side check)")
    return t, valid, bad


def nll_loss(input: Tensor, target: Tensor | Sequence[int], weight: Tensor | None = None,
             ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of the target classes: loss_n = −w[y_n] · input[n, y_n].

    ``input`` holds log-probabilities, classes on axis 1 (see the module docstring).
    Targets equal to ``ignore_index`` contribute nothing; ``reduction="mean"`` divides by
    Σ w[y_n] over the targets that are not ignored (the count when ``weight`` is None), as
    PyTorch does (so an all-ignored batch gives nan).
    """
    return _nll("nll_loss", input, target, weight, ignore_index, reduction, from_logits=False)


def _nll(fn, input, target, weight, ignore_index, reduction, from_logits: bool) -> Tensor:
    _check_reduction(fn, reduction)
    t, valid, bad = _class_indices(fn, input, target, ignore_index)
    n_classes = input.shape[0] if input.ndim == 1 else input.shape[1]
    x = F.log_softmax(input, 0 if input.ndim == 1 else 1) if from_logits else input
    if x.ndim == 1:
        x = x.reshape(1, n_classes)
    elif x.ndim > 2:  # (N, C, d1, ...) → (N, d1, ..., C)
        x = x.permute((0, *range(2, x.ndim), 1))
    x = x.reshape(-1, n_classes)
    flat_valid = valid.reshape(-1)
    safe = backend.xp_of(t).where(flat_valid, t.reshape(-1), 0)  # ignored rows pick class 0 ...
    mask = Tensor.wrap(flat_valid.astype(input.dtype))          # ... and are masked out
    if weight is not None:
        w = weight if isinstance(weight, Tensor) else Tensor(weight, device=input.device)
        if tuple(w.shape) != (n_classes,):
            raise ShapeError(f"{fn}{where_scope()}: weight must have shape ({n_classes},), "
                             f"got {tuple(w.shape)}")
        mask = mask * _take(w, (safe,))
    # the indices are checked above (_class_indices), so the gather skips getitem's checks
    loss = -(_take(x, (arange(x.shape[0], device=input.device).data, safe)) * mask)
    if reduction == "none":
        return _nan_where(loss.reshape(t.shape), bad)
    if reduction == "sum":
        return _nan_where(loss.sum(), bad)
    total = mask.sum()
    if input.device == "cpu":
        if float(total.data) == 0:  # every target ignored: the mean is 0/0 = nan, as in PyTorch,
            return loss.sum() * 0.0 + float("nan")  # but the gradient stays 0 (no NaN for the optimizer)
        return loss.sum() / total
    # the same without reading total back (a sync): divide by max(total, tiny), which is total
    # unless every target is ignored (then loss.sum() is 0 and its gradient 0), and NaN then
    mean = loss.sum() / F.maximum(total, backend.tiny(input.dtype))
    none_left = total.data == 0
    return _nan_where(mean, none_left if bad is None else none_left | bad)


def _nan_where(out: Tensor, flag) -> Tensor:
    """``out`` with its values NaN where the device flag is set (a target out of range, or every
    target ignored), decided on the GPU without a sync. Only the value changes: the NaN is no
    function of the inputs, so no node is recorded, the gradient is the unflagged one and the
    graph is the CPU's."""
    if flag is None:
        return out
    xp = backend.xp_of(out.data)
    out.data = out.data + xp.where(flag, float("nan"), 0.0).astype(out.dtype)
    if out._node is not None and out._node.value is not None:
        out._node.value = out.data
    return out


def _take(x: Tensor, index: tuple) -> Tensor:
    """x[index] for index arrays already on x's device and already checked."""
    return apply1(GETITEM, x, {"index": index, "shape": x.shape, "basic": False})


def cross_entropy(input: Tensor, target: Tensor | Sequence[int], weight: Tensor | None = None,
                  ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    """Softmax cross-entropy with integer class targets: nll_loss(log_softmax(input, 1), target).

    loss_n = −w[y_n] · (x[n, y_n] − log Σ_c exp x[n, c]); classes on axis 1, as in PyTorch
    (for (N, T, C) logits see the module docstring). ``target`` must hold class indices; a
    float tensor raises a TypeError. ``label_smoothing`` and probability targets are not
    supported.
    """
    return _nll("cross_entropy", input, target, weight, ignore_index, reduction, from_logits=True)


def _same_shape(fn: str, input: Tensor, target: Tensor) -> None:
    # PyTorch only warns and broadcasts; a (N, 1) vs (N,) mix-up then silently gives (N, N)
    if tuple(input.shape) != tuple(target.shape):
        raise ShapeError(f"{fn}{where_scope()}: input {tuple(input.shape)} and target "
                         f"{tuple(target.shape)} must have the same shape")


def _as_tensor(x, like: Tensor) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x, device=like.device, dtype=like.dtype)


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Squared error (x − y)², averaged or summed over every element."""
    _check_reduction("mse_loss", reduction)
    target = _as_tensor(target, input)
    _same_shape("mse_loss", input, target)
    diff = input - target
    return _reduce(diff * diff, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     reduction: str = "mean") -> Tensor:
    """−[y log σ(x) + (1 − y) log(1 − σ(x))], computed stably as

        max(x, 0) − x·y + log(1 + exp(−|x|))

    (never exponentiates a large positive number). ``target`` holds probabilities in [0, 1];
    ``weight`` (broadcast to the loss) rescales each element. ``pos_weight`` is not supported.
    """
    _check_reduction("binary_cross_entropy_with_logits", reduction)
    target = _as_tensor(target, input)
    _same_shape("binary_cross_entropy_with_logits", input, target)
    # maximum (not relu) splits the gradient at x = 0, so d loss/dx = σ(x) − y there too
    loss = F.maximum(input, 0.0) - input * target + F.log(1.0 + F.exp(-F.abs(input)))
    if weight is not None:
        loss = loss * _as_tensor(weight, input)
    return _reduce(loss, reduction)


def mixture_density_nll(params: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """−log p(x_{t+1} | y_t) of a pen-stroke step under a mixture density output (Graves 2013,
    §4.1, notes 004 handwriting): K bivariate Gaussians for the offset (x1, x2) and a
    Bernoulli for the pen lifting (x3 ∈ {0, 1}).

    ``params`` (..., 1 + 6K) holds the raw network outputs ŷ = (ê, π̂_k, μ1_k, μ2_k, σ̂1_k,
    σ̂2_k, ρ̂_k), blocks in that order; ``target`` (..., 3) the step (x1, x2, x3). With

        e = σ(ê),  π_k = softmax(π̂)_k,  σ_k = exp(σ̂_k),  ρ_k = tanh(ρ̂_k),
        Z_k = (x1 − μ1)²/σ1² + (x2 − μ2)²/σ2² − 2ρ (x1 − μ1)(x2 − μ2)/(σ1 σ2)
        N_k = exp(−Z_k / (2(1 − ρ²))) / (2π σ1 σ2 √(1 − ρ²))

    the loss is −log Σ_k π_k N_k − log(e if x3 = 1 else 1 − e), computed as a log-sum-exp
    (stable) and averaged or summed over the leading axes (``reduction``). K = 1 is the
    single-Gaussian output.
    """
    _check_reduction("mixture_density_nll", reduction)
    target = _as_tensor(target, params)
    n = params.shape[-1] - 1
    if n <= 0 or n % 6 or target.shape[-1] != 3 or tuple(params.shape[:-1]) != tuple(target.shape[:-1]):
        raise ShapeError(f"mixture_density_nll: expected params (..., 1 + 6K) and target (..., 3) "
                         f"with the same leading shape, got {tuple(params.shape)} and "
                         f"{tuple(target.shape)}")
    K = n // 6
    e_hat = params[..., 0]
    pi_hat, mu1, mu2, s1_hat, s2_hat, rho_hat = (params[..., 1 + k * K:1 + (k + 1) * K]
                                                 for k in range(6))
    x1, x2, x3 = target[..., 0:1], target[..., 1:2], target[..., 2]
    rho = rho_hat.tanh()
    d1, d2 = (x1 - mu1) * F.exp(-s1_hat), (x2 - mu2) * F.exp(-s2_hat)   # (x − μ)/σ
    one_m_rho2 = 1.0 - rho * rho
    Z = d1 * d1 + d2 * d2 - 2.0 * rho * d1 * d2
    log_n = (-Z / (2.0 * one_m_rho2) - s1_hat - s2_hat - 0.5 * F.log(one_m_rho2)
             - math.log(2 * math.pi))
    a = F.log_softmax(pi_hat, -1) + log_n                        # log π_k + log N_k
    log_mix = a[..., 0] - F.log_softmax(a, -1)[..., 0]           # log Σ_k exp(a_k), stably
    pen = binary_cross_entropy_with_logits(e_hat, x3, reduction="none")
    return _reduce(pen - log_mix, reduction)

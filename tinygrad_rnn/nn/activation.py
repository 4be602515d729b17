"""Activations and losses as modules, with PyTorch's names and constructor arguments.

Each is a thin Module around a function of :mod:`tinygrad_rnn.nn.functional` (or a core
op), so ``nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))`` and
``criterion = nn.CrossEntropyLoss(ignore_index=0)`` read as they do in PyTorch.
"""

from __future__ import annotations

from tinygrad_rnn import functions as F
from tinygrad_rnn.nn import functional
from tinygrad_rnn.nn.module import Module
from tinygrad_rnn.tensor import Tensor

__all__ = ["Identity", "Tanh", "Sigmoid", "ReLU", "Softmax", "LogSoftmax", "CrossEntropyLoss",
           "NLLLoss", "MSELoss", "BCEWithLogitsLoss"]


class Identity(Module):
    """Returns its input unchanged (any constructor arguments are ignored, as in PyTorch)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Tanh(Module):
    """tanh(x), elementwise."""

    def forward(self, input: Tensor) -> Tensor:
        return F.tanh(input)


class Sigmoid(Module):
    """σ(x) = 1 / (1 + e^(−x)), elementwise."""

    def forward(self, input: Tensor) -> Tensor:
        return F.sigmoid(input)


class ReLU(Module):
    """max(x, 0), elementwise. ``inplace=True`` is refused: this engine never overwrites an
    input that the recorded graph may still need."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        if inplace:
            raise ValueError("ReLU(inplace=True): in-place ops are not supported here; use "
                             "ReLU() (same values, a new tensor)")

    def forward(self, input: Tensor) -> Tensor:
        return F.relu(input)


def _implicit_dim(ndim: int) -> int:
    """PyTorch's legacy choice when ``dim`` is not given (it warns): 0 for 0-, 1- and 3-d."""
    return 0 if ndim in (0, 1, 3) else 1


class Softmax(Module):
    """softmax along ``dim``: exp(x_i) / Σ_j exp(x_j)."""

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.softmax(input, _implicit_dim(input.ndim) if self.dim is None else self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log softmax along ``dim``: x_i − log Σ_j exp(x_j), computed stably."""

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.log_softmax(input, _implicit_dim(input.ndim) if self.dim is None else self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class _Loss(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        functional._check_reduction(type(self).__name__, reduction)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction='{self.reduction}'" if self.reduction != "mean" else ""


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy of class scores (axis 1) and integer targets:
    loss_n = −w[y_n] · log softmax(x_n)[y_n], targets equal to ``ignore_index`` skipped."""

    def __init__(self, weight: Tensor | None = None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0):
        super().__init__(reduction)
        if label_smoothing != 0.0:
            raise ValueError("CrossEntropyLoss: label_smoothing is not supported here (only 0.0)")
        self.weight, self.ignore_index = weight, ignore_index

    def forward(self, input: Tensor, target) -> Tensor:
        return functional.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction)


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities (axis 1): loss_n = −w[y_n] · x_n[y_n]."""

    def __init__(self, weight: Tensor | None = None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(reduction)
        self.weight, self.ignore_index = weight, ignore_index

    def forward(self, input: Tensor, target) -> Tensor:
        return functional.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class MSELoss(_Loss):
    """Squared error (x − y)², averaged (or summed, or per element)."""

    def forward(self, input: Tensor, target) -> Tensor:
        return functional.mse_loss(input, target, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """−[y log σ(x) + (1 − y) log(1 − σ(x))], computed stably from the logits x."""

    def __init__(self, weight: Tensor | None = None, reduction: str = "mean", pos_weight=None):
        super().__init__(reduction)
        if pos_weight is not None:
            raise ValueError("BCEWithLogitsLoss: pos_weight is not supported here; weight "
                             "(per element) is")
        self.weight = weight

    def forward(self, input: Tensor, target) -> Tensor:
        return functional.binary_cross_entropy_with_logits(input, target, self.weight, self.reduction)

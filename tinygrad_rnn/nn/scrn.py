"""The Structurally Constrained Recurrent Network (Mikolov, Joulin, Chopra, Mathieu & Ranzato
2015; notes 003, SCRN).

Beside the fast hidden layer h sits a slow context layer s whose recurrence is fixed to a
leaky average with α close to 1 (no learned recurrent matrix, no nonlinearity):

    s_t = (1 − α) B x_t + α s_{t−1}
    h_t = σ(P s_t + A x_t + R h_{t−1})
    output_t = [h_t ; s_t]          (the paper's y_t = f(U h_t + V s_t) is a Linear on this)

∂s_t/∂s_{t−1} = α I exactly, so the gradient along the context path decays as α^k — slowly
for α = 0.95 — and never explodes, while h handles the short-term part.
"""

from __future__ import annotations

import math

from tinygrad_rnn.functions import cat
from tinygrad_rnn.modes import scope
from tinygrad_rnn.nn.layers import new_parameter
from tinygrad_rnn.nn.sequence import SequenceLayer, positive_int
from tinygrad_rnn.tensor import Tensor


class SCRN(SequenceLayer):
    """``forward(input, hx=None) -> (output, (h_n, s_n))``; ``output`` is (T, B, H + C).

    ``hx`` is a tuple (h_0, s_0) of shapes (1, B, H) and (1, B, C). Parameters ``weight_B``
    (C, I), ``weight_A`` (H, I), ``weight_P`` (H, C), ``weight_R`` (H, H) and, with ``bias``,
    ``bias`` (H,) inside σ. ``alpha`` is fixed, as in the paper.
    """

    state_names = (("h_0", "hidden_size"), ("s_0", "context_size"))

    def __init__(self, input_size: int, hidden_size: int, context_size: int, alpha: float = 0.95,
                 bias: bool = True, batch_first: bool = False):
        super().__init__(input_size, hidden_size, batch_first)
        self.context_size = positive_int("SCRN", "context_size", context_size)
        if not 0 <= alpha <= 1:
            raise ValueError(f"SCRN: alpha must lie in [0, 1], got {alpha}")
        self.alpha = float(alpha)
        k = 1 / math.sqrt(hidden_size)
        self.weight_B = new_parameter(context_size, input_size, bound=1 / math.sqrt(input_size))
        self.weight_A = new_parameter(hidden_size, input_size, bound=k)
        self.weight_P = new_parameter(hidden_size, context_size, bound=1 / math.sqrt(context_size))
        self.weight_R = new_parameter(hidden_size, hidden_size, bound=k)
        self.register_parameter("bias", new_parameter(hidden_size, bound=k) if bias else None)

    def _run(self, x: Tensor, states: list) -> tuple[list, list]:
        T, B, n_in = x.shape
        flat = x.reshape(T * B, n_in)
        bx = ((1 - self.alpha) * (flat @ self.weight_B.T)).reshape(T, B, self.context_size)
        ax = flat @ self.weight_A.T
        if self.bias is not None:
            ax = ax + self.bias
        ax = ax.reshape(T, B, self.hidden_size)
        h, s = states
        outputs = []
        for t in range(T):
            with scope(f"t={t + 1}"):
                s = bx[t] + self.alpha * s
                s.name = "s_t"
                h = (s @ self.weight_P.T + ax[t] + h @ self.weight_R.T).sigmoid()
                h.name = "h_t"
                outputs.append(cat([h, s], axis=-1))
        return outputs, [h, s]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}, context_size={self.context_size}, alpha={self.alpha}"
        if self.bias is None:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        return s

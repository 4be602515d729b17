"""Two ways to change the path between h_{t−1} and h_t (notes 001): skip connections through
time and deep transitions (§6.4).

SkipRNN — "add skip connections through time, which enable the gradient to flow back longer
time ranges": the state also receives the state d steps back,

    h_t = φ(W_ih x_t + W_hh h_{t−1} + W_skip h_{t−d} + b),    h_s = h_0 for s ≤ 0,

so a path from h_t back to h_{t−k} needs only ⌈k/d⌉ Jacobians instead of k.

DeepTransitionRNN — "instead of a simple nonlinearity … a feed-forward neural network (MLP) is
used to compute the next unit", an MLP of L layers between h_{t−1} and h_t (Pascanu et al.
2014, DT-RNN):

    u_1 = φ(W_ih x_t + W_hh h_{t−1} + b_1),   u_l = φ(W_l u_{l−1} + b_l),   h_t = u_L

and with ``skip=True`` (DT(S)-RNN) "skip connections, which skip the current MLP calculation":
the last layer also hears h_{t−1} and x_t directly,

    h_t = φ(W_L u_{L−1} + W_s h_{t−1} + W_x x_t + b_L).
"""

from __future__ import annotations

import math

from tinygrad_rnn.modes import scope
from tinygrad_rnn.nn.cells import ACTIVATIONS
from tinygrad_rnn.nn.layers import new_parameter
from tinygrad_rnn.nn.sequence import SequenceLayer, positive_int
from tinygrad_rnn.tensor import Tensor


def _check_nonlinearity(owner: str, nonlinearity: str) -> str:
    if nonlinearity not in ACTIVATIONS:
        raise ValueError(f"{owner}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    return nonlinearity


class SkipRNN(SequenceLayer):
    """``forward(input, hx=None) -> (output, h_n)`` with ``nn.RNN``'s shapes; ``skip`` = d ≥ 1.

    Parameters ``weight_ih`` (H, I), ``weight_hh`` (H, H), ``weight_skip`` (H, H), ``bias`` (H,).
    ``hx`` is h_0 only, which also stands for every h_{t−d} before the sequence: a sequence fed
    in chunks differs from one call, since the d states before a chunk are not carried.
    """

    def __init__(self, input_size: int, hidden_size: int, skip: int = 2, bias: bool = True,
                 batch_first: bool = False, nonlinearity: str = "tanh"):
        super().__init__(input_size, hidden_size, batch_first)
        self.skip = positive_int("SkipRNN", "skip", skip)
        self.nonlinearity = _check_nonlinearity("SkipRNN", nonlinearity)
        k = 1 / math.sqrt(hidden_size)
        self.weight_ih = new_parameter(hidden_size, input_size, bound=k)
        self.weight_hh = new_parameter(hidden_size, hidden_size, bound=k)
        self.weight_skip = new_parameter(hidden_size, hidden_size, bound=k)
        self.register_parameter("bias", new_parameter(hidden_size, bound=k) if bias else None)

    def _run(self, x: Tensor, states: list) -> tuple[list, list]:
        T, B, n_in = x.shape
        xw = x.reshape(T * B, n_in) @ self.weight_ih.T
        if self.bias is not None:
            xw = xw + self.bias
        xw = xw.reshape(T, B, self.hidden_size)
        phi, d = ACTIVATIONS[self.nonlinearity], self.skip
        h0 = states[0]
        hs: list = []
        for t in range(T):
            with scope(f"t={t + 1}"):
                h_prev = hs[-1] if hs else h0
                h_back = hs[t - d] if t - d >= 0 else h0
                h = phi(xw[t] + h_prev @ self.weight_hh.T + h_back @ self.weight_skip.T)
                h.name = "h_t"
            hs.append(h)
        return hs, [hs[-1]]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}, skip={self.skip}"
        if self.bias is None:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        return s


class DeepTransitionRNN(SequenceLayer):
    """``forward(input, hx=None) -> (output, h_n)`` with ``nn.RNN``'s shapes.

    ``transition_layers`` = L ≥ 1 (L = 1 is the plain RNN). Parameters ``weight_ih`` (H, I),
    ``weight_hh`` (H, H), ``weight_l{l}`` (H, H) for l = 2 … L, ``bias_l{l}`` (H,) for l = 1 … L,
    and with ``skip`` ``weight_skip_h`` (H, H) and ``weight_skip_x`` (H, I).
    """

    def __init__(self, input_size: int, hidden_size: int, transition_layers: int = 2,
                 skip: bool = False, bias: bool = True, batch_first: bool = False,
                 nonlinearity: str = "tanh"):
        super().__init__(input_size, hidden_size, batch_first)
        self.transition_layers = positive_int("DeepTransitionRNN", "transition_layers", transition_layers)
        if skip and transition_layers < 2:
            raise ValueError("DeepTransitionRNN: skip=True needs transition_layers ≥ 2 (with one "
                             "layer there is no MLP to skip)")
        self.skip, self.bias = bool(skip), bias
        self.nonlinearity = _check_nonlinearity("DeepTransitionRNN", nonlinearity)
        H, k = hidden_size, 1 / math.sqrt(hidden_size)
        self.weight_ih = new_parameter(H, input_size, bound=k)
        self.weight_hh = new_parameter(H, H, bound=k)
        for layer in range(2, transition_layers + 1):
            setattr(self, f"weight_l{layer}", new_parameter(H, H, bound=k))
        if bias:
            for layer in range(1, transition_layers + 1):
                setattr(self, f"bias_l{layer}", new_parameter(H, bound=k))
        if self.skip:
            self.weight_skip_h = new_parameter(H, H, bound=k)
            self.weight_skip_x = new_parameter(H, input_size, bound=k)

    def _run(self, x: Tensor, states: list) -> tuple[list, list]:
        T, B, n_in = x.shape
        H, L = self.hidden_size, self.transition_layers
        flat = x.reshape(T * B, n_in)
        xw = flat @ self.weight_ih.T
        if self.bias:
            xw = xw + self.bias_l1
        xw = xw.reshape(T, B, H)
        if self.skip:
            xs = (flat @ self.weight_skip_x.T).reshape(T, B, H)
        phi = ACTIVATIONS[self.nonlinearity]
        h, outputs = states[0], []
        for t in range(T):
            with scope(f"t={t + 1}"):
                u = phi(xw[t] + h @ self.weight_hh.T)
                for layer in range(2, L + 1):
                    z = u @ getattr(self, f"weight_l{layer}").T
                    if self.bias:
                        z = z + getattr(self, f"bias_l{layer}")
                    if self.skip and layer == L:
                        z = z + h @ self.weight_skip_h.T + xs[t]
                    u = phi(z)
                h = u
                h.name = "h_t"
            outputs.append(h)
        return outputs, [h]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}, transition_layers={self.transition_layers}"
        for flag, default in (("skip", False), ("bias", True), ("batch_first", False)):
            if getattr(self, flag) != default:
                s += f", {flag}={getattr(self, flag)}"
        return s

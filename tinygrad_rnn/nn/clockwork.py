"""The Clockwork RNN (Koutník, Greff, Gomez & Schmidhuber 2014; notes 003, "Clockwise RNN").

The hidden state is split into g modules of equal size, module k with its own clock period
T_k (T_1 < T_2 < … < T_g, e.g. 1, 2, 4, 8). At step t (counted from 1) module k updates only
when (t − 1) mod T_k = 0 — at the first step and every T_k steps after — and otherwise keeps
its state:

    h_t^(k) = tanh(W_I^(k) x_t + Σ_{j ≥ k} W_H^(k,j) h_{t−1}^(j) + b^(k))   if (t − 1) mod T_k = 0
    h_t^(k) = h_{t−1}^(k)                                                   otherwise

W_H is block upper-triangular: module k hears only modules j ≥ k, those with periods T_j ≥
T_k — information runs from slower to faster modules. A slow module's state stays fixed
between its updates, so the gradient through it crosses T_k steps in one Jacobian: the slow
modules are short paths back in time.
"""

from __future__ import annotations

import math

from tinygrad_rnn.creation import tensor
from tinygrad_rnn.functions import cat
from tinygrad_rnn.modes import scope
from tinygrad_rnn.nn.cells import ACTIVATIONS
from tinygrad_rnn.nn.layers import new_parameter
from tinygrad_rnn.nn.sequence import SequenceLayer
from tinygrad_rnn.tensor import Tensor


class ClockworkRNN(SequenceLayer):
    """``forward(input, hx=None) -> (output, h_n)`` with ``nn.RNN``'s shapes (one layer).

    Parameters ``weight_ih`` (H, I), ``weight_hh`` (H, H; the blocks below the diagonal are
    zero and stay zero: the forward pass multiplies by the block mask), ``bias`` (H,).
    ``hidden_size`` must be a multiple of ``len(periods)``. Each call starts the clock at
    t = 1 (every module updates at the first step), so a sequence fed in chunks differs from
    the same sequence in one call unless every chunk length is a multiple of all periods.
    """

    def __init__(self, input_size: int, hidden_size: int, periods=(1, 2, 4, 8), bias: bool = True,
                 batch_first: bool = False, nonlinearity: str = "tanh"):
        super().__init__(input_size, hidden_size, batch_first)
        periods = tuple(periods)
        if not periods or any(not isinstance(p, int) or p < 1 for p in periods):
            raise ValueError(f"ClockworkRNN: periods must be positive integers, got {periods!r}")
        if any(a >= b for a, b in zip(periods, periods[1:])):
            raise ValueError(f"ClockworkRNN: periods must be strictly increasing (fastest module "
                             f"first), got {periods!r}")
        if hidden_size % len(periods):
            raise ValueError(f"ClockworkRNN: hidden_size {hidden_size} must be a multiple of the "
                             f"number of modules {len(periods)}")
        if nonlinearity not in ACTIVATIONS:
            raise ValueError(f"ClockworkRNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.periods, self.nonlinearity = periods, nonlinearity
        self.module_size = hidden_size // len(periods)
        k = 1 / math.sqrt(hidden_size)
        self.weight_ih = new_parameter(hidden_size, input_size, bound=k)
        self.weight_hh = new_parameter(hidden_size, hidden_size, bound=k)
        self.register_parameter("bias", new_parameter(hidden_size, bound=k) if bias else None)
        self.weight_hh.data = (self.weight_hh * self.block_mask()).data  # block upper-triangular

    def block_mask(self) -> Tensor:
        """(H, H) of 0/1: row unit i (module k) may hear column unit j (module m) iff m ≥ k."""
        m, H = self.module_size, self.hidden_size
        rows = [[1.0 if j // m >= i // m else 0.0 for j in range(H)] for i in range(H)]
        return tensor(rows, dtype=self.weight_hh.dtype, device=self.weight_hh.device)

    def active(self, t: int) -> list[int]:
        """The modules that update at step t = 1, 2, …"""
        return [k for k, T_k in enumerate(self.periods) if (t - 1) % T_k == 0]

    def _run(self, x: Tensor, states: list) -> tuple[list, list]:
        T, B, _ = x.shape
        m, H = self.module_size, self.hidden_size
        xw = x.reshape(T * B, self.input_size) @ self.weight_ih.T
        if self.bias is not None:
            xw = xw + self.bias
        xw = xw.reshape(T, B, H)
        W = self.weight_hh * self.block_mask()
        phi = ACTIVATIONS[self.nonlinearity]
        g = len(self.periods)
        # each module's state is its own tensor: a module that does not update keeps the very
        # same node, so its next update reads the state of T_k steps back directly (the graph
        # draws the slow modules skipping steps) — the same numbers as slicing h_{t−1}
        states_k = [states[0][:, k * m:(k + 1) * m] for k in range(g)] if g > 1 else [states[0]]
        outputs = []
        for t in range(1, T + 1):
            with scope(f"t={t}"):
                on = set(self.active(t))
                # fastest first: module k reads the slower modules before they update this step
                for k in sorted(on):  # hears itself and the slower modules: columns k·m onwards
                    block = slice(k * m, (k + 1) * m)
                    heard = cat(states_k[k:], axis=-1) if k < g - 1 else states_k[k]
                    part = phi(xw[t - 1][:, block] + heard @ W[block, k * m:].T)
                    part.name = f"module{k} T={self.periods[k]}"
                    states_k[k] = part
                h = cat(states_k, axis=-1) if g > 1 else states_k[0]
                h.name = "h_t"
            outputs.append(h)
        return outputs, [h]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}, periods={self.periods}"
        if self.bias is None:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        return s

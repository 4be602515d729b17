"""The GRU built up from the properties of a memory (notes 002, "Memory's Properties").

A memory should be clearable, writable and readable; the notes build the gated cell from
these three properties one at a time. The hidden state is the memory, and the new memory is
the cleared old one plus what is written:

    h_t = f_t ⊙ h_{t−1} + s_t ⊙ h̃_t                       (clearing + writing)
    f_t = σ(W_f x_t + U_f h_{t−1} + b_f)                   forget gate: what to keep
    s_t = σ(W_s x_t + U_s h_{t−1} + b_s)                   store gate: what to write
    h̃_t = tanh(W x_t + U (r_t ⊙ h_{t−1}) + b)              candidate
    r_t = σ(W_r x_t + U_r h_{t−1} + b_r)                   read gate: what of h_{t−1} to read

A gate that is switched off is the constant that gives the cell without it: f ≡ 0 without
``forget`` (all is cleared: with s ≡ 1 and r ≡ 1 this is the vanilla RNN
h_t = tanh(W x_t + U h_{t−1} + b)), s ≡ 1 without ``store`` (everything is written), r ≡ 1
without ``read`` (all of the memory is read). ``tied=True`` is the GRU: one update gate both
keeps and writes, s_t = 1 − f_t, i.e. h_t = z_t ⊙ h_{t−1} + (1 − z_t) ⊙ h̃_t with z = f —
the notes' GRU (001 eq. 7), equal to ``nn.GRU(reset_after=False)`` (tested).

``STAGES`` lists the cells in the order the notes add the gates.
"""

from __future__ import annotations

import math

from tinygrad_rnn.modes import scope
from tinygrad_rnn.nn.layers import new_parameter
from tinygrad_rnn.nn.sequence import SequenceLayer
from tinygrad_rnn.tensor import Tensor

#: the build-up, in the notes' order: name -> MemoryRNN keyword arguments
STAGES: dict[str, dict] = {
    "vanilla RNN": dict(forget=False, store=False, read=False),
    "+ forget gate": dict(forget=True, store=False, read=False),
    "+ store gate": dict(forget=True, store=True, read=False),
    "+ read gate": dict(forget=True, store=True, read=True),
    "GRU (s = 1 − f)": dict(forget=True, store=True, read=True, tied=True),
}


class MemoryRNN(SequenceLayer):
    """``forward(input, hx=None) -> (output, h_n)`` as ``nn.RNN`` with one layer.

    Parameters: ``weight_ih`` ((G + 1)·H, I) and ``bias`` ((G + 1)·H,) hold the blocks of the
    G gates present, in the order f, s, r, then the candidate's W and b; ``weight_hh``
    (G·H, H) the gates' U_f, U_s, U_r; ``weight_hc`` (H, H) the candidate's U. All
    ~ U(−1/√H, 1/√H) as in nn.GRU.
    """

    def __init__(self, input_size: int, hidden_size: int, forget: bool = True,
                 store: bool = True, read: bool = True, tied: bool = False,
                 batch_first: bool = False):
        super().__init__(input_size, hidden_size, batch_first)
        if tied and not (forget and store):
            raise ValueError("MemoryRNN: tied=True (s = 1 − f, the GRU) needs forget=True and "
                             "store=True")
        self.forget, self.store, self.read, self.tied = forget, store, read, tied
        self.gate_names = [g for g, on in (("f", forget), ("s", store and not tied), ("r", read))
                           if on]
        G, H, k = len(self.gate_names), hidden_size, 1 / math.sqrt(hidden_size)
        self.weight_ih = new_parameter((G + 1) * H, input_size, bound=k)
        self.bias = new_parameter((G + 1) * H, bound=k)
        self.weight_hh = new_parameter(G * H, H, bound=k) if G else None
        self.weight_hc = new_parameter(H, H, bound=k)

    def _run(self, x: Tensor, states: list) -> tuple[list, list]:
        T, B, n_in = x.shape
        H, G = self.hidden_size, len(self.gate_names)
        xw = (x.reshape(T * B, n_in) @ self.weight_ih.T + self.bias).reshape(T, B, (G + 1) * H)
        W_hh_T = self.weight_hh.T if G else None
        W_hc_T = self.weight_hc.T
        h = states[0]
        outputs = []
        for t in range(T):
            with scope(f"t={t + 1}"):
                h = self._step(xw[t], h, W_hh_T, W_hc_T)
            outputs.append(h)
        return outputs, [h]

    def _step(self, xw: Tensor, h_prev: Tensor, W_hh_T: Tensor | None, W_hc_T: Tensor) -> Tensor:
        H, G = self.hidden_size, len(self.gate_names)
        gates = {}
        if G:
            z = xw[..., :G * H] + h_prev @ W_hh_T
            for k, g in enumerate(self.gate_names):
                gates[g] = z[..., k * H:(k + 1) * H].sigmoid()
                gates[g].name = {"f": "forget_gate", "s": "store_gate", "r": "read_gate"}[g]
        read = gates["r"] * h_prev if self.read else h_prev
        cand = (xw[..., G * H:] + read @ W_hc_T).tanh()
        cand.name = "candidate"
        if self.tied:
            h = gates["f"] * h_prev + (1 - gates["f"]) * cand      # the GRU: s = 1 − f
        else:
            write = gates["s"] * cand if self.store else cand
            h = gates["f"] * h_prev + write if self.forget else write  # f ≡ 0: all cleared
        h.name = "h_t"
        return h

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, forget={self.forget}, "
                f"store={self.store}, read={self.read}" + (", tied=True" if self.tied else ""))

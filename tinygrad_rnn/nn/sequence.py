"""What the single-layer recurrent variants share: PyTorch's input layouts and state checks.

Input x is (T, B, I), or (B, T, I) with ``batch_first``, or (T, I) unbatched; a state is
(1, B, S), or (1, S) unbatched, as ``nn.RNN``'s ``h_0`` with one layer. A subclass writes
``_run(x, states) -> (outputs, finals)`` on (T, B, I) and (B, S) tensors; this class does the
layout, the zeros for missing states, and the error messages.
"""

from __future__ import annotations

from tinygrad_rnn.creation import zeros
from tinygrad_rnn.functions import stack
from tinygrad_rnn.modes import scope
from tinygrad_rnn.nn.cells import check_state, time_major
from tinygrad_rnn.nn.module import Module
from tinygrad_rnn.tensor import Tensor


def positive_int(owner: str, what: str, value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{owner}: {what} must be a positive integer, got {value!r}")
    return value


class SequenceLayer(Module):
    """Base of ClockworkRNN, SCRN, SkipRNN and DeepTransitionRNN (one layer, one direction)."""

    #: names and sizes (attribute names) of the recurrent states, e.g. (("h_0", "hidden_size"),)
    state_names: tuple = (("h_0", "hidden_size"),)

    def __init__(self, input_size: int, hidden_size: int, batch_first: bool = False):
        super().__init__()
        name = type(self).__name__
        self.input_size = positive_int(name, "input_size", input_size)
        self.hidden_size = positive_int(name, "hidden_size", hidden_size)
        self.batch_first = batch_first
        self.scope_name = name.lower()

    def forward(self, input: Tensor, hx=None):
        """Run the recurrence over the sequence; returns (output, h_n) as ``nn.RNN`` does
        (a tuple of final states where the layer has more than one)."""
        x, unbatched = time_major(self, input)
        T, B = x.shape[0], x.shape[1]
        states = self._initial_states(hx, B, x, unbatched)
        with scope(self.scope_name):
            outputs, finals = self._run(x, states)
        output = stack(outputs)
        if self.batch_first and not unbatched:
            output = output.transpose(0, 1)
        if unbatched:
            output = output.reshape(T, -1)
            finals = [f.reshape(1, -1) for f in finals]
        else:
            finals = [f.reshape(1, B, -1) for f in finals]
        return output, (tuple(finals) if len(finals) > 1 else finals[0])

    def _initial_states(self, hx, B: int, x: Tensor, unbatched: bool) -> list:
        names = self.state_names
        if hx is None:
            return [zeros(B, getattr(self, size), dtype=x.dtype, device=x.device) for _, size in names]
        if len(names) > 1:
            if not isinstance(hx, (tuple, list)) or len(hx) != len(names):
                raise TypeError(f"{self!r}: the initial state must be a tuple "
                                f"({', '.join(n for n, _ in names)})")
            hx = list(hx)
        else:
            hx = [hx]
        out = []
        for (name, size), h in zip(names, hx):
            S = getattr(self, size)
            check_state(self, name, h, (1, S) if unbatched else (1, B, S))
            out.append(h.reshape(B, S))
        return out

    def _run(self, x: Tensor, states: list) -> tuple[list, list]:
        raise NotImplementedError

"""Multi-step recurrent layers RNN, LSTM, GRU: deep, bidirectional, variable length.

PyTorch's interface, parameter names and return values:

    output, h_n = rnn(x, h_0)            output (T, B, D·H); h_n (L·D, B, H)
    output, (h_n, c_n) = lstm(x, (h_0, c_0))

x is (T, B, I), or (B, T, I) with ``batch_first``, or (T, I) unbatched. Layer l direction d
has ``weight_ih_l{l}``, ``weight_hh_l{l}``, ``bias_ih_l{l}``, ``bias_hh_l{l}`` (suffix
``_reverse`` for d = 1); ``h_n[l·D + d]`` is its last state; ``output`` is
``[→h_t ; ←h_t]`` of the last layer. A deep RNN feeds each layer's output sequence to the next
(with dropout between layers when training); a bidirectional one runs a second recurrence
from t = T down to 1 and concatenates.

Each step runs inside ``scope("t=k")`` within ``<name>/l<l>/<fwd|bwd>``, so the recorded graph
shows the unrolling. The input projection ``X W_ihᵀ`` of all steps is one matmul; only the
recurrence runs step by step. BPTT is not written anywhere: it is ``backward()`` on this graph.

Variable-length batches: ``lengths`` (B integers ≤ T) marks the real steps of each sequence.
At a padded step the state is carried through unchanged (``h_t = h_{t−1}``), the output is 0,
and nothing there receives gradient; the reverse direction starts at each sequence's own end.
"""

from __future__ import annotations

import math

from tinygrad_rnn import backend, packed
from tinygrad_rnn.creation import zeros
from tinygrad_rnn.errors import ShapeError
from tinygrad_rnn.functions import cat, stack, where
from tinygrad_rnn.modes import scope
from tinygrad_rnn.nn.cells import (
    ACTIVATIONS,
    check_coupled,
    check_gru_form,
    check_state,
    coupled_lstm_step,
    gru_step,
    lstm_step,
    rnn_step,
    time_major,
)
from tinygrad_rnn.nn.layers import dropout, new_parameter
from tinygrad_rnn.nn.module import Module
from tinygrad_rnn.tensor import Tensor, host_array

GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}


class RNNBase(Module):
    """The shared machinery of RNN, LSTM and GRU (``mode`` picks the step)."""

    mode = "RNN"
    coupled = False  # LSTM(coupled=True) sets it before __init__: 3 gate blocks, f = 1 − i

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 nonlinearity: str = "tanh", peephole: bool = False, fused: bool = False):
        super().__init__()
        name = type(self).__name__
        for what, value in (("input_size", input_size), ("hidden_size", hidden_size),
                            ("num_layers", num_layers)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: {what} must be a positive integer, got {value!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or \
                not 0 <= dropout <= 1:  # 1 drops every input of the layers above, as PyTorch
            raise ValueError(f"{name}: dropout must be a number in [0, 1], got {dropout!r}")
        if nonlinearity not in ACTIVATIONS:
            raise ValueError(f"{name}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        if peephole and self.mode != "LSTM":
            raise ValueError(f"{name}: peephole connections are an LSTM option")
        if nonlinearity != "tanh" and self.mode != "RNN":
            raise ValueError(f"{name}: nonlinearity is an RNN option ({name} has its own gates)")
        if fused and (self.mode == "RNN" or peephole):
            raise ValueError(f"{name}: fused=True exists for LSTM (without peepholes) and GRU only")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, dropout
        self.bidirectional, self.nonlinearity = bidirectional, nonlinearity
        self.peephole, self.fused = peephole, fused
        self.scope_name = name.lower()
        G, H, k = 3 if self.coupled else GATES[self.mode], hidden_size, 1 / math.sqrt(hidden_size)
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else H * self.num_directions
            for suffix in self._suffixes(layer):
                setattr(self, f"weight_ih{suffix}", new_parameter(G * H, layer_input, bound=k))
                setattr(self, f"weight_hh{suffix}", new_parameter(G * H, H, bound=k))
                if bias:
                    setattr(self, f"bias_ih{suffix}", new_parameter(G * H, bound=k))
                    setattr(self, f"bias_hh{suffix}", new_parameter(G * H, bound=k))
                if peephole:
                    for gate in "ifo":
                        setattr(self, f"weight_c{gate}{suffix}", new_parameter(H, bound=k))

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def _suffixes(self, layer: int) -> list[str]:
        return [f"_l{layer}"] + ([f"_l{layer}_reverse"] if self.bidirectional else [])

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        for flag, default in (("bias", True), ("batch_first", False), ("dropout", 0.0),
                              ("bidirectional", False), ("peephole", False), ("fused", False)):
            if getattr(self, flag) != default:
                s += f", {flag}={getattr(self, flag)}"
        if self.mode == "RNN" and self.nonlinearity != "tanh":
            s += f", nonlinearity={self.nonlinearity!r}"
        return s

    # ---- forward ------------------------------------------------------------------------
    def forward(self, input: Tensor, hx: Tensor | tuple | None = None, lengths=None
                ) -> tuple[Tensor, Tensor | tuple[Tensor, Tensor]]:
        """Run all layers and directions over the sequence; returns (output, h_n) or
        (output, (h_n, c_n)) for LSTM, as PyTorch does."""
        H = self.hidden_size
        x, unbatched = time_major(self, input)
        T, B = x.shape[0], x.shape[1]
        states = self._initial_states(hx, B, x, unbatched, input)
        mask = self._mask(lengths, T, B, x)
        finals = [[] for _ in states]
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout and self.training:
                x = dropout(x, self.dropout)
            outputs = []
            for d, suffix in enumerate(self._suffixes(layer)):
                index = layer * self.num_directions + d
                with scope(self.scope_name), scope(f"l{layer}"), scope("bwd" if d else "fwd"):
                    out, last = self._direction(x, [s[index] for s in states], suffix, d == 1, mask)
                outputs.append(out)
                for f, s in zip(finals, last):
                    f.append(s)
            x = outputs[0] if len(outputs) == 1 else cat(outputs, axis=-1)
        output = x
        if self.batch_first and not unbatched:
            output = output.transpose(0, 1)
        finals = [stack(f) for f in finals]
        if unbatched:
            output = output.reshape(T, -1)
            finals = [f.reshape(f.shape[0], H) for f in finals]
        return output, (tuple(finals) if self.mode == "LSTM" else finals[0])

    def _direction(self, x: Tensor, state: list, suffix: str, reverse: bool, mask):
        """One layer in one direction: the input projection at once, then the recurrence."""
        T, B, _ = x.shape
        W_ih, W_hh = getattr(self, f"weight_ih{suffix}"), getattr(self, f"weight_hh{suffix}")
        xw = x.reshape(T * B, x.shape[2]) @ W_ih.T
        if self.bias:
            xw = xw + getattr(self, f"bias_ih{suffix}")
            if self.mode != "GRU":  # b_hh is additive too; GRU keeps it inside r ⊙ (·)
                xw = xw + getattr(self, f"bias_hh{suffix}")
        xw = xw.reshape(T, B, xw.shape[-1])
        W_hh_T = W_hh.T
        if self.mode != "GRU" or getattr(self, "reset_after", True):  # the notes' GRU slices it
            W_hh_T = packed.pack(W_hh_T, rows=B, uses=T)  # copied once, read at every step
        b_hh = getattr(self, f"bias_hh{suffix}") if self.bias and self.mode == "GRU" else None
        peep = (tuple(getattr(self, f"weight_c{g}{suffix}") for g in "ifo")
                if self.peephole else None)
        hs: list = [None] * T
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            with scope(f"t={t + 1}"):
                # a fused LSTM step reads row t itself (one node for xw[t] + h W_hhᵀ)
                x_t = packed.Row(xw, t) if self.fused and self.mode == "LSTM" else xw[t]
                new = self._step(x_t, state, W_hh_T, b_hh, peep)
                if mask is not None:
                    new = [where(mask[t], n, s) for n, s in zip(new, state)]
                    hs[t] = new[0] * Tensor.wrap(mask[t].astype(x.dtype))
                else:
                    hs[t] = new[0]
                state = new
        return stack(hs), state

    def _step(self, xw_t: Tensor, state: list, W_hh_T: Tensor, b_hh, peep) -> list:
        if self.mode == "LSTM":
            return list(lstm_step(xw_t, state[0], state[1], W_hh_T, peep, self.fused))
        if self.mode == "GRU":
            return [gru_step(xw_t, state[0], W_hh_T, b_hh, self.fused, self.reset_after)]
        return [rnn_step(xw_t, state[0], W_hh_T, self.nonlinearity)]

    # ---- checks -------------------------------------------------------------------------
    def _initial_states(self, hx, B: int, x: Tensor, unbatched: bool, input: Tensor) -> list:
        L, H = self.num_layers * self.num_directions, self.hidden_size
        names = ("h_0", "c_0") if self.mode == "LSTM" else ("h_0",)
        if hx is None:
            return [zeros(L, B, H, dtype=x.dtype, device=x.device) for _ in names]
        if self.mode == "LSTM":
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"{self!r}: the initial state must be a tuple (h_0, c_0)")
            hx = list(hx)
        else:
            hx = [hx]
        expected = (L, H) if unbatched else (L, B, H)
        for name, h in zip(names, hx):
            try:
                check_state(self, name, h, expected)
            except ShapeError as e:
                other = input.shape[1] if self.batch_first else input.shape[0]
                if not unbatched and h.ndim == 3 and h.shape[1] == other and other != B:
                    raise ShapeError(f"{e}; the batch sizes match if the input is read the other "
                                     f"way round: is batch_first={not self.batch_first} "
                                     "meant?") from None
                raise
        return [h.reshape(L, 1, H) if unbatched else h for h in hx]

    def _mask(self, lengths, T: int, B: int, x: Tensor):
        """(T, B, 1) booleans: True where step t is a real step of sequence b."""
        if lengths is None:
            return None
        host = host_array(lengths)
        if host.shape != (B,) or host.dtype.kind not in "iu":
            raise ShapeError(f"{self!r}: lengths must be {B} integers (one per sequence), got "
                             f"{host.dtype} array of shape {host.shape}")
        if host.size and (host.max() > T or host.min() < 0):
            raise ValueError(f"{self!r}: lengths must lie in [0, {T}] (the sequence has {T} "
                             f"steps), got {host.tolist()}")
        steps = backend.host_arange(T)[:, None, None]
        return backend.to_array(steps < host[None, :, None], x.device)


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh) (or relu), per layer."""

    mode = "RNN"


class LSTM(RNNBase):
    """LSTM: c_t = f ⊙ c_{t−1} + i ⊙ g, h_t = o ⊙ tanh(c_t), gates i, f, g, o as in PyTorch.

    ``coupled=True``: the coupled-gate LSTM of the notes (001 §4, "combining … the forget gate
    and input gate into one update gate"): f = 1 − i, so c_t = (1 − i) ⊙ c_{t−1} + i ⊙ g. Each
    layer's weight_ih/weight_hh/bias hold three blocks i, g, o (3·H rows; the forget rows are
    dropped), so its state_dict does not load into torch.nn.LSTM. Not with peephole or fused.
    """

    mode = "LSTM"

    def __init__(self, *args, coupled: bool = False, **kwargs):
        if coupled:  # read by RNNBase.__init__ for the parameter shapes
            object.__setattr__(self, "coupled", True)
        super().__init__(*args, **kwargs)
        check_coupled(self, coupled, self.peephole, self.fused)

    def _step(self, xw_t: Tensor, state: list, W_hh_T: Tensor, b_hh, peep) -> list:
        if self.coupled:
            return list(coupled_lstm_step(xw_t, state[0], state[1], W_hh_T))
        return super()._step(xw_t, state, W_hh_T, b_hh, peep)

    def extra_repr(self) -> str:
        return super().extra_repr() + (", coupled=True" if self.coupled else "")


class GRU(RNNBase):
    """GRU: h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}, r and z sigmoid gates of x_t and h_{t−1}, and

        reset_after=True  (default, PyTorch's):  n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
        reset_after=False (the notes' 001 eq. 7): n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn)

    (the name is Keras's). Both forms have the same parameters; only the first is PyTorch's.
    """

    mode = "GRU"

    def __init__(self, *args, reset_after: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        check_gru_form(self, self.fused, reset_after)
        self.reset_after = reset_after

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.reset_after else ", reset_after=False")


def IRNN(input_size: int, hidden_size: int, num_layers: int = 1, input_std: float = 1e-3,
         **kwargs) -> RNN:
    """A ReLU RNN with identity recurrence W_hh = I, small input weights and zero biases
    (Le, Jaitly & Hinton 2015; the notes' IRNN): ``nn.IRNN(1, 100)`` in one line."""
    from tinygrad_rnn.nn.init import irnn_
    rnn = RNN(input_size, hidden_size, num_layers, nonlinearity="relu", **kwargs)
    irnn_(rnn, input_std)
    return rnn

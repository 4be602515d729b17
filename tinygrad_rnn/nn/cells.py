"""Recurrent cells: one time step each, written as plain Tensor code (no backward anywhere).

The step functions (``rnn_step``, ``lstm_step``, ``gru_step``) are shared by the cells here
and by the multi-step layers in ``rnn.py``. They take the input projection already computed
(``xw = x W_ihᵀ + b``), because a layer computes it for all time steps in one matmul; only
the recurrence ``h_{t−1} W_hhᵀ`` has to be done step by step. Every intermediate gets the
notes' name (``input_gate``, ``c_t``, ``h_t`` …) so graph pictures label it.

Equations (PyTorch's gate order and parameter layout):

    RNN    h_t = tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh)              (or relu)
    LSTM   i, f, g, o = σ, σ, tanh, σ of the four blocks of W_ih x_t + b_ih + W_hh h_{t−1} + b_hh
           c_t = f ⊙ c_{t−1} + i ⊙ g,    h_t = o ⊙ tanh(c_t)
           peephole: i and f also see w_ci ⊙ c_{t−1}, w_cf ⊙ c_{t−1}; o sees w_co ⊙ c_t
           coupled (notes 001 §4, "the forget gate and input gate into one update gate"):
           f = 1 − i, so c_t = (1 − i) ⊙ c_{t−1} + i ⊙ g; three blocks i, g, o (no forget rows)
    GRU    r, z = σ of the r, z blocks of W_ih x_t + b_ih + W_hh h_{t−1} + b_hh
           n = tanh(W_in x_t + b_in + r ⊙ (W_hn h_{t−1} + b_hn))   (reset_after=True, PyTorch's)
           n = tanh(W_in x_t + b_in + W_hn (r ⊙ h_{t−1}) + b_hn)   (reset_after=False, the
                notes' 001 eq. 7  h̃_t = tanh(W x_t + U (r_t ⊙ h_{t−1})): r acts before W_hn)
           h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}
    Jordan h_t = tanh(W_ih x_t + W_yh y_{t−1} + b_h),  o_t = W_ho h_t + b_o   (output-to-hidden)
"""

from __future__ import annotations

import math

from tinygrad_rnn import fused, packed
from tinygrad_rnn.creation import zeros
from tinygrad_rnn.errors import DTypeError, ShapeError
from tinygrad_rnn.functions import relu, tanh
from tinygrad_rnn.nn.layers import new_parameter
from tinygrad_rnn.nn.module import Module, Parameter
from tinygrad_rnn.tensor import Tensor

ACTIVATIONS = {"tanh": tanh, "relu": relu}  # the functions, not Tensor's methods: no import order


_named = Tensor.named  # the steps below call it as a function: _named(t, name) is t.named(name)


def rnn_step(xw: Tensor, h_prev: Tensor, W_hh_T: Tensor | packed.Packed,
             nonlinearity: str = "tanh") -> Tensor:
    """h_t = φ(xw_t + h_{t−1} W_hhᵀ), xw_t = x_t W_ihᵀ + b_ih + b_hh."""
    return _named(ACTIVATIONS[nonlinearity](xw + packed.matmul(h_prev, W_hh_T)), "h_t")


def lstm_step(xw: Tensor | packed.Row, h_prev: Tensor, c_prev: Tensor, W_hh_T: Tensor | packed.Packed,
              peephole: tuple | None = None, use_fused: bool = False) -> tuple[Tensor, Tensor]:
    """One LSTM step from xw_t = x_t W_ihᵀ + b_ih + b_hh (or, fused, a packed.Row of a layer's
    projection); returns (h_t, c_t)."""
    if use_fused and peephole is None:
        h, c = fused.lstm_cell(packed.gates(xw, h_prev, W_hh_T), c_prev)
        return _named(h, "h_t"), _named(c, "c_t")
    gates = xw + packed.matmul(h_prev, W_hh_T)
    H = h_prev.shape[-1]
    z_i, z_f, z_g, z_o = (gates[..., k * H:(k + 1) * H] for k in range(4))
    if peephole is not None:
        w_ci, w_cf, w_co = peephole
        z_i, z_f = z_i + w_ci * c_prev, z_f + w_cf * c_prev
    i = _named(z_i.sigmoid(), "input_gate")
    f = _named(z_f.sigmoid(), "forget_gate")
    g = _named(z_g.tanh(), "candidate")
    c = _named(f * c_prev + i * g, "c_t")
    if peephole is not None:
        z_o = z_o + peephole[2] * c
    o = _named(z_o.sigmoid(), "output_gate")
    return _named(o * c.tanh(), "h_t"), c


def coupled_lstm_step(xw: Tensor, h_prev: Tensor, c_prev: Tensor, W_hh_T: Tensor | packed.Packed
                      ) -> tuple[Tensor, Tensor]:
    """One coupled-gate LSTM step from xw_t = x_t W_ihᵀ + b_ih + b_hh with three gate blocks
    i, g, o; returns (h_t, c_t). The forget gate is not learnt but tied to the input gate:

        f = 1 − i,   c_t = f ⊙ c_{t−1} + i ⊙ g = (1 − i) ⊙ c_{t−1} + i ⊙ g,   h_t = o ⊙ tanh(c_t)

    so the cell writes exactly as much as it clears (c_t is a convex mix of c_{t−1} and g).
    1 − σ(z) = σ(−z): it equals a standard LSTM whose forget rows are the negated input rows.
    """
    gates = xw + packed.matmul(h_prev, W_hh_T)
    H = h_prev.shape[-1]
    z_i, z_g, z_o = (gates[..., k * H:(k + 1) * H] for k in range(3))
    i = _named(z_i.sigmoid(), "input_gate")
    f = _named(1 - i, "forget_gate")  # named so graph pictures show the coupling
    g = _named(z_g.tanh(), "candidate")
    c = _named(f * c_prev + i * g, "c_t")
    o = _named(z_o.sigmoid(), "output_gate")
    return _named(o * c.tanh(), "h_t"), c


def check_coupled(module: Module, coupled: bool, peephole: bool, fused: bool) -> None:
    """coupled=True has its own step: no peephole weights and no fused kernel for it."""
    if coupled and (peephole or fused):
        raise ValueError(f"{type(module).__name__}: coupled=True (f = 1 − i) is implemented "
                         f"without {'peephole connections' if peephole else 'the fused kernel'}; "
                         f"use {'peephole' if peephole else 'fused'}=False with coupled=True")


def gru_step(xw: Tensor, h_prev: Tensor, W_hh_T: Tensor | packed.Packed, b_hh: Tensor | None,
             use_fused: bool = False, reset_after: bool = True) -> Tensor:
    """One GRU step from xw_t = x_t W_ihᵀ + b_ih (b_hh stays inside r ⊙ (·) for n unless
    ``reset_after=False``: then n = tanh(W_in x + b_in + W_hn (r ⊙ h_{t−1}) + b_hn))."""
    if not reset_after:
        return _gru_step_reset_before(xw, h_prev, packed.unpacked(W_hh_T), b_hh)
    gh = packed.matmul(h_prev, W_hh_T)
    if b_hh is not None:
        gh = gh + b_hh
    if use_fused:
        return _named(fused.gru_cell(xw, gh, h_prev), "h_t")
    H = h_prev.shape[-1]
    r = _named((xw[..., :H] + gh[..., :H]).sigmoid(), "reset_gate")
    z = _named((xw[..., H:2 * H] + gh[..., H:2 * H]).sigmoid(), "update_gate")
    n = _named((xw[..., 2 * H:] + r * gh[..., 2 * H:]).tanh(), "candidate")
    return _named(n + z * (h_prev - n), "h_t")  # = (1 − z) ⊙ n + z ⊙ h_{t−1}


def _gru_step_reset_before(xw: Tensor, h_prev: Tensor, W_hh_T: Tensor, b_hh: Tensor | None) -> Tensor:
    """The notes' GRU (001 eq. 7): the reset gate scales h_{t−1} before W_hn multiplies it,
    so the candidate needs r first and W_hn h cannot share one matmul with the gates."""
    H = h_prev.shape[-1]
    gh = h_prev @ W_hh_T[:, :2 * H]
    if b_hh is not None:
        gh = gh + b_hh[:2 * H]
    r = _named((xw[..., :H] + gh[..., :H]).sigmoid(), "reset_gate")
    z = _named((xw[..., H:2 * H] + gh[..., H:]).sigmoid(), "update_gate")
    pre = xw[..., 2 * H:] + (r * h_prev) @ W_hh_T[:, 2 * H:]
    if b_hh is not None:
        pre = pre + b_hh[2 * H:]
    n = _named(pre.tanh(), "candidate")
    return _named(n + z * (h_prev - n), "h_t")  # = (1 − z) ⊙ n + z ⊙ h_{t−1}


def check_gru_form(module: Module, fused: bool, reset_after: bool) -> None:
    """fused=True is the fused kernel of PyTorch's form only."""
    if fused and not reset_after:
        raise ValueError(f"{type(module).__name__}: fused=True computes PyTorch's GRU "
                         "(reset_after=True) only; use fused=False for the notes' form "
                         "reset_after=False")


def check_input(module: Module, x: Tensor, expected: str, input_size: int, ndims: tuple) -> None:
    """Clear errors for the wrong rank, feature size or dtype of a recurrent module's input."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{module!r}: input must be a Tensor, got {type(x).__name__}")
    if x.ndim not in ndims or x.shape[-1] != input_size:
        raise ShapeError(f"{module!r}: expected input of shape {expected}, got {tuple(x.shape)}")
    dtype = next(module.parameters()).dtype
    if x.dtype != dtype:
        raise DTypeError(f"{module!r}: input is {x.dtype} but the parameters are {dtype}; "
                         f"convert one of them (module.double() or x.float())")


def time_major(layer: Module, input: Tensor) -> tuple[Tensor, bool]:
    """A sequence layer's input checked and as (T, B, I): it may come as (T, B, I), as
    (B, T, I) with ``batch_first``, or unbatched as (T, I). Returns (x, unbatched)."""
    n_in = layer.input_size
    layout = "(B, T, {0})" if layer.batch_first else "(T, B, {0})"
    check_input(layer, input, f"{layout.format(n_in)} or (T, {n_in}) unbatched", n_in, (2, 3))
    unbatched = input.ndim == 2
    x = input.reshape(input.shape[0], 1, n_in) if unbatched else input
    if layer.batch_first and not unbatched:
        x = x.transpose(0, 1)
    if x.shape[0] == 0:
        raise ShapeError(f"{layer!r}: the sequence has 0 time steps (input shape {tuple(input.shape)})")
    return x, unbatched


def check_state(module: Module, name: str, h: Tensor, expected: tuple) -> None:
    if not isinstance(h, Tensor):
        raise TypeError(f"{module!r}: {name} must be a Tensor, got {type(h).__name__}")
    if tuple(h.shape) != tuple(expected):
        raise ShapeError(f"{module!r}: expected {name} of shape {tuple(expected)}, "
                         f"got {tuple(h.shape)}")


class _CellBase(Module):
    """Parameters W_ih (G·H, I), W_hh (G·H, H), b_ih, b_hh (G·H) ~ U(−1/√H, 1/√H)."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        k, G = 1 / math.sqrt(hidden_size), self.gates
        self.weight_ih = new_parameter(G * hidden_size, input_size, bound=k)
        self.weight_hh = new_parameter(G * hidden_size, hidden_size, bound=k)
        self.register_parameter("bias_ih", new_parameter(G * hidden_size, bound=k) if bias else None)
        self.register_parameter("bias_hh", new_parameter(G * hidden_size, bound=k) if bias else None)

    def _prepare(self, x: Tensor, states: tuple) -> tuple[Tensor, list, bool]:
        """Check shapes; add a batch axis to unbatched input; zeros for missing states."""
        check_input(self, x, f"(batch, {self.input_size}) or ({self.input_size},)",
                    self.input_size, (1, 2))
        unbatched = x.ndim == 1
        if unbatched:
            x = x.reshape(1, -1)
        B, H = x.shape[0], self.hidden_size
        out = []
        for name, s in states:
            if s is None:
                s = zeros(B, H, dtype=x.dtype, device=x.device)
            else:
                check_state(self, name, s, (H,) if unbatched else (B, H))
                if unbatched:
                    s = s.reshape(1, -1)
            out.append(s)
        return x, out, unbatched

    def _xw(self, x: Tensor, fold_b_hh: bool = True) -> Tensor:
        xw = x @ self.weight_ih.T
        if self.bias_ih is not None:
            xw = xw + self.bias_ih
            if fold_b_hh:
                xw = xw + self.bias_hh
        return xw

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias_ih is not None}"


class RNNCell(_CellBase):
    """h_t = tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh) (``nonlinearity='relu'`` for ReLU)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh"):
        if nonlinearity not in ACTIVATIONS:
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias)
        self.nonlinearity = nonlinearity

    def forward(self, x: Tensor, hx: Tensor | None = None) -> Tensor:
        """One step: h_t from x_t and h_{t−1} (zeros when hx is None)."""
        x, (h,), unbatched = self._prepare(x, [("hx", hx)])
        h = rnn_step(self._xw(x), h, self.weight_hh.T, self.nonlinearity)
        return h.reshape(-1) if unbatched else h


class LSTMCell(_CellBase):
    """c_t = f ⊙ c_{t−1} + i ⊙ g, h_t = o ⊙ tanh(c_t); ``peephole=True`` adds w_ci, w_cf, w_co.

    ``coupled=True``: the coupled-gate LSTM, f = 1 − i (see :func:`coupled_lstm_step`). Its
    weight_ih/weight_hh/bias rows are the three blocks i, g, o (3·H rows, no forget rows), so
    its state_dict does not load into torch.nn.LSTMCell (which expects 4·H rows).
    """

    gates = 4

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 peephole: bool = False, fused: bool = False, coupled: bool = False):
        check_coupled(self, coupled, peephole, fused)
        if coupled:  # read by _CellBase.__init__ for the parameter shapes (Module's setattr
            object.__setattr__(self, "gates", 3)  # is not ready before super().__init__)
        super().__init__(input_size, hidden_size, bias)
        self.peephole, self.fused, self.coupled = peephole, fused, coupled
        if peephole:
            k = 1 / math.sqrt(hidden_size)
            self.weight_ci = new_parameter(hidden_size, bound=k)
            self.weight_cf = new_parameter(hidden_size, bound=k)
            self.weight_co = new_parameter(hidden_size, bound=k)

    def peepholes(self) -> tuple | None:
        """(w_ci, w_cf, w_co) when the cell has peephole connections."""
        return (self.weight_ci, self.weight_cf, self.weight_co) if self.peephole else None

    def forward(self, x: Tensor, hx: tuple | None = None) -> tuple[Tensor, Tensor]:
        """One step: (h_t, c_t) from x_t and (h_{t−1}, c_{t−1}) (zeros when hx is None)."""
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"{self!r}: the state must be a tuple (h, c), got "
                            f"{type(hx).__name__}" + (f" of length {len(hx)}"
                                                      if isinstance(hx, (tuple, list)) else ""))
        h0, c0 = hx if hx is not None else (None, None)
        x, (h, c), unbatched = self._prepare(x, [("h_0", h0), ("c_0", c0)])
        if self.coupled:
            h, c = coupled_lstm_step(self._xw(x), h, c, self.weight_hh.T)
        else:
            h, c = lstm_step(self._xw(x), h, c, self.weight_hh.T, self.peepholes(), self.fused)
        return (h.reshape(-1), c.reshape(-1)) if unbatched else (h, c)

    def extra_repr(self) -> str:
        return super().extra_repr() + (", coupled=True" if self.coupled else "")


class GRUCell(_CellBase):
    """h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}, with r, z = σ(W_i{r,z} x + b_i{r,z} + W_h{r,z} h_{t−1} + b_h{r,z}) and

        reset_after=True  (default, PyTorch's):  n = tanh(W_in x + b_in + r ⊙ (W_hn h_{t−1} + b_hn))
        reset_after=False (the notes' 001 eq. 7): n = tanh(W_in x + b_in + W_hn (r ⊙ h_{t−1}) + b_hn)

    (Keras names the flag the same way). Both have the same parameters and state_dict.
    """

    gates = 3

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, fused: bool = False,
                 reset_after: bool = True):
        check_gru_form(self, fused, reset_after)
        super().__init__(input_size, hidden_size, bias)
        self.fused, self.reset_after = fused, reset_after

    def forward(self, x: Tensor, hx: Tensor | None = None) -> Tensor:
        """One step: h_t from x_t and h_{t−1} (zeros when hx is None)."""
        x, (h,), unbatched = self._prepare(x, [("hx", hx)])
        h = gru_step(self._xw(x, fold_b_hh=False), h, self.weight_hh.T, self.bias_hh, self.fused,
                     self.reset_after)
        return h.reshape(-1) if unbatched else h

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.reset_after else ", reset_after=False")


class JordanRNNCell(Module):
    """Output-to-hidden recurrence (the notes' §6.1): the only memory is the previous output.

        h_t = φ(W_ih x_t + W_yh y_{t−1} + b_h),   o_t = W_ho h_t + b_o

    During training ``y_prev`` may be the true previous output (teacher forcing) or the
    model's own (free running). Returns ``(o_t, h_t)``.
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int,
                 nonlinearity: str = "tanh"):
        super().__init__()
        if nonlinearity not in ACTIVATIONS:
            raise ValueError(f"JordanRNNCell: nonlinearity must be 'tanh' or 'relu', "
                             f"got {nonlinearity!r}")
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, output_size
        self.nonlinearity = nonlinearity
        k = 1 / math.sqrt(hidden_size)
        self.weight_ih = new_parameter(hidden_size, input_size, bound=k)
        self.weight_yh = new_parameter(hidden_size, output_size, bound=k)
        self.bias_h = new_parameter(hidden_size, bound=k)
        self.weight_ho = new_parameter(output_size, hidden_size, bound=k)
        self.bias_o = new_parameter(output_size, bound=k)

    def forward(self, x: Tensor, y_prev: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """One step: (o_t, h_t) from x_t and the previous output y_{t−1} (None at t = 1)."""
        check_input(self, x, f"(batch, {self.input_size})", self.input_size, (2,))
        z = x @ self.weight_ih.T + self.bias_h
        if y_prev is not None:
            check_state(self, "y_prev", y_prev, (x.shape[0], self.output_size))
            z = z + y_prev @ self.weight_yh.T
        h = _named(ACTIVATIONS[self.nonlinearity](z), "h_t")
        return _named(h @ self.weight_ho.T + self.bias_o, "o_t"), h

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, {self.output_size}"


__all__ = ["RNNCell", "LSTMCell", "GRUCell", "JordanRNNCell", "Parameter"]

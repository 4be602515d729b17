"""Fused pointwise parts of the LSTM and GRU steps: optional primitives for speed (``fused=True``).

The recurrent layers normally build a step from primitive ops (that is the graph the pictures
show). Every primitive costs a recorded node, about ten forward and twenty backward per step,
so these primitives do the pointwise part of a step in two nodes (LSTM) or one (GRU). They
compute the same numbers. On the CPU they run the primitive step's formulas in NumPy, in the
same order and with the core's own σ and tanh, so forward values and gradients are equal to
the last bit; the forward keeps the gate activations (``WithSaved``) and the VJPs reuse them,
so a step is faster than the primitive one (an LSTM training step at batch 1, H = 100, 25
steps: 0.77× the primitive step's time; ``benchmarks/README.md``). On CUDA they run
CuPy ElementwiseKernels with the same formulas, equal to float rounding (the GPU's exp and
tanh, and its fused multiply-adds, round differently); their VJPs recompute the activations
from the saved pre-activations, as do the reference formulas under ``create_graph``.

LSTM (PyTorch gate order i, f, g, o in the four blocks of ``gates``):

    c_t = σ(f) ⊙ c_{t−1} + σ(i) ⊙ tanh(g)          lstm_cell_state(gates, c_prev)
    h_t = σ(o) ⊙ tanh(c_t)                           lstm_cell_output(gates, c_t)

GRU (blocks r, z, n of ``gx = W_ih x + b_ih`` and ``gh = W_hh h + b_hh``):

    r = σ(gx_r + gh_r),  z = σ(gx_z + gh_z),  n = tanh(gx_n + r ⊙ gh_n)
    h_t = n + z ⊙ (h_{t−1} − n)  [= (1 − z) ⊙ n + z ⊙ h_{t−1}]   gru_cell(gx, gh, h_prev)

The VJPs below are the chain rule through the primitive step written out, each product in the
order the primitive VJPs form it (e.g. ∂L/∂n = ∂L/∂h − ∂L/∂h ⊙ z, as the engine sums it).
"""

from __future__ import annotations

from tinygrad_rnn import backend
from tinygrad_rnn.apply import WithSaved, apply, apply2
from tinygrad_rnn.errors import DeviceError, DTypeError
from tinygrad_rnn.factored import IndexedGrad
from tinygrad_rnn.functions import cat
from tinygrad_rnn.ops import SIGMOID, TANH, Op, one_minus
from tinygrad_rnn.tensor import Tensor

# ---- the reference VJPs: the chain rule through the primitive step, on Tensors (create_graph:
# the gradient stays differentiable) or on arrays; the fast CPU VJPs below compute the same


def _blocks(a, n: int):
    h = a.shape[-1] // n
    return [a[..., k * h:(k + 1) * h] for k in range(n)]


# σ and tanh are the core's own forwards (one formula per function), so on the CPU the
# fused step gives the primitive step's numbers to the last bit

def _sigmoid(x):
    return x.sigmoid() if isinstance(x, Tensor) else SIGMOID.forward(x)


def _tanh(x):
    return x.tanh() if isinstance(x, Tensor) else TANH.forward(x)


def _cat(parts):
    if any(isinstance(p, Tensor) for p in parts):
        return cat(parts, axis=-1)
    return backend.xp_of(parts[0]).concatenate(parts, axis=-1)


def _zeros_like(a):
    return a * 0


def _state_vjp_gates(dc, out, gates, c_prev):
    i, f, g, o = (_sigmoid(b) if k != 2 else _tanh(b) for k, b in enumerate(_blocks(gates, 4)))
    return _cat([dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g * g),
                 _zeros_like(dc)])


def _state_vjp_c_prev(dc, out, gates, c_prev):
    return dc * _sigmoid(_blocks(gates, 4)[1])


def _output_vjp_gates(dh, out, gates, c):
    o, tc = _sigmoid(_blocks(gates, 4)[3]), _tanh(c)
    zero = _zeros_like(dh)
    return _cat([zero, zero, zero, dh * tc * o * (1 - o)])


def _output_vjp_c(dh, out, gates, c):
    tc = _tanh(c)
    return dh * _sigmoid(_blocks(gates, 4)[3]) * (1 - tc * tc)


def _gru_parts(gx, gh):
    xr, xz, xn = _blocks(gx, 3)
    hr, hz, hn = _blocks(gh, 3)
    r, z = _sigmoid(xr + hr), _sigmoid(xz + hz)
    return r, z, _tanh(xn + r * hn), hn


def _gru_pre_grads(dh, gx, gh, h_prev):
    """∂L/∂(pre-activations of r, z, n) and the n-block's r ⊙ factor."""
    r, z, n, hn = _gru_parts(gx, gh)
    dn = (dh - dh * z) * (1 - n * n)
    dz = dh * (h_prev - n) * z * (1 - z)
    dr = dn * hn * r * (1 - r)
    return dr, dz, dn, r


def _gru_vjp_gx(dh, out, gx, gh, h_prev):
    dr, dz, dn, _ = _gru_pre_grads(dh, gx, gh, h_prev)
    return _cat([dr, dz, dn])


def _gru_vjp_gh(dh, out, gx, gh, h_prev):
    dr, dz, dn, r = _gru_pre_grads(dh, gx, gh, h_prev)
    return _cat([dr, dz, dn * r])


def _gru_vjp_h_prev(dh, out, gx, gh, h_prev):
    return dh * _gru_parts(gx, gh)[1]


# ---- CUDA kernels: the same formulas, one launch each -----------------------------------------

# σ(x) = eˣ/(eˣ + 1) with x capped, as the core computes it: at 80, eˣ is finite in float32 and
# float64 and σ already rounds to 1 in both (the core's caps, 88 and 709, give the same 1)
_SIG = ("template <typename U> __device__ U sig(U x) "
        "{ return exp(min(x, U(80))) / (exp(min(x, U(80))) + U(1)); }")
_KERNELS = {
    # element k of a (B, H) output reads gate blocks at row b = k / H, column j = k % H
    "lstm_state": ("raw T gates, T c_prev, int32 H", "T c",
                   "int b = i / H, j = i % H; const T* row = &gates[b * 4 * H];"
                   "c = sig(row[H + j]) * c_prev + sig(row[j]) * tanh(row[2 * H + j]);"),
    "lstm_state_grad": ("raw T gates, T c_prev, T dc, int32 H", "raw T d_gates, T d_c_prev",
                        "int b = i / H, j = i % H; const T* row = &gates[b * 4 * H];"
                        "T* d = &d_gates[b * 4 * H];"
                        "T ig = sig(row[j]), fg = sig(row[H + j]), gg = tanh(row[2 * H + j]);"
                        "d[j] = dc * gg * ig * (1 - ig); d[H + j] = dc * c_prev * fg * (1 - fg);"
                        "d[2 * H + j] = dc * ig * (1 - gg * gg); d[3 * H + j] = 0;"
                        "d_c_prev = dc * fg;"),
    "lstm_output": ("raw T gates, T c, int32 H", "T h",
                    "int b = i / H, j = i % H; h = sig(gates[b * 4 * H + 3 * H + j]) * tanh(c);"),
    "lstm_output_grad": ("raw T gates, T c, T dh, int32 H", "raw T d_gates, T d_c",
                         "int b = i / H, j = i % H; T og = sig(gates[b * 4 * H + 3 * H + j]);"
                         "T tc = tanh(c); T* d = &d_gates[b * 4 * H];"
                         "d[j] = 0; d[H + j] = 0; d[2 * H + j] = 0;"
                         "d[3 * H + j] = dh * tc * og * (1 - og); d_c = dh * og * (1 - tc * tc);"),
    "gru": ("raw T gx, raw T gh, T h_prev, int32 H", "T h",
            "int b = i / H, j = i % H; const T* x = &gx[b * 3 * H]; const T* y = &gh[b * 3 * H];"
            "T r = sig(x[j] + y[j]), z = sig(x[H + j] + y[H + j]);"
            "T n = tanh(x[2 * H + j] + r * y[2 * H + j]); h = n + z * (h_prev - n);"),
    "gru_grad": ("raw T gx, raw T gh, T h_prev, T dh, int32 H", "raw T d_gx, raw T d_gh, T d_h_prev",
                 "int b = i / H, j = i % H; const T* x = &gx[b * 3 * H]; const T* y = &gh[b * 3 * H];"
                 "T r = sig(x[j] + y[j]), z = sig(x[H + j] + y[H + j]);"
                 "T n = tanh(x[2 * H + j] + r * y[2 * H + j]);"
                 "T dn = (dh - dh * z) * (1 - n * n), dz = dh * (h_prev - n) * z * (1 - z);"
                 "T dr = dn * y[2 * H + j] * r * (1 - r);"
                 "T* a = &d_gx[b * 3 * H]; T* c = &d_gh[b * 3 * H];"
                 "a[j] = dr; a[H + j] = dz; a[2 * H + j] = dn; c[j] = dr; c[H + j] = dz;"
                 "c[2 * H + j] = dn * r; d_h_prev = dh * z;"),
}


def _kernel(name: str):
    params_in, params_out, body = _KERNELS[name]
    return backend.cuda_elementwise(f"tgrnn_{name}", params_in, params_out, body, preamble=_SIG)


def _on_cuda(*arrays) -> bool:
    return all(backend.is_array(a) and backend.device_of(a) == "cuda" for a in arrays)


def _contiguous(a):
    return backend.xp_of(a).ascontiguousarray(a)


def _lstm_state_fw(gates, c_prev):
    H = c_prev.shape[-1]
    if backend.device_of(c_prev) == "cuda":  # apply2 has checked both are on one device
        return _kernel("lstm_state")(_contiguous(gates), c_prev, H)
    i_f = SIGMOID.forward(gates[..., :2 * H])  # σ is elementwise: σ of i and f in one go
    i, f, g = i_f[..., :H], i_f[..., H:], TANH.forward(gates[..., 2 * H:3 * H])
    return WithSaved(f * c_prev + i * g, i, f, g)  # the primitive step's c_t, to the last bit


def _lstm_output_fw(gates, c):
    H = c.shape[-1]
    if backend.device_of(c) == "cuda":
        return _kernel("lstm_output")(_contiguous(gates), c, H)
    o, tc = SIGMOID.forward(gates[..., 3 * H:]), TANH.forward(c)
    return WithSaved(o * tc, o, tc)


def _gru_fw(gx, gh, h_prev):
    if backend.device_of(h_prev) == "cuda":  # apply has checked they are on one device
        return _kernel("gru")(_contiguous(gx), _contiguous(gh), h_prev, h_prev.shape[-1])
    r, z, n, hn = _gru_parts(gx, gh)
    return WithSaved(n + z * (h_prev - n), r, z, n, hn, [])


# (key, gradients): one backward kernel serves every input's VJP of a node. Keyed by identity:
# within one backward pass the node's VJPs get the same g, and no two passes share a g array
# (autograd copies a caller's root gradient)
_last = [(None, None)]


def _cuda_grads(name, inputs, grad, shapes):
    """Run a backward kernel once per node; it writes every input gradient at once."""
    key = (name, grad, *inputs)
    last_key, last_outs = _last[0]  # one read: another thread may replace the pair meanwhile
    if last_key is not None and len(last_key) == len(key) and \
            all(a is b for a, b in zip(last_key, key)):
        return last_outs
    xp = backend.xp_of(grad)
    outs = [xp.empty(s, dtype=grad.dtype) for s in shapes]
    _kernel(name)(*[xp.ascontiguousarray(a) for a in inputs], grad, grad.shape[-1], *outs)
    _last[0] = (key, outs)  # holding the key keeps its arrays alive, so `is` is safe
    return outs


def _per_input(reference, kernel_name, shapes_of, index, n_inputs, from_saved):
    """VJP of input ``index``: from the activations the CPU forward saved (``from_saved``),
    the kernel on CUDA arrays, or the reference formulas on Tensors (create_graph)."""
    def vjp(g, out, *inputs):
        if len(inputs) > n_inputs:  # the CPU forward's activations follow the inputs
            return from_saved(g, *inputs)
        if not isinstance(g, Tensor) and _on_cuda(g, *inputs):
            return _cuda_grads(kernel_name, inputs, g, shapes_of(*inputs))[index]
        return reference(g, out, *inputs)
    return vjp


# ---- CPU VJPs from the saved activations: the reference formulas, each product in the same
# order, so equal to the primitive step's gradients to the last bit. A gate block's gradient
# is a slice message (IndexedGrad), added into ∂L/∂gates in place as the primitive step's
# four slices are.

def _block(values, k: int, n: int, shape):
    H = values.shape[-1]
    return IndexedGrad(values, (Ellipsis, slice(k * H, (k + n) * H)), shape, True)


def _state_gates_saved(dc, gates, c_prev, i, f, g):
    H = dc.shape[-1]
    xp = backend.xp_of(dc)
    d = xp.empty(dc.shape[:-1] + (3 * H,), dtype=dc.dtype)
    d_i, d_f, d_g = d[..., :H], d[..., H:2 * H], d[..., 2 * H:]
    # written in place, block by block: (dc·g)·i·(1 − i), (dc·c_{t−1})·f·(1 − f), (dc·i)·(1 − g²)
    xp.multiply(dc, g, out=d_i)
    d_i *= i
    d_i *= one_minus(i)
    xp.multiply(dc, c_prev, out=d_f)
    d_f *= f
    d_f *= one_minus(f)
    xp.multiply(dc, i, out=d_g)
    d_g *= one_minus(g * g)
    return IndexedGrad(d, (Ellipsis, slice(0, 3 * H)), gates.shape, True)


def _state_c_prev_saved(dc, gates, c_prev, i, f, g):
    return dc * f


def _output_gates_saved(dh, gates, c, o, tc):
    return _block(dh * tc * o * one_minus(o), 3, 1, gates.shape)


def _output_c_saved(dh, gates, c, o, tc):
    return dh * o * one_minus(tc * tc)


def _gru_grads_saved(dh, h_prev, r, z, n, hn, memo, last: bool = False):
    """(dr, dz, dn) once per node: the gx and gh VJPs of one backward get the same ``dh``.

    The memo is trusted only for the same array with the same values: a later backward
    (retain_graph) may pass the same array refilled, e.g. one grad_outputs buffer reused for
    the rows of a Jacobian. The gh VJP (``last``) empties it, so nothing stays held."""
    cached = memo[0] if memo else None  # one tuple, read once (another thread may replace it)
    if cached is not None and cached[0] is dh and (cached[1] == dh).all():  # NaN: recomputed
        if last:
            memo.clear()
        return cached[2:]
    dn = (dh - dh * z) * (1 - n * n)
    grads = dn * hn * r * (1 - r), dh * (h_prev - n) * z * (1 - z), dn
    if not last:
        memo[:] = [(dh, dh.copy(), *grads)]
    return grads


def _gru_gx_saved(dh, gx, gh, h_prev, r, z, n, hn, memo):
    dr, dz, dn = _gru_grads_saved(dh, h_prev, r, z, n, hn, memo)
    return backend.xp_of(dh).concatenate([dr, dz, dn], axis=-1)


def _gru_gh_saved(dh, gx, gh, h_prev, r, z, n, hn, memo):
    dr, dz, dn = _gru_grads_saved(dh, h_prev, r, z, n, hn, memo, last=True)
    return backend.xp_of(dh).concatenate([dr, dz, dn * r], axis=-1)


def _gru_h_prev_saved(dh, gx, gh, h_prev, r, z, n, hn, memo):
    return dh * z


def _lstm_state_shapes(gates, c_prev):
    return gates.shape, c_prev.shape


def _gru_shapes(gx, gh, h_prev):
    return gx.shape, gh.shape, h_prev.shape


LSTM_STATE = Op("lstm_cell_state", _lstm_state_fw,
                (_per_input(_state_vjp_gates, "lstm_state_grad", _lstm_state_shapes, 0, 2,
                            _state_gates_saved),
                 _per_input(_state_vjp_c_prev, "lstm_state_grad", _lstm_state_shapes, 1, 2,
                            _state_c_prev_saved)),
                saves="in")

LSTM_OUTPUT = Op("lstm_cell_output", _lstm_output_fw,
                 (_per_input(_output_vjp_gates, "lstm_output_grad", _lstm_state_shapes, 0, 2,
                             _output_gates_saved),
                  _per_input(_output_vjp_c, "lstm_output_grad", _lstm_state_shapes, 1, 2,
                             _output_c_saved)),
                 saves="in")

GRU_CELL = Op("gru_cell", _gru_fw,
              (_per_input(_gru_vjp_gx, "gru_grad", _gru_shapes, 0, 3, _gru_gx_saved),
               _per_input(_gru_vjp_gh, "gru_grad", _gru_shapes, 1, 3, _gru_gh_saved),
               _per_input(_gru_vjp_h_prev, "gru_grad", _gru_shapes, 2, 3, _gru_h_prev_saved)),
              saves="in")


def _check(name: str, gates, state, blocks: int) -> None:
    for x in (gates, state):
        if not isinstance(x, Tensor):
            raise TypeError(f"{name} takes Tensors, got {type(x).__name__}")
    H = state.shape[-1]
    if gates.shape[-1] != blocks * H or gates.shape[:-1] != state.shape[:-1]:
        raise ValueError(f"{name}: gates of shape {tuple(gates.shape)} do not fit a state of shape "
                         f"{tuple(state.shape)} (expected (..., {blocks}·{H}))")


def lstm_cell_state(gates: Tensor, c_prev: Tensor) -> Tensor:
    """c_t = σ(f) ⊙ c_{t−1} + σ(i) ⊙ tanh(g), from gates = [i | f | g | o] pre-activations."""
    _check("lstm_cell_state", gates, c_prev, 4)
    return apply2(LSTM_STATE, gates, c_prev)


def lstm_cell_output(gates: Tensor, c: Tensor) -> Tensor:
    """h_t = σ(o) ⊙ tanh(c_t)."""
    _check("lstm_cell_output", gates, c, 4)
    return apply2(LSTM_OUTPUT, gates, c)


def lstm_cell(gates: Tensor, c_prev: Tensor) -> tuple[Tensor, Tensor]:
    """(h_t, c_t) of one step: :func:`lstm_cell_state`, then :func:`lstm_cell_output` (the
    shapes checked once for both)."""
    _check("lstm_cell", gates, c_prev, 4)
    c = apply2(LSTM_STATE, gates, c_prev)
    return apply2(LSTM_OUTPUT, gates, c), c


def gru_cell(gx: Tensor, gh: Tensor, h_prev: Tensor) -> Tensor:
    """h_t = n + z ⊙ (h_{t−1} − n) = (1 − z) ⊙ n + z ⊙ h_{t−1}, with r, z, n from the input and
    hidden projections."""
    _check("gru_cell", gx, h_prev, 3)
    _check("gru_cell", gh, h_prev, 3)
    if not gx.device == gh.device == h_prev.device:
        raise DeviceError(f"gru_cell: tensors on different devices ({gx.device}, {gh.device}, "
                          f"{h_prev.device}); move them with .to()")
    if not gx.dtype == gh.dtype == h_prev.dtype:  # apply does not promote three operands
        raise DTypeError(f"gru_cell: tensors of different dtypes ({gx.dtype}, {gh.dtype}, "
                         f"{h_prev.dtype}) mixed; this would silently change precision. "
                         f"Convert them with .float() or .double()")
    return apply(GRU_CELL, gx, gh, h_prev)

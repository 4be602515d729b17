"""One recurrent training step written five ways, for bench_nn.py.

The model (PyTorch's layout and LSTM gate order i, f, g, o):

    LSTM: gates_t = x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ + b_hh;  c_t = f ⊙ c_{t−1} + i ⊙ g;  h_t = o ⊙ tanh(c_t)
    RNN:  h_t = tanh(x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ + b_hh)
    loss = mean_{t,b} −log softmax(h_t W_outᵀ + b_out)[y_t]

* ``tg_nn``: ``tinygrad_rnn.nn.LSTM``/``nn.RNN`` + ``nn.Linear`` (BPTT by autograd);
* ``torch_fused``: ``torch.nn.LSTM``/``torch.nn.RNN`` (cuDNN-style fused kernels);
* ``torch_prims``: the same step from primitive torch ops in a Python loop;
* ``numpy``: forward and hand-written BPTT in NumPy (``numpy_rnn.py``).
Each takes the same parameters (a dict of arrays named as PyTorch names them) and returns
the loss and gradients in the order of ``names(mode)``.
"""

from __future__ import annotations

import numpy as np
import numpy_rnn


def names(mode: str) -> list[str]:
    return ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "out.weight", "out.bias"]


def init_params(mode: str, n_in: int, hidden: int, vocab: int, dtype, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    G = 4 if mode == "LSTM" else 1
    s = 1 / np.sqrt(hidden)
    shapes = [(G * hidden, n_in), (G * hidden, hidden), (G * hidden,), (G * hidden,),
              (vocab, hidden), (vocab,)]
    return {k: rng.uniform(-s, s, shape).astype(dtype) for k, shape in zip(names(mode), shapes)}


def make_batch(batch: int, steps: int, n_in: int, vocab: int, dtype, seed: int = 1):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((steps, batch, n_in)).astype(dtype),
            rng.integers(0, vocab, (steps, batch)))


# ---- tinygrad_rnn ---------------------------------------------------------------------------


def tg_model(tg, mode: str, params: dict, device: str = "cpu", fused: bool = False):
    from tinygrad_rnn import nn
    n_in, H = params["weight_ih_l0"].shape[1], params["weight_hh_l0"].shape[1]
    rnn = getattr(nn, mode)(n_in, H, fused=fused) if mode == "LSTM" else nn.RNN(n_in, H)
    out = nn.Linear(H, params["out.bias"].shape[0])
    dtype = params["out.bias"].dtype
    rnn.to(device, dtype)
    out.to(device, dtype)
    rnn.load_state_dict({k: v for k, v in params.items() if not k.startswith("out.")})
    out.load_state_dict({"weight": params["out.weight"], "bias": params["out.bias"]})
    return rnn, out


def tg_step(tg, model, x, y):
    rnn, out = model
    hs, _ = rnn(x)
    T, B, H = hs.shape
    logp = out(hs.reshape(T * B, H)).log_softmax(axis=-1)
    loss = -logp[tg.arange(T * B, device=x.device), y.reshape(-1)].mean()
    for p in (*rnn.parameters(), *out.parameters()):
        p.grad = None
    loss.backward()
    return loss, [p.grad for p in (*rnn.parameters(), *out.parameters())]


# ---- PyTorch --------------------------------------------------------------------------------


def torch_model(torch, mode: str, params: dict, device: str = "cpu"):
    n_in, H = params["weight_ih_l0"].shape[1], params["weight_hh_l0"].shape[1]
    rnn = getattr(torch.nn, mode)(n_in, H)
    out = torch.nn.Linear(H, params["out.bias"].shape[0])
    dtype = getattr(torch, str(params["out.bias"].dtype))
    rnn.to(device, dtype)
    out.to(device, dtype)
    with torch.no_grad():
        for k, p in (*rnn.named_parameters(), *(("out." + n, p) for n, p in out.named_parameters())):
            p.copy_(torch.from_numpy(params[k]))
    return rnn, out


def torch_fused_step(torch, model, x, y):
    rnn, out = model
    hs, _ = rnn(x)
    T, B, H = hs.shape
    loss = torch.nn.functional.cross_entropy(out(hs.reshape(T * B, H)), y.reshape(-1))
    for p in (*rnn.parameters(), *out.parameters()):
        p.grad = None
    loss.backward()
    return loss, [p.grad for p in (*rnn.parameters(), *out.parameters())]


def torch_prims_step(torch, mode: str, p: dict, x, y):
    """The same step from primitive ops; ``p`` holds leaf tensors with requires_grad."""
    T, B, _ = x.shape
    H = p["weight_hh_l0"].shape[1]
    xw = (x.reshape(T * B, -1) @ p["weight_ih_l0"].T + p["bias_ih_l0"] + p["bias_hh_l0"])
    xw = xw.reshape(T, B, -1)
    W_hh_T = p["weight_hh_l0"].T
    h = torch.zeros(B, H, dtype=x.dtype, device=x.device)
    c = torch.zeros_like(h)
    hs = []
    for t in range(T):
        gates = xw[t] + h @ W_hh_T
        if mode == "LSTM":
            i, f = gates[:, :H].sigmoid(), gates[:, H:2 * H].sigmoid()
            g, o = gates[:, 2 * H:3 * H].tanh(), gates[:, 3 * H:].sigmoid()
            c = f * c + i * g
            h = o * c.tanh()
        else:
            h = gates.tanh()
        hs.append(h)
    logits = torch.stack(hs).reshape(T * B, H) @ p["out.weight"].T + p["out.bias"]
    loss = torch.nn.functional.cross_entropy(logits, y.reshape(-1))
    for v in p.values():
        v.grad = None
    loss.backward()
    return loss, [p[k].grad for k in names(mode)]


# ---- NumPy: hand-written BPTT ----------------------------------------------------------------


def numpy_step(mode: str, params: dict, x, y):
    """Forward and hand-written BPTT in NumPy (numpy_rnn.py, shared with bench_lstm.py)."""
    W_ih, W_hh, b_ih, b_hh, W_out, b_out = (params[k] for k in names(mode))
    T, B, n_in = x.shape
    H = W_hh.shape[1]
    xw = (x.reshape(T * B, n_in).dot(W_ih.T) + (b_ih + b_hh)).reshape(T, B, -1)
    W_hh_T = np.ascontiguousarray(W_hh.T)
    hs, cache = numpy_rnn.forward(mode, xw, W_hh_T)
    H_all = hs.reshape(T * B, H)
    loss, d_logits = numpy_rnn.cross_entropy(H_all.dot(W_out.T) + b_out, y)
    dW_out, db_out = d_logits.T.dot(H_all), d_logits.sum(axis=0)
    d_xw, dW_hh_T = numpy_rnn.backward(d_logits.dot(W_out).reshape(T, B, H), cache, W_hh_T)
    d_flat = d_xw.reshape(T * B, -1)
    db = d_flat.sum(axis=0)
    return loss, [d_flat.T.dot(x.reshape(T * B, n_in)), dW_hh_T.T, db, db.copy(), dW_out, db_out]

"""One LSTM language model written three ways, for side-by-side timing of a training step.

The model (PyTorch's gate order i, f, g, o):

    gates_t = W_x[x_t] + h_{t−1} W_h + b        (the input projection is a row lookup)
    i, f, g, o = σ(·), σ(·), tanh(·), σ(·) of the four quarters of gates_t
    c_t = f ⊙ c_{t−1} + i ⊙ g,   h_t = o ⊙ tanh(c_t)
    loss = mean_t,b −log softmax(h_t W_y + b_y)[y_t]

* ``engine_step``: tinygrad_rnn primitive ops, BPTT by autograd;
* ``torch_step``: the same primitive ops in PyTorch (no fused kernels);
* ``numpy_step``: forward and hand-written backward in NumPy (``numpy_rnn.py``).
Each returns the loss and the gradients in the order of ``PARAMS``.
"""

from __future__ import annotations

import numpy as np
import numpy_rnn

PARAMS = ("W_x", "W_h", "b", "W_y", "b_y")


def init_params(vocab: int, hidden: int, dtype, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    s = 1 / np.sqrt(hidden)
    shapes = {"W_x": (vocab, 4 * hidden), "W_h": (hidden, 4 * hidden), "b": (4 * hidden,),
              "W_y": (hidden, vocab), "b_y": (vocab,)}
    return {k: rng.uniform(-s, s, shape).astype(dtype) for k, shape in shapes.items()}


def make_batch(batch: int, steps: int, vocab: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, vocab, (steps + 1, batch))
    return tokens[:-1], tokens[1:]  # inputs x_t and targets y_t, shape (T, B)


def engine_step(tg, params: dict, xs, ys):
    p = {k: tg.Tensor(v, requires_grad=True) if not isinstance(v, tg.Tensor) else v
         for k, v in params.items()}
    T, B = xs.shape
    H = p["W_h"].shape[0]
    x_proj = tg.embedding(p["W_x"], xs)                        # (T, B, 4H)
    h = tg.zeros(B, H, dtype=p["W_h"].dtype)
    c = tg.zeros(B, H, dtype=p["W_h"].dtype)
    hs = []
    for t in range(T):
        gates = x_proj[t] + h @ p["W_h"] + p["b"]
        i = gates[:, :H].sigmoid()
        f = gates[:, H:2 * H].sigmoid()
        g = gates[:, 2 * H:3 * H].tanh()
        o = gates[:, 3 * H:].sigmoid()
        c = f * c + i * g
        h = o * c.tanh()
        hs.append(h)
    logits = tg.stack(hs).reshape(T * B, H) @ p["W_y"] + p["b_y"]
    logp = logits.log_softmax(axis=-1)
    loss = -logp[np.arange(T * B), ys.reshape(-1)].mean()
    for v in p.values():
        v.grad = None
    loss.backward()
    return loss.item(), [p[k].grad.numpy() for k in PARAMS]


def torch_step(torch, params: dict, xs, ys):
    p = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    T, B = xs.shape
    H = p["W_h"].shape[0]
    x_proj = torch.nn.functional.embedding(torch.from_numpy(xs), p["W_x"])
    h = torch.zeros(B, H, dtype=p["W_h"].dtype)
    c = torch.zeros(B, H, dtype=p["W_h"].dtype)
    hs = []
    for t in range(T):
        gates = x_proj[t] + h @ p["W_h"] + p["b"]
        i = gates[:, :H].sigmoid()
        f = gates[:, H:2 * H].sigmoid()
        g = gates[:, 2 * H:3 * H].tanh()
        o = gates[:, 3 * H:].sigmoid()
        c = f * c + i * g
        h = o * c.tanh()
        hs.append(h)
    logits = torch.stack(hs).reshape(T * B, H) @ p["W_y"] + p["b_y"]
    logp = logits.log_softmax(dim=-1)
    loss = -logp[torch.arange(T * B), torch.from_numpy(ys.reshape(-1))].mean()
    loss.backward()
    return loss.item(), [p[k].grad.numpy() for k in PARAMS]


def numpy_step(params: dict, xs, ys):
    """Forward and hand-written BPTT in NumPy (numpy_rnn.py, shared with bench_nn.py)."""
    W_x, W_h, b, W_y, b_y = (params[k] for k in PARAMS)
    T, B = xs.shape
    H = W_h.shape[0]
    hs, cache = numpy_rnn.forward("LSTM", W_x[xs] + b, W_h)
    H_all = hs.reshape(T * B, H)
    loss, d_logits = numpy_rnn.cross_entropy(H_all.dot(W_y) + b_y, ys)
    dW_y, db_y = H_all.T.dot(d_logits), d_logits.sum(axis=0)
    d_xproj, dW_h = numpy_rnn.backward(d_logits.dot(W_y.T).reshape(T, B, H), cache, W_h)
    d_flat = d_xproj.reshape(T * B, 4 * H)
    dW_x = np.zeros_like(W_x)
    np.add.at(dW_x, xs.reshape(-1), d_flat)
    return loss, [dW_x, dW_h, d_flat.sum(axis=0), dW_y, db_y]

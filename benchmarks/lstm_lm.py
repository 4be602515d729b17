"""One LSTM language model written three ways, for side-by-side timing of a training step.

The model (PyTorch's gate order i, f, g, o):

    gates_t = W_x[x_t] + h_{t−1} W_h + b        (the input projection is a row lookup)
    i, f, g, o = σ(·), σ(·), tanh(·), σ(·) of the four quarters of gates_t
    c_t = f ⊙ c_{t−1} + i ⊙ g,   h_t = o ⊙ tanh(c_t)
    loss = mean_t,b −log softmax(h_t W_y + b_y)[y_t]

* ``engine_step``: tinygrad_rnn primitive ops, BPTT by autograd;
* ``torch_step``: the same primitive ops in PyTorch (no fused kernels);
* ``numpy_step``: forward and hand-written backward in NumPy.
Each returns the loss and the gradients in the order of ``PARAMS``.
"""

from __future__ import annotations

import numpy as np

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


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def numpy_step(params: dict, xs, ys):
    W_x, W_h, b, W_y, b_y = (params[k] for k in PARAMS)
    T, B = xs.shape
    H = W_h.shape[0]
    x_proj = W_x[xs]
    h, c = np.zeros((B, H), W_h.dtype), np.zeros((B, H), W_h.dtype)
    hs, cs, acts, tcs = [h], [c], [], []
    for t in range(T):
        gates = x_proj[t] + h.dot(W_h) + b
        i, f = _sigmoid(gates[:, :H]), _sigmoid(gates[:, H:2 * H])
        g, o = np.tanh(gates[:, 2 * H:3 * H]), _sigmoid(gates[:, 3 * H:])
        c = f * c + i * g
        tc = np.tanh(c)
        h = o * tc
        hs.append(h)
        cs.append(c)
        acts.append((i, f, g, o))
        tcs.append(tc)
    H_all = np.stack(hs[1:]).reshape(T * B, H)
    logits = H_all.dot(W_y) + b_y
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    flat_y = ys.reshape(-1)
    loss = -np.log(probs[np.arange(T * B), flat_y]).mean()
    # backward: softmax cross-entropy, output layer, then BPTT through the cells
    d_logits = probs
    d_logits[np.arange(T * B), flat_y] -= 1
    d_logits /= T * B
    dW_y, db_y = H_all.T.dot(d_logits), d_logits.sum(axis=0)
    dH_all = d_logits.dot(W_y.T).reshape(T, B, H)
    dW_h, db = np.zeros_like(W_h), np.zeros_like(b)
    d_xproj = np.empty((T, B, 4 * H), W_h.dtype)
    dh_next, dc_next = np.zeros((B, H), W_h.dtype), np.zeros((B, H), W_h.dtype)
    for t in reversed(range(T)):
        i, f, g, o = acts[t]
        dh = dH_all[t] + dh_next
        dc = dc_next + dh * o * (1 - tcs[t] ** 2)
        d_gates = d_xproj[t]
        d_gates[:, :H] = dc * g * i * (1 - i)
        d_gates[:, H:2 * H] = dc * cs[t] * f * (1 - f)
        d_gates[:, 2 * H:3 * H] = dc * i * (1 - g * g)
        d_gates[:, 3 * H:] = dh * tcs[t] * o * (1 - o)
        dW_h += hs[t].T.dot(d_gates)
        db += d_gates.sum(axis=0)
        dh_next = d_gates.dot(W_h.T)
        dc_next = dc * f
    dW_x = np.zeros_like(W_x)
    np.add.at(dW_x, xs.reshape(-1), d_xproj.reshape(T * B, 4 * H))
    return float(loss), [dW_x, dW_h, db, dW_y, db_y]

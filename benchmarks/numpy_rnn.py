"""The NumPy reference both benchmarks time and check against: forward and hand-written BPTT.

For an LSTM (PyTorch's gate order i, f, g, o) or an Elman RNN over an input projection
``xw_t`` that already holds the biases:

    LSTM: gates_t = xw_t + h_{t−1} W;  i, f, g, o = σ, σ, tanh, σ of its four blocks
          c_t = f ⊙ c_{t−1} + i ⊙ g,   h_t = o ⊙ tanh(c_t)
    RNN:  h_t = tanh(xw_t + h_{t−1} W)

and a softmax cross-entropy readout, mean over t and b of −log softmax(logits)[y]. σ is the
textbook 1/(1 + e⁻ˣ), written independently of tinygrad_rnn's, so the float64 cross-checks
compare two implementations (benchmark inputs are small: e⁻ˣ never overflows here).
"""

from __future__ import annotations

import numpy as np


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def forward(mode: str, xw, W):
    """h_1 … h_T as a (T, B, H) array, and what ``backward`` needs; W is (H, G·H)."""
    T, B, _ = xw.shape
    H = W.shape[0]
    h, c = np.zeros((B, H), W.dtype), np.zeros((B, H), W.dtype)
    hs, cs, acts, tcs = [h], [c], [], []
    for t in range(T):
        gates = xw[t] + h.dot(W)
        if mode == "LSTM":
            i, f = _sigmoid(gates[:, :H]), _sigmoid(gates[:, H:2 * H])
            g, o = np.tanh(gates[:, 2 * H:3 * H]), _sigmoid(gates[:, 3 * H:])
            c = f * c + i * g
            tc = np.tanh(c)
            h = o * tc
            cs.append(c)
            acts.append((i, f, g, o))
            tcs.append(tc)
        else:
            h = np.tanh(gates)
        hs.append(h)
    return np.stack(hs[1:]), (mode, hs, cs, acts, tcs)


def backward(d_hs, cache, W):
    """BPTT from ∂L/∂h_t (T, B, H): returns ∂L/∂xw (T, B, G·H) and ∂L/∂W (H, G·H)."""
    mode, hs, cs, acts, tcs = cache
    T, B, H = d_hs.shape
    d_xw = np.empty((T, B, W.shape[1]), W.dtype)
    dh_next, dc_next = np.zeros((B, H), W.dtype), np.zeros((B, H), W.dtype)
    for t in reversed(range(T)):
        dh = d_hs[t] + dh_next
        d_gates = d_xw[t]
        if mode == "LSTM":
            i, f, g, o = acts[t]
            dc = dc_next + dh * o * (1 - tcs[t] ** 2)
            d_gates[:, :H] = dc * g * i * (1 - i)
            d_gates[:, H:2 * H] = dc * cs[t] * f * (1 - f)
            d_gates[:, 2 * H:3 * H] = dc * i * (1 - g * g)
            d_gates[:, 3 * H:] = dh * tcs[t] * o * (1 - o)
            dc_next = dc * f
        else:
            d_gates[:] = dh * (1 - hs[t + 1] ** 2)
        dh_next = d_gates.dot(W.T)
    # Σ_t h_{t−1}ᵀ d_gates_t as one product (h_0 = 0 adds nothing)
    dW = np.stack(hs[:-1]).reshape(T * B, H).T.dot(d_xw.reshape(T * B, -1))
    return d_xw, dW


def cross_entropy(logits, y):
    """The mean −log softmax(logits)[y] over rows, and its gradient with respect to logits."""
    rows, flat_y = np.arange(len(logits)), y.reshape(-1)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    loss = -np.log(probs[rows, flat_y]).mean()
    d_logits = probs
    d_logits[rows, flat_y] -= 1
    d_logits /= len(logits)
    return float(loss), d_logits

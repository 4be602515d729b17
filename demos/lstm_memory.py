"""The notes' hand-wired LSTM memory (003), then an LSTM that learns the same rule.

One memory cell with the notes' gates (g and h linear, f the sigmoid):

    z = x1,   z_i = 100·x2 − 10,   z_f = 100·x2 + 10,   z_o = 100·x3 − 10
    c_t = g(z)·f(z_i) + c_{t−1}·f(z_f),    y_t = h(c_t)·f(z_o)

x2 = 1 opens the input gate (x1 is added to the memory), x2 = −1 closes the forget gate (the
memory is reset), x3 = 1 opens the output gate (the memory is read out). On the notes' input
table the outputs are ≈ 7 and ≈ 6 where the notes show them, and on the notes' 5-step worked
example (x1 = 3 4 2 1 3, x2 = 1 1 0 0 −1, x3 = 0 0 0 1 0) they are y = 0 0 0 7 0. Then
``nn.LSTM`` + ``nn.Linear`` learn the rule from random sequences by BPTT, and are run on the
5-step example too.
"""

from __future__ import annotations

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import nn

from .common import Summary, parser, progress, save, setup, subplots

# the notes' table: rows x1, x2, x3 over nine steps, and the outputs y they show
X1 = [1, 3, 2, 4, 2, 1, 3, 6, 1]
X2 = [0, 1, 0, 1, 0, 0, -1, 1, 0]
X3 = [0, 0, 0, 0, 0, 1, 0, 0, 1]
Y_NOTES = [0, 0, 0, 0, 0, 7, 0, 0, 6]
MEMORY_NOTES = [0, 3, 3, 7, 7, 7, 0, 6, 6]
# the notes' 5-step worked example and its outputs
X1_5, X2_5, X3_5 = [3, 4, 2, 1, 3], [1, 1, 0, 0, -1], [0, 0, 0, 1, 0]
Y_5 = [0, 0, 0, 7, 0]


def hand_wired(x1, x2, x3, device=None) -> tuple[list, list]:
    """Run the notes' one-cell LSTM; returns the outputs y_t and the memory c_t."""
    c = tg.zeros(1, device=device, dtype="float64")
    ys, cs = [], []
    for t in range(len(x1)):
        with tg.scope(f"t={t + 1}"):
            x = tg.tensor([x1[t], x2[t], x3[t]], dtype="float64", device=device)
            z, z_i, z_f, z_o = x[0:1], 100 * x[1:2] - 10, 100 * x[1:2] + 10, 100 * x[2:3] - 10
            c = z * z_i.sigmoid() + c * z_f.sigmoid()
            ys.append((c * z_o.sigmoid()).item())
            cs.append(c.item())
    return ys, cs


def rule_data(n: int, steps: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Random sequences and the memory rule's outputs (x1 in 1..9, scaled by 1/10)."""
    x1 = rng.integers(1, 10, (n, steps))
    x2 = rng.choice([0, 1, -1], size=(n, steps), p=[0.6, 0.3, 0.1])
    x3 = (rng.random((n, steps)) < 0.25).astype(int)
    y = np.zeros((n, steps))
    memory = np.zeros(n)
    for t in range(steps):
        memory = np.where(x2[:, t] == 1, memory + x1[:, t], np.where(x2[:, t] == -1, 0, memory))
        y[:, t] = memory * x3[:, t]
    x = np.stack([x1 / 10, x2, x3], axis=-1).astype("float32")
    return x, (y / 10).astype("float32")


def main(argv=None) -> Summary:
    args = parser("lstm-memory", __doc__.splitlines()[0], steps=1500).parse_args(argv)
    out = setup(args)
    summary = Summary("lstm-memory")
    ys, cs = hand_wired(X1, X2, X3, args.device)
    print("x1     ", X1, "\nx2     ", X2, "\nx3     ", X3)
    print("memory ", [round(c, 2) for c in cs], "\ny      ", [round(y, 2) for y in ys])
    read = [t for t, flag in enumerate(X3) if flag]
    summary.claim("hand-wired outputs ≈ 7 and ≈ 6 where the notes show them",
                  f"y = {[round(ys[t], 3) for t in read]} at steps {[t + 1 for t in read]}",
                  np.allclose([ys[t] for t in read], [Y_NOTES[t] for t in read], atol=0.01)
                  and np.allclose(ys, Y_NOTES, atol=0.01))
    summary.claim("the memory holds 0 3 3 7 7 7 0 6 6 as in the notes' table",
                  " ".join(f"{c:.2f}" for c in cs), np.allclose(cs, MEMORY_NOTES, atol=0.01))
    ys5, cs5 = hand_wired(X1_5, X2_5, X3_5, args.device)
    print("5-step example: x1", X1_5, "x2", X2_5, "x3", X3_5)
    print("   memory", [round(c, 2) for c in cs5], " y", [round(y, 2) for y in ys5])
    summary.claim("hand-wired, the notes' 5-step example gives y = 0 0 0 7 0",
                  " ".join(f"{y:.3f}" for y in ys5), np.allclose(ys5, Y_5, atol=0.01))

    steps = 300 if args.quick else args.steps
    rng = np.random.default_rng(args.seed)
    lstm, readout = nn.LSTM(3, 16, batch_first=True), nn.Linear(16, 1)
    lstm.to(args.device)
    readout.to(args.device)
    opt = tg.optim.Adam([*lstm.parameters(), *readout.parameters()], lr=1e-2)
    losses = []
    for _ in progress(range(steps), desc="LSTM learns the memory rule"):
        x, y = rule_data(32, 12, rng)
        pred = readout(lstm(tg.tensor(x, device=args.device))[0]).reshape(32, 12)
        loss = nn.functional.mse_loss(pred, tg.tensor(y, device=args.device))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_([*lstm.parameters(), *readout.parameters()], 1.0)
        opt.step()
        losses.append(loss.item())
    x, y = rule_data(500, 12, np.random.default_rng(10_000 + args.seed))
    with tg.no_grad():
        pred = readout(lstm(tg.tensor(x, device=args.device))[0]).numpy()[..., 0]
    test_mse, baseline = float(((pred - y) ** 2).mean()), float(((y - y.mean()) ** 2).mean())
    summary.claim("the trained LSTM reaches low error (test MSE < 10% of predicting the mean)",
                  f"test MSE {test_mse:.4f} vs baseline {baseline:.4f} "
                  f"({100 * test_mse / baseline:.1f}%)", test_mse < 0.1 * baseline)
    x5 = np.array([[[a / 10, b, c] for a, b, c in zip(X1_5, X2_5, X3_5)]], dtype="float32")
    with tg.no_grad():
        y5 = 10 * readout(lstm(tg.tensor(x5, device=args.device))[0]).numpy()[0, :, 0]
    err5 = float(np.abs(y5 - Y_5).max())
    tol5 = 1.5 if args.quick else 1.0  # 1: the smallest step between the numbers x1 adds
    summary.claim(f"the trained LSTM on the 5-step example: y within {tol5} of 0 0 0 7 0",
                  " ".join(f"{y:.2f}" for y in y5) + f" (largest error {err5:.2f})", err5 < tol5)

    fig, (a, b) = subplots(1, 2, figsize=(10, 3.5))
    steps_axis = range(1, len(X1) + 1)
    a.step(steps_axis, cs, where="mid", label="memory c_t")
    a.plot(steps_axis, ys, "o", label="output y_t")
    a.plot([t + 0.15 for t in range(1, 6)], ys5, "s", label="y_t, 5-step example")
    a.set(xlabel="t", title="hand-wired LSTM on the notes' tables")
    a.legend()
    b.semilogy(losses)
    b.axhline(baseline, color="gray", ls="--", label="predict the mean")
    b.set(xlabel="step", ylabel="MSE", title="nn.LSTM learning the rule")
    b.legend()
    save(fig, out, "lstm_memory.png", summary)
    summary.print()
    return summary


if __name__ == "__main__":
    main()

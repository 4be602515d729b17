"""Information morphing: how much of x^(3) can still be read out of h^(t) as t grows (notes 002).

The notes' Problem 1: "x^(3) is important … h^(4) contains it … washing away as time proceeds".
Each h^(t) = f(h^(t−1), x^(t)) transforms the state again, so what x^(3) contributed is mixed,
squashed and overwritten step after step. Measured here with a linear probe:

    x^(t) = [one-hot of a symbol in {0, …, K−1}; marker, 1 at t = 3 only], T steps
    the task: output the symbol of x^(3) after the last step
    tanh RNN   h^(t) = tanh(W_ih x^(t) + W_hh h^(t−1) + b)
    LSTM       c^(t) = f ⊙ c^(t−1) + i ⊙ g,  h^(t) = o ⊙ tanh(c^(t))   (state read out: [h; c];
               forget-gate bias 1 at the start, as usual)
    probe_t    x̂^(3) = argmax(A_t s^(t) + a_t), (A_t, a_t) by ridge regression on one set,
               accuracy on another; chance is 1/K

The probe asks, for every t ≥ 3, whether x^(3) is still linearly readable from the state —
first for a tanh RNN as initialised (PyTorch's U(−1/√H, 1/√H)): the forward pass alone washes
x^(3) away. Then both models are trained (Adam, same steps) on the recall task, so each keeps
what it can; the LSTM's gates can learn to close the cell to new input and keep f ≈ 1, the
tanh RNN has no such path.
"""

from __future__ import annotations

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.nn import functional as F
from tinygrad_rnn.nn.utils import clip_grad_norm_

from .common import Summary, parser, progress, pyplot, run_jobs, save, setup

K, KEY = 4, 2  # KEY = 2 is x^(3), the third step (0-based index 2)


def batch(n: int, T: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (n, T, K + 1): the one-hot symbol and a marker channel that is 1 at x^(3)."""
    symbols = rng.integers(0, K, (n, T))
    marker = np.zeros((n, T, 1), dtype="float32")
    marker[:, KEY] = 1
    return np.concatenate([np.eye(K, dtype="float32")[symbols], marker], axis=-1), symbols[:, KEY]


class Recall(nn.Module):
    def __init__(self, kind: str, hidden: int):
        super().__init__()
        self.kind = kind
        self.rnn = (nn.LSTM if kind == "LSTM" else nn.RNN)(K + 1, hidden, batch_first=True)
        self.head = nn.Linear(hidden, K)
        if kind == "LSTM":  # the usual forget-gate bias of 1: f ≈ 0.73 at the start
            self.rnn.bias_ih_l0.data[hidden:2 * hidden] = 1.0  # f block of the i, f, g, o layout
            self.rnn.bias_hh_l0.data[hidden:2 * hidden] = 0.0

    def states(self, x: tg.Tensor) -> np.ndarray:
        """The full state at every step: h for the RNN, [h; c] for the LSTM — (B, T, S)."""
        if self.kind != "LSTM":
            return self.rnn(x)[0].numpy()
        out, hc = [], None  # one step at a time, to see c^(t) too
        for t in range(x.shape[1]):
            o, hc = self.rnn(x[:, t:t + 1], hc)
            out.append(np.concatenate([hc[0].numpy()[0], hc[1].numpy()[0]], axis=-1))
        return np.stack(out, axis=1)

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        return self.head(self.rnn(x)[0][:, -1])


def train(kind: str, hidden: int, T: int, steps: int, seed: int) -> Recall:
    tg.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = Recall(kind, hidden)
    opt = tg.optim.Adam(model.parameters(), lr=3e-3)
    for _ in progress(range(steps), desc=kind, leave=False):
        x, y = batch(64, T, rng)
        loss = F.cross_entropy(model(tg.tensor(x)), y.tolist())
        opt.zero_grad()
        loss.backward()
        clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    return model


def probe_accuracy(fit: np.ndarray, y_fit: np.ndarray, test: np.ndarray, y_test: np.ndarray) -> float:
    """Ridge-regression probe from states (N, S) to one-hot x^(3); accuracy on held-out states."""
    A = np.hstack([fit, np.ones((len(fit), 1))])
    W = np.linalg.solve(A.T @ A + 1e-3 * np.eye(A.shape[1]), A.T @ np.eye(K)[y_fit])
    pred = (np.hstack([test, np.ones((len(test), 1))]) @ W).argmax(1)
    return float((pred == y_test).mean())


def train_and_probe(kind: str, hidden: int, T: int, steps: int, seed: int, x_fit, y_fit, x_test, y_test):
    """Train a model (a job of run_jobs); the probe's accuracy at t = 3 … T and the task accuracy."""
    model = train(kind, hidden, T, steps, seed)
    with tg.no_grad():
        fit, test = model.states(tg.tensor(x_fit)), model.states(tg.tensor(x_test))
        recall = float((model(tg.tensor(x_test)).numpy().argmax(1) == y_test).mean())
    return [probe_accuracy(fit[:, t], y_fit, test[:, t], y_test) for t in range(KEY, T)], recall


def main(argv=None) -> Summary:
    args = parser("information-morphing", __doc__.splitlines()[0]).parse_args(argv)
    out = setup(args)
    s = Summary("information-morphing")
    T, steps, hidden, n = (30, 700, 16, 1000) if args.quick else (30, 2000, 16, 4000)
    rng = np.random.default_rng(10_000 + args.seed)
    (x_fit, y_fit), (x_test, y_test) = batch(n, T, rng), batch(n, T, rng)
    tg.manual_seed(args.seed)
    with tg.no_grad():  # the forward pass alone, at initialisation
        fresh = Recall("tanh RNN", hidden)
        fit, test = fresh.states(tg.tensor(x_fit)), fresh.states(tg.tensor(x_test))
    untrained = [probe_accuracy(fit[:, t], y_fit, test[:, t], y_test) for t in range(KEY, T)]
    kinds = ("tanh RNN", "LSTM")
    runs = run_jobs(train_and_probe, [(kind, hidden, T, steps, args.seed, x_fit, y_fit, x_test, y_test)
                                      for kind in kinds])
    curves = {kind: curve for kind, (curve, _) in zip(kinds, runs)}
    recall = {kind: r for kind, (_, r) in zip(kinds, runs)}
    for name, c in (("tanh RNN, untrained", untrained), ("tanh RNN, trained", curves["tanh RNN"]),
                    ("LSTM, trained", curves["LSTM"])):
        print(f"{name:20}: probe accuracy of x^(3) from the state at t = 3, 4, 6, 10, {T}: "
              + ", ".join(f"{c[t - 1 - KEY]:.2f}" for t in (3, 4, 6, 10, T)))
    print(f"task accuracy (recall x^(3) at t = {T}): tanh RNN {recall['tanh RNN']:.3f}, "
          f"LSTM {recall['LSTM']:.3f}")
    rnn, lstm = curves["tanh RNN"], curves["LSTM"]
    where = f"T = {T}, K = {K} (chance {1 / K:.2f}), H = {hidden}"
    s.claim(f"the forward pass washes x^(3) away: untrained tanh RNN, probe ≥ 0.95 at t = 3 and "
            f"≤ 0.4 at t = {T} ({where})", f"{untrained[0]:.2f} → {untrained[-1]:.2f}",
            untrained[0] >= 0.95 and untrained[-1] <= 0.4)
    s.claim("right after it arrives, x^(3) is readable from both trained states (probe ≥ 0.95 at t = 3)",
            f"tanh RNN {rnn[0]:.2f}, LSTM {lstm[0]:.2f}", min(rnn[0], lstm[0]) >= 0.95)
    keep = 0.7  # chance is 0.25; in our runs the LSTM's recall is still partial at the end
    held = lstm[-1] >= keep and lstm[-1] >= rnn[-1] + 0.3
    s.claim(f"trained ({steps} Adam steps), the LSTM keeps it to t = {T} (probe ≥ {keep}) and the tanh "
            f"RNN does not (≥ 0.3 below)",
            f"LSTM {lstm[-1]:.2f}, tanh RNN {rnn[-1]:.2f}"
            , held)

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    ts = list(range(KEY + 1, T + 1))
    ax.plot(ts, untrained, ":", color="tab:blue", label="tanh RNN, untrained")
    ax.plot(ts, rnn, "o-", ms=3, color="tab:blue", label="tanh RNN  h^(t), trained")
    ax.plot(ts, lstm, "o-", ms=3, color="tab:orange", label="LSTM  [h^(t); c^(t)], trained")
    ax.axhline(1 / K, color="k", ls="--", lw=1, label="chance")
    ax.set(title="linear probe: x^(3) read out of the state at step t", xlabel="t",
           ylabel="probe accuracy", ylim=(0, 1.05))
    ax.legend(fontsize=8)
    save(fig, out, "information_morphing.png", s)
    s.print()
    return s


if __name__ == "__main__":
    main()

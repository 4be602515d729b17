"""Deep transition vs stacked layers: where the depth goes matters (notes 001, §6.4).

The task needs a nonlinear step from h_{t−1} to h_t: the running parity of a bit stream,
y_t = b_1 ⊕ b_2 ⊕ … ⊕ b_t, answered at every step (x_t = b_t ∈ {0, 1}). Each step must XOR
the new bit into the state — XOR is not linearly separable, so one tanh layer between h_{t−1}
and h_t can only approximate it, and errors compound along the sequence.

    RNN           h_t = tanh(W_ih x_t + W_hh h_{t−1} + b)
    stacked RNN   two such layers; layer 2 reads layer 1's h_t — deeper, but each recurrence
                  is still one layer from h_{t−1} to h_t
    DT-RNN        u_t = tanh(W_ih x_t + W_hh h_{t−1} + b_1),  h_t = tanh(W_2 u_t + b_2)
    DT(S)-RNN     h_t = tanh(W_2 u_t + W_s h_{t−1} + W_x x_t + b_2)  (skips the MLP)

All four at a similar parameter budget, trained with Adam on fresh streams until ŷ_t is right
at 99 % of all steps of held-out streams; with enough steps all four get there, so what is
measured is how many steps each needs (median over seeds). In our runs at T = 30 the stacked
and the DT(S)-RNN need about half the plain RNN's steps, while the DT-RNN without the skip is
the slowest and least reliable: its gradient crosses two nonlinearities per step back in
time. The skip connection of §6.4 is what makes the deep transition pay off. At T = 12 no
advantage shows (the plain RNN learns short parities quickly), so --quick keeps T = 30 and
runs one seed.
"""

from __future__ import annotations

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.nn import functional as F
from tinygrad_rnn.nn.utils import clip_grad_norm_

from .common import Summary, parser, progress, pyplot, run_jobs, save, setup

MODELS = {"RNN": lambda: nn.RNN(1, 24), "stacked RNN": lambda: nn.RNN(1, 14, num_layers=2),
          "DT-RNN": lambda: nn.DeepTransitionRNN(1, 17, transition_layers=2),
          "DT(S)-RNN": lambda: nn.DeepTransitionRNN(1, 14, transition_layers=2, skip=True)}


def streams(n: int, T: int, rng) -> tuple[np.ndarray, np.ndarray]:
    bits = rng.integers(0, 2, (T, n))
    return bits[..., None].astype("float32"), np.cumsum(bits, axis=0) % 2


class Model(nn.Module):
    def __init__(self, kind: str):
        super().__init__()
        self.rnn = MODELS[kind]()
        self.head = nn.Linear(self.rnn.hidden_size, 1)

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        out, _ = self.rnn(x)
        return self.head(out).reshape(x.shape[0], x.shape[1])


SOLVED = 0.99


def accuracy(model: Model, x: np.ndarray, y: np.ndarray) -> float:
    with tg.no_grad():
        return float(((model(tg.tensor(x)).numpy() > 0) == (y > 0)).mean())


def steps_to_solve(kind: str, T: int, max_steps: int, seed: int, test, every: int = 25):
    """Adam on fresh streams until the held-out accuracy over all steps reaches 99 %.

    Returns (steps taken, or None if not reached; the learning curve [(step, accuracy)]).
    """
    tg.manual_seed(seed)
    data = np.random.default_rng(seed)
    model = Model(kind)
    opt = tg.optim.Adam(model.parameters(), lr=1e-2)
    curve = []
    for step in progress(range(1, max_steps + 1), desc=f"{kind} seed {seed}", leave=False):
        x, y = streams(32, T, data)
        loss = F.binary_cross_entropy_with_logits(model(tg.tensor(x)), tg.tensor(y.astype("float32")))
        opt.zero_grad()
        loss.backward()
        clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % every == 0:
            curve.append((step, accuracy(model, *test)))
            if curve[-1][1] >= SOLVED:
                return step, curve
    return None, curve


def main(argv=None) -> Summary:
    args = parser("deep-transition", __doc__.splitlines()[0]).parse_args(argv)
    out = setup(args)
    s = Summary("deep-transition")
    T, max_steps, seeds = (30, 1500, 1) if args.quick else (30, 2500, 5)  # --quick: one seed
    rng = np.random.default_rng(10_000 + args.seed)
    test = streams(500, T, rng)
    params = {kind: sum(p.numel() for p in Model(kind).parameters()) for kind in MODELS}
    taken, curves = {}, {}
    done = iter(run_jobs(steps_to_solve, [(kind, T, max_steps, args.seed + k, test)
                                          for kind in MODELS for k in range(seeds)]))
    for kind in MODELS:
        runs = [next(done) for _ in range(seeds)]
        taken[kind] = [n if n is not None else float("inf") for n, _ in runs]
        curves[kind] = runs[0][1]
        print(f"{kind:12} {params[kind]:4d} params: steps to {SOLVED:.0%} accuracy per seed: "
              + ", ".join("—" if n == float("inf") else str(n) for n in taken[kind]))
    s.claim("similar parameter budgets (max/min ≤ 1.1)", ", ".join(f"{k} {v}" for k, v in params.items()),
            max(params.values()) / min(params.values()) <= 1.1)
    median = {kind: float(np.median(v)) for kind, v in taken.items()}
    where = f"T = {T}, {seeds} seed{'s' if seeds > 1 else ''}, at most {max_steps} steps"
    for kind in ("stacked RNN", "DT(S)-RNN"):
        s.claim(f"{kind} learns the running parity faster than the plain RNN (median steps to "
                f"{SOLVED:.0%}; {where})", f"{median[kind]:.0f} vs {median['RNN']:.0f}",
                median[kind] < median["RNN"])
    s.claim("with the skip the deep transition learns faster: DT(S)-RNN faster than DT-RNN",
            f"{median['DT(S)-RNN']:.0f} vs {median['DT-RNN']:.0f} (DT-RNN vs plain RNN: "
            f"{median['DT-RNN']:.0f} vs {median['RNN']:.0f}, not claimed)",
            median["DT(S)-RNN"] < median["DT-RNN"])
    plt = pyplot()
    fig, ax = plt.subplots(1, 2, figsize=(12, 4))
    for kind, c in curves.items():
        ax[0].plot(*zip(*c), label=f"{kind} ({params[kind]})")
    ax[0].set(title=f"running parity, T = {T} (seed {args.seed})", xlabel="step",
              ylabel="accuracy over all t")
    ax[0].legend(fontsize=8)
    for k, v in enumerate(taken.values()):
        shown = [n if n != float("inf") else max_steps * 1.05 for n in v]
        ax[1].plot([k] * len(shown), shown, "o", alpha=0.7)
    ax[1].set(title=f"steps to {SOLVED:.0%} per seed (top: not reached)", xticks=range(len(taken)),
              ylabel="steps")
    ax[1].set_xticklabels(list(taken), fontsize=8)
    save(fig, out, "deep_transition.png", s)
    s.print()
    return s


if __name__ == "__main__":
    main()

"""One to many (notes 002): a single input vector at t = 1, a whole sequence out.

The notes' one-to-many picture: x_1 is the only input (x_t = 0 for t > 1), and every step
emits an output, ŷ_t = softmax(V h_t + c) with h_t = tanh(U x_t + W h_{t−1} + b). The task:
x_1 is the one-hot vector of a digit d, and the sequence to write is d, d+1, …, d+L−1
(mod 10) — counting on from the digit it was shown once. Nothing but h carries d past t = 1,
so the last outputs check that the one input survives L steps in the state. Trained by BPTT
on the summed cross-entropy Σ_t C_t (notes 001 eq. 2) over all ten digits.
Measured: per-step accuracy and the whole-sequence accuracy over the ten start digits, against
chance (1/10 per step).
"""

from __future__ import annotations

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.nn import functional as F

from .common import Summary, parser, progress, pyplot, save, setup

DIGITS = 10


class OneToMany(nn.Module):
    """h_t = tanh(U x_t + W h_{t−1} + b) with x_t = 0 after t = 1; ŷ_t = softmax(V h_t + c)."""

    def __init__(self, hidden: int):
        super().__init__()
        self.rnn = nn.RNN(DIGITS, hidden)
        self.out = nn.Linear(hidden, DIGITS)

    def forward(self, first: tg.Tensor, length: int) -> tg.Tensor:
        """first: (B, 10) one-hot → (L, B, 10) logits."""
        B = first.shape[0]
        rest = tg.zeros(length - 1, B, DIGITS, dtype=first.dtype)
        x = tg.cat([first.reshape(1, B, DIGITS), rest], axis=0)  # the one input, then nothing
        h, _ = self.rnn(x)
        return self.out(h)


def main(argv=None) -> Summary:
    args = parser("one-to-many", __doc__.splitlines()[0], steps=600).parse_args(argv)
    out = setup(args)
    s = Summary("one-to-many")
    length, steps, hidden = (6, 250, 32) if args.quick else (10, args.steps, 48)
    start = np.arange(DIGITS)
    x = tg.tensor(np.eye(DIGITS, dtype="float32"))                        # the ten one-hot inputs
    y = (start[None, :] + np.arange(length)[:, None]) % DIGITS          # (L, 10) targets
    target = tg.tensor(y.reshape(-1))
    tg.manual_seed(args.seed)
    model = OneToMany(hidden)
    opt = tg.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in progress(range(steps), desc="one-to-many", leave=False):
        logits = model(x, length)
        loss = F.cross_entropy(logits.reshape(-1, DIGITS), target) * length  # Σ_t C_t, batch mean
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
    with tg.no_grad():
        pred = model(x, length).numpy().argmax(-1)                      # (L, 10)
    per_step = (pred == y).mean(axis=1)
    whole = float((pred == y).all(axis=0).mean())
    print("written from each start digit (rows: d = 0 … 9):")
    for d in range(DIGITS):
        print(f"  {d}: {' '.join(str(v) for v in pred[:, d])}")
    where = f"L = {length}, H = {hidden}, {steps} Adam steps"
    s.claim(f"every start digit's whole sequence is written right ({where})",
            f"{whole:.0%} of 10 sequences (chance 10^-{length})", whole == 1.0)
    s.claim("the last step, L − 1 steps after the only input, is still right (> 9 × chance)",
            f"{per_step[-1]:.0%} vs chance 10%", per_step[-1] > 0.9)
    s.claim("the summed cross-entropy fell below 1/10 of its start",
            f"{losses[0]:.2f} → {losses[-1]:.3f}", losses[-1] < 0.1 * losses[0])

    plt = pyplot()
    fig, ax = plt.subplots(1, 2, figsize=(11, 3.6))
    ax[0].semilogy(losses)
    ax[0].set(title="Σ_t C_t over training", xlabel="Adam step", ylabel="loss (nats)")
    ax[1].bar(np.arange(1, length + 1), per_step)
    ax[1].axhline(1 / DIGITS, color="grey", ls="--", label="chance")
    ax[1].set(title="accuracy per output step (one input at t = 1)", xlabel="t", ylim=(0, 1.05))
    ax[1].legend()
    save(fig, out, "one_to_many.png", s)
    s.print()
    return s


if __name__ == "__main__":
    main()

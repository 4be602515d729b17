"""The gradient-flow regulariser Ω keeps ‖∂L/∂h_t‖ from vanishing, so a tanh RNN can learn (notes 001, eq. 5).

A tanh RNN h_t = tanh(U x_t + W h_{t−1} + b) reads the adding problem and predicts
ŷ = V h_T + c, L = mean (ŷ − y)². The error signal reaching h_k is a product of Jacobians,
∂L/∂h_k = (∂L/∂h_{k+1}) ∂h_{k+1}/∂h_k, and it shrinks step by step when the Jacobians shrink
it. The notes (after Pascanu, Mikolov & Bengio 2013) ask that each step preserve its size,

    (∂L/∂h_{k+1}) ∂h_{k+1}/∂h_k  ≈  ∂L/∂h_{k+1}                                    (4)

and add to the loss

    Ω = Σ_k ( ‖(∂L/∂h_{k+1}) ∂h_{k+1}/∂h_k‖ / ‖∂L/∂h_{k+1}‖ − 1 )²                  (5)

As in the paper, ∂L/∂h_{k+1} and h_k are treated as constants: Ω pulls on W (and U, b)
through the one-step Jacobian only. Everything is done by the engine, no backward written
by hand: ∂L/∂h_k for all k is one ``tg.grad`` call, and the vector-Jacobian products of Ω
are a second ``tg.grad`` call with ``create_graph=True`` through one recomputed step, so that
Ω itself can be differentiated. Two copies of the same network train on L and on L + λΩ,
both with Adam and norm clipping (the notes pair Ω with clipping), at T = 30: a length where
the plain tanh RNN stays at the predict-1 baseline MSE 1/6. During training the held-out task
loss and the gradient ratio ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ are recorded side by side.

The effect on the task appears late (after about 1200 of the 1500 steps), so --quick runs
the same 1500 steps: fewer would test nothing. Measured on 2 cores (seeds 0 and 1): with Ω
the held-out MSE ends at 0.13 and 0.09 (76 % and 54 % of the baseline) against 0.15 without;
the median gradient ratio is ≈ 1 against 10⁻⁵ and 10⁻⁸. Not solved — Pascanu et al. trained
for millions of SGD steps — but learning has started only where the gradient reaches h_1. (At
T = 20 the plain tanh RNN learns the task by itself; at T = 40 neither moves within this budget.)
"""

from __future__ import annotations

import statistics
import time

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.nn import functional as F
from tinygrad_rnn.nn.utils import clip_grad_norm_
from tinygrad_rnn.tasks.adding import BASELINE_MSE, adding_problem

from .common import Summary, parser, progress, pyplot, run_jobs, save, setup

HIDDEN, BATCH, LR, LAMBDA, LENGTH = 32, 32, 3e-3, 1.0, 30


class TanhRNN(nn.Module):
    """h_t = tanh(U x_t + W h_{t−1} + b) step by step (so every h_t is a node), ŷ = V h_T + c."""

    def __init__(self, hidden: int = HIDDEN):
        super().__init__()
        self.cell = nn.RNNCell(2, hidden)   # weight_ih = U, weight_hh = W, biases = b
        self.head = nn.Linear(hidden, 1)    # V, c

    def forward(self, x: tg.Tensor):
        """x (B, T, 2) → prediction (B,) and the states [h_0, h_1, …, h_T]."""
        hs = [tg.zeros(x.shape[0], self.cell.hidden_size, dtype=x.dtype, device=x.device)]
        for t in range(x.shape[1]):
            hs.append(self.cell(x[:, t], hs[-1]))
        return self.head(hs[-1]).reshape(-1), hs


def grad_norms(model: TanhRNN, x, y) -> tuple[tg.Tensor, list, list]:
    """L, the states h_0…h_T and ∂L/∂h_t for t = 1…T (constants: no graph is kept for them)."""
    pred, hs = model(x)
    loss = F.mse_loss(pred, y)
    dL_dh = tg.grad(loss, hs[1:], retain_graph=True)
    return loss, hs, list(dL_dh)


def omega(model: TanhRNN, x, hs: list, dL_dh: list) -> tg.Tensor:
    """Ω of eq. 5, summed over k = 1…T−1 and averaged over the batch.

    One recomputed step h_{k+1} = tanh(U x_{k+1} + W h_k + b) from the constant states h_k,
    for all k at once (stacked on the batch axis); ``tg.grad`` of it with grad_outputs
    ∂L/∂h_{k+1} is the vector-Jacobian product (∂L/∂h_{k+1}) ∂h_{k+1}/∂h_k, and with
    ``create_graph=True`` it stays a function of U, W, b.
    """
    B, T, H = x.shape[0], x.shape[1], model.cell.hidden_size
    h_prev = tg.stack([h.detach() for h in hs[1:T]]).reshape((T - 1) * B, H)
    h_prev.requires_grad_(True)
    x_next = x[:, 1:].transpose(0, 1).reshape((T - 1) * B, 2)
    g_unit, valid = unit_rows(tg.stack(dL_dh[1:]).reshape((T - 1) * B, H))
    (vjp,) = tg.grad(model.cell(x_next, h_prev), h_prev, grad_outputs=g_unit, create_graph=True)
    ratio = ((vjp * vjp).sum(axis=1) + 1e-30) ** 0.5
    per_k = (((ratio - 1.0) ** 2) * valid).reshape(T - 1, B).sum(axis=1)
    return (per_k / valid.reshape(T - 1, B).sum(axis=1).clip(1, None)).sum()


def unit_rows(g: tg.Tensor) -> tuple[tg.Tensor, tg.Tensor]:
    """g / ‖g‖ per row, and 1.0 where that is defined (0.0 where g has underflowed to 0).

    The ratio in Ω does not depend on the size of ∂L/∂h_{k+1}, and a vanished gradient
    (10⁻³⁰, say) would underflow when squared in float32: divide by max |g| first.
    """
    scale = abs(g).amax(axis=1, keepdims=True)
    valid = (scale > 0).to(dtype=g.dtype)
    g = g / (scale + (1 - valid))
    return g / ((g * g).sum(axis=1, keepdims=True) + (1 - valid)) ** 0.5, valid.reshape(-1)


def train(length: int, steps: int, lam: float, seed: int, test, device=None, eval_every: int = 50):
    """Adam with norm clipping on L + λΩ; returns the model, [(step, L, Ω)] and
    [(step, held-out MSE, ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖)]."""
    tg.manual_seed(seed)
    model = TanhRNN().to(device)
    opt = tg.optim.Adam(model.parameters(), lr=LR)
    history, curve = [], [(0, *evaluate(model, *test))]
    for step in progress(range(1, steps + 1), desc=f"λ = {lam:g}", leave=False):
        xb, yb = (tg.tensor(a, device=device) for a in adding_problem(BATCH, length, 1000 * seed + step))
        if lam or step == steps:   # without Ω in the loss, Ω is measured at the last step only
            loss, hs, dL_dh = grad_norms(model, xb, yb)
            reg = omega(model, xb, hs, dL_dh)
        else:
            loss, reg = F.mse_loss(model(xb)[0], yb), None
        opt.zero_grad()
        (loss + lam * reg if lam else loss).backward()
        clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        history.append((step, loss.item(), float("nan") if reg is None else reg.item()))
        if step % eval_every == 0 or step == steps:
            curve.append((step, *evaluate(model, *test)))
    return model, history, curve


def evaluate(model: TanhRNN, x, y) -> tuple[float, float]:
    """Held-out MSE and ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ (float32: at T = 30 the ratio stays above 10⁻³⁰)."""
    loss, _, dL_dh = grad_norms(model, x, y)
    first, last = (float((g * g).sum().item()) ** 0.5 for g in (dL_dh[0], dL_dh[-1]))
    return loss.item(), first / last if last > 0 else 0.0


def per_step_norms(model: TanhRNN, x, y) -> list[float]:
    """‖∂L/∂h_t‖ for t = 1…T, computed in float64 (in float32 10⁻⁴⁵ would already be 0)."""
    _, _, dL_dh = grad_norms(model.double(), x.double(), y.double())
    return [float((g * g).sum().item() ** 0.5) for g in dL_dh]


def train_and_measure(length: int, steps: int, lam: float, seed: int, test, device=None):
    """``train`` on L + λΩ (a job of run_jobs; ``test`` as NumPy arrays), then the trained model's
    ‖∂L/∂h_t‖ on it: the history, the curve, the norms and the seconds taken."""
    start = time.perf_counter()
    x, y = (tg.tensor(a, device=device) for a in test)
    model, history, curve = train(length, steps, lam, seed, (x, y), device)
    return history, curve, per_step_norms(model, x, y), time.perf_counter() - start


def main(argv=None) -> Summary:
    args = parser("gradient-regularizer", __doc__.splitlines()[0], steps=1500).parse_args(argv)
    out = setup(args)
    s = Summary("gradient-regularizer")
    length, steps = LENGTH, args.steps   # --quick too: see the docstring
    test = adding_problem(256, length, seed=999_999)
    x, y = (tg.tensor(a, device=args.device) for a in test)
    tg.manual_seed(args.seed)  # the same initial network that both runs start from
    at_init = per_step_norms(TanhRNN().to(args.device), x, y)
    norms, histories, curves, final = {}, {}, {}, {}
    lams = (0.0, LAMBDA)
    runs = run_jobs(train_and_measure, [(length, steps, lam, args.seed, test, args.device) for lam in lams],
                    args.device)
    for lam, (histories[lam], curves[lam], norms[lam], secs) in zip(lams, runs):
        final[lam] = sum(mse for _, mse, _ in curves[lam][-3:]) / 3   # the last three evaluations
        print(f"λ = {lam:g}: ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ = {norms[lam][0] / norms[lam][-1]:.3g}, "
              f"Ω = {histories[lam][-1][2]:.2f}, held-out MSE {final[lam]:.4f} ({secs:.0f} s)")

    # the plain RNN's ratio swings over decades from one evaluation to the next (see the plot):
    # compare the medians over all evaluations during training, not one end point
    decay = {lam: statistics.median(r for _, _, r in curves[lam][1:]) for lam in curves}
    where = f"T = {length}, {steps} Adam steps with clipping"
    s.claim(f"with Ω (λ = {LAMBDA:g}) ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ is at least 3 orders of magnitude above "
            f"the plain tanh RNN's, median over the evaluations during training ({where})",
            f"{decay[LAMBDA]:.3g} with Ω vs {decay[0.0]:.3g} without (at the end "
            f"{norms[LAMBDA][0] / norms[LAMBDA][-1]:.3g} vs {norms[0.0][0] / norms[0.0][-1]:.3g})",
            decay[LAMBDA] > 1e3 * decay[0.0])
    s.claim(f"with Ω the tanh RNN learns more of the adding task: held-out MSE at least 10 % below the "
            f"plain tanh RNN's and below the predict-1 baseline 1/6 ({where})",
            f"{final[LAMBDA]:.4f} with Ω vs {final[0.0]:.4f} without "
            f"({final[LAMBDA] / BASELINE_MSE:.0%} and {final[0.0] / BASELINE_MSE:.0%} of the baseline)",
            final[LAMBDA] < 0.9 * final[0.0] and final[LAMBDA] < BASELINE_MSE)
    plot(length, at_init, norms, curves, out, s)
    s.print()
    return s


def plot(length: int, at_init: list, norms: dict, curves: dict, out: str, s: Summary) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(1, 3, figsize=(17, 4))
    ax[0].semilogy(range(1, length + 1), at_init, color="grey", ls=":", label="at initialisation")
    for lam, colour in ((0.0, "tab:red"), (LAMBDA, "tab:green")):
        label = f"L + {lam:g} Ω" if lam else "L alone"
        ax[0].semilogy(range(1, length + 1), norms[lam], color=colour, label=label)
        steps_, mses, ratios = zip(*curves[lam])
        ax[1].plot(steps_, mses, color=colour, label=label)
        ax[2].semilogy(steps_, ratios, color=colour, label=label)
    ax[0].set(title="‖∂L/∂h_t‖ after training (held-out batch)", xlabel="t")
    ax[0].legend()
    ax[1].axhline(BASELINE_MSE, color="k", ls="--", lw=1, label="predict 1: MSE 1/6")
    ax[1].set_yscale("log")
    ax[1].set(title=f"task loss: held-out MSE, adding problem T = {length}", xlabel="training step")
    ax[1].legend()
    ax[2].set(title="gradient ratio ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ during training", xlabel="training step")
    ax[2].legend()
    save(fig, out, "gradient_regularizer.png", s)


if __name__ == "__main__":
    main()

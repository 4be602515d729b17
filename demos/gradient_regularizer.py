"""The gradient-flow regulariser Ω keeps ‖∂L/∂h_t‖ from vanishing across time (notes 001, eq. 5).

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
Ω itself can be differentiated. Two copies of the same network train on L and on L + λΩ;
then ‖∂L/∂h_t‖ is measured per step.
"""

from __future__ import annotations

import time

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.nn import functional as F
from tinygrad_rnn.nn.utils import clip_grad_norm_
from tinygrad_rnn.tasks.adding import adding_problem

from .common import Summary, parser, progress, pyplot, save, setup

HIDDEN, BATCH, LR, LAMBDA = 32, 32, 1e-3, 0.1


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


def train(length: int, steps: int, lam: float, seed: int, device=None):
    """Adam with norm clipping on L + λΩ; returns the model and [(step, L, Ω)]."""
    tg.manual_seed(seed)
    model = TanhRNN().to(device)
    opt = tg.optim.Adam(model.parameters(), lr=LR)
    history = []
    for step in progress(range(1, steps + 1), desc=f"λ = {lam:g}", leave=False):
        xb, yb = (tg.tensor(a, device=device) for a in adding_problem(BATCH, length, 1000 * seed + step))
        loss, hs, dL_dh = grad_norms(model, xb, yb)
        reg = omega(model, xb, hs, dL_dh)
        opt.zero_grad()
        (loss + lam * reg if lam else loss).backward()
        clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        history.append((step, loss.item(), reg.item()))
    return model, history


def per_step_norms(model: TanhRNN, x, y) -> list[float]:
    """‖∂L/∂h_t‖ for t = 1…T, computed in float64 (in float32 10⁻⁴⁵ would already be 0)."""
    _, _, dL_dh = grad_norms(model.double(), x.double(), y.double())
    return [float((g * g).sum().item() ** 0.5) for g in dL_dh]


def main(argv=None) -> Summary:
    args = parser("gradient-regularizer", __doc__.splitlines()[0], steps=400).parse_args(argv)
    out = setup(args)
    s = Summary("gradient-regularizer")
    length, steps = (20, 40) if args.quick else (100, args.steps)
    x, y = (tg.tensor(a, device=args.device) for a in adding_problem(256, length, seed=999_999))
    tg.manual_seed(args.seed)  # the same initial network that both runs start from
    at_init = per_step_norms(TanhRNN().to(args.device), x, y)
    norms, histories = {}, {}
    for lam in (0.0, LAMBDA):
        start = time.perf_counter()
        model, histories[lam] = train(length, steps, lam, args.seed, args.device)
        norms[lam] = per_step_norms(model, x, y)
        print(f"λ = {lam:g}: ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ = {norms[lam][0] / norms[lam][-1]:.3g}, "
              f"Ω = {histories[lam][-1][2]:.2f}, L = {histories[lam][-1][1]:.4f} "
              f"({time.perf_counter() - start:.0f} s)")

    decay = {lam: norms[lam][0] / norms[lam][-1] for lam in norms}
    where = f"T = {length}, {steps} Adam steps" + (" (--quick: a shorter sequence)" if args.quick else "")
    s.claim(f"‖∂L/∂h_t‖ decays less across time with Ω (λ = {LAMBDA:g}) than without ({where})",
            f"‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ = {decay[LAMBDA]:.3g} with Ω vs {decay[0.0]:.3g} without",
            decay[LAMBDA] > 10 * decay[0.0])

    plt = pyplot()
    fig, ax = plt.subplots(1, 2, figsize=(12, 4))
    ax[0].semilogy(range(1, length + 1), at_init, color="grey", ls=":", label="at initialisation")
    for lam, colour in ((0.0, "tab:red"), (LAMBDA, "tab:green")):
        label = f"L + {lam:g} Ω" if lam else "L alone"
        ax[0].semilogy(range(1, length + 1), norms[lam], color=colour, label=label)
        steps_, losses, regs = zip(*histories[lam])
        ax[1].plot(steps_, regs, color=colour, label=f"Ω, {label}")
    ax[0].set(title="‖∂L/∂h_t‖ after training (held-out batch)", xlabel="t")
    ax[0].legend()
    ax[1].set(title="Ω during training", xlabel="training step")
    ax[1].legend()
    save(fig, out, "gradient_regularizer.png", s)
    s.print()
    return s


if __name__ == "__main__":
    main()

"""Vanishing gradients: ‖∂L/∂h_t‖ for every t in a tanh RNN, an IRNN and an LSTM (notes 003, 004).

The loss L reads only the last state h_T (the adding problem's answer). Back through time,

    ∂L/∂h_t = ∂L/∂h_{t+1} · diag(φ'(a_{t+1})) W_hh          (tanh RNN, IRNN)

a product of T − t Jacobians: with tanh and the default init its norm shrinks geometrically.
The IRNN (W_hh = I, ReLU) starts with Jacobians that are the identity on active units, and the
LSTM's cell path multiplies by the forget gates f_t only (c_t = f_t ⊙ c_{t−1} + …), so with the
usual forget-gate bias of 1 (f ≈ 0.73) it decays far more slowly. The norms come from the
recorded graph (``graph(loss, messages=…).step_grad_norms()``), not from RNN-specific code.
"""

from __future__ import annotations

import math

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.tasks.adding import adding_problem

from .common import Summary, parser, progress, pyplot, save, setup

HIDDEN = 64


def make_models(device) -> dict:
    """Fresh models with PyTorch's default init (plus the common LSTM forget-gate bias of 1)."""
    lstm_fb = nn.LSTM(2, HIDDEN)
    lstm_fb.bias_ih_l0.data[HIDDEN:2 * HIDDEN] = 1.0   # f-gate block of the i, f, g, o layout
    lstm_fb.bias_hh_l0.data[HIDDEN:2 * HIDDEN] = 0.0
    models = {"tanh RNN": nn.RNN(2, HIDDEN), "IRNN": nn.IRNN(2, HIDDEN),
              "LSTM": nn.LSTM(2, HIDDEN), "LSTM (forget bias 1)": lstm_fb}
    return {k: m.to(device) for k, m in models.items()}


def gradient_norms(rnn, x, y, device):
    """‖∂L/∂h_t‖ for t = 1..T, and the captured graph (for drawing)."""
    head = nn.Linear(HIDDEN, 1).to(device)
    out, _ = rnn(x)
    loss = ((head(out[-1]).reshape(-1) - y) ** 2).mean()
    with tg.record_messages() as rec:
        loss.backward()
    g = tg.graph(loss, messages=rec)
    return g.step_grad_norms("h_t"), g


def main(argv=None) -> Summary:
    args = parser("vanishing-gradients", __doc__.splitlines()[0]).parse_args(argv)
    out = setup(args)
    summary = Summary("vanishing-gradients")
    T = 40 if args.quick else 100
    x, y = adding_problem(32, T, seed=args.seed)
    x = tg.tensor(x.transpose(1, 0, 2), device=args.device)   # (T, B, 2)
    y = tg.tensor(y, device=args.device)
    norms, graphs = {}, {}
    for name, rnn in progress(make_models(args.device).items(), desc="backprop through time"):
        norms[name], graphs[name] = gradient_norms(rnn, x, y, args.device)
    print(f"‖∂L/∂h_t‖ at t = 1 and t = {T}:")
    for name, n in norms.items():
        print(f"  {name:<22} {n[1]:10.3e}   {n[T]:10.3e}")

    tanh1, lstm1 = norms["tanh RNN"][1], norms["LSTM (forget bias 1)"][1]
    orders = math.log10(lstm1 / tanh1)
    summary.claim(f"over {T} steps the tanh RNN's ‖∂L/∂h_1‖ is orders of magnitude below the "
                  "LSTM's (forget bias 1)", f"{tanh1:.2e} vs {lstm1:.2e}: {orders:.1f} orders",
                  orders >= 3)
    summary.claim("the IRNN keeps ‖∂L/∂h_1‖ within 10× of ‖∂L/∂h_T‖",
                  f"{norms['IRNN'][1]:.2e} vs {norms['IRNN'][T]:.2e}",
                  norms["IRNN"][1] > 0.1 * norms["IRNN"][T])

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, n in norms.items():
        ax.semilogy(list(n), list(n.values()), label=name)
    ax.set(xlabel="time step t", ylabel="‖∂L/∂h_t‖", title=f"gradient reaching h_t from a loss at t = {T}")
    ax.legend()
    save(fig, out, "gradient_norms.png", summary)
    for name in ("tanh RNN", "LSTM (forget bias 1)"):
        stem = "tanh_rnn" if name == "tanh RNN" else "lstm"
        try:
            path = graphs[name].render(f"{out}/graph_{stem}", format="svg", view="collapsed")
            summary.files.append(str(path))
        except RuntimeError as e:  # no `dot` binary: the .dot file is written, the error says how
            print(e)
    summary.print()
    return summary


if __name__ == "__main__":
    main()

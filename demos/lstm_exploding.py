"""The LSTM fixes vanishing gradients, not exploding ones (notes 003, L430; 004, L186-196).

An LSTM with no input and zero biases except the forget gate's has the fixed point h = c = 0:
there i = o = ½, g = 0, f = σ(b_f). Linearised around it (the gates' own derivatives meet
g = 0 or c = 0 and drop out), one step back is

    δc_t = f δc_{t−1} + i ⊙ g′ W_g δh_{t−1},   δh_{t−1} = o ⊙ tanh′(c) δc_{t−1}
         = (f I + ¼ W_g) δc_{t−1} = J δc_{t−1},     so ∂h_T/∂h_0 = ¼ J^{T−1} W_g

with W_g the candidate block of W_hh. The constant error carousel is the f I: with the forget
gate open (f → 1) it keeps the gradient from vanishing — and then any growth the recurrent
term ¼ W_g adds tips the spectral radius ρ(J) over 1, and the gradient grows as ρ(J)^T. With
the forget gate nearly closed the same weights give ρ(J) < 1 and the gradient vanishes. The
norms are computed by backward() through nn.LSTM (float64); ρ(J) from the weights. So an
LSTM still needs gradient clipping (exploding-gradients, learning-rate-dilemma).
"""

from __future__ import annotations

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import nn

from .common import Summary, parser, pyplot, save, setup

H = 32


def lstm_with_forget_bias(b_f: float, seed: int) -> nn.LSTM:
    """nn.LSTM(1, H) in float64 with PyTorch's init, then every bias 0 except b_f on the f gate."""
    tg.manual_seed(seed)
    lstm = nn.LSTM(1, H).double()
    for name in ("bias_ih_l0", "bias_hh_l0"):
        getattr(lstm, name).data[:] = 0.0
    lstm.bias_ih_l0.data[H:2 * H] = b_f  # the f block of the i, f, g, o layout
    return lstm


def gradient_norm(lstm: nn.LSTM, T: int) -> float:
    """‖∂(Σ h_T)/∂h_0‖ at the fixed point h_0 = c_0 = 0 with zero input, by backward()."""
    h0 = tg.zeros(1, 1, H, dtype="float64", requires_grad=True)
    c0 = tg.zeros(1, 1, H, dtype="float64")
    _, (hT, _) = lstm(tg.zeros(T, 1, 1, dtype="float64"), (h0, c0))
    hT.sum().backward()
    g = h0.grad.numpy()
    scale = np.abs(g).max()  # ‖g‖ = m ‖g/m‖: squaring 1e-200 would underflow to 0
    return float(scale * np.linalg.norm(g / scale)) if scale > 0 else 0.0


def spectral_radius(lstm: nn.LSTM, b_f: float) -> float:
    f = 1 / (1 + np.exp(-b_f))
    W_g = lstm.weight_hh_l0.numpy()[2 * H:3 * H]
    return float(np.abs(np.linalg.eigvals(f * np.eye(H) + 0.25 * W_g)).max())


def main(argv=None) -> Summary:
    args = parser("lstm-exploding", __doc__.splitlines()[0]).parse_args(argv)
    out = setup(args)
    s = Summary("lstm-exploding")
    # the closed gate's 0.18^T underflows float64 past T ≈ 400: stop at 300
    Ts = list(range(10, 201, 10)) if args.quick else list(range(10, 301, 5))
    rows = {}
    for label, b_f in (("forget gate open, b_f = 3", 3.0), ("forget gate closed, b_f = −3", -3.0)):
        lstm = lstm_with_forget_bias(b_f, args.seed)
        norms = [gradient_norm(lstm, T) for T in Ts]
        rate = float(np.exp(np.polyfit(Ts[len(Ts) // 2:], np.log(norms[len(Ts) // 2:]), 1)[0]))
        rho = spectral_radius(lstm, b_f)
        rows[label] = (norms, rate, rho)
        print(f"{label}: f = {1 / (1 + np.exp(-b_f)):.3f}; ‖∂h_T/∂h_0‖ at T = {Ts[0]}, {Ts[-1]}: "
              f"{norms[0]:.3e}, {norms[-1]:.3e}; growth per step {rate:.4f}, ρ(fI + ¼W_g) = {rho:.4f}")
    (open_norms, open_rate, open_rho), (shut_norms, shut_rate, shut_rho) = rows.values()
    s.claim(f"forget gate open: the gradient explodes (‖∂h_{Ts[-1]}/∂h_0‖ ≥ 10³ × ‖∂h_{Ts[0]}/∂h_0‖)",
            f"{open_norms[0]:.2e} → {open_norms[-1]:.2e}", open_norms[-1] >= 1e3 * open_norms[0])
    s.claim("its growth per step is the linearisation's spectral radius ρ(fI + ¼W_g) (within 1 %)",
            f"measured {open_rate:.4f}, ρ = {open_rho:.4f}", abs(open_rate / open_rho - 1) < 0.01)
    s.claim("the same weights with the forget gate nearly closed: the gradient vanishes instead",
            f"growth per step {shut_rate:.4f} (ρ = {shut_rho:.4f}); "
            f"{shut_norms[0]:.1e} → {shut_norms[-1]:.1e}",
            shut_rate < 1 and shut_norms[-1] < 1e-6 * shut_norms[0])

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for (label, (norms, _, rho)), colour in zip(rows.items(), ("tab:red", "tab:blue")):
        ax.semilogy(Ts, norms, "o", ms=4, color=colour, label=f"{label} (backward)")
        ax.semilogy(Ts, norms[-1] * rho ** (np.array(Ts) - Ts[-1]), "--", lw=1, color=colour,
                    label=f"ρ(J)^T, ρ = {rho:.3f}")
    ax.set(title="LSTM at its fixed point: ‖∂h_T/∂h_0‖", xlabel="T", ylabel="gradient norm")
    ax.legend(fontsize=7)
    save(fig, out, "lstm_exploding.png", s)
    s.print()
    return s


if __name__ == "__main__":
    main()

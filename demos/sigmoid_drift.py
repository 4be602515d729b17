"""Sigmoid hidden units drift upward over time, tanh units do not (notes 001, L80).

The same recurrence with two activations, h_0 = 0, zero-mean random inputs x_t, no bias:

    h_t = σ(U x_t + W h_{t−1})      σ(z) ∈ (0, 1): never negative, mean ½ at z = 0
    h_t = tanh(U x_t + W h_{t−1})   tanh is odd: h ↦ −h with x ↦ −x, so the mean stays 0

The notes: "if the Sigmoid function would be used, the values of the hidden states would
become greater over time, as each output of the Sigmoid is between [0, 1]". Measured here
over random networks and a batch of input sequences, for two kinds of recurrent weights:

* W ≥ 0 (|uniform|/√H, excitatory feedback): every sigmoid output is positive, so W h_{t−1}
  is a positive push that grows as h grows — the mean climbs step after step towards
  saturation. tanh outputs of both signs cancel in W h_{t−1}, and the mean stays near 0.
* symmetric W (PyTorch's uniform ±1/√H): the sigmoid mean jumps from 0 to ½ at t = 1 and then
  stays; what persists is an offset in the recurrent drive, E[(W h)_i] = ½ Σ_j W_ij ≠ 0,
  which tanh does not have. The upward drift of the notes needs feedback that adds up.
"""

from __future__ import annotations

import numpy as np

import tinygrad_rnn as tg

from .common import Summary, parser, pyplot, save, setup


def run_rnn(U: tg.Tensor, W: tg.Tensor, xs: tg.Tensor, activation: str) -> tuple[tg.Tensor, tg.Tensor]:
    """h_t = act(U x_t + W h_{t−1}), h_0 = 0, for xs of shape (T, B, I).

    Returns the states (T, B, H) and the recurrent drives W h_{t−1} (T, B, H).
    """
    T, B, _ = xs.shape
    h = tg.zeros(B, W.shape[0], dtype=W.dtype, device=W.device)
    states, drives = [], []
    for t in range(T):
        with tg.scope(f"t={t + 1}"):
            drive = h @ W.T
            z = xs[t] @ U.T + drive
            h = z.sigmoid() if activation == "sigmoid" else z.tanh()
        states.append(h)
        drives.append(drive)
    return tg.stack(states), tg.stack(drives)


def measure(kind: str, activation: str, nets: int, H: int, n_in: int, B: int, T: int, rng, device=None):
    """Per net: mean h_t over batch and units for every t, and the mean |E_batch[(W h_{T−1})_i]|."""
    means, offsets = [], []
    for _ in range(nets):
        W = rng.uniform(-1, 1, (H, H)) / np.sqrt(H)
        if kind == "W ≥ 0":
            W = np.abs(W)
        U = rng.uniform(-1, 1, (H, n_in)) / np.sqrt(n_in)
        xs = rng.standard_normal((T, B, n_in))
        with tg.no_grad():
            hs, drives = run_rnn(tg.tensor(U, device=device), tg.tensor(W, device=device),
                                 tg.tensor(xs, device=device), activation)
        hs, drives = hs.numpy(), drives.numpy()
        means.append(hs.mean(axis=(1, 2)))
        offsets.append(np.abs(drives[-1].mean(axis=0)).mean())
    return np.array(means), float(np.mean(offsets))


def main(argv=None) -> Summary:
    args = parser("sigmoid-drift", __doc__.splitlines()[0]).parse_args(argv)
    out = setup(args)
    s = Summary("sigmoid-drift")
    rng = np.random.default_rng(args.seed)
    nets, H, n_in, B, T = (4, 32, 8, 64, 25) if args.quick else (20, 64, 8, 256, 100)
    curves, offsets = {}, {}
    for kind in ("W ≥ 0", "symmetric W"):
        for act in ("sigmoid", "tanh"):
            curves[kind, act], offsets[kind, act] = measure(kind, act, nets, H, n_in, B, T, rng, args.device)
            m = curves[kind, act].mean(0)
            print(f"{kind:11} {act:7}: mean h_t at t = 1, 2, 3, 5, {T}: "
                  + ", ".join(f"{m[t - 1]:+.3f}" for t in (1, 2, 3, 5, T))
                  + f"   mean |E[(W h)_i]| = {offsets[kind, act]:.3f}")
    where = f"{nets} nets, H = {H}, B = {B}, T = {T}"
    up = curves["W ≥ 0", "sigmoid"].mean(0)
    rises = bool(np.all(np.diff(up[:5]) > 0))
    s.claim(f"sigmoid, W ≥ 0: the mean hidden value climbs over time ({where})",
            f"{up[0]:.3f} at t = 1 → {up[4]:.3f} at t = 5 → {up[-1]:.3f} at t = {T}; "
            f"rising over t = 1…5: {rises}",
            rises and up[-1] - up[0] > 0.3)
    flat = max(float(np.abs(curves[kind, "tanh"].mean(0)).max()) for kind in ("W ≥ 0", "symmetric W"))
    s.claim("tanh, same weights and inputs: the mean stays near 0 (|mean h_t| < 0.1 at every t)",
            f"max |mean h_t| = {flat:.3f}", flat < 0.1)
    sym = curves["symmetric W", "sigmoid"].mean(0)
    climb = up[-1] - up[0]
    s.claim("sigmoid, symmetric W: the mean jumps to ½ at t = 1, then moves < 1/10 of the W ≥ 0 climb",
            f"{sym[0]:.3f} at t = 1, {sym[-1]:.3f} at t = {T} (W ≥ 0 climbed {climb:.3f})",
            abs(sym[0] - 0.5) < 0.02 and abs(sym[-1] - sym[0]) < 0.1 * climb)
    ratio = offsets["symmetric W", "sigmoid"] / offsets["symmetric W", "tanh"]
    s.claim("symmetric W: the sigmoid's recurrent drive has a per-unit offset tanh lacks (≥ 3×)",
            f"mean |E[(W h)_i]| sigmoid {offsets['symmetric W', 'sigmoid']:.3f} vs tanh "
            f"{offsets['symmetric W', 'tanh']:.3f} ({ratio:.1f}×)", ratio >= 3)

    plt = pyplot()
    fig, ax = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
    t = np.arange(1, T + 1)
    for a, kind in zip(ax, ("W ≥ 0", "symmetric W")):
        for act, colour in (("sigmoid", "tab:red"), ("tanh", "tab:blue")):
            c = curves[kind, act]
            a.plot(t, c.mean(0), color=colour, label=act)
            a.fill_between(t, c.min(0), c.max(0), color=colour, alpha=0.2)
        a.axhline(0, color="gray", lw=0.6)
        a.set(title=f"mean hidden value per step, {kind}", xlabel="t", xscale="log")
        a.legend()
    ax[0].set_ylabel("mean h_t (band: min…max over nets)")
    save(fig, out, "sigmoid_drift.png", s)
    s.print()
    return s


if __name__ == "__main__":
    main()

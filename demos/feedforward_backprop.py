"""Backprop's error signals δ^l for a feed-forward net, by hand next to autograd (notes 000).

Forward pass (σ the logistic sigmoid, x = a^0):

    z^l = W^l a^{l−1} + b^l,   a^l = σ(z^l),   y = a^L,   C = ½ ‖y − ŷ‖²

Backward pass, the notes' error signal δ^l_i = ∂C/∂z^l_i:

    δ^L = σ′(z^L) ⊙ ∇C(y)                  ∇C(y) = y − ŷ
    δ^l = σ′(z^l) ⊙ (W^{l+1})ᵀ δ^{l+1}
    ∂C/∂w^l_ij = δ^l_i a^{l−1}_j,   ∂C/∂b^l_i = δ^l_i

The recursion is written out in NumPy below; the engine gets the same numbers from
``backward()`` on the recorded graph of the forward pass alone. Since σ′ ≤ ¼, every step back
also obeys ‖δ^l‖ ≤ ¼ ‖W^{l+1}‖₂ ‖δ^{l+1}‖ — the feed-forward form of the shrinking that
bptt-by-hand and vanishing-gradients show through time.
"""

from __future__ import annotations

import numpy as np

import tinygrad_rnn as tg

from .common import Summary, parser, pyplot, save, setup


def sigma(z):
    return 1 / (1 + np.exp(-z))


def random_net(sizes, rng):
    """Weights W^l (n_l × n_{l−1}) and biases b^l, float64."""
    return [(rng.standard_normal((m, n)) / np.sqrt(n), 0.1 * rng.standard_normal(m))
            for n, m in zip(sizes[:-1], sizes[1:])]


def by_hand(net, x, target):
    """The notes' forward pass, then δ^L, δ^{L−1}, …, δ^1 and ∂C/∂W^l = δ^l (a^{l−1})ᵀ."""
    a, zs = [x], []
    for W, b in net:
        zs.append(W @ a[-1] + b)
        a.append(sigma(zs[-1]))
    cost = 0.5 * np.sum((a[-1] - target) ** 2)
    d_sigma = [sigma(z) * (1 - sigma(z)) for z in zs]
    deltas = [d_sigma[-1] * (a[-1] - target)]                        # δ^L
    for k in range(len(net) - 2, -1, -1):                            # δ^l from δ^{l+1}
        deltas.insert(0, d_sigma[k] * (net[k + 1][0].T @ deltas[0]))
    grads = [(np.outer(d, a_prev), d) for d, a_prev in zip(deltas, a[:-1])]
    return cost, deltas, grads


def by_autograd(net, x, target, device=None):
    """The same forward pass on Tensors; backward() gives ∂C/∂W, ∂C/∂b and (retained) ∂C/∂z."""
    params = [(tg.tensor(W, dtype="float64", device=device, requires_grad=True, name=f"W{k + 1}"),
               tg.tensor(b, dtype="float64", device=device, requires_grad=True, name=f"b{k + 1}"))
              for k, (W, b) in enumerate(net)]
    a = tg.tensor(x, dtype="float64", device=device)
    zs = []
    for W, b in params:
        z = W @ a + b
        z.retain_grad()
        zs.append(z)
        a = z.sigmoid()
    cost = 0.5 * ((a - tg.tensor(target, dtype="float64", device=device)) ** 2).sum()
    cost.backward()
    return (cost.item(), [z.grad.numpy() for z in zs],
            [(W.grad.numpy(), b.grad.numpy()) for W, b in params], params)


def main(argv=None) -> Summary:
    args = parser("feedforward-backprop", __doc__.splitlines()[0]).parse_args(argv)
    out = setup(args)
    s = Summary("feedforward-backprop")
    rng = np.random.default_rng(args.seed)
    n_nets, sizes = (5, [6, 8, 8, 8, 3]) if args.quick else (200, [10, 16, 16, 16, 16, 16, 4])
    worst_grad = worst_delta = worst_cost = 0.0
    bound_ok, ratios = True, []
    for _ in range(n_nets):
        net = random_net(sizes, rng)
        x, target = rng.standard_normal(sizes[0]), rng.random(sizes[-1])
        cost, deltas, grads = by_hand(net, x, target)
        cost_ag, deltas_ag, grads_ag, _ = by_autograd(net, x, target, args.device)
        worst_cost = max(worst_cost, abs(cost - cost_ag))
        worst_delta = max(worst_delta, max(np.abs(d - e).max() for d, e in zip(deltas, deltas_ag)))
        worst_grad = max(worst_grad, max(max(np.abs(gw - hw).max(), np.abs(gb - hb).max())
                                         for (gw, gb), (hw, hb) in zip(grads, grads_ag)))
        norms = [np.linalg.norm(d) for d in deltas]
        for k in range(len(net) - 1):  # ‖δ^l‖ ≤ ¼ ‖W^{l+1}‖₂ ‖δ^{l+1}‖
            bound = 0.25 * np.linalg.norm(net[k + 1][0], 2) * norms[k + 1]
            bound_ok &= bool(norms[k] <= bound * (1 + 1e-12))
        ratios.append([n / norms[-1] for n in norms])
    print(f"{n_nets} random sigmoid nets, layer sizes {sizes}")
    print(f"max |C by hand − C by autograd|       = {worst_cost:.2e}")
    print(f"max |δ^l by hand − ∂C/∂z^l autograd|  = {worst_delta:.2e}")
    print(f"max |∂C/∂w by hand − autograd|        = {worst_grad:.2e}")
    s.claim("δ^l by the notes' recursion equals autograd's ∂C/∂z^l (float64)",
            f"max difference {worst_delta:.1e} over {n_nets} nets", worst_delta < 1e-10)
    s.claim("∂C/∂w_ij = δ_i a_j and ∂C/∂b_i = δ_i equal autograd's gradients",
            f"max difference {worst_grad:.1e}", worst_grad < 1e-10)
    s.claim("every step back obeys ‖δ^l‖ ≤ ¼ ‖W^{l+1}‖₂ ‖δ^{l+1}‖ (σ′ ≤ ¼)",
            "held for all layers of all nets" if bound_ok else "violated", bound_ok)

    # The engine's gradients themselves against central differences (float64).
    net = random_net(sizes, rng)
    x, target = rng.standard_normal(sizes[0]), rng.random(sizes[-1])
    _, _, _, params = by_autograd(net, x, target, args.device)
    flat = [p for pair in params for p in pair]
    xt = tg.tensor(x, dtype="float64", device=args.device)
    tt = tg.tensor(target, dtype="float64", device=args.device)

    def cost_of(*ps):
        a = xt
        for k in range(0, len(ps), 2):
            a = (ps[k] @ a + ps[k + 1]).sigmoid()
        return 0.5 * ((a - tt) ** 2).sum()

    try:
        ok, why = tg.gradcheck(cost_of, flat, directions=None if args.quick else 20), "passed"
    except tg.GradcheckError as e:
        ok, why = False, str(e)[:120]
    s.claim("autograd's gradients pass a float64 finite-difference gradcheck", why, ok)

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    r = np.array(ratios)
    layers = np.arange(1, len(sizes))
    ax.semilogy(layers, r.T, color="tab:blue", alpha=0.15, lw=0.8)
    ax.semilogy(layers, np.exp(np.log(r).mean(0)), "o-", color="k", label="geometric mean")
    ax.set(title="‖δ^l‖ / ‖δ^L‖: the error signal shrinks going back", xlabel="layer l",
           ylabel="relative size of δ^l", xticks=layers)
    ax.legend()
    save(fig, out, "feedforward_backprop.png", s)
    s.print()
    return s


if __name__ == "__main__":
    main()

"""Handwriting generation: an LSTM with a mixture-density output writes pen strokes (notes 004).

The notes (004 L263-269, Graves 2013): "Input: character sequence. Targets: real values
describing the motion of the pen." The data here are made by a program, no download: four
glyphs (O, V, Z and +, the + written in two strokes) drawn with random size, slant and jitter,
each as 20 pen steps x_t = (Δx_t, Δy_t, e_t), e_t = 1 where the pen lifts after the step. An
LSTM reads x_1 … x_{t−1} and outputs, for x_t, the parameters ŷ_t of

    p(x_t | x_<t) = Σ_k π_k N(Δx, Δy | μ_k, σ_k, ρ_k) · (e if e_t = 1 else 1 − e)

(``nn.functional.mixture_density_nll``: K bivariate Gaussians plus a Bernoulli pen-up). It is
trained by teacher forcing on −log p, and sampled step by step, each sample fed back. Two
steps, as in the notes:

1. unconditioned: the network must also guess which glyph it is writing, so the first
   offsets are multimodal (a circle starts left, a Z right) — a mixture of K = 3 Gaussians
   against a single Gaussian (K = 1) on the same data, budget and steps. Claim: the mixture's
   test negative log-likelihood per step ends below the single Gaussian's.
2. conditioned on the glyph: the one-hot glyph is an extra input at every step (the context
   as a bias, notes 001 §6.3). Claim: the samples are recognisable as the requested glyph —
   a nearest-template classifier (Chamfer distance to each glyph drawn cleanly, checked on
   real drawings first) names the requested glyph, written in its number of strokes (one pen
   lift for the +), for at least 80 % of them (chance 25 %).

Samples are drawn with Graves' bias b (σ → σ e^{−b}, π ∝ π^{1+b}) for cleaner strokes, and
the pen lifts where e > 0.5. The input is one glyph, not a character sequence: Graves' soft
window that moves along a text is not built here.
"""

from __future__ import annotations

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.nn import functional as F

from .common import Summary, parser, progress, run_jobs, save, setup, subplots

STEPS = 20
SCALE = 10.0  # glyphs 10 units tall: offsets of order 1, inputs the LSTM feels (Graves normalises)
GLYPHS = {  # strokes as polylines in the unit box (y up)
    "O": [[(0.5 + 0.5 * np.cos(a), 0.5 + 0.5 * np.sin(a))
           for a in np.linspace(np.pi / 2, np.pi / 2 + 2 * np.pi, 13)]],
    "V": [[(0, 1), (0.5, 0), (1, 1)]],
    "Z": [[(0, 1), (1, 1), (0, 0), (1, 0)]],
    "+": [[(0, 0.5), (1, 0.5)], [(0.5, 1), (0.5, 0)]],
}
NAMES = list(GLYPHS)


def resample(stroke: np.ndarray, n: int) -> np.ndarray:
    """n points evenly spaced by arc length along a polyline."""
    seg = np.linalg.norm(np.diff(stroke, axis=0), axis=1)
    s = np.concatenate([[0], np.cumsum(seg)])
    at = np.linspace(0, s[-1], n)
    return np.stack([np.interp(at, s, stroke[:, 0]), np.interp(at, s, stroke[:, 1])], axis=1)


def draw(glyph: str, rng) -> np.ndarray:
    """One handwritten glyph as STEPS pen steps (Δx, Δy, pen lifts after this step)."""
    strokes = [np.array(s, float) for s in GLYPHS[glyph]]
    # each glyph is written in one order and direction: an O starts left, a V goes down, a Z
    # right, a + right then down — so the unconditioned writer's first steps are multimodal
    # (which glyph?). Random directions made that multimodal at every glyph's start as well,
    # but the conditioned writer then drew narrow O's and flat Z's in our budget.
    lengths = np.array([np.linalg.norm(np.diff(s, axis=0), axis=1).sum() for s in strokes])
    counts = np.maximum(2, np.round(lengths / lengths.sum() * (STEPS + 1)).astype(int))
    counts[-1] = STEPS + 1 - counts[:-1].sum()
    points, lift = [], []
    for s, c in zip(strokes, counts):
        p = resample(s, c)
        points.append(p)
        lift += [0] * (c - 1) + [1]
    pts = np.concatenate(points)
    scale = rng.uniform(0.8, 1.2, 2)
    slant = rng.uniform(-0.25, 0.25)
    pts = pts * scale
    pts[:, 0] += slant * pts[:, 1]
    pts += rng.normal(0, 0.015, pts.shape)
    steps = np.diff(pts, axis=0) * SCALE          # the first point is the origin: STEPS offsets
    return np.concatenate([steps, np.array(lift[1:], float)[:, None]], axis=1)


def clean(glyph: str) -> np.ndarray:
    """The glyph without jitter, written in its listed order and direction."""
    class Exact:  # draw()'s random draws replaced by "no change"
        def uniform(self, lo, hi, size=None):
            return np.ones(size) if size else 0.0

        def normal(self, mu, sd, shape):
            return np.zeros(shape)
    return draw(glyph, Exact())


def dataset(n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.integers(0, len(NAMES), n)
    return np.stack([draw(NAMES[k], rng) for k in labels]).astype("float32"), labels


class Writer(nn.Module):
    """LSTM over [x_{t−1} ; glyph one-hot (conditioned only)] → ŷ_t (1 + 6K raw parameters)."""

    def __init__(self, K: int, conditioned: bool, hidden: int = 32):
        super().__init__()
        self.K, self.conditioned = K, conditioned
        self.lstm = nn.LSTM(3 + len(NAMES) * conditioned, hidden, batch_first=True)
        self.out = nn.Linear(hidden, 1 + 6 * K)

    def inputs(self, strokes: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """x_0 = 0, then the previous steps; the one-hot glyph beside them when conditioned."""
        prev = np.concatenate([np.zeros_like(strokes[:, :1]), strokes[:, :-1]], axis=1)
        if not self.conditioned:
            return prev
        onehot = np.eye(len(NAMES), dtype="float32")[labels]
        return np.concatenate([prev, np.repeat(onehot[:, None], prev.shape[1], axis=1)], axis=2)

    def forward(self, x: tg.Tensor, hx=None):
        h, state = self.lstm(x, hx)
        return self.out(h), state


def train(K: int, conditioned: bool, data, test, steps: int, seed: int):
    """Adam on −log p with teacher forcing; returns (model, losses, test NLL per step)."""
    tg.manual_seed(seed)
    model = Writer(K, conditioned)
    opt = tg.optim.Adam(model.parameters(), lr=0.01)
    rng = np.random.default_rng(seed)  # the same batches for every model
    losses = []
    for _ in progress(range(steps), desc=f"K={K}{' conditioned' if conditioned else ''}",
                      leave=False):
        i = rng.choice(len(data[0]), 32, replace=False)
        y, _ = model(tg.tensor(model.inputs(data[0][i], data[1][i])))
        loss = F.mixture_density_nll(y, tg.tensor(data[0][i]))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
    with tg.no_grad():
        y, _ = model(tg.tensor(model.inputs(*test)))
        nll = F.mixture_density_nll(y, tg.tensor(test[0])).item()
    return model, losses, nll


def sample(model: Writer, labels: np.ndarray, rng, bias: float = 1.0) -> np.ndarray:
    """Write len(labels) glyphs step by step, each drawn step fed back: (n, STEPS, 3)."""
    n, K = len(labels), model.K
    x = np.zeros((n, 1, 3), "float32")
    onehot = np.eye(len(NAMES), dtype="float32")[labels][:, None]
    state, out = None, []
    with tg.no_grad():
        for _ in range(STEPS):
            inp = np.concatenate([x, onehot], axis=2) if model.conditioned else x
            y, state = model(tg.tensor(inp), state)
            y = y.numpy()[:, 0].astype(float)
            e = 1 / (1 + np.exp(-y[:, 0]))
            pi_hat, mu1, mu2, s1, s2, rho = np.split(y[:, 1:], 6, axis=1)
            logits = pi_hat * (1 + bias)
            pi = np.exp(logits - logits.max(1, keepdims=True))
            pi /= pi.sum(1, keepdims=True)
            k = np.array([rng.choice(K, p=p) for p in pi])
            r = np.arange(n)
            sd1, sd2 = np.exp(s1[r, k] - bias), np.exp(s2[r, k] - bias)
            c = np.tanh(rho[r, k])
            z1, z2 = rng.standard_normal(n), rng.standard_normal(n)
            dx = mu1[r, k] + sd1 * z1
            dy = mu2[r, k] + sd2 * (c * z1 + np.sqrt(1 - c * c) * z2)
            lift = (e > 0.5).astype(float)  # the likelier pen state: no stray lifts
            step = np.stack([dx, dy, lift], axis=1).astype("float32")
            out.append(step)
            x = step[:, None]
    return np.stack(out, axis=1)


def points(strokes: np.ndarray) -> list[np.ndarray]:
    """Pen positions of each drawing, centred and scaled to unit size (for the classifier)."""
    result = []
    for s in strokes:
        p = np.concatenate([[[0, 0]], np.cumsum(s[:, :2], axis=0)])
        p = p - p.mean(0)
        result.append(p / max(np.abs(p).max(), 1e-6))
    return result


def chamfer(a: np.ndarray, b: np.ndarray) -> float:
    d = np.linalg.norm(a[:, None] - b[None], axis=2)
    return float(d.min(1).mean() + d.min(0).mean())


def classify(drawings: list[np.ndarray], templates: list[np.ndarray]) -> np.ndarray:
    """The nearest template (Chamfer distance) of each drawing."""
    return np.array([np.argmin([chamfer(p, t) for t in templates]) for p in drawings])


def n_strokes(strokes: np.ndarray) -> np.ndarray:
    """Strokes per drawing: 1 + the pen lifts that more than one step still follows (a lift
    one step before the end only ends the glyph early; the move after it draws nothing)."""
    return (strokes[:, :-2, 2] > 0.5).sum(axis=1) + 1


def plot_drawing(ax, strokes: np.ndarray, color="k") -> None:
    pos = np.concatenate([[[0, 0]], np.cumsum(strokes[:, :2], axis=0)])
    start = 0
    for t in range(len(strokes)):  # a stroke ends where the pen lifts
        if strokes[t, 2] > 0.5 or t == len(strokes) - 1:
            ax.plot(pos[start:t + 2, 0], pos[start:t + 2, 1], color=color, lw=1.5)
            start = t + 2
    ax.set_aspect("equal")
    ax.axis("off")


def main(argv=None) -> Summary:
    ap = parser("handwriting", __doc__.splitlines()[0], steps=1500)
    ap.add_argument("--bias", type=float, default=1.0, help="Graves' sampling bias b (0: plain sampling)")
    args = ap.parse_args(argv)
    out = setup(args)
    s = Summary("handwriting")
    steps = 500 if args.quick else args.steps
    rng = np.random.default_rng(args.seed)
    data, test = dataset(2000, rng), dataset(400, rng)
    # the classifier's templates: each glyph drawn cleanly (Chamfer distance ignores the order
    # and direction of the strokes); checked on real drawings first
    templates = points(np.stack([clean(g) for g in NAMES]))
    want_strokes = np.array([len(GLYPHS[g]) for g in NAMES])

    def recognised(strokes, labels):  # the nearest template, written in as many strokes
        return (classify(points(strokes), templates) == labels) & \
            (n_strokes(strokes) == want_strokes[labels])
    real = float(recognised(*test).mean())
    print(f"{len(NAMES)} glyphs {NAMES}, {STEPS} pen steps each; LSTM 32, Adam 0.01, batch 32, "
          f"{steps} steps per model\nnearest-template classifier on real test drawings: {real:.3f}")
    s.claim("the glyph classifier recognises real drawings (≥ 95 %)", f"{real:.3f}", real >= 0.95)

    runs = {"K = 1": (1, False), "K = 3": (3, False), "K = 3, conditioned": (3, True)}
    results = dict(zip(runs, run_jobs(train, [(K, cond, data, test, steps, args.seed)
                                              for K, cond in runs.values()])))
    for name, (_, losses, nll) in results.items():
        print(f"{name:20s} test −log p per glyph step {nll:7.3f}  (training, last 50: "
              f"{np.mean(losses[-50:]):.3f})")
    nll1, nll3 = results["K = 1"][2], results["K = 3"][2]
    s.claim("unconditioned, the mixture (K = 3) ends with a lower test NLL than a single "
            "Gaussian (K = 1)", f"{nll3:.3f} vs {nll1:.3f} nats per step", nll3 < nll1)

    writer = results["K = 3, conditioned"][0]
    n_each = 25
    asked = np.repeat(np.arange(len(NAMES)), n_each)
    samples = sample(writer, asked, np.random.default_rng(args.seed + 1), args.bias)
    ok = recognised(samples, asked)
    per = {NAMES[g]: float(ok[asked == g].mean()) for g in range(len(NAMES))}
    acc = float(ok.mean())
    print("conditioned samples named as requested: " + ", ".join(f"{k} {v:.2f}" for k, v in per.items()))
    s.claim("conditioned samples are recognisable as the requested glyph (the nearest template "
            "and its number of strokes, for ≥ 80 %; chance 25 %)", f"{acc:.3f} of {len(asked)}",
            acc >= 0.8)
    free = sample(results["K = 3"][0], np.zeros(8, int), np.random.default_rng(args.seed + 2), args.bias)

    cols = 8
    fig, ax = subplots(len(NAMES) + 2, cols, figsize=(cols * 1.3, (len(NAMES) + 2) * 1.3))
    for g in range(len(NAMES)):
        for c in range(cols):
            k = g * n_each + c
            plot_drawing(ax[g, c], samples[k], "C0" if ok[k] else "C3")
        ax[g, 0].set_title(f"asked {NAMES[g]}", fontsize=8, loc="left")
    for c in range(cols):
        plot_drawing(ax[len(NAMES), c], free[c], "C2")
        plot_drawing(ax[len(NAMES) + 1, c], test[0][c], "0.4")
    ax[len(NAMES), 0].set_title("unconditioned K = 3", fontsize=8, loc="left")
    ax[len(NAMES) + 1, 0].set_title("training data", fontsize=8, loc="left")
    fig.suptitle("conditioned samples (blue: recognised, red: not)", fontsize=9)
    save(fig, out, "handwriting_samples.png", s)
    fig, ax = subplots(figsize=(7, 4))
    for name, (_, losses, nll) in results.items():
        smooth = np.convolve(losses, np.ones(20) / 20, mode="valid")
        ax.plot(range(19, len(losses)), smooth, label=f"{name} (test {nll:.2f})")
    ax.set(title="−log p per pen step", xlabel="step", ylabel="training NLL (20-step mean)")
    ax.legend(fontsize=8)
    save(fig, out, "handwriting_nll.png", s)
    s.print()
    return s


if __name__ == "__main__":
    main()

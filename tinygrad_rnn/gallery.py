"""The committed gallery in ``graphs/``: ``tinygrad-rnn render --gallery graphs/`` (``make graphs``).

Each entry builds a small model with a fixed seed, runs it (and backward, for the gradient
pictures, inside ``record_messages()``), captures the graph and writes ``NAME.dot``,
``NAME.svg`` and a ``NAME.png`` preview. The same code gives the same bytes every time.
"""

from __future__ import annotations

from pathlib import Path

import tinygrad_rnn as tg
from tinygrad_rnn import explore, nn
from tinygrad_rnn.errors import GraphvizNotFound
from tinygrad_rnn.graph import Graph
from tinygrad_rnn.tied import check_tied_gradient

F64 = "float64"


def _captured(outputs, backward_from=None) -> Graph:
    if backward_from is None:
        return tg.graph(outputs)
    with tg.record_messages() as messages:
        backward_from.backward()
    return tg.graph(outputs, messages=messages)


def notes_rnn(T: int = 4, hidden: int = 3, vocab: int = 4):
    """The notes' RNN LM: h_t = tanh(W h_{t−1} + U x_t), ŷ_t = softmax(V h_t), C = Σ_t C(t)."""
    tg.manual_seed(1)
    W = tg.randn(hidden, hidden, dtype=F64, requires_grad=True, name="W")
    U = tg.randn(hidden, vocab, dtype=F64, requires_grad=True, name="U")
    V = tg.randn(vocab, hidden, dtype=F64, requires_grad=True, name="V")
    h = tg.full((hidden,), 0.1, dtype=F64, name="h_0")
    costs = []
    for t in range(1, T + 1):
        with tg.scope(f"t={t}"):
            x = tg.zeros(vocab, dtype=F64, name="x_t")
            x[t % vocab] = 1.0  # one-hot word
            h = (W @ h + U @ x).tanh()
            h.name = "h_t"
            cost = nn.functional.cross_entropy((V @ h).reshape(1, vocab), [(t + 1) % vocab])
            cost.name = f"C({t})"
            costs.append(cost)
    total = costs[0]
    for c in costs[1:]:
        total = total + c
    total.name = "C"
    return total, W


RNN_GRADIENTS_TITLE = ("The notes' RNN after backward, one box per quantity: colour = ‖∂C/∂node‖; "
                       "W, U, V arrows show each step's contribution")
RNN_GRADIENTS_VIEW = "block"  # the flagship picture (demos/tour.py draws the same)


def _loss_of(out: tg.Tensor) -> tg.Tensor:
    loss = (out * out).sum()
    loss.name = "L"
    return loss


def lstm_cell() -> Graph:
    """One LSTM step expanded: the four gates, c_t = f ⊙ c_{t−1} + i ⊙ g, h_t = o ⊙ tanh(c_t)."""
    tg.manual_seed(2)
    cell = nn.LSTMCell(3, 2).double()
    x = tg.randn(1, 3, dtype=F64, name="x_t")
    h_prev = tg.randn(1, 2, dtype=F64, name="h_prev")
    c_prev = tg.randn(1, 2, dtype=F64, name="c_prev")
    with tg.scope("lstm"), tg.scope("t=1"):
        h, c = cell(x, (h_prev, c_prev))
    return tg.graph([h, c])


def gru_cell() -> Graph:
    """One GRU step expanded: reset and update gates, candidate n, h_t = (1 − z) n + z h_{t−1}."""
    tg.manual_seed(3)
    cell = nn.GRUCell(3, 2).double()
    x = tg.randn(1, 3, dtype=F64, name="x_t")
    h_prev = tg.randn(1, 2, dtype=F64, name="h_prev")
    with tg.scope("gru"), tg.scope("t=1"):
        h = cell(x, h_prev)
    return tg.graph(h)


def layered(T: int = 4, **options) -> Graph:
    """nn.RNN over T steps (bidirectional or deep), with a loss on every output."""
    tg.manual_seed(4)
    rnn = nn.RNN(2, 3, **options).double()
    out, _ = rnn(tg.randn(T, 2, dtype=F64, name="x"))
    loss = _loss_of(out)
    return _captured(loss, loss)


def lstm_layer(T: int = 4) -> Graph:
    """nn.LSTM(3, 4) over T steps, L = Σ_t ‖h_t‖², after backward."""
    tg.manual_seed(10)
    lstm = nn.LSTM(3, 4).double()
    out, _ = lstm(tg.randn(T, 1, 3, dtype=F64, name="x"))
    loss = _loss_of(out)
    return _captured(loss, loss)


def tanh_vs_lstm(T: int = 30) -> Graph:
    """A tanh RNN and an LSTM read the same 30 inputs; the loss sees only the last output."""
    tg.manual_seed(5)
    x = tg.randn(T, 1, 4, dtype=F64, name="x")
    rnn, lstm = nn.RNN(4, 8).double(), nn.LSTM(4, 8).double()
    with tg.no_grad():  # a forget-gate bias of 1, the usual LSTM init, keeps its memory open
        lstm.bias_ih_l0.data[8:16] = 1.0
    losses = []
    for model in (rnn, lstm):
        out, _ = model(x)
        losses.append(_loss_of(out[-1]))
    total = losses[0] + losses[1]
    return _captured(losses, total)


def shared_weight(T: int = 4):
    """A scalar RNN h_t = tanh(w h_{t−1} + x_t): w gets one message per step; .grad is their sum."""
    tg.manual_seed(6)
    w = tg.tensor(0.9, dtype=F64, requires_grad=True, name="w")
    h = tg.tensor(0.5, dtype=F64, name="h_0")
    for t in range(1, T + 1):
        with tg.scope(f"t={t}"):
            h = (w * h + tg.tensor(0.3 * t, dtype=F64, name="x_t")).tanh()
            h.name = "h_t"
    loss = h * h
    loss.name = "C"
    with tg.record_messages() as messages:
        loss.backward()
    return tg.graph(loss, messages=messages), check_tied_gradient(w, messages)


def seq2seq_attention(source=(1, 2, 3), target=(3, 1), hidden: int = 2, vocab: int = 4):
    """The notes' encoder–decoder with Bahdanau attention, written out: 3 encoder steps,
    2 decoder steps, and an attention edge from every h_j into every decoder step.

    h_j = tanh(W h_{j−1} + U x_j);  e_ij = v_aᵀ tanh(W_a s_{i−1} + U_a h_j),
    α_i = softmax(e_i), c_i = Σ_j α_ij h_j;  s_i = tanh(W_s s_{i−1} + U_s y_{i−1} + C_s c_i),
    C = Σ_i −log softmax(V s_i)[y_i], with s_0 = h_T and y_0 the start symbol 0."""
    tg.manual_seed(8)

    def weight(name, *shape):
        return tg.randn(*shape, dtype=F64, requires_grad=True, name=name)

    W, U = weight("W", hidden, hidden), weight("U", hidden, vocab)
    W_a, U_a, v_a = weight("W_a", hidden, hidden), weight("U_a", hidden, hidden), weight("v_a", hidden)
    W_s, U_s, C_s = weight("W_s", hidden, hidden), weight("U_s", hidden, vocab), weight("C_s", hidden, hidden)
    V = weight("V", vocab, hidden)

    def one_hot(k, name):
        x = tg.zeros(vocab, dtype=F64, name=name)
        x[k] = 1.0
        return x

    annotations, h = [], tg.zeros(hidden, dtype=F64, name="h_0")
    with tg.scope("encoder"):
        for j, word in enumerate(source, start=1):
            with tg.scope(f"t={j}"):
                h = (W @ h + U @ one_hot(word, "x_j")).tanh()
                h.name = "h_j"
                annotations.append(h)
    s, y_prev, costs = annotations[-1], 0, []
    with tg.scope("decoder"):
        for i, y in enumerate(target, start=1):
            with tg.scope(f"t={i}"):
                with tg.scope("attention"):
                    Ws = W_a @ s
                    e = tg.stack([v_a @ (Ws + U_a @ h_j).tanh() for h_j in annotations])
                    e.name = "e_ij"
                    alpha = e.softmax(-1)
                    alpha.name = "alpha"
                    c = alpha @ tg.stack(annotations)
                    c.name = "c_i"
                s = (W_s @ s + U_s @ one_hot(y_prev, "y_prev") + C_s @ c).tanh()
                s.name = "s_i"
                cost = nn.functional.cross_entropy((V @ s).reshape(1, vocab), [y])
                cost.name = f"C({i})"
                costs.append(cost)
                y_prev = y
    total = costs[0]
    for c in costs[1:]:
        total = total + c
    total.name = "C"
    return _captured(total, total)


def recursive_net(tree: str = "((the cat) (sat down))"):
    """A recursive net over a parse tree: p = tanh(W [c_left ; c_right] + b) at every internal
    node, one W for all; the root's class costs C = −log softmax(W_s p_root + b_s)[1]."""
    tg.manual_seed(9)
    model = nn.RecursiveNN(["the", "cat", "sat", "down"], 2, num_classes=2).double()
    with tg.record_messages() as messages:
        root, _ = model(tree)
        cost = nn.functional.cross_entropy(model.classifier(root), [1])
        cost.name = "C"
        cost.backward()
    per_node = sorted((consumer.scope.split("/")[-1], g)
                      for consumer, _, _, g in messages.to(model.W.node))  # one per composition
    return tg.graph(cost, messages=messages), per_node, model.W.grad.numpy()


def clockwork(T: int = 8, periods=(1, 2, 4)) -> Graph:
    """nn.ClockworkRNN(2, 3, periods) over T steps, one unit per module, L = Σ_t ‖h_t‖²:
    module k updates only when (t − 1) mod T_k = 0, so module2 (T = 4) has a box at t = 1 and
    t = 5 only, joined by one arrow across the steps between."""
    tg.manual_seed(11)
    model = nn.ClockworkRNN(2, len(periods), periods=periods).double()
    h_0 = tg.full((1, 1, len(periods)), 0.1, dtype=F64, requires_grad=True, name="h_0")
    out, _ = model(tg.randn(T, 1, 2, dtype=F64, name="x"), h_0)
    loss = _loss_of(out)
    return _captured(loss, loss)


def scrn(T: int = 6, alpha: float = 0.95) -> Graph:
    """nn.SCRN(2, 2, context_size=2, alpha) over T steps, the loss at the last step only,
    L = ‖h_T‖² + ‖s_T‖²: the slow context s_t = (1 − α) B x_t + α s_{t−1} passes the gradient
    back by α per step, the fast h_t = σ(P s_t + A x_t + R h_{t−1}) by σ′ R."""
    tg.manual_seed(12)
    model = nn.SCRN(2, 2, 2, alpha=alpha).double()
    _, (h_n, s_n) = model(tg.randn(T, 1, 2, dtype=F64, name="x"))
    loss = (h_n * h_n).sum() + (s_n * s_n).sum()
    loss.name = "L"
    return _captured(loss, loss)


def skip_rnn(T: int = 6, skip: int = 2) -> Graph:
    """nn.SkipRNN(2, 2, skip=d) over T steps, the loss at the last step only, L = ‖h_T‖²:
    h_t = tanh(W_ih x_t + W_hh h_{t−1} + W_skip h_{t−d} + b), so h_{t−d} → h_t arrows jump."""
    tg.manual_seed(13)
    model = nn.SkipRNN(2, 2, skip=skip).double()
    _, h_n = model(tg.randn(T, 1, 2, dtype=F64, name="x"))
    loss = _loss_of(h_n)
    return _captured(loss, loss)


def state_grad_norm(g: Graph, name: str, step: int) -> float:
    """‖∂L/∂name‖ at time step ``step`` (the named state's node, e.g. "s_t" at t = 1)."""
    (n,) = [n for n in g.nodes if n.name == name and n.step == step]
    return n.grad.norm


def entries() -> list[tuple[str, Graph, dict]]:
    """(name, graph, to_dot options) for every picture of the gallery."""
    forward = tg.graph(notes_rnn()[0])
    total, _ = notes_rnn()
    with_grads = _captured(total, total)
    shared, check = shared_weight()
    sums = "  ".join(f"t={s}: {c.item():+.4f}" for s, c in zip(check.steps, check.contributions))
    tree, per_node, W_grad = recursive_net()
    node_norms = "  ".join(f"{k}: {float((g * g).sum()) ** 0.5:.4f}" for k, g in per_node)
    node_sum = sum(g for _, g in per_node)
    context = scrn()
    return [
        ("rnn_unrolled_gradients", with_grads, dict(view=RNN_GRADIENTS_VIEW,
                                                    title=RNN_GRADIENTS_TITLE)),
        ("rnn_unrolled", forward, dict(view="block", title="The notes' RNN unrolled over 4 "
                                       "steps: h_t = tanh(W h_{t−1} + U x_t), C = Σ_t C(t)")),
        ("lstm_block", lstm_layer(), dict(
            view="block", title="nn.LSTM over 4 steps, block view: a step's gates stacked in its "
            "column; c_{t−1} → c_t and h_{t−1} → h_t carry the memory")),
        ("rnn_rolled", forward, dict(view="rolled", title="The same RNN rolled: one cell and its "
                                     "recurrence t−1 → t")),
        ("lstm_cell", lstm_cell(), dict(view="unrolled", title="One LSTM cell expanded into its "
                                        "gates")),
        ("gru_cell", gru_cell(), dict(view="unrolled", title="One GRU cell expanded into its "
                                      "gates")),
        ("birnn", layered(bidirectional=True), dict(view="block", title="Bidirectional RNN: "
                                                    "a forward and a backward lane")),
        ("deep_rnn", layered(num_layers=2), dict(view="block", title="A 2-layer deep RNN: "
                                                 "layer 1's input is layer 0's h_1 … h_4, "
                                                 "stacked")),
        ("tanh_vs_lstm_30", tanh_vs_lstm(), dict(view="collapsed", grad_range=(1e-8, 1e0),
                                                 first_last=3,
                                                 title="30 steps (the first and last 3 drawn), "
                                                 "loss at the last: the tanh RNN's ‖∂L/∂h_t‖ "
                                                 "fades going back; the LSTM's does not")),
        ("shared_weight", shared, dict(view="unrolled", title=f"∂C/∂w = Σ_t ∂C/∂w_t: {sums}  "
                                       f"Σ = {check.total.item():+.4f} = w.grad")),
        ("seq2seq_attention", seq2seq_attention(), dict(
            view="block", title="Encoder–decoder with Bahdanau attention: 3 encoder steps "
            "h_j, 2 decoder steps s_i; every h_j feeds every step's scores e_ij and context "
            "c_i = Σ_j α_ij h_j")),
        ("recursive_net", tree, dict(  # collapsed: one box per tree node, so the tree shows
            view="collapsed", title=f"Recursive net over ((the cat) (sat down)), one box per "
            f"node: W composes at nodes 2, 5, 6; ‖∂C/∂W_node‖ {node_norms}; ‖Σ_nodes‖ = "
            f"{float((node_sum * node_sum).sum()) ** 0.5:.4f}, ‖W.grad‖ = "
            f"{float((W_grad * W_grad).sum()) ** 0.5:.4f}")),
        ("clockwork_rnn", clockwork(), dict(
            view="block", title="nn.ClockworkRNN(2, 3, periods=(1, 2, 4)) over 8 steps, one unit "
            "per module: module k updates when (t−1) mod T_k = 0 and keeps its state otherwise, "
            "so module2 (T=4) jumps t=1 → t=5 in one arrow")),
        ("scrn", context, dict(
            view="block", title="nn.SCRN(2, 2, context_size=2, α=0.95), loss at t=6 only: "
            "going back, the slow context s_t = (1−α) B x_t + α s_{t−1} keeps its gradient "
            f"(‖∂L/∂s_1‖ = {state_grad_norm(context, 's_t', 1):.2g}), the fast h_t loses it "
            f"(‖∂L/∂h_1‖ = {state_grad_norm(context, 'h_t', 1):.2g})")),
        ("skip_rnn", skip_rnn(), dict(
            view="block", gradients=False, title="nn.SkipRNN(2, 2, skip=2): h_t hears h_{t−1} "
            "(straight red arrows) and h_{t−2} (the arcs below), so a path back k steps needs "
            "only ⌈k/2⌉ Jacobians")),
    ]


def explorer():
    """The gallery's explorer page: an 8-step nn.LSTM (``tinygrad-rnn explore --steps 8``)."""
    return model_explorer("lstm", input_size=3, hidden_size=4, steps=8)


# the screenshot: collapsed, the last step open, backward two-fifths played (t = 8..6 arrived)
EXPLORER_SHOT = "#view=collapsed&open=t8&k={k}"


def render_explorer(directory: str | Path) -> list[Path]:
    """``explorer.html`` and, where Chromium is installed, ``explorer.png`` (a screenshot)."""
    from tinygrad_rnn import browser
    page = explorer()
    path = page.save(Path(directory) / "explorer.html")
    if browser.chromium() is None:
        print("explorer.png: no Chromium to take the screenshot (apt-get install chromium)")
        return [path]
    shot = browser.screenshot(path, Path(directory) / "explorer.png",
                              EXPLORER_SHOT.format(k=len(page.graph.backward_log) * 2 // 5),
                              size="1900,560")
    return [path, shot]


def render_gallery(directory: str | Path) -> list[Path]:
    """Write every gallery picture into ``directory`` (.dot, .svg and a .png preview), and
    the explorer page with its screenshot."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, g, options in entries():
        try:
            written.append(g.render(directory / name, format="svg", **options))
            written.append(g.render(directory / name, format="png", **options))
            print(f"wrote {directory / name}.dot, .svg, .png")
        except GraphvizNotFound as err:  # the .dot is written all the same
            print(f"{name}: {err}")
            written.append(directory / f"{name}.dot")
    written += render_explorer(directory)
    print(f"wrote {directory / 'explorer.html'}")
    return written


MODELS = ("lstm", "gru", "rnn")


def model_explorer(model: str = "lstm", input_size: int = 3, hidden_size: int = 4, steps: int = 10,
                   batch: int = 1, num_layers: int = 1, bidirectional: bool = False,
                   seed: int = 0) -> explore.Explorer:
    """The explorer of an ``nn.LSTM``/``nn.GRU``/``nn.RNN`` of the given sizes run over ``steps``
    random inputs, with the loss L = Σ_t ‖h_t‖² (what ``tinygrad-rnn explore`` writes)."""
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, not {model!r}")
    for what, v in (("input_size", input_size), ("hidden_size", hidden_size), ("steps", steps),
                    ("batch", batch), ("num_layers", num_layers)):
        if not isinstance(v, int) or v < 1:
            raise ValueError(f"{what} must be a positive whole number, got {v!r}")
    tg.manual_seed(seed)
    layer = getattr(tg.nn, model.upper())(input_size, hidden_size, num_layers=num_layers,
                                          bidirectional=bidirectional)
    x = tg.randn(steps, batch, input_size, name="x")
    out, _ = layer(x)
    loss = (out * out).sum()
    loss.name = "L"
    with tg.record_messages() as messages:
        loss.backward(retain_graph=True)  # keeps the values the hover shows
    title = (f"nn.{model.upper()}({input_size}, {hidden_size}, num_layers={num_layers}"
             f"{', bidirectional=True' if bidirectional else ''}) over {steps} steps, "
             f"L = Σ_t ‖h_t‖²")
    return explore.Explorer(tg.graph(loss, messages=messages), title=title)

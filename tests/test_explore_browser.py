"""The explorer in a real browser: headless Chromium opens the page, whose self-test clicks,
hovers and moves the slider through the DOM and writes what it saw into the page; the test
reads it back (``--dump-dom``) with Chromium's console log. Skipped where no Chromium can be
had (``make chromium`` installs it where apt-get works)."""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import browser
from tinygrad_rnn.explore import Explorer
from tinygrad_rnn.gallery import model_explorer

pytestmark = pytest.mark.skipif(browser.chromium() is None,
                                reason="no Chromium to open the explorer in (apt-get install "
                                       "chromium, or make chromium)")


def sci(v: float) -> str:
    """What the page prints: JavaScript's toExponential(3), exponent without padding."""
    mantissa, exponent = f"{v:.3e}".split("e")
    return f"{mantissa}e{int(exponent)}"


@pytest.fixture(scope="module")
def lstm_page(tmp_path_factory):
    T = 5
    tg.manual_seed(0)
    lstm = tg.nn.LSTM(3, 4)
    out, _ = lstm(tg.randn(T, 2, 3))
    loss = (out * out).sum()
    with tg.record_messages() as messages:
        loss.backward()
    g = tg.graph(loss, messages=messages)
    path = g.to_html(tmp_path_factory.mktemp("explorer") / "lstm.html")
    seen, console = browser.self_test(path)
    return dict(g=g, lstm=lstm, T=T, seen=seen, console=console, path=path)


def test_it_loads_with_no_errors_and_no_requests(lstm_page):
    seen = lstm_page["seen"]
    assert "error" not in seen, seen.get("error")
    assert seen["errors"] == [] and lstm_page["console"] == []
    assert seen["resources"] == []   # the page asked for nothing over any network
    assert seen["svg"].startswith("<svg")  # export SVG


def test_a_request_would_be_seen(tmp_path):
    """The check above can fail: a page that does try to fetch is caught."""
    page = Explorer(tg.graph((tg.ones(2, requires_grad=True) * 2).sum())).html()
    page = page.replace("<body>", '<body><img src="http://192.0.2.1/x.png">')
    (tmp_path / "leaky.html").write_text(page, encoding="utf-8")
    seen, console = browser.self_test(tmp_path / "leaky.html")
    assert any(e.startswith("blocked: http://192.0.2.1") for e in seen["errors"]), seen["errors"]


def test_expanding_a_step_shows_its_ops_and_folding_hides_them(lstm_page):
    expand = lstm_page["seen"]["expand"]
    assert expand["before"] == 0 and expand["folded"] == 0
    assert expand["after"] >= 16
    assert {"matmul", "sigmoid", "tanh", "mul", "add"} <= set(expand["ops"])


def test_hovering_shows_the_gradient_norm(lstm_page):
    g, T, hover = lstm_page["g"], lstm_page["T"], lstm_page["seen"]["hover"]
    h_T = [n for n in g.named("h_t") if n.step == T][0]
    assert hover["shown"] == "block" and hover["id"] == h_T.id
    assert f"h_t at t={T}" in hover["tip"] and "op: mul" in hover["tip"]
    assert f"‖∂L/∂h_t‖ = {sci(h_T.grad.norm)}" in hover["tip"]
    assert "VJP: ∂x = g ⊙ y, ∂y = g ⊙ x" in hover["tip"]


def test_the_slider_at_the_end_shows_each_weights_grad(lstm_page):
    seen, lstm = lstm_page["seen"], lstm_page["lstm"]
    names = ["W_ih", "W_hh", "b_ih", "b_hh"]
    for name, start, end in zip(names, seen["start"], seen["end"]):
        grad = getattr(lstm, {"W": "weight", "b": "bias"}[name[0]] + name[1:] + "_l0").grad.numpy()
        grad = grad.astype(np.float64)
        expected = f"‖Σ‖ = {sci(np.linalg.norm(grad))}, min {sci(grad.min())}, max {sci(grad.max())}"
        assert start.startswith(name) and "‖Σ‖ = 0" in start and "= .grad ✓" not in start
        assert expected in end and "= .grad ✓" in end
    assert "5 of 5 messages, last from t=1" in seen["end"][1]  # W_hh: one per step, t = T first
    assert seen["bars"] == lstm_page["T"]   # ‖∂L/∂h_t‖ for every step


def test_the_views_switch(lstm_page):
    views = lstm_page["seen"]["views"]
    assert [v["title"].rsplit("·", 1)[1].strip() for v in views.values()] == \
        ["block view", "unrolled view", "rolled view", "collapsed view"]
    assert views["collapsed"]["cells"] >= lstm_page["T"] and views["unrolled"]["cells"] == 0
    assert views["unrolled"]["nodes"] > 2 * views["rolled"]["nodes"] > 0  # 5 steps drawn vs 1
    assert views["rolled"]["loops"] >= 2   # h_{t−1} → h_t and c_{t−1} → c_t
    # block: per step the gates, c_t, h_t and the pre-activation, not its 16 ops
    T = lstm_page["T"]
    assert T * 7 <= views["block"]["nodes"] - 4 < views["unrolled"]["nodes"] - 4 - T * 8


def test_a_100_step_lstm_is_interactive_within_a_second(tmp_path):
    page = model_explorer("lstm", steps=100, hidden_size=16).save(tmp_path / "lstm100.html")
    seen, console = browser.self_test(page)
    assert seen["errors"] == [] and console == []
    assert seen["ready"] < 1000, f"first picture after {seen['ready']} ms"
    assert seen["bars"] == 100 and all("= .grad ✓" in text for text in seen["end"])


@pytest.mark.parametrize("name", ["birnn", "seq2seq_attention", "recursive_net", "shared_weight"])
def test_gallery_graphs_open_without_errors(name, tmp_path):
    from tinygrad_rnn.gallery import entries
    g = {n: graph for n, graph, _ in entries()}[name]
    seen, console = browser.self_test(g.to_html(tmp_path / name))
    assert "error" not in seen, seen.get("error")
    assert seen["errors"] == [] and console == [] and seen["resources"] == []
    assert all("= .grad ✓" in text for text in seen["end"])

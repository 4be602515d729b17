"""The explorer page, read from Python: self-contained (nothing fetched), small, and holding
the backward pass in the order the engine ran it, with each shared weight's running
Σ_t ∂C/∂w_t ending at its ``.grad``. tests/test_explore_browser.py opens it in Chromium."""

import json
import math
import re
import time

import numpy as np
import pytest
from test_graph import captured

import tinygrad_rnn as tg
from tinygrad_rnn.explore import RULES, Explorer
from tinygrad_rnn.gallery import model_explorer


def _lstm(T=5, hidden=4):
    tg.manual_seed(0)
    lstm = tg.nn.LSTM(3, hidden)
    out, _ = lstm(tg.randn(T, 2, 3))
    loss = (out * out).sum()
    with tg.record_messages() as messages:
        loss.backward()
    return tg.graph(loss, messages=messages), lstm


def _data(page: str) -> dict:
    found = re.search(r'<script id="data" type="application/json">(.*?)</script>', page, re.S)
    return json.loads(found.group(1).replace("<\\/", "</"))


def test_the_page_fetches_nothing(tmp_path):
    g, _ = _lstm()
    path = g.to_html(tmp_path / "lstm")
    assert path == tmp_path / "lstm.html"
    page = path.read_text(encoding="utf-8")
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert not re.search(r"<(script|link|img|iframe)[^>]*\s(src|href)=", page)
    assert "@import" not in page and "url(http" not in page and "@font-face" not in page
    # the only URLs are the SVG namespace names, which are never fetched
    assert set(re.findall(r"https?://[^\s\"')]+", page)) <= {"http://www.w3.org/2000/svg"}


def test_the_backward_log_is_the_engines_order_and_states_fill_in_from_T_back():
    g, _ = _lstm(T=6)
    d = Explorer(g).data()
    assert len(d["log"]) == len(g.backward_log) > 0
    last_message = {}
    for k, (_, producer, _) in enumerate(d["log"]):
        last_message[producer] = k
    done = {t: last_message[i] for t, i in d["states"][0].items()}
    assert sorted(done, key=done.get) == [6, 5, 4, 3, 2, 1]  # ∂L/∂h_t completes from t = T back


def test_each_weights_running_sum_ends_at_its_grad():
    g, lstm = _lstm(T=5)
    params = {p["full"]: p for p in Explorer(g).data()["params"]}
    for name in ("weight_hh_l0", "weight_ih_l0", "bias_ih_l0", "bias_hh_l0"):
        grad = getattr(lstm, name).grad.numpy().astype("float64")
        final = params[name]["series"][-1]
        assert final[2:] == pytest.approx([np.linalg.norm(grad), grad.min(), grad.max()], rel=1e-5)
    w_hh = params["weight_hh_l0"]["series"]
    assert [s[1] for s in w_hh] == [5, 4, 3, 2, 1]  # one message per step, t = T first
    assert w_hh[0][2] < w_hh[-1][2]


def test_hover_rules_cover_every_op_of_the_models():
    g, _ = _lstm()
    assert {n.op for n in g.nodes} <= set(RULES)
    assert RULES["tanh"] == "∂x = g ⊙ (1 − y²)" and RULES["matmul"] == "∂X = G Yᵀ, ∂Y = Xᵀ G"


def test_initial_states_and_inputs_are_named_and_placed():
    g, _ = _lstm(T=3)
    nodes = {n[0]: n for n in Explorer(g).data()["nodes"]}
    names = {n[3]: n for n in nodes.values() if n[1] == "input"}
    assert set(names) == {"h_0", "c_0", "input"}
    assert names["h_0"][6] == names["c_0"][6] == "t1"     # drawn in the first step
    assert names["input"][6] == "pre"                     # x goes with its input projection
    assert not [n for n in g.nodes if n.alias_of is not None and n.id in nodes]  # W_hh.T is W_hh


def test_a_100_step_lstm_explorer_is_small_and_quick_to_write(tmp_path):
    start = time.perf_counter()
    page = model_explorer("lstm", steps=100, hidden_size=16).save(tmp_path / "lstm100.html")
    assert time.perf_counter() - start < 20  # the forward, backward and capture included
    assert page.stat().st_size <= 3_000_000
    d = _data(page.read_text(encoding="utf-8"))
    assert d["steps"] == list(range(1, 101)) and len(d["states"][0]) == 100


def test_notes_rnn_and_a_graph_without_gradients():
    g = captured(4)[0]
    d = Explorer(g).data()
    assert [n[3] for n in d["nodes"] if n[1] == "input"].count("x_t") == 4
    forward = Explorer(tg.graph(captured(3)[1]["W_hh"].sum() * 1.0)).data()
    assert forward["log"] == [] and all(p["series"] == [] for p in forward["params"])


def test_jupyter_shows_it_in_an_iframe():
    g, _ = _lstm(T=2)
    shown = g.explorer()._repr_html_()
    assert shown.startswith("<iframe srcdoc=\"&lt;!DOCTYPE html&gt;") and "<script" not in shown


def test_wrong_arguments_say_what_to_do():
    with pytest.raises(TypeError, match="Graph"):
        Explorer("not a graph")
    with pytest.raises(ValueError, match="model must be one of"):
        model_explorer("transformer")
    with pytest.raises(ValueError, match="steps must be a positive"):
        model_explorer(steps=0)


def test_cli_explore_writes_the_page(tmp_path, capsys):
    from tinygrad_rnn.cli import main
    out = tmp_path / "gru.html"
    assert main(["explore", "--model", "gru", "--steps", "4", "--layers", "2", "--out", str(out)]) == 0
    d = _data(out.read_text(encoding="utf-8"))
    assert d["lanes"] == ["gru/l0/fwd", "gru/l1/fwd"] and "nn.GRU(3, 4, num_layers=2)" in d["title"]
    assert f"wrote {out}" in capsys.readouterr().out
    assert main(["explore", "--steps", "-1", "--out", str(out)]) == 2
    assert "steps must be a positive whole number" in capsys.readouterr().err


def test_sizes_of_the_running_sums_match_the_messages():
    g, _ = _lstm(T=4)
    for p in Explorer(g).data()["params"]:
        norms = [s[2] for s in p["series"]]
        assert all(math.isfinite(v) for v in norms) and len(norms) == len(g.param_messages[p["id"]])

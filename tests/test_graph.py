"""Graph capture and its networkx analysis: structure of unrolled RNNs, fan-out, BPTT depth,
per-step gradient norms, and the tied-weight rule ∂C/∂w = Σ_t ∂C/∂w_t on real numbers."""

import networkx as nx
import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.tensor import Node


def vanilla_rnn(T, hidden=3, inputs=2, per_step_loss=True, retain=False):
    """h_t = tanh(W h_{t-1} + U x_t), C_t = (V h_t)², C = Σ_t C_t (float64, notes' names)."""
    tg.manual_seed(0)
    W = tg.randn(hidden, hidden, dtype="float64", requires_grad=True, name="W_hh")
    U = tg.randn(hidden, inputs, dtype="float64", requires_grad=True, name="W_ih")
    V = tg.randn(1, hidden, dtype="float64", requires_grad=True, name="V")
    h = tg.full((hidden,), 0.5, dtype="float64", name="h_0")
    losses, states = [], []
    for t in range(1, T + 1):
        with tg.scope("rnn"), tg.scope(f"t={t}"):
            x = tg.randn(inputs, dtype="float64", name="x_t")
            h = (W @ h + U @ x).tanh()
            h.name = "h_t"
            if retain:
                h.retain_grad()
            states.append(h)
            if per_step_loss or t == T:
                c = ((V @ h) ** 2).sum()
                c.name = "C_t"
                losses.append(c)
    loss = losses[0]
    for c in losses[1:]:
        loss = loss + c
    loss.name = "C"
    return loss, dict(W_hh=W, W_ih=U, V=V), states


def captured(T, **kw):
    loss, params, states = vanilla_rnn(T, **kw)
    with tg.record_messages() as messages:
        loss.backward()
    return tg.graph(loss, messages=messages), params, messages, states


def test_t_step_rnn_has_t_time_steps_and_scopes():
    g, *_ = captured(5)
    assert g.steps == [1, 2, 3, 4, 5]
    counts = g.scope_counts()
    assert [k for k in counts if k.startswith("rnn/")] == [f"rnn/t={t}" for t in range(1, 6)]
    assert counts["rnn/t=3"]["tanh"] == 1 and counts["rnn/t=3"]["matmul"] == 3
    assert g.lanes() == [("rnn",)]


def test_graph_is_a_dag_with_one_node_per_parameter():
    g, *_ = captured(4)
    G = g.to_networkx()
    assert isinstance(G, nx.DiGraph) and nx.is_directed_acyclic_graph(G)
    for name in ("W_hh", "W_ih", "V"):
        assert len(g.named(name)) == 1
        assert G.nodes[g.parameter(name).id]["kind"] == "parameter"


def test_w_hh_feeds_every_step_and_fan_out_equals_T():
    T = 6
    g, *_ = captured(T)
    G = g.to_networkx()
    w = g.parameter("W_hh").id
    assert {G.nodes[c]["step"] for c in G.successors(w)} == set(range(1, T + 1))
    assert g.fan_out() == {"W_hh": T, "W_ih": T, "V": T}


def test_bptt_depth_grows_by_the_same_amount_per_step():
    d4 = captured(4)[0].bptt_depth()
    d8 = captured(8)[0].bptt_depth()
    per_step = (d8["W_hh"] - d4["W_hh"]) / 4
    assert per_step == 3  # add, tanh, the next step's matmul: one step of the recurrence
    assert d8["W_hh"] > d8["V"]


def test_tied_gradient_is_sum_of_step_messages():
    T = 5
    _, params, messages, _ = captured(T)
    for name, p in params.items():
        check = tg.check_tied_gradient(p, messages)
        assert check.steps == list(range(1, T + 1)), name
        assert check.holds(1e-10), (name, check.max_abs_error)
    assert "Σ_t" in str(tg.check_tied_gradient(params["W_hh"], messages))


def test_check_tied_gradient_explains_a_missing_recording():
    loss, params, _ = vanilla_rnn(3)
    loss.backward()
    with pytest.raises(ValueError, match="record_messages"):
        tg.check_tied_gradient(params["W_hh"], tg.modes.MessageRecorder())


def test_step_grad_norms_from_messages_equal_retained_grads():
    g, _, _, states = captured(6, per_step_loss=False, retain=True)
    from_messages = g.step_grad_norms("h_t")
    retained = {t + 1: float(np.linalg.norm(h.grad.numpy())) for t, h in enumerate(states)}
    assert from_messages.keys() == retained.keys()
    for t in retained:
        assert from_messages[t] == pytest.approx(retained[t], rel=1e-12)
    # the same numbers without a recorder, read from the retained grads
    loss, _, states = vanilla_rnn(6, per_step_loss=False, retain=True)
    loss.backward()
    assert tg.graph(loss).step_grad_norms("h_t") == pytest.approx(from_messages, rel=1e-12)


def test_step_grad_norms_default_to_the_state_carried_to_the_next_step():
    g, *_ = captured(4)
    for n in g.nodes:
        if n.name == "h_t":
            n.name = None  # as if the loop had not named its states
    assert g.step_grad_norms("h_t").keys() == {1, 2, 3}  # the last step hands nothing on


def test_step_grad_norms_ask_for_a_lane_when_several_have_states():
    W = tg.randn(2, 2, requires_grad=True, name="W")
    outs = []
    for lane in ("fwd", "bwd"):
        h = tg.ones(2)
        for t in range(2):
            with tg.scope(lane), tg.scope(f"t={t}"):
                h = (W @ h).tanh()
                h.name = "h_t"
        outs.append(h.sum())
    loss = outs[0] + outs[1]
    with tg.record_messages() as m:
        loss.backward()
    g = tg.graph(loss, messages=m)
    with pytest.raises(ValueError, match="lane="):
        g.step_grad_norms()
    assert g.step_grad_norms(lane="bwd").keys() == {0, 1}


def test_capture_changes_nothing_recorded():
    loss, params, _ = vanilla_rnn(4)
    before = []
    stack, seen = [loss.node], set()
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        before.append((n, n.inputs, n.saved, n.name, n.scope, n.watch))
        stack += [p for p in n.inputs if isinstance(p, Node)]
    g = tg.graph(loss)
    g.to_networkx(), g.to_dot(), g.to_dot(view="rolled"), g.to_dot(view="collapsed")
    assert all(n.inputs is i and n.saved is s and n.name == nm and n.scope == sc and n.watch is w
               for n, i, s, nm, sc, w in before)
    loss.backward()
    reference, ref_params, _ = vanilla_rnn(4)
    reference.backward()
    for name in params:
        np.testing.assert_array_equal(params[name].grad.numpy(), ref_params[name].grad.numpy())


def test_capture_walks_long_graphs_without_recursion():
    w = tg.tensor(0.5, requires_grad=True, name="w")
    h = tg.tensor(1.0)
    for t in range(3000):
        with tg.scope(f"t={t}"):
            h = (w * h).tanh()
    g = tg.graph(h)
    assert len(g.steps) == 3000 and g.fan_out() == {"w": 3000}
    assert g.bptt_depth()["w"] == 2 * 3000  # w → mul → tanh → mul → … → tanh


def test_networkx_attributes_and_parallel_edges():
    x = tg.tensor([1.0, -2.0], requires_grad=True, name="x")
    with tg.keep_values():
        y = x * x
    y.name = "y"
    with tg.record_messages() as m:
        y.sum().backward()
    g = tg.graph(y.sum(), messages=None)
    G = tg.graph(y, messages=m).to_networkx()
    xi, yi = 0, 1
    assert G.edges[xi, yi]["indices"] == [0, 1]  # x * x: both slots
    assert G.nodes[yi]["op"] == "mul" and G.nodes[yi]["name"] == "y"
    assert G.nodes[yi]["value_max"] == 4.0 and G.nodes[yi]["value_min"] == 1.0
    assert G.nodes[xi]["grad_norm"] == pytest.approx(np.hypot(2.0, 4.0))
    assert len(g) == 3 and g.outputs[0].op == "sum"


def test_parameter_names_become_the_notes_symbols():
    from tinygrad_rnn.graph import short_name
    assert short_name("lstm.weight_hh_l0") == "W_hh"
    assert short_name("rnn.bias_ih_l1_reverse") == "b_ih l1←"
    assert short_name("cell.weight_hh") == "W_hh"
    assert short_name("encoder.embedding.weight") == "embedding.weight"  # never a bare weight
    assert short_name("bias") == "bias"


def test_graph_of_a_tensor_without_grad_says_why():
    with pytest.raises(ValueError, match="requires_grad"):
        tg.graph(tg.ones(2) * 2)


def test_graph_and_views_reject_wrong_arguments():
    x = tg.randn(3, requires_grad=True)
    with pytest.raises(TypeError, match="Tensor"):
        tg.graph(3.0)
    with pytest.raises(TypeError, match="record_messages"):
        tg.graph(x.sum(), messages=5)
    with pytest.raises(ValueError, match="first_last"):
        tg.graph((x * x).sum()).to_dot(view="unrolled", first_last=-1)

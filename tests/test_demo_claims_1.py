"""The measurements behind the claims of vanishing-gradients, exploding-gradients,
gradient-regularizer, copy-task, adding-problem and seq2seq-attention (issue 13).

tests/test_demos.py runs every demo in --quick mode and asserts its claims; these tests check
that the numbers the claims compare are what the demos say they are, and that every claim is
computed.
"""

import ast
import importlib
import inspect
import math

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn

DEMOS = ["vanishing_gradients", "exploding_gradients", "gradient_regularizer", "copy_task",
         "adding_problem", "seq2seq_attention"]


@pytest.mark.parametrize("name", DEMOS)
def test_every_claim_is_a_computed_comparison(name):
    """No ``claim(text, measured, True)``: the held argument is an expression, never a constant."""
    source = inspect.getsource(importlib.import_module(f"demos.{name}"))
    calls = [n for n in ast.walk(ast.parse(source))
             if isinstance(n, ast.Call) and getattr(n.func, "attr", None) == "claim"]
    assert calls, f"{name} makes no claim"
    for call in calls:
        held = call.args[2] if len(call.args) > 2 else next(k.value for k in call.keywords if k.arg == "held")
        assert not isinstance(held, ast.Constant), f"{name}: a claim held by a constant, line {call.lineno}"


def _inputs(steps=6, batch=3, seed=0):
    from tinygrad_rnn.tasks.adding import adding_problem
    x, y = adding_problem(batch, steps, seed=seed)
    return tg.tensor(x.transpose(1, 0, 2)).double(), tg.tensor(y).double()


def test_carousel_with_the_forget_gate_shut_open_carries_the_gradient_unchanged():
    """Along the cell only, ∂L/∂c_{t−1} = ∂L/∂c_t ⊙ f_t: with f ≡ 1 every ‖∂L/∂c_t‖ is the same."""
    from demos.vanishing_gradients import carousel, lstm
    x, y = _inputs()
    tg.manual_seed(0)
    norms, f_bar = carousel(lstm(60.0, None), x, y, None)  # σ(60) = 1 in float64
    assert f_bar == 1.0
    values = list(norms.values())
    assert values[0] > 0
    np.testing.assert_allclose(values, values[0], rtol=1e-12)


def test_carousel_decays_by_the_forget_gate_and_full_bptt_has_other_paths():
    """With f ≡ σ(b) for every unit (no input or recurrent weights on the f block) the
    carousel loses exactly ln σ(b) per step; full BPTT through the same LSTM does not."""
    from demos.vanishing_gradients import carousel, full_bptt, lstm
    x, y = _inputs()
    tg.manual_seed(1)
    m = lstm(2.0, None)
    H = m.hidden_size
    m.weight_ih_l0.data[H:2 * H] = 0.0
    m.weight_hh_l0.data[H:2 * H] = 0.0
    norms, f_bar = carousel(m, x, y, None)
    f = 1 / (1 + math.exp(-2.0))
    assert f_bar == pytest.approx(f, rel=1e-12)
    steps = sorted(norms)
    for t in steps[:-1]:
        assert norms[t] / norms[t + 1] == pytest.approx(f, rel=1e-9)
    tg.manual_seed(2)  # the head of full_bptt is fresh: compare shapes of the decay, not values
    full, _ = full_bptt(m, x, y, None)
    ratios = [full[t] / full[t + 1] for t in steps[:-1]]
    assert max(abs(r - f) for r in ratios) > 1e-6  # the paths through h_{t−1} add to f


def test_shared_range_covers_both_graphs_in_whole_decades():
    from demos.vanishing_gradients import shared_range
    graphs = []
    for scale in (1e-8, 1.0):
        w = tg.tensor([scale], requires_grad=True, dtype="float64")
        loss = (w * 3.0).sum()
        with tg.record_messages() as rec:
            loss.backward()
        graphs.append(tg.graph(loss, messages=rec))
    norms = [n.grad.norm for g in graphs for n in g.nodes if n.grad is not None and n.grad.norm > 0]
    lo, hi = shared_range(*graphs)
    assert lo <= min(norms) and hi >= max(norms)
    assert math.log10(lo) == int(math.log10(lo)) and math.log10(hi) == int(math.log10(hi))


def test_clipped_descent_never_moves_w_more_than_lr_times_threshold():
    from demos.exploding_gradients import descend
    path = descend(True, 40, 1.0, lr=0.01, threshold=1.0)
    steps = [abs(b[0] - a[0]) for a, b in zip(path, path[1:])]
    assert len(path) == 40 and max(steps) <= 0.01 + 1e-12
    with np.errstate(all="ignore"):  # off the cliff w^1000 overflows: that is the point
        plain = descend(False, 40, 1.0, lr=0.01)
    assert len(plain) < 40  # unclipped: off the cliff


def test_regularizer_ratio_in_float32_matches_float64():
    from demos.gradient_regularizer import TanhRNN, evaluate, per_step_norms
    from tinygrad_rnn.tasks.adding import adding_problem
    x, y = (tg.tensor(a) for a in adding_problem(16, 12, seed=3))
    tg.manual_seed(0)
    model = TanhRNN()
    mse, ratio = evaluate(model, x, y)
    norms = per_step_norms(model, x, y)   # converts the model to float64
    assert ratio == pytest.approx(norms[0] / norms[-1], rel=1e-3)
    assert mse > 0


def test_seq2seq_copy_reverses_the_source_only():
    from demos.copy_task import Seq2SeqCopy, symbols
    src, y = symbols(4, 6, seed=1, reverse=False)
    src_r, y_r = symbols(4, 6, seed=1, reverse=True)
    np.testing.assert_array_equal(y, y_r)
    np.testing.assert_array_equal(src_r, y[:, ::-1])
    np.testing.assert_array_equal(src, y)
    tg.manual_seed(0)
    logits = Seq2SeqCopy(hidden=8)(src, y)
    assert logits.shape == (4, 6, 10)


def test_seq2seq_copy_decoder_sees_the_source_only_through_its_last_state():
    """Changing the source changes the logits only through C: with the encoder's last state
    fixed, the decoder's output does not depend on the source."""
    from demos.copy_task import Seq2SeqCopy
    tg.manual_seed(0)
    model = Seq2SeqCopy(hidden=8)
    src = np.array([[1, 2, 3, 4]])
    h, C = model.encoder(src)
    assert isinstance(model.encoder, nn.Encoder) and not model.encoder.rnn.bidirectional
    np.testing.assert_allclose(C.numpy(), h[:, -1].numpy())

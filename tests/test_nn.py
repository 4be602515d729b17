"""nn modules: bookkeeping, gradchecks of every cell, variable lengths, scopes, bad input."""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.errors import DTypeError, ShapeError
from tinygrad_rnn.tensor import reachable


@pytest.fixture(autouse=True)
def _seed():
    tg.manual_seed(0)


# ---- Module bookkeeping ----------------------------------------------------------------------


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 3)
        self.lstm = nn.LSTM(3, 4)
        self.out = nn.Linear(4, 2)

    def forward(self, x):
        return self.out(self.lstm(self.embed(x))[0])


def test_named_parameters_in_registration_order_with_qualified_names():
    names = [n for n, _ in Tagger().named_parameters()]
    assert names == ["embed.weight", "lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0",
                     "lstm.bias_hh_l0", "out.weight", "out.bias"]
    model = Tagger()
    assert model.lstm.weight_hh_l0.name == "lstm.weight_hh_l0"  # what graph pictures show


def test_state_dict_round_trip_and_strict_errors():
    a, b = Tagger(), Tagger()
    b.load_state_dict(a.state_dict())
    x = np.array([[1, 2], [3, 4], [5, 6]])
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())
    state = a.state_dict()
    del state["out.bias"]
    with pytest.raises(KeyError, match="out.bias"):
        b.load_state_dict(state)
    b.load_state_dict(state, strict=False)
    state = a.state_dict()
    state["out.weight"] = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"out.weight.*\(3, 4\).*\(2, 4\)"):
        b.load_state_dict(state)


def test_to_double_keeps_parameter_identity_and_train_eval():
    model = Tagger()
    p = model.lstm.weight_hh_l0
    model.double()
    assert model.lstm.weight_hh_l0 is p and p.dtype == tg.float64
    assert model.eval().lstm.training is False and model.train().out.training is True
    assert "LSTM(3, 4)" in repr(model) and "Linear(in_features=4" in repr(model)


def test_zero_grad_clears_every_parameter():
    model = Tagger()
    model(np.array([[1], [2]])).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_dropout_scales_in_training_and_is_identity_in_eval():
    drop = nn.Dropout(0.5)
    x = tg.ones(1000)
    y = drop(x).numpy()
    assert set(np.unique(y)) <= {0.0, 2.0} and 350 < (y == 0).sum() < 650
    np.testing.assert_array_equal(drop.eval()(x).numpy(), x.numpy())


def test_embedding_padding_row_gets_no_gradient():
    emb = nn.Embedding(5, 3, padding_idx=0)
    emb(np.array([0, 1, 0, 2])).sum().backward()
    assert np.all(emb.weight.grad.numpy()[0] == 0) and np.all(emb.weight.grad.numpy()[1] == 1)


def test_sequential_applies_in_order():
    seq = nn.Sequential(nn.Linear(3, 5), nn.Linear(5, 2))
    x = tg.randn(4, 3)
    np.testing.assert_allclose(seq(x).numpy(), seq[1](seq[0](x)).numpy())
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"]


# ---- initialisers -------------------------------------------------------------------------------


def test_orthogonal_init_is_orthogonal():
    w = nn.Parameter(tg.zeros(6, 4, dtype="float64"))
    nn.init.orthogonal_(w)
    np.testing.assert_allclose(w.numpy().T @ w.numpy(), np.eye(4), atol=1e-12)


def test_irnn_in_one_line():
    rnn = nn.IRNN(2, 5)
    assert rnn.nonlinearity == "relu"
    np.testing.assert_array_equal(rnn.weight_hh_l0.numpy(), np.eye(5))
    assert np.all(rnn.bias_ih_l0.numpy() == 0) and np.abs(rnn.weight_ih_l0.numpy()).max() < 0.01
    with pytest.raises(ValueError, match="ReLU"):
        nn.init.irnn_(nn.RNN(2, 5))


def test_default_init_is_uniform_within_one_over_sqrt_hidden():
    lstm = nn.LSTM(3, 16)
    bound = 1 / np.sqrt(16)
    for _, p in lstm.named_parameters():
        assert np.abs(p.numpy()).max() <= bound


# ---- finite differences of every cell (float64, no torch needed) -------------------------------


def _cell_fn(cell, steps):
    def fn(x, h):
        state = (h, h * 0.5) if isinstance(cell, nn.LSTMCell) else h
        total = 0
        for t in range(steps):
            state = cell(x[t], state)
            total = total + (state[0] if isinstance(state, tuple) else state).sum()
        return total
    return fn


@pytest.mark.parametrize("cell", [
    lambda: nn.RNNCell(3, 4), lambda: nn.RNNCell(3, 4, nonlinearity="relu"),
    lambda: nn.LSTMCell(3, 4), lambda: nn.LSTMCell(3, 4, peephole=True),
    lambda: nn.GRUCell(3, 4), lambda: nn.LSTMCell(3, 4, fused=True), lambda: nn.GRUCell(3, 4, fused=True),
], ids=["rnn-tanh", "rnn-relu", "lstm", "lstm-peephole", "gru", "lstm-fused", "gru-fused"])
def test_cell_gradcheck(cell):
    cell = cell().double()
    x = tg.randn(3, 2, 3, dtype="float64", requires_grad=True)
    h = tg.randn(2, 4, dtype="float64", requires_grad=True)
    params = list(cell.parameters())
    fn = _cell_fn(cell, 3)
    assert tg.gradcheck(lambda x, h, *ps: fn(x, h), [x, h, *params])


def test_jordan_cell_gradcheck_with_teacher_forcing():
    cell = nn.JordanRNNCell(3, 4, 2).double()
    x = tg.randn(3, 2, 3, dtype="float64", requires_grad=True)
    y_true = tg.randn(3, 2, 2, dtype="float64")

    def fn(x, *params):
        y_prev, loss = None, 0
        for t in range(3):
            o, _ = cell(x[t], y_prev)
            loss = loss + ((o - y_true[t]) ** 2).sum()
            y_prev = y_true[t]  # teacher forcing: the true previous output is fed back
        return loss
    assert tg.gradcheck(fn, [x, *cell.parameters()])


def test_peephole_layer_gradcheck():
    lstm = nn.LSTM(2, 3, peephole=True, bidirectional=True).double()
    assert "weight_ci_l0_reverse" in dict(lstm.named_parameters())
    x = tg.randn(4, 2, 2, dtype="float64", requires_grad=True)
    assert tg.gradcheck(lambda x, *ps: lstm(x)[0].sum(), [x, *lstm.parameters()])


# ---- variable lengths -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_padded_steps_neither_change_state_nor_receive_gradient(mode):
    layer = getattr(nn, mode)(2, 3, batch_first=True).double()
    x = tg.randn(2, 6, 2, dtype="float64", requires_grad=True)
    out, state = layer(x, lengths=[6, 3])
    h_n = state[0] if mode == "LSTM" else state
    short, _ = layer(x[1:2, :3])  # the second sequence alone, without its padding
    np.testing.assert_allclose(h_n.numpy()[0, 1], short.numpy()[0, -1], atol=1e-12)
    assert np.all(out.numpy()[1, 3:] == 0)
    (out.sum() + h_n.sum()).backward()
    assert np.all(x.grad.numpy()[1, 3:] == 0) and np.all(x.grad.numpy()[1, :3] != 0)


def test_lengths_errors():
    rnn = nn.RNN(2, 3)
    x = tg.randn(4, 2, 2)
    with pytest.raises(ValueError, match=r"lengths must lie in \[0, 4\]"):
        rnn(x, lengths=[5, 2])
    with pytest.raises(ShapeError, match="2 integers"):
        rnn(x, lengths=[1, 2, 3])


# ---- the graph the layers record ---------------------------------------------------------------


def _nodes(t):
    return reachable([t.node])  # every recorded node the tensor depends on


def test_layers_record_one_scope_per_step_and_the_notes_names():
    lstm = nn.LSTM(2, 3, num_layers=2, bidirectional=True)
    out, _ = lstm(tg.randn(4, 1, 2))
    nodes = _nodes(out.sum())
    scopes = {n.scope for n in nodes}
    for layer in ("l0", "l1"):
        for d in ("fwd", "bwd"):
            for t in range(1, 5):
                assert f"lstm/{layer}/{d}/t={t}" in scopes
    names = {n.name for n in nodes if n.scope == "lstm/l0/fwd/t=2"}
    assert {"input_gate", "forget_gate", "candidate", "output_gate", "c_t", "h_t"} <= names


def test_shared_weight_gradient_is_sum_of_per_step_messages():
    rnn = nn.RNN(2, 3).double()
    x = tg.randn(5, 1, 2, dtype="float64")
    with tg.record_messages() as rec:
        rnn(x)[0].sum().backward()
    W = rnn.weight_hh_l0
    # W_hh reaches the steps through one transpose node; its messages come from the 5 steps
    transpose = next(m[0] for m in rec.to(W.node))
    per_step = [m[3] for m in rec.to(transpose)]
    assert len(per_step) == 5
    np.testing.assert_allclose(sum(per_step).T, W.grad.numpy(), atol=1e-12)


# ---- bad input -----------------------------------------------------------------------------------


def test_wrong_feature_size_names_module_and_shapes():
    expected = r"LSTM\(3, 4\): expected input of shape \(T, B, 3\).*got \(5, 2, 7\)"
    with pytest.raises(ShapeError, match=expected):
        nn.LSTM(3, 4)(tg.randn(5, 2, 7))
    with pytest.raises(ShapeError, match=r"Linear.*last dimension 3.*\(2, 5\)"):
        nn.Linear(3, 1)(tg.randn(2, 5))
    with pytest.raises(ShapeError, match="expected input"):
        nn.GRUCell(3, 4)(tg.randn(2, 2, 3))


def test_wrong_hidden_shape_and_batch_first_hint():
    rnn = nn.GRU(3, 4)
    with pytest.raises(ShapeError, match=r"expected h_0 of shape \(1, 2, 4\), got \(1, 2, 5\)"):
        rnn(tg.randn(6, 2, 3), tg.zeros(1, 2, 5))
    with pytest.raises(ShapeError, match="batch_first=True"):
        rnn(tg.randn(2, 6, 3), tg.zeros(1, 2, 4))  # (B, T, I) given to a batch_first=False layer
    with pytest.raises(TypeError, match=r"\(h_0, c_0\)"):
        nn.LSTM(3, 4)(tg.randn(6, 2, 3), tg.zeros(1, 2, 4))


def test_dtype_mismatch_is_a_clear_error():
    with pytest.raises(DTypeError, match="module.double"):
        nn.RNN(3, 4)(tg.randn(2, 1, 3, dtype="float64"))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size"):
        nn.LSTM(3, 0)
    with pytest.raises(ValueError, match="peephole"):
        nn.GRU(3, 4, peephole=True)


# ---- review findings, pinned ------------------------------------------------------------------


def test_embedding_negative_padding_idx_and_kept_values():
    emb = nn.Embedding(5, 3, padding_idx=-1)
    assert emb.padding_idx == 4
    emb(tg.tensor([4, 4, 0])).sum().backward()
    assert np.all(emb.weight.grad.numpy()[4] == 0) and np.all(emb.weight.grad.numpy()[0] == 1)
    emb = nn.Embedding(5, 3, padding_idx=1)
    emb.weight.data[1] = 7  # e.g. a loaded table: the value is used, only its gradient is cut
    assert np.all(emb(tg.tensor([1])).numpy() == 7)
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(5, 3, padding_idx=9)


def test_tied_parameters_appear_under_every_name_in_state_dict():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(5, 3)
            self.out = nn.Linear(3, 5, bias=False)
            self.out.weight = self.emb.weight

    a, b = Tied(), Tied()
    assert list(a.state_dict()) == ["emb.weight", "out.weight"]  # as PyTorch lists them
    assert len(list(a.parameters())) == 1                         # one tensor to optimise
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(b.out.weight.numpy(), a.emb.weight.numpy())
    with pytest.raises(TypeError, match="mapping"):
        b.load_state_dict([1, 2])


def test_options_that_would_be_ignored_are_errors():
    for make in (lambda: nn.RNN(3, 4, fused=True), lambda: nn.GRU(3, 4, nonlinearity="relu"),
                 lambda: nn.LSTM(3, 4, peephole=True, fused=True)):
        with pytest.raises(ValueError):
            make()


def test_empty_sequence_and_bad_lstm_cell_state():
    with pytest.raises(ShapeError, match="0 time steps"):
        nn.LSTM(4, 5)(tg.randn(0, 3, 4))
    with pytest.raises(TypeError, match=r"tuple \(h, c\)"):
        nn.LSTMCell(4, 5)(tg.randn(3, 4), tg.randn(3, 5))

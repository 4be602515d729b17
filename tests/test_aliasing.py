"""Copies and shared memory: what a tensor owns, what it shares, and what a copy of it is."""

import copy
import pickle

import numpy as np
import pytest
from conftest import TORCH, needs_torch

import tinygrad_rnn as tg
from tinygrad_rnn import nn, optim

# ---- construction copies, as torch.tensor; from_numpy shares ---------------------------------


def test_tensor_from_an_array_copies_so_refilling_a_batch_buffer_changes_no_graph():
    buffer = np.array([1.0, 2.0, 3.0])
    w = tg.Tensor(np.full(3, 2.0), requires_grad=True)
    x = tg.Tensor(buffer)
    loss = (w * x).sum()
    buffer[:] = 100.0           # the next batch is loaded into the same buffer
    loss.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(x.numpy(), [1.0, 2.0, 3.0])


@pytest.mark.parametrize("make", [
    lambda a: tg.Tensor(a), lambda a: tg.tensor(a), lambda a: nn.Parameter(a),
    lambda a: tg.Tensor(tg.from_numpy(a)), lambda a: tg.Tensor(a[1:]),
    lambda a: tg.Tensor(a, dtype="float64"),
], ids=["Tensor", "tensor", "Parameter", "Tensor(Tensor)", "view", "same dtype"])
def test_constructors_copy_their_data(make):
    a = np.array([1.0, 2.0, 3.0])
    t = make(a)
    before = t.numpy().copy()
    a[:] = -1.0
    np.testing.assert_array_equal(t.numpy(), before)


def test_two_parameters_from_one_array_are_not_tied():
    a = np.zeros(3)
    p, q = nn.Parameter(a), nn.Parameter(a)
    opt = optim.SGD([p], lr=1.0)
    p.grad = tg.Tensor(np.ones(3))
    opt.step()
    np.testing.assert_array_equal(q.numpy(), np.zeros(3))
    np.testing.assert_array_equal(a, np.zeros(3))  # nor the caller's array


def test_from_numpy_shares_memory_both_ways():
    a = np.array([1.0, 2.0])
    t = tg.from_numpy(a)
    a[0] = 5.0
    assert t.numpy()[0] == 5.0
    t[1] = 7.0
    assert a[1] == 7.0
    assert t.dtype == a.dtype and t.device == "cpu"


@needs_torch
def test_from_numpy_and_tensor_alias_like_torch():
    for lib in (TORCH, tg):
        a = np.array([1.0, 2.0])
        shared, copied = lib.from_numpy(a), lib.tensor(a)
        a[0] = 9.0
        assert (float(shared[0]), float(copied[0])) == (9.0, 1.0)


def test_from_numpy_refuses_what_is_not_a_numpy_array():
    with pytest.raises(TypeError, match="from_numpy expects a NumPy array.*tg.tensor"):
        tg.from_numpy([1.0, 2.0])
    with pytest.raises(TypeError, match="dtype object"):
        tg.from_numpy(np.array(["a"], dtype=object))


def test_internal_results_are_not_copied():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    assert y.detach().data is y.data          # detach shares, as in PyTorch
    assert tg.from_numpy(y.data).data is y.data


# ---- deepcopy and pickle give independent objects --------------------------------------------


def _model():
    tg.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))


def _train(model, opt, steps=3):
    x = tg.Tensor(np.linspace(-1, 1, 15).reshape(5, 3).astype("float32"))
    for _ in range(steps):
        opt.zero_grad()
        loss = (model(x) ** 2).mean()
        loss.backward()
        opt.step()
    return float(loss)


def _values(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def test_training_a_deep_copy_leaves_the_original_untouched():
    model = _model()
    before = _values(model)
    twin = copy.deepcopy(model)
    _train(twin, optim.SGD(twin.parameters(), lr=0.5))
    for p in model.parameters():
        assert p.grad is None
    for k, v in _values(model).items():
        np.testing.assert_array_equal(v, before[k])
    assert any(not np.array_equal(v, before[k]) for k, v in _values(twin).items())


def test_backward_through_a_deep_copied_leaf_fills_the_copys_grad():
    w = tg.Tensor([1.0, 2.0], requires_grad=True, name="w")
    w.grad = tg.Tensor([5.0, 5.0])
    c = copy.deepcopy(w)
    assert c.requires_grad and c.is_leaf and c.name == "w" and c.data is not w.data
    (c * 3).sum().backward()
    np.testing.assert_array_equal(c.grad.numpy(), [8.0, 8.0])   # its copied .grad, plus 3
    np.testing.assert_array_equal(w.grad.numpy(), [5.0, 5.0])


def test_deep_copy_keeps_tied_parameters_tied_and_types():
    p = nn.Parameter(np.ones(2))
    a, b = copy.deepcopy([p, p])
    assert a is b and type(a) is nn.Parameter and a is not p


@needs_torch
def test_deep_copy_of_a_computed_tensor_is_refused_like_torch():
    with pytest.raises(RuntimeError, match="leaves"):
        copy.deepcopy(TORCH.ones(2, requires_grad=True) * 2)
    with pytest.raises(RuntimeError, match="only leaf tensors.*detach"):
        copy.deepcopy(tg.Tensor([1.0], requires_grad=True) * 2)


def test_pickle_round_trip_of_a_module_and_its_optimizer_trains_like_the_original():
    model = _model()
    opt = optim.Adam(model.parameters(), lr=0.1)
    _train(model, opt, steps=2)
    model2, opt2 = pickle.loads(pickle.dumps((model, opt)))
    assert all(p2 is not p for p2, p in zip(model2.parameters(), model.parameters()))
    assert {id(p) for p in opt2._params()} == {id(p) for p in model2.parameters()}
    loss1, loss2 = _train(model, opt), _train(model2, opt2)
    assert loss1 == loss2
    for k, v in _values(model).items():
        np.testing.assert_array_equal(v, _values(model2)[k])


def test_pickled_tensor_keeps_values_dtype_name_and_requires_grad_but_no_graph():
    w = tg.Tensor(np.array([1.0, 2.0], dtype="float64"), requires_grad=True, name="w")
    w.grad = tg.Tensor([1.0, 1.0])
    u = pickle.loads(pickle.dumps(w))
    assert u.requires_grad and u.is_leaf and u.name == "w" and u.dtype == w.dtype
    assert u.grad is None  # as PyTorch: the gradient is not pickled
    (u * 2).sum().backward()
    np.testing.assert_array_equal(u.grad.numpy(), [2.0, 2.0])
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 1.0])

"""Copies and shared memory: what a tensor owns, what it shares, and what a copy of it is."""


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

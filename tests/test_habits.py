"""Everyday PyTorch habits on a Tensor behave as in torch 2.13 (values, shapes, return types)."""

import numpy as np
import pytest
from conftest import TORCH, needs_torch

import tinygrad_rnn as tg

A = np.array([[0.3, -1.2, 2.5, 0.7], [1.1, 0.4, -0.6, 1.9], [-2.0, 0.8, 0.1, 0.05]], dtype=np.float32)


def pair(a=A):
    return tg.Tensor(a.copy(), requires_grad=True), TORCH.tensor(a.copy(), requires_grad=True)


@needs_torch
@pytest.mark.parametrize("kind", ["max", "min"])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_with_dim_return_values_and_indices_like_torch(kind, keepdim):
    x, tx = pair()
    for dim in (0, 1, -1):
        out = getattr(x, kind)(dim=dim, keepdim=keepdim)
        ref = getattr(tx, kind)(dim=dim, keepdim=keepdim)
        assert out._fields == ("values", "indices") and len(out) == 2
        np.testing.assert_array_equal(out.values.numpy(), ref.values.detach().numpy())
        np.testing.assert_array_equal(out.indices.numpy(), ref.indices.numpy())
        assert out.indices.dtype == tg.int64 and out.values.shape == tuple(ref.values.shape)
    # positional dim, the axis= alias and the function form give the same tuple
    for out in (getattr(x, kind)(1), getattr(x, kind)(axis=1), getattr(tg, kind)(x, 1),
                getattr(tg, kind)(x, dim=1)):
        np.testing.assert_array_equal(out[1].numpy(), getattr(tx, kind)(1)[1].numpy())


@needs_torch
def test_a_batch_of_two_no_longer_unpacks_as_two_rows():
    x = tg.Tensor(A[:2].copy())
    values, indices = x.max(dim=1)  # before: the two rows of a values-only result
    assert values.shape == (2,) and indices.tolist() == [2, 3]


@needs_torch
@pytest.mark.parametrize("kind", ["max", "min"])
def test_max_min_without_dim_are_a_tensor_and_gradients_match_torch_even_on_ties(kind):
    tied = np.array([[1.0, 3.0, 3.0], [-2.0, -2.0, 0.0]], dtype=np.float32)
    x, tx = pair(tied)
    whole = getattr(x, kind)()
    assert isinstance(whole, tg.Tensor) and whole.shape == ()
    assert whole.item() == getattr(tx, kind)().item()
    getattr(x, kind)(dim=1).values.sum().backward()
    getattr(tx, kind)(dim=1).values.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())  # one element per row


@needs_torch
def test_max_of_two_tensors_is_elementwise_and_several_axes_need_amax():
    x, tx = pair()
    y = tg.Tensor(A[::-1].copy())
    np.testing.assert_array_equal(tg.max(x, y).numpy(), TORCH.max(tx, TORCH.tensor(A[::-1].copy()))
                                  .detach().numpy())
    np.testing.assert_array_equal(tg.min(x, y).numpy(), np.minimum(A, A[::-1]))
    with pytest.raises(TypeError, match=r"amax\(x, axis=\(0, 1\)\)"):
        x.max(axis=(0, 1))
    np.testing.assert_array_equal(x.amax(axis=(0, 1)).numpy(), tx.amax(dim=(0, 1)).detach().numpy())
    np.testing.assert_array_equal(tg.amin(x, 0).numpy(), tx.amin(0).detach().numpy())


@needs_torch
def test_argmax_argmin_match_torch():
    x, tx = pair()
    for kind in ("argmax", "argmin"):
        assert getattr(x, kind)().item() == getattr(tx, kind)().item()
        for dim in (0, 1):
            for keepdim in (False, True):
                out = getattr(x, kind)(dim, keepdim=keepdim)
                ref = getattr(tx, kind)(dim, keepdim=keepdim)
                assert out.shape == tuple(ref.shape) and out.tolist() == ref.tolist()


@needs_torch
def test_shape_habits_match_torch():
    x, tx = pair()
    assert x.size() == tuple(tx.size()) and x.size(1) == tx.size(1) and x.size(-1) == tx.size(-1)
    assert x.dim() == tx.dim() and x.numel() == tx.numel()
    np.testing.assert_array_equal(x.t().numpy(), tx.t().detach().numpy())
    np.testing.assert_array_equal(x.T.numpy(), tx.T.detach().numpy())
    b = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    np.testing.assert_array_equal(tg.Tensor(b).mT.numpy(), TORCH.tensor(b).mT.numpy())
    with pytest.raises(ValueError, match="transpose"):
        tg.Tensor(b).t()
    assert x.view(4, 3).shape == tuple(tx.view(4, 3).shape)
    assert x.view(-1, 6).shape == tuple(tx.view(-1, 6).shape)
    assert x.unsqueeze(0).shape == tuple(tx.unsqueeze(0).shape)
    assert x.unsqueeze(-1).squeeze(-1).shape == tuple(tx.unsqueeze(-1).squeeze(-1).shape)
    assert x.tolist() == tx.tolist()
    assert x[1, 2].item() == tx[1, 2].item()


@needs_torch
def test_dtype_conversions_match_torch():
    x, tx = pair()
    assert x.double().dtype == tg.float64 and x.double().float().dtype == tg.float32
    long = x.long()
    assert long.dtype == tg.int64 and long.tolist() == tx.long().tolist()
    assert not long.requires_grad


def test_clone_copies_the_values_and_passes_the_gradient():
    x = tg.Tensor(A.copy(), requires_grad=True)
    c = x.clone()
    assert c.data is not x.data and not np.shares_memory(c.data, x.data)
    (c * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full_like(A, 3))
    d = tg.Tensor(A.copy()).clone()
    d[0, 0] = 100.0
    assert A[0, 0] != 100.0


@needs_torch
def test_numpy_asarray_and_torch_tensor_read_a_cpu_tensor():
    x = tg.Tensor(A.copy(), requires_grad=True)
    arr = np.asarray(x)
    assert arr.dtype == np.float32 and np.shares_memory(arr, x.data)
    np.testing.assert_array_equal(arr, A)
    np.testing.assert_array_equal(TORCH.tensor(np.asarray(x)).numpy(), A)
    assert np.asarray(x, dtype=np.float64).dtype == np.float64
    assert np.array(tg.tensor([1, 2, 3])).tolist() == [1, 2, 3]
    assert isinstance(A * x, tg.Tensor)  # ndarray * Tensor still defers to the Tensor


def test_a_cuda_tensor_refuses_asarray_with_a_hint():
    class FakeCuda(tg.Tensor):
        __slots__ = ()

        @property
        def device(self):
            return "cuda"

    with pytest.raises(TypeError, match=r"\.cpu\(\)"):
        np.asarray(FakeCuda(A))


@needs_torch
def test_dlpack_both_ways_shares_memory():
    x = tg.Tensor(A.copy())
    t = TORCH.from_dlpack(x)
    np.testing.assert_array_equal(t.numpy(), A)
    t[0, 0] = 42.0
    assert x.data[0, 0] == 42.0  # zero copy
    back = tg.from_dlpack(TORCH.arange(6.0).reshape(2, 3))
    assert isinstance(back, tg.Tensor) and back.tolist() == [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(TypeError, match="__dlpack__"):
        tg.from_dlpack([1, 2])


def test_repr_follows_array2string_without_dtype_on_wide_float32():
    wide = tg.Tensor(np.linspace(-1, 1, 60, dtype=np.float32).reshape(2, 30))
    text = repr(wide)
    assert "dtype" not in text and text.startswith("Tensor([[") and text.endswith("]])")
    assert text == "Tensor(" + np.array2string(wide.numpy(), separator=", ", prefix="Tensor(") + ")"
    assert "dtype=float64" in repr(tg.Tensor([1.0], dtype="float64"))
    assert repr(tg.tensor([1, 2])) == "Tensor([1, 2])"  # int64 is the default integer, as in torch


def test_habits_on_each_device(device):
    x = tg.Tensor(A.copy(), device=device, requires_grad=True)
    values, indices = x.max(dim=1)
    assert values.device == device and indices.device == device
    np.testing.assert_array_equal(values.numpy(), A.max(axis=1))
    np.testing.assert_array_equal(indices.numpy(), A.argmax(axis=1))
    np.testing.assert_array_equal(x.min(0, keepdim=True).indices.numpy(), A.argmin(0)[None])
    assert x.argmax().item() == A.argmax() and x.max().item() == A.max()
    (values.sum() + x.clone().sum()).backward()
    expected = np.ones_like(A)
    expected[np.arange(3), A.argmax(axis=1)] += 1
    np.testing.assert_array_equal(x.grad.numpy(), expected)
    if device == "cuda":
        with pytest.raises(TypeError, match=r"\.cpu\(\)"):
            np.asarray(x)
        assert tg.from_dlpack(x.detach()).device == "cuda"

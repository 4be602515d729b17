"""An outside review of the "no silent wrong results" work (issues 12 and 18): the cases that
failed, each with its fix. Grouped by area; each name states the claim."""

import numpy as np
import pytest
from conftest import TORCH, needs_torch

import tinygrad_rnn as tg
from tinygrad_rnn import nn, optim

# ---- optimizers and clipping: an assigned .grad must match its parameter -------------------


@pytest.mark.parametrize("make", [lambda p: optim.SGD([p], lr=1.0), lambda p: optim.Adam([p], lr=1.0)])
def test_step_refuses_an_assigned_grad_of_another_shape(make):
    # a (2,) gradient broadcast into a (2, 2) parameter's in-place update: both rows moved by
    # the same vector, no error (PyTorch refuses the assignment: "different size")
    p = nn.Parameter(np.ones((2, 2), np.float32))
    p.grad = tg.tensor(np.array([1.0, 0.0], np.float32))
    with pytest.raises(RuntimeError, match=r"shape \(2, 2\).*\.grad of shape \(2,\)"):
        make(p).step()
    assert np.array_equal(p.numpy(), np.ones((2, 2), np.float32))


def test_step_refuses_an_assigned_grad_of_another_dtype():
    p = nn.Parameter(np.ones(2, np.float32))
    p.grad = tg.tensor(np.array([1.0, 0.0]))  # float64
    with pytest.raises(RuntimeError, match="float64"):
        optim.SGD([p], lr=1.0).step()


def test_step_and_clipping_refuse_an_ndarray_grad_with_a_clear_error():
    # before: SGD died in `float * memoryview`, clip_grad_norm_ with KeyError: <class 'memoryview'>
    p = nn.Parameter(np.ones(2, np.float32))
    p.grad = np.ones(2, np.float32)
    with pytest.raises(TypeError, match="must be a Tensor or None"):
        optim.SGD([p], lr=1.0).step()
    with pytest.raises(TypeError, match="must be a Tensor or None"):
        nn.utils.clip_grad_norm_([p], 1.0)
    with pytest.raises(TypeError, match="must be a Tensor or None"):
        nn.utils.clip_grad_value_([p], 1.0)


@needs_torch
def test_clip_grad_norm_of_an_assigned_nonfinite_grad_is_torchs():
    torch = TORCH
    for g in ([np.inf, 1.0], [np.nan, 1.0]):
        p = nn.Parameter(np.ones(2, np.float32))
        p.grad = tg.tensor(np.array(g, np.float32))
        tp = torch.nn.Parameter(torch.ones(2))
        tp.grad = torch.tensor(g)
        with np.errstate(invalid="ignore"):
            total = nn.utils.clip_grad_norm_([p], 1.0)
        expected = torch.nn.utils.clip_grad_norm_([tp], 1.0)
        np.testing.assert_equal(float(total.numpy()), float(expected))
        np.testing.assert_equal(p.grad.numpy(), tp.grad.numpy())


def _adam_after_one_step(model):
    opt = optim.Adam(model.parameters(), lr=0.1)
    model(tg.ones(1, model.weight.shape[1])).sum().backward()
    opt.step()
    return opt


def test_optimizer_load_state_dict_refuses_state_of_another_shape_and_changes_nothing():
    saved = _adam_after_one_step(nn.Linear(3, 2)).state_dict()
    saved["param_groups"][0]["lr"] = 0.5
    model = nn.Linear(4, 2)  # same parameter count, other shapes
    opt = optim.Adam(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"'exp_avg' has shape \(2, 3\) but its parameter has "
                                         r"shape \(2, 4\)"):
        opt.load_state_dict(saved)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.state == {}  # all or nothing


def test_optimizer_load_state_dict_refuses_a_broadcastable_state():
    # the saved order (bias, weight) against (weight, bias) of a square layer: exp_avg (3,)
    # for the (3, 3) weight broadcasts in numpy, so without the check nothing fails
    src = nn.Linear(3, 3)
    opt = optim.Adam([src.bias, src.weight], lr=0.1)
    src(tg.ones(1, 3)).sum().backward()
    opt.step()
    dst = nn.Linear(3, 3)
    with pytest.raises(ValueError, match="shape"):
        optim.Adam(dst.parameters(), lr=0.1).load_state_dict(opt.state_dict())


# ---- ops on integer tensors -------------------------------------------------------------


@needs_torch
def test_sigmoid_of_an_integer_tensor_is_float32_like_torch():
    # before: ShapeError "sigmoid: (3,) — data type <class 'numpy.int64'> not inexact"
    for values, dtype in (([-1, 0, 3], np.int64), ([True, False], np.bool_)):
        ours = tg.tensor(np.array(values, dtype)).sigmoid().numpy()
        theirs = TORCH.tensor(np.array(values, dtype)).sigmoid().numpy()
        assert ours.dtype == theirs.dtype == np.float32
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


# ---- copies like torch.tensor: a NumPy scalar keeps its dtype ----------------------------


@needs_torch
@pytest.mark.parametrize("scalar", [np.float64(0.1), np.float32(0.1), np.float16(0.1), np.int32(3)])
def test_tensor_of_a_numpy_scalar_keeps_its_dtype_like_torch(scalar):
    # before: np.float64(0.1) became float32 0.1 (precision lost without a word), where a 0-d
    # float64 array and torch.tensor(np.float64(0.1)) stay float64
    ours = tg.tensor(scalar).numpy()
    theirs = TORCH.tensor(scalar).numpy()
    assert ours.dtype == theirs.dtype and ours == theirs

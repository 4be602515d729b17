"""nn.functional losses equal PyTorch's (values and input gradients, float64), and bad inputs
get errors that say what to do."""

import numpy as np
import pytest
from conftest import TORCH, needs_torch

import tinygrad_rnn as tg
from tinygrad_rnn.nn import functional as F


def _ours(a, device="cpu"):
    return tg.Tensor(a, dtype="float64", requires_grad=True, device=device)


def _theirs(a):
    return TORCH.tensor(a, dtype=TORCH.float64, requires_grad=True)


def _check(ours_fn, theirs_fn, arrays, rng, device="cpu"):
    ours = [_ours(a, device) for a in arrays]
    theirs = [_theirs(a) for a in arrays]
    out, ref = ours_fn(*ours), theirs_fn(*theirs)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-9, atol=1e-12)
    cotangent = rng.standard_normal(tuple(ref.shape))
    out.backward(tg.Tensor(cotangent, dtype="float64", device=device))
    ref.backward(TORCH.tensor(cotangent))
    for mine, other in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad.numpy(), other.grad.numpy(), rtol=1e-9, atol=1e-12)


REDUCTIONS = ["mean", "sum", "none"]


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(5,), (4, 5), (3, 5, 6)], ids=["C", "NC", "NCT"])
def test_cross_entropy_equals_torch(shape, reduction, rng, device):
    logits = rng.standard_normal(shape) * 3
    target = rng.integers(0, 5, () if len(shape) == 1 else (shape[0],) + shape[2:])
    if len(shape) > 1:
        target.flat[0] = -100  # ignored
    _check(lambda x: F.cross_entropy(x, tg.tensor(target, device=device), reduction=reduction),
           lambda x: TORCH.nn.functional.cross_entropy(x, TORCH.tensor(target), reduction=reduction),
           [logits], rng, device)


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_with_class_weights_and_ignore_index_equals_torch(reduction, rng):
    logits, weight = rng.standard_normal((6, 4)), rng.random(4) + 0.5
    target = np.array([0, 3, 7, 1, 7, 2])
    _check(lambda x: F.cross_entropy(x, target, weight=tg.tensor(weight, device="cpu"), ignore_index=7,
                                     reduction=reduction),
           lambda x: TORCH.nn.functional.cross_entropy(x, TORCH.tensor(target), ignore_index=7,
                                                       weight=TORCH.tensor(weight),
                                                       reduction=reduction),
           [logits], rng)


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_equals_torch(reduction, rng):
    logp = np.log(rng.dirichlet(np.ones(5), size=(4,)))
    target = np.array([4, 0, -100, 2])
    _check(lambda x: F.nll_loss(x, target, reduction=reduction),
           lambda x: TORCH.nn.functional.nll_loss(x, TORCH.tensor(target), reduction=reduction),
           [logp], rng)


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss_equals_torch(reduction, rng):
    _check(lambda x, y: F.mse_loss(x, y, reduction=reduction),
           lambda x, y: TORCH.nn.functional.mse_loss(x, y, reduction=reduction),
           [rng.standard_normal((3, 4)), rng.standard_normal((3, 4))], rng)


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_equals_torch_including_large_logits_and_zero(reduction, rng):
    x = rng.standard_normal((3, 4)) * 4
    x[0, :3] = [0.0, 800.0, -800.0]  # the stable form neither overflows nor loses the kink
    y = rng.random((3, 4))
    weight = rng.random((3, 4))
    _check(lambda a, b: F.binary_cross_entropy_with_logits(a, b, weight=tg.tensor(weight, device="cpu"),
                                                           reduction=reduction),
           lambda a, b: TORCH.nn.functional.binary_cross_entropy_with_logits(
               a, b, weight=TORCH.tensor(weight), reduction=reduction),
           [x, y], rng)


def test_cross_entropy_on_rnn_logits_reshaped_to_rows_equals_the_per_step_mean(rng):
    logits = tg.tensor(rng.standard_normal((2, 3, 4)), dtype="float64")  # (N, T, C)
    target = tg.tensor(rng.integers(0, 4, (2, 3)))
    flat = F.cross_entropy(logits.reshape(-1, 4), target.reshape(-1))
    per_step = F.cross_entropy(logits.permute(0, 2, 1), target)
    np.testing.assert_allclose(flat.item(), per_step.item(), rtol=1e-12)


def test_all_ignored_targets_give_nan_mean_like_torch():
    logits = tg.zeros(2, 3, dtype="float64")
    with np.errstate(invalid="ignore"):
        assert np.isnan(F.cross_entropy(logits, [-100, -100]).item())


def test_softmax_and_log_softmax_take_torch_dim_names():
    x = tg.tensor([[1.0, 2.0, 3.0]], dtype="float64")
    np.testing.assert_allclose(F.softmax(x, dim=1).numpy().sum(), 1.0)
    np.testing.assert_allclose(F.log_softmax(x, 1).exp().numpy(), F.softmax(x, 1).numpy())


# ---- bad inputs ------------------------------------------------------------------------------

def test_float_labels_to_cross_entropy_say_to_pass_class_indices():
    with pytest.raises(TypeError, match=r"cross_entropy: target has dtype float32.*class indices"):
        F.cross_entropy(tg.zeros(2, 3), tg.tensor([1.0, 0.0]))


def test_out_of_range_target_names_the_index_and_the_class_count():
    with pytest.raises(IndexError, match=r"cross_entropy: target holds class index 3, but input has "
                                         r"3 classes"):
        F.cross_entropy(tg.zeros(2, 3), [0, 3])
    with pytest.raises(IndexError, match="class index -1"):
        F.nll_loss(tg.zeros(2, 3), [-1, 0])


def test_time_major_logits_with_batch_targets_get_a_reshape_hint():
    with pytest.raises(tg.ShapeError, match=r"classes go on axis 1.*reshape\(-1, C\)"):
        F.cross_entropy(tg.zeros(2, 5, 4), tg.zeros(2, 5, dtype="int64"))


def test_mse_refuses_shapes_that_would_broadcast_silently():
    with pytest.raises(tg.ShapeError, match=r"mse_loss: input \(4, 1\) and target \(4,\)"):
        F.mse_loss(tg.zeros(4, 1), tg.zeros(4))


def test_unknown_reduction():
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none'"):
        F.mse_loss(tg.zeros(2), tg.zeros(2), reduction="avg")


def test_cross_entropy_with_every_target_ignored_is_nan_with_zero_gradient():
    x = tg.randn(2, 3, requires_grad=True)
    loss = F.cross_entropy(x, [-100, -100])
    loss.backward()
    assert np.isnan(loss.item())                  # 0/0, as in PyTorch
    assert np.all(x.grad.numpy() == 0)            # but no NaN reaches the optimizer

"""Optimizers and gradient clipping follow PyTorch step for step; state dicts resume exactly."""

import math

import numpy as np
import pytest
from conftest import TORCH, needs_torch

import tinygrad_rnn as tg
from tinygrad_rnn import backend, optim
from tinygrad_rnn.nn import utils

INIT = [np.array([[0.5, -1.5, 2.0], [1.0, 0.25, -0.75]]), np.array([0.3, -0.2])]
A = np.array([[1.0, 2.0, -1.0], [0.5, -3.0, 1.5]])


def _loss(w, b, lib):
    """A quadratic with different curvature per element, so adaptive methods differ from SGD."""
    if lib == "torch":
        return ((w * TORCH.tensor(A)) ** 2).sum() + (w.sum(dim=1) * b).sum() + (b ** 4).sum()
    # A lives where w does: on CUDA everything is built on the device, as a user would
    return ((w * tg.tensor(A, device=w.device)) ** 2).sum() + (w.sum(axis=1) * b).sum() \
        + (b ** 4).sum()


def _params(lib, device="cpu"):
    if lib == "torch":
        return [TORCH.tensor(a, dtype=TORCH.float64, requires_grad=True) for a in INIT]
    return [tg.Tensor(a.copy(), dtype="float64", requires_grad=True, device=device) for a in INIT]


def _run(opt, params, lib, steps):
    trace = []
    for _ in range(steps):
        opt.zero_grad()
        _loss(*params, lib).backward()
        opt.step()
        trace.append([p.detach().numpy().copy() if lib == "torch" else p.numpy().copy()
                      for p in params])
    return trace


CONFIGS = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.2)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.8, centered=True, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.5)),
    ("Adam", dict(lr=0.1)),
    ("Adam", dict(lr=0.1, betas=(0.8, 0.99), weight_decay=0.1, amsgrad=True)),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for name, kw in CONFIGS]


@needs_torch
@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_first_five_steps_equal_torch(name, kwargs, device):
    ours = _params("tg", device)
    theirs = _params("torch")
    extra = {} if name == "Adagrad" else {"foreach": False}  # single-tensor path, as on a CPU
    mine = _run(getattr(optim, name)(ours, **kwargs), ours, "tg", 5)
    ref = _run(getattr(TORCH.optim, name)(theirs, **kwargs, **extra), theirs, "torch", 5)
    for step, (a, b) in enumerate(zip(mine, ref)):
        for x, y in zip(a, b):
            np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-12, err_msg=f"step {step + 1}")


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_state_dict_round_trip_resumes_exactly(name, kwargs, tmp_path):
    uninterrupted = _params("tg")
    expected = _run(getattr(optim, name)(uninterrupted, **kwargs), uninterrupted, "tg", 6)[-1]

    first = _params("tg")
    opt = getattr(optim, name)(first, **kwargs)
    _run(opt, first, "tg", 3)
    tg.save({"params": first, "optim": opt}, tmp_path / "ckpt.npz")
    del opt, first

    saved = tg.load(tmp_path / "ckpt.npz")
    resumed = [tg.Tensor(p.numpy(), requires_grad=True) for p in saved["params"]]
    opt = getattr(optim, name)(resumed, lr=123.0)  # hyperparameters come from the state dict
    opt.load_state_dict(saved["optim"])
    last = _run(opt, resumed, "tg", 3)[-1]
    for x, y in zip(last, expected):
        np.testing.assert_array_equal(x, y)


def test_state_dict_is_a_snapshot_with_torch_layout(device):
    w = tg.tensor([1.0, 2.0], requires_grad=True, device=device)
    b = tg.tensor([0.5], requires_grad=True, device=device)
    opt = optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)
    (w * w).sum().backward()
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert sd["param_groups"][1]["lr"] == 0.5 and sd["param_groups"][0]["lr"] == 0.1
    assert list(sd["state"]) == [0]  # b had no gradient: no state
    buf = backend.to_host(sd["state"][0]["momentum_buffer"]).copy()
    opt.step()
    np.testing.assert_array_equal(backend.to_host(sd["state"][0]["momentum_buffer"]), buf)


def test_zero_grad_sets_none_or_zeros_and_parameters_without_grad_are_skipped():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor([3.0], requires_grad=True)
    opt = optim.SGD([w, b], lr=0.1)
    (w * 2).sum().backward()
    opt.step()
    np.testing.assert_allclose(w.numpy(), [0.8, 1.8])
    np.testing.assert_array_equal(b.numpy(), [3.0])
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(w.grad.numpy(), [0.0, 0.0])
    opt.zero_grad()
    assert w.grad is None


def test_step_with_closure_returns_the_loss():
    w = tg.tensor([1.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    assert opt.step(closure).item() == 1.0
    np.testing.assert_allclose(w.numpy(), [0.5])


# ---- bad inputs --------------------------------------------------------------------------------

def test_empty_parameter_list_is_refused():
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.Adam([])
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.SGD(iter([]), lr=0.1)


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adagrad, optim.RMSprop, optim.Adam])
def test_negative_learning_rate_is_refused(cls):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: invalid lr=-0.1"):
        cls([tg.zeros(2, requires_grad=True)], lr=-0.1)


def test_other_bad_arguments():
    p = tg.zeros(2, requires_grad=True)
    with pytest.raises(TypeError, match=r"single Tensor; wrap it in a list"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="Nesterov momentum needs momentum > 0"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="betas must be two numbers in"):
        optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(TypeError, match="unknown hyperparameter"):
        optim.SGD([{"params": [p], "learning_rate": 0.1}], lr=0.1)


# ---- clipping ---------------------------------------------------------------------------------

@needs_torch
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_equals_torch(norm_type, max_norm, device):
    ours, theirs = _params("tg", device), _params("torch")
    _loss(*ours, "tg").backward()
    _loss(*theirs, "torch").backward()
    total = utils.clip_grad_norm_(ours, max_norm, norm_type)
    ref = TORCH.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type, foreach=False)
    assert isinstance(total, tg.Tensor) and total.shape == ()
    np.testing.assert_allclose(total.item(), ref.item(), rtol=1e-12)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_clip_grad_norm_is_the_notes_algorithm_and_can_refuse_nonfinite_norms():
    w = tg.tensor([3.0, 4.0], requires_grad=True)
    (w * tg.tensor([3.0, 4.0])).sum().backward()  # g = (3, 4), ‖g‖ = 5
    assert utils.clip_grad_norm_(w, 1.0).item() == pytest.approx(5.0)
    np.testing.assert_allclose(w.grad.numpy(), np.array([3.0, 4.0]) / (5 + 1e-6), rtol=1e-6)
    w.grad = tg.tensor([np.inf, 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        utils.clip_grad_norm_([w], 1.0, error_if_nonfinite=True)
    assert utils.clip_grad_norm_([tg.zeros(2, requires_grad=True)], 1.0).item() == 0.0


def test_clip_grad_value_clamps_in_place():
    w = tg.zeros(3, requires_grad=True)
    (w * tg.tensor([-5.0, 0.5, 7.0])).sum().backward()
    utils.clip_grad_value_([w], 1.0)
    np.testing.assert_array_equal(w.grad.numpy(), [-1.0, 0.5, 1.0])


# ---- truncated BPTT -----------------------------------------------------------------------------

def test_detach_state_cuts_every_tensor_of_a_nested_state():
    h = tg.ones(2, requires_grad=True) * 2
    c = tg.ones(2, requires_grad=True) * 3
    cut = utils.detach_state([(h, c), None])
    assert isinstance(cut, list) and isinstance(cut[0], tuple) and cut[1] is None
    assert not cut[0][0].requires_grad and not cut[0][1].requires_grad
    np.testing.assert_array_equal(cut[0][1].numpy(), [3.0, 3.0])


def test_truncated_bptt_cuts_the_graph_every_k_steps():
    """With the state detached between chunks, the gradient of the last chunk's loss w.r.t.
    the shared weight is the sum over that chunk's steps only."""
    w = tg.tensor(0.9, dtype="float64", requires_grad=True)
    xs = tg.tensor(np.ones((10, 1)), dtype="float64")
    chunks = list(utils.truncated_bptt_chunks((xs, xs * 2), 4))
    assert [c[0].shape[0] for c in chunks] == [4, 4, 2]
    np.testing.assert_array_equal(chunks[2][1].numpy(), [[2.0], [2.0]])
    h, grads = tg.tensor([0.0], dtype="float64"), []
    for x, _ in chunks:
        for t in range(x.shape[0]):
            h = h * w + x[t]
        w.grad = None
        h.sum().backward()
        grads.append(w.grad.item())
        h = utils.detach_state(h)
    h0 = 1 + 0.9 + 0.9 ** 2 + 0.9 ** 3 + 0.9 ** 4 + 0.9 ** 5 + 0.9 ** 6 + 0.9 ** 7  # h after 8 steps
    assert grads[2] == pytest.approx(2 * h0 * 0.9 + 1.0)  # d/dw of (h0 w + 1) w + 1

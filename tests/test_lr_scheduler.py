"""optim.lr_scheduler, zero_grad(set_to_none) and param_groups, step by step against torch 2.13."""

import math

import numpy as np
import pytest
from conftest import TORCH, needs_torch

import tinygrad_rnn as tg
from tinygrad_rnn import optim

STEPS = 20


def _optimizers(lrs=(0.1,)):
    """An SGD in each engine with one parameter group per lr."""
    ours = optim.SGD([{"params": [tg.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs], lr=1.0)
    theirs = TORCH.optim.SGD([{"params": [TORCH.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs],
                             lr=1.0)
    return ours, theirs


SCHEDULES = {
    "StepLR": ({"step_size": 3, "gamma": 0.5}, {"step_size": 3, "gamma": 0.5}),
    "ExponentialLR": ({"gamma": 0.9}, {"gamma": 0.9}),
    "CosineAnnealingLR": ({"T_max": 7, "eta_min": 0.001}, {"T_max": 7, "eta_min": 0.001}),
    "LambdaLR": ({"lr_lambda": lambda e: 1 / (1 + e) ** 0.5}, {"lr_lambda": lambda e: 1 / (1 + e) ** 0.5}),
}


@needs_torch
@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedules_match_torchs_lr_sequence_for_20_steps(name):
    ours_opt, theirs_opt = _optimizers((0.1, 0.03))
    ours_kw, theirs_kw = SCHEDULES[name]
    ours = getattr(tg.optim.lr_scheduler, name)(ours_opt, **ours_kw)
    theirs = getattr(TORCH.optim.lr_scheduler, name)(theirs_opt, **theirs_kw)
    for step in range(STEPS + 1):
        np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-13,
                                   err_msg=f"{name} after {step} steps")
        assert [g["lr"] for g in ours_opt.param_groups] == ours.get_last_lr()
        ours_opt.step()
        theirs_opt.step()
        ours.step()
        theirs.step()


@needs_torch
@pytest.mark.parametrize("kw", [{}, {"mode": "max", "patience": 1, "cooldown": 2, "factor": 0.5},
                                {"threshold_mode": "abs", "threshold": 0.05, "patience": 0, "min_lr": 0.02}])
def test_reduce_lr_on_plateau_matches_torch(kw):
    ours_opt, theirs_opt = _optimizers((0.1,))
    ours = tg.optim.lr_scheduler.ReduceLROnPlateau(ours_opt, **kw)
    theirs = TORCH.optim.lr_scheduler.ReduceLROnPlateau(theirs_opt, **kw)
    metrics = [1.0, 0.9, 0.9, 0.95, 0.91, 0.89, 0.89, 0.89, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.4,
               0.4, 0.41, 0.42, 0.43, 0.44, 0.44] * 2
    changes = 0
    for m in metrics:
        ours.step(tg.tensor(m))
        theirs.step(m)
        assert ours.get_last_lr() == theirs.get_last_lr()
        changes += ours.get_last_lr()[0] != 0.1
    assert changes  # the metrics do make it reduce


def test_import_paths_and_errors():
    from tinygrad_rnn.optim.lr_scheduler import StepLR
    assert StepLR is tg.optim.lr_scheduler.StepLR
    opt, _ = (optim.SGD([tg.zeros(1, requires_grad=True)], lr=0.5), None)
    with pytest.raises(ValueError, match="step_size"):
        StepLR(opt, step_size=0)
    with pytest.raises(TypeError, match="optimizer"):
        StepLR([tg.zeros(1)], step_size=1)
    with pytest.raises(ValueError, match="lr_lambdas"):
        tg.optim.lr_scheduler.LambdaLR(opt, [lambda e: 1.0] * 2)


def test_scheduler_state_dict_resumes_the_sequence():
    w = tg.zeros(1, requires_grad=True)
    opt = optim.SGD([w], lr=1.0)
    sched = tg.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    for _ in range(4):
        sched.step()
    state = sched.state_dict()
    assert "optimizer" not in state
    opt2 = optim.SGD([tg.zeros(1, requires_grad=True)], lr=1.0)
    opt2.load_state_dict(opt.state_dict())
    resumed = tg.optim.lr_scheduler.CosineAnnealingLR(opt2, T_max=10)
    resumed.load_state_dict(state)
    sched.step()
    resumed.step()
    assert math.isclose(resumed.get_last_lr()[0], sched.get_last_lr()[0], rel_tol=1e-12)


# ---- zero_grad and param_groups ----------------------------------------------------------------------

def _with_grad():
    w = tg.Tensor([1.0, -2.0], requires_grad=True)
    (w * w).sum().backward()
    return w


def test_zero_grad_set_to_none_and_in_place():
    w = _with_grad()
    opt = optim.SGD([w], lr=0.1)
    grad = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is grad and grad.tolist() == [0.0, 0.0]  # the same tensor, zeroed in place
    opt.zero_grad()
    assert w.grad is None
    opt.zero_grad(set_to_none=False)  # no gradient: stays None, as in torch
    assert w.grad is None
    model = tg.nn.Linear(2, 1)
    model(tg.ones(1, 2)).sum().backward()
    g = model.weight.grad
    model.zero_grad(set_to_none=False)
    assert model.weight.grad is g and g.tolist() == [[0.0, 0.0]]


def test_zero_grad_keeps_a_create_graph_gradient_graph_intact():
    w = tg.Tensor([1.0, 2.0], requires_grad=True)
    (w ** 3).sum().backward(create_graph=True)
    g = w.grad
    assert g.requires_grad
    optim.SGD([w], lr=0.1).zero_grad(set_to_none=False)
    assert w.grad is not g and w.grad.tolist() == [0.0, 0.0] and not w.grad.requires_grad
    assert g.tolist() == [3.0, 12.0]  # the recorded gradient itself is untouched


@needs_torch
def test_param_groups_are_dicts_whose_lr_is_read_at_step_time():
    ours_opt, theirs_opt = _optimizers((0.1, 0.01))
    ours_p = [g["params"][0] for g in ours_opt.param_groups]
    theirs_p = [g["params"][0] for g in theirs_opt.param_groups]
    assert all({"params", "lr", "momentum"} <= set(g) for g in ours_opt.param_groups)
    for step in range(3):
        for p, q in zip(ours_p, theirs_p):
            p.grad = tg.Tensor(np.array([1.0, -1.0], dtype=np.float32))
            q.grad = TORCH.tensor([1.0, -1.0])
        ours_opt.param_groups[1]["lr"] = theirs_opt.param_groups[1]["lr"] = 0.5 * (step + 1)
        ours_opt.step()
        theirs_opt.step()
        for p, q in zip(ours_p, theirs_p):
            np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=1e-6)

"""Loss, activation and container modules and Module's tree walking, against torch 2.13."""

import numpy as np
import pytest
from conftest import TORCH, needs_torch

import tinygrad_rnn as tg
from tinygrad_rnn import nn

pytestmark = needs_torch
RNG = np.random.default_rng(3)
X = RNG.standard_normal((4, 5))
Y = np.array([1, 0, 4, 2])


def _close(ours, theirs, tol=1e-10):
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=tol, atol=tol)


def _grads_match(make_ours, make_theirs, *inputs):
    """Forward and gradient of each module on float64 copies of ``inputs`` agree."""
    ours_in = [tg.Tensor(a.copy(), requires_grad=a.dtype.kind == "f") for a in inputs]
    theirs_in = [TORCH.tensor(a.copy(), requires_grad=a.dtype.kind == "f") for a in inputs]
    out, ref = make_ours()(*ours_in), make_theirs()(*theirs_in)
    _close(out, ref)
    out.sum().backward()
    ref.sum().backward()
    _close(ours_in[0].grad, theirs_in[0].grad)


@pytest.mark.parametrize("name,kw", [("Tanh", {}), ("Sigmoid", {}), ("ReLU", {}), ("Identity", {}),
                                     ("Softmax", {"dim": 1}), ("Softmax", {"dim": 0}),
                                     ("LogSoftmax", {"dim": -1}), ("Softmax", {})])
def test_activation_modules_match_torch(name, kw):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about an implicit softmax dim
        _grads_match(lambda: getattr(nn, name)(**kw), lambda: getattr(TORCH.nn, name)(**kw), X)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_classification_losses_match_torch(reduction):
    weight = np.array([1.0, 2.0, 0.5, 1.0, 3.0])
    for kw in ({}, {"ignore_index": 0}, {"weight": weight}):
        ours_kw = {k: (tg.Tensor(v) if k == "weight" else v) for k, v in kw.items()}
        theirs_kw = {k: (TORCH.tensor(v) if k == "weight" else v) for k, v in kw.items()}
        for name in ("CrossEntropyLoss", "NLLLoss"):
            _grads_match(lambda n=name, k=ours_kw: getattr(nn, n)(reduction=reduction, **k),
                         lambda n=name, k=theirs_kw: getattr(TORCH.nn, n)(reduction=reduction, **k), X, Y)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_regression_losses_match_torch(reduction):
    target = RNG.uniform(0, 1, X.shape)
    _grads_match(lambda: nn.MSELoss(reduction=reduction), lambda: TORCH.nn.MSELoss(reduction=reduction),
                 X, target)
    _grads_match(lambda: nn.BCEWithLogitsLoss(reduction=reduction),
                 lambda: TORCH.nn.BCEWithLogitsLoss(reduction=reduction), X, target)


def test_unsupported_options_are_refused_not_ignored():
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match="inplace"):
        nn.ReLU(inplace=True)
    with pytest.raises(ValueError, match="label_smoothing"):
        nn.CrossEntropyLoss(label_smoothing=0.1)
    with pytest.raises(ValueError, match="pos_weight"):
        nn.BCEWithLogitsLoss(pos_weight=tg.ones(5))


def _twins():
    ours = nn.Module()
    ours.body = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    ours.blocks = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])
    ours.heads = nn.ModuleDict({"tag": nn.Linear(2, 5), "stop": nn.Linear(2, 1)})
    theirs = TORCH.nn.Module()
    theirs.body = TORCH.nn.Sequential(TORCH.nn.Linear(3, 4), TORCH.nn.Tanh(), TORCH.nn.Linear(4, 2))
    theirs.blocks = TORCH.nn.ModuleList([TORCH.nn.Linear(2, 2), TORCH.nn.Linear(2, 2)])
    theirs.heads = TORCH.nn.ModuleDict({"tag": TORCH.nn.Linear(2, 5), "stop": TORCH.nn.Linear(2, 1)})
    return ours, theirs


def test_containers_and_tree_walking_name_things_as_torch_does():
    ours, theirs = _twins()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [type(m).__name__ for m in ours.modules()] == [type(m).__name__ for m in theirs.modules()]
    assert [type(m).__name__ for m in ours.children()] == [type(m).__name__ for m in theirs.children()]
    theirs.load_state_dict({k: TORCH.from_numpy(v.numpy().copy()) for k, v in ours.state_dict().items()})
    x = RNG.standard_normal((2, 3)).astype(np.float32)
    h_ours, h_theirs = ours.body(tg.Tensor(x)), theirs.body(TORCH.from_numpy(x))
    for a, b in zip(ours.blocks, theirs.blocks):
        h_ours, h_theirs = a(h_ours), b(h_theirs)
    _close(ours.heads["tag"](h_ours), theirs.heads["tag"](h_theirs), 1e-6)
    assert len(ours.blocks) == 2 and ours.blocks[-1] is list(ours.blocks)[1]
    assert list(ours.heads) == ["tag", "stop"] and "stop" in ours.heads


def test_module_list_and_dict_edits():
    layers = nn.ModuleList()
    layers.append(nn.Linear(1, 1)).extend([nn.Linear(1, 2)])
    layers.insert(0, nn.Identity())
    assert [type(m).__name__ for m in layers] == ["Identity", "Linear", "Linear"]
    assert list(layers.state_dict()) == ["1.weight", "1.bias", "2.weight", "2.bias"]
    with pytest.raises(TypeError, match="Modules only"):
        layers.append(lambda x: x)
    with pytest.raises(IndexError):
        layers[3]
    heads = nn.ModuleDict()
    heads["a"] = nn.Linear(1, 1)
    assert heads.pop("a") is not None and len(heads) == 0 and heads.state_dict() == {}
    with pytest.raises(KeyError, match="hide"):
        heads["keys"] = nn.Linear(1, 1)


def test_apply_requires_grad_train_eval_and_forward_hooks():
    ours, _ = _twins()
    seen = []
    assert ours.apply(lambda m: seen.append(type(m).__name__)) is ours
    assert seen[-1] == "Module" and seen[-2] == "ModuleDict" and seen.count("Linear") == 6  # as torch
    assert ours.requires_grad_(False) is ours
    assert not any(p.requires_grad for p in ours.parameters())
    ours.requires_grad_()
    assert all(p.requires_grad for p in ours.parameters())
    assert ours.eval() is ours and not ours.blocks[0].training
    assert ours.train() is ours and ours.heads["tag"].training

    layer, calls = nn.Linear(2, 2), []
    handle = layer.register_forward_hook(lambda m, args, out: calls.append((m, args[0].shape)))
    pre = layer.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    out = layer(tg.ones(3, 2))
    assert calls == [(layer, (3, 2))]
    np.testing.assert_allclose(out.numpy(), np.broadcast_to(layer.bias.numpy(), (3, 2)))
    doubled = layer.register_forward_hook(lambda m, args, out: out * 2)
    np.testing.assert_allclose(layer(tg.ones(1, 2)).numpy(), 2 * layer.bias.numpy()[None])
    for h in (handle, pre, doubled):
        h.remove()
    layer(tg.ones(1, 2))
    assert len(calls) == 2  # removed: not called again

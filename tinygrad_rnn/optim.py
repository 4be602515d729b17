"""Optimizers: SGD (with momentum), Adagrad, RMSprop, Adam — PyTorch's names, defaults and formulas.

An optimizer holds parameter groups (lists of Tensors with their hyperparameters) and a
per-parameter state (momentum buffers, running averages). ``step()`` reads each parameter's
``.grad`` and updates ``.data`` in place, on the raw arrays: nothing is recorded in the graph.
Parameters without a gradient are skipped. Each class docstring gives its update equation,
written as PyTorch computes it (g is the gradient, θ the parameter, t the step count from 1).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable

from tinygrad_rnn import backend
from tinygrad_rnn.modes import enable_grad
from tinygrad_rnn.tensor import Tensor
from tinygrad_rnn.writes import mark_written

ParamsT = Iterable[Tensor] | Iterable[dict]  # Tensors, or param-group dicts

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam"]


class Optimizer:
    """The base: parameter groups, state, ``zero_grad``, ``state_dict`` / ``load_state_dict``.

    ``params`` is an iterable of Tensors, or of dicts ``{"params": [...], "lr": ...}`` whose
    entries override ``defaults`` for that group. A subclass implements :meth:`_update`.
    """

    def __init__(self, params: ParamsT, defaults: dict):
        if isinstance(params, Tensor):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of Tensors or "
                            f"of dicts, got a single Tensor; wrap it in a list: [param]")
        self.defaults = dict(defaults)
        self.state: dict[Tensor, dict] = {}
        self.param_groups: list[dict] = []
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: dict) -> None:
        """Add a group ``{"params": [...], hyperparameter: value, ...}``; missing
        hyperparameters take the optimizer's defaults."""
        name = type(self).__name__
        if not isinstance(group, dict):
            raise TypeError(f"{name}: a parameter group must be a dict, got {type(group).__name__}")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{name} can only optimize Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{name} can't optimize a non-leaf Tensor (one computed from "
                                 f"others); optimize the leaf it came from")
            if not p.requires_grad:
                raise ValueError(f"{name}: a parameter does not require grad, so it would never "
                                 f"change; create it with requires_grad=True")
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{name}: a parameter group holds the same Tensor twice")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        unknown = set(group) - set(self.defaults) - {"params"}
        if unknown:
            raise TypeError(f"{name}: unknown hyperparameter(s) {sorted(unknown)} in a parameter "
                            f"group; known: {sorted(self.defaults)}")
        full = {**self.defaults, **group, "params": params}
        self._check_hyperparameters(full)
        self.param_groups.append(full)

    def _check_hyperparameters(self, group: dict) -> None:
        name = type(self).__name__
        for key in ("lr", "eps", "weight_decay", "momentum", "alpha", "lr_decay",
                    "initial_accumulator_value"):
            if key in group and not group[key] >= 0.0:
                raise ValueError(f"{name}: invalid {key}={group[key]!r} (it must be >= 0)")

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: ``p.grad = None`` (the default), or with ``set_to_none=False``
        fill the existing ``.grad`` tensors with zeros in place (as PyTorch does)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.grad = None if set_to_none else _zeroed(p.grad)

    def step(self, closure: Callable[[], Tensor] | None = None):
        """Update every parameter that has a gradient; returns ``closure()`` if one is given
        (the closure re-evaluates the loss and calls backward, as in PyTorch)."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    grad = grad_array(p, f"{type(self).__name__}.step")
                    state = self.state.setdefault(p, {})
                    self._update(p.data, grad, state, group)
                    mark_written(p.data)  # backward of a graph that saved p now raises
        return loss

    def _update(self, param, grad, state: dict, group: dict) -> None:
        raise NotImplementedError

    # ---- saving and restoring -----------------------------------------------------------
    def _params(self) -> list[Tensor]:
        return [p for group in self.param_groups for p in group["params"]]

    def state_dict(self) -> dict:
        """``{"state": {index: {name: array | int}}, "param_groups": [{hyper..., "params":
        [index, ...]}]}``, parameters numbered in group order, as in PyTorch. The state arrays
        are copies (PyTorch hands out references), so the dict is a snapshot."""
        index = {id(p): i for i, p in enumerate(self._params())}
        state = {index[id(p)]: {k: v.copy() if backend.is_array(v) else v for k, v in s.items()}
                 for p, s in self.state.items()}
        groups = [{**{k: v for k, v in g.items() if k != "params"},
                   "params": [index[id(p)] for p in g["params"]]} for g in self.param_groups]
        return {"state": dict(sorted(state.items())), "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyperparameters and state saved by :meth:`state_dict` (or read back by
        ``tinygrad_rnn.load``): arrays or Tensors, moved to each parameter's device and cast to
        its dtype. The groups must have the same sizes as this optimizer's."""
        name = type(self).__name__
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the saved state has {len(saved_groups)} "
                             f"parameter group(s), this optimizer has {len(self.param_groups)}")
        mapping = {}
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{name}.load_state_dict: parameter group {i} holds "
                                 f"{len(saved['params'])} parameters in the saved state and "
                                 f"{len(group['params'])} here")
            mapping.update({int(k): p for k, p in zip(saved["params"], group["params"])})
        state = {}  # built in full before anything is written: a failed load changes nothing
        for key, entries in state_dict["state"].items():
            if int(key) not in mapping:
                raise ValueError(f"{name}.load_state_dict: the state refers to parameter {key}, "
                                 f"which no saved parameter group holds")
            p = mapping[int(key)]
            state[p] = {k: _restore(v, p, k, name) for k, v in entries.items()}
        for saved, group in zip(saved_groups, self.param_groups):
            for key, value in saved.items():
                if key == "params":
                    continue
                current = group.get(key, self.defaults.get(key))
                group[key] = tuple(value) if isinstance(current, tuple) else value
        self.state = state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            hyper = ", ".join(f"{k}={v}" for k, v in g.items() if k != "params")
            lines.append(f"  group {i}: {len(g['params'])} params, {hyper}")
        return "\n".join(lines + [")"])


def grad_array(p: Tensor, who: str):
    """``p.grad``'s array, refused unless it matches ``p``: an assigned ``.grad`` of another
    shape would broadcast into the in-place update (a silently wrong step), and PyTorch refuses
    a ``.grad`` of another type, size, dtype or device when it is assigned."""
    grad = p.grad
    if not isinstance(grad, Tensor):
        raise TypeError(f"{who}: a parameter's .grad is a {type(grad).__name__}; it must be a "
                        f"Tensor or None (assign p.grad = tinygrad_rnn.tensor(array))")
    if grad.shape != p.shape or grad.dtype != p.dtype or grad.device != p.device:
        raise RuntimeError(f"{who}: a parameter of shape {tuple(p.shape)} ({p.dtype}, "
                           f"{p.device}) has a .grad of shape {tuple(grad.shape)} ({grad.dtype}, "
                           f"{grad.device}); assign a gradient with the parameter's shape, "
                           f"dtype and device")
    return grad.data


def _zeroed(grad: Tensor) -> Tensor:
    """``grad`` filled with zeros in place; a gradient recorded with create_graph=True is
    replaced by detached zeros instead (PyTorch detaches it first), keeping its graph intact."""
    if grad._node is not None:
        return Tensor.wrap(backend.xp_of(grad.data).zeros_like(grad.data))
    grad.data[...] = 0
    return grad


def _restore(value, param: Tensor, key: str, owner: str = "Optimizer"):
    """A saved state entry of ``param``: "step" becomes an int, arrays a copy on its device
    (floating arrays in its dtype). Every state array has the parameter's shape: one of
    another shape (a state saved for another model or parameter order) is refused, since
    it could broadcast into the in-place update instead of failing."""
    if isinstance(value, Tensor):
        value = value.data
    if key == "step":
        return int(value)
    if not backend.is_array(value):
        value = backend.host_asarray(value)
    if tuple(value.shape) != tuple(param.shape):
        raise ValueError(f"{owner}.load_state_dict: the saved {key!r} has shape "
                         f"{tuple(value.shape)} but its parameter has shape {tuple(param.shape)}; "
                         f"the state was saved for another model (or another parameter order)")
    dtype = param.dtype if backend.is_float(value.dtype) else None
    return backend.to_array(value, param.device, dtype).copy()


def _sqrt(a):
    return backend.xp_of(a).sqrt(a)


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum, dampening, Nesterov and L2 decay.

    g ← g + λθ (weight_decay λ); with momentum μ: b ← g at the first step, then
    b ← μb + (1 − dampening)g, and g ← g + μb (Nesterov) or g ← b; finally θ ← θ − lr·g.
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False):
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum needs momentum > 0 and dampening = 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def _update(self, param, grad, state, group):
        wd, mu = group["weight_decay"], group["momentum"]
        if wd != 0:
            grad = grad + wd * param
        if mu != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.copy()
            else:
                buf *= mu
                buf += (1 - group["dampening"]) * grad
            grad = grad + mu * buf if group["nesterov"] else buf
        param -= group["lr"] * grad


class Adagrad(Optimizer):
    """Adagrad: per-element step sizes shrinking with the sum of squared gradients.

    g ← g + λθ; lr_t = lr / (1 + (t − 1)·lr_decay); s ← s + g² (s starts at
    initial_accumulator_value); θ ← θ − lr_t · g / (√s + eps).
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps))

    def _update(self, param, grad, state, group):
        if not state:
            state["step"] = 0
            state["sum"] = backend.xp_of(param).full_like(param, group["initial_accumulator_value"])
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"] += grad * grad
        param -= clr * (grad / (_sqrt(state["sum"]) + group["eps"]))


class RMSprop(Optimizer):
    """RMSprop: divide the gradient by a running root-mean-square of recent gradients.

    g ← g + λθ; v ← αv + (1 − α)g²; with centered, ḡ ← ḡ + (1 − α)(g − ḡ) and
    d = √(v − ḡ²) + eps, else d = √v + eps; with momentum μ: b ← μb + g/d, θ ← θ − lr·b;
    otherwise θ ← θ − lr·g/d.
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))

    def _update(self, param, grad, state, group):
        xp = backend.xp_of(param)
        alpha, mu = group["alpha"], group["momentum"]
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(param)
            if mu > 0:
                state["momentum_buffer"] = xp.zeros_like(param)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(param)
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg += (1 - alpha) * (grad - grad_avg)
            avg = _sqrt(square_avg - grad_avg * grad_avg) + group["eps"]
        else:
            avg = _sqrt(square_avg) + group["eps"]
        if mu > 0:
            buf = state["momentum_buffer"]
            buf *= mu
            buf += grad / avg
            param -= group["lr"] * buf
        else:
            param -= group["lr"] * (grad / avg)


class Adam(Optimizer):
    """Adam: momentum on the gradient and on its square, with bias correction.

    g ← g + λθ; m ← m + (1 − β₁)(g − m); v ← β₂v + (1 − β₂)g²; (amsgrad: v̂ ← max(v̂, v),
    used in place of v); θ ← θ − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + eps).
    (eps is added after the bias correction of √v, exactly as PyTorch does.)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False):
        betas = tuple(betas)
        if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"Adam: betas must be two numbers in [0, 1), got {betas}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad))

    def _update(self, param, grad, state, group):
        xp = backend.xp_of(param)
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(param)
            state["exp_avg_sq"] = xp.zeros_like(param)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(param)
        state["step"] += 1
        t = state["step"]
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg += (1 - beta1) * (grad - exp_avg)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        step_size = group["lr"] / (1 - beta1 ** t)
        bias_correction2_sqrt = math.sqrt(1 - beta2 ** t)
        if group["amsgrad"]:
            xp.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
            exp_avg_sq = state["max_exp_avg_sq"]
        denom = _sqrt(exp_avg_sq) / bias_correction2_sqrt + group["eps"]
        param -= step_size * (exp_avg / denom)


# ``tinygrad_rnn.optim.lr_scheduler`` (and ``from tinygrad_rnn.optim.lr_scheduler import StepLR``)
from tinygrad_rnn import lr_scheduler  # noqa: E402

sys.modules[f"{__name__}.lr_scheduler"] = lr_scheduler

"""Finite-difference checks of the engine's gradients.

For a function f of some tensors we pick a fixed random cotangent v and compare, for the
scalar s(x) = Σ ⟨v, f(x)⟩, the engine's ∂s/∂x with central differences

    ∂s/∂x_j ≈ (s(x + ε e_j) − s(x − ε e_j)) / 2ε.

Checking every element costs two evaluations per element; for big inputs
``directions=k`` instead compares k random directional derivatives ⟨∂s/∂x, u⟩.
``second_order=True`` also checks the gradient of the gradient (through create_graph).
"""

from __future__ import annotations

from tinygrad_rnn import backend
from tinygrad_rnn.autograd import grad
from tinygrad_rnn.errors import GradcheckError
from tinygrad_rnn.modes import enable_grad, no_grad
from tinygrad_rnn.tensor import Tensor


def _outputs(fn, inputs) -> list:
    out = fn(*inputs)
    outs = [out] if isinstance(out, Tensor) else [o for o in out if o is not None]
    for o in outs:
        if o.dtype != backend.float64:
            raise TypeError(f"gradcheck needs float64 outputs, got {o.dtype}: finite differences in "
                            f"float32 are too coarse. Convert inputs and modules with .double()")
    return outs


def _scalar(outs, cotangents) -> float:
    return sum(float((backend.to_host(o.data) * v).sum()) for o, v in zip(outs, cotangents))


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, *,
              directions: int | None = None, second_order: bool = False, seed: int = 0) -> bool:
    """Check ``fn``'s gradients with respect to every input that requires grad.

    Returns True, or raises :class:`GradcheckError` naming the input, the element (or
    direction) and both values.
    """
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    checked = [k for k, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True")
    for k in checked:
        if inputs[k].dtype != backend.float64:
            raise TypeError(f"gradcheck: input {k} is {inputs[k].dtype}; use float64 inputs "
                            f"(x.double(), or Tensor(..., dtype='float64'))")
    rng = backend.host_random(seed)
    outs = _outputs(fn, inputs)
    cotangents = [rng.standard_normal(o.shape) for o in outs]
    analytic = _analytic(outs, cotangents, [inputs[k] for k in checked])

    def s_at(k, new_data) -> float:
        x = inputs[k]
        old, x.data = x.data, new_data
        try:
            with no_grad():
                return _scalar(_outputs(fn, inputs), cotangents)
        finally:
            x.data = old

    if directions is None:
        for k, a in zip(checked, analytic):
            x = inputs[k]
            host = backend.to_host(x.data)
            for j in range(host.size):
                plus, minus = host.copy(), host.copy()
                plus.flat[j] += eps
                minus.flat[j] -= eps
                numeric = (s_at(k, backend.to_array(plus, x.device)) -
                           s_at(k, backend.to_array(minus, x.device))) / (2 * eps)
                _compare(a.flat[j], numeric, atol, rtol,
                         f"input {k} (shape {tuple(x.shape)}), element {backend.unravel(j, x.shape)}")
    else:
        for d in range(directions):
            for k, a in zip(checked, analytic):
                x = inputs[k]
                host = backend.to_host(x.data)
                u = rng.standard_normal(host.shape)
                u /= max(float((u * u).sum()) ** 0.5, 1e-300)
                numeric = (s_at(k, backend.to_array(host + eps * u, x.device)) -
                           s_at(k, backend.to_array(host - eps * u, x.device))) / (2 * eps)
                _compare(float((a * u).sum()), numeric, atol, rtol,
                         f"input {k} (shape {tuple(x.shape)}), random direction {d}")
    if second_order:
        def first_derivatives(*xs):
            with enable_grad():  # gradcheck evaluates this under no_grad
                return _grads_of(xs)

        def _grads_of(xs):
            outs = _outputs(fn, xs)
            live = [(o, v) for o, v in zip(outs, cotangents) if o.requires_grad]
            if not live:  # f is constant in its inputs: every derivative is zero
                return [Tensor(backend.host_zeros(xs[k].shape)) for k in checked]
            return grad([o for o, _ in live], [xs[k] for k in checked],
                        grad_outputs=[Tensor(v, device=o.device) for o, v in live],
                        create_graph=True, allow_unused=True)
        gradcheck(first_derivatives, inputs, eps, atol, rtol, directions=directions, seed=seed + 1)
    return True


def _analytic(outs, cotangents, xs) -> list:
    """∂s/∂x for each x, as host arrays (zeros where s does not depend on x)."""
    live = [(o, v) for o, v in zip(outs, cotangents) if o.requires_grad]
    grads = [None] * len(xs)
    if live:
        grads = grad([o for o, _ in live], xs,
                     grad_outputs=[Tensor(v, device=o.device) for o, v in live], allow_unused=True)
    return [backend.host_zeros(x.shape) if g is None else backend.to_host(g.data)
            for x, g in zip(xs, grads)]


def _compare(analytic: float, numeric: float, atol: float, rtol: float, where: str) -> None:
    if not abs(analytic - numeric) <= atol + rtol * abs(numeric):
        raise GradcheckError(f"gradcheck: {where}: analytic {analytic:.10g} vs numerical "
                             f"{numeric:.10g} (difference {abs(analytic - numeric):.3g}, "
                             f"allowed {atol + rtol * abs(numeric):.3g})")

"""Every primitive's VJP against finite differences in float64."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from op_cases import CASES

import tinygrad_rnn as tg

SMOOTH = {"add", "sub", "mul", "div", "neg", "pow", "exp", "log", "tanh", "sigmoid", "sqrt",
          "matmul_2d", "matmul_batched", "sum_axis", "softmax", "log_softmax", "getitem_repeated",
          "cat", "stack", "x_times_x", "expand", "embedding", "pow_tensor", "pow_tensor_negative_base"}


def _tensors(arrays, device="cpu"):
    return [tg.Tensor(a, dtype="float64", requires_grad=True, device=device) for a in arrays]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_vjp_matches_finite_differences(case, rng, device):
    assert tg.gradcheck(case.ours, _tensors(case.inputs(rng), device))


@pytest.mark.parametrize("case", [c for c in CASES if c.name in SMOOTH], ids=lambda c: c.name)
def test_second_order_matches_finite_differences(case, rng, device):
    assert tg.gradcheck(case.ours, _tensors(case.inputs(rng), device), atol=1e-4, second_order=True)


BINARY = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
          "div": lambda x, y: x / (y * y + 0.5), "where": lambda x, y: tg.where(x.data > y.data, x, y)}


@settings(max_examples=30, deadline=None)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
       op=st.sampled_from(sorted(BINARY)), seed=st.integers(0, 2**16))
def test_broadcasting_gradients_sum_back_to_input_shapes(shapes, op, seed):
    rng = np.random.default_rng(seed)
    x, y = _tensors([rng.standard_normal(s) for s in shapes.input_shapes])
    out = BINARY[op](x, y)
    assert out.shape == shapes.result_shape
    assert tg.gradcheck(BINARY[op], [x, y])
    out.sum().backward()
    assert x.grad.shape == x.shape and y.grad.shape == y.shape


@settings(max_examples=30, deadline=None)
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), data=st.data())
def test_reductions_over_any_axes(shape, data):
    axes = data.draw(st.lists(st.integers(0, len(shape) - 1), unique=True, max_size=len(shape)))
    keepdims = data.draw(st.booleans())
    fn = data.draw(st.sampled_from(["sum", "mean", "amax", "amin"]))  # values over any axes
    rng = np.random.default_rng(len(axes) * 7 + len(shape))
    x = tg.Tensor(rng.permutation(np.linspace(-1, 1, int(np.prod(shape)))).reshape(shape),
                  dtype="float64", requires_grad=True)
    axis = tuple(axes) or None
    out = getattr(x, fn)(axis=axis, keepdims=keepdims)
    expected = getattr(np, {"sum": "sum", "mean": "mean", "amax": "max", "amin": "min"}[fn])(
        x.numpy(), axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
    assert tg.gradcheck(lambda t: getattr(t, fn)(axis=axis, keepdims=keepdims), [x])


@settings(max_examples=20, deadline=None)
@given(batch=hnp.array_shapes(min_dims=0, max_dims=2, max_side=3),
       n=st.integers(1, 4), k=st.integers(1, 4), m=st.integers(1, 4), seed=st.integers(0, 999))
def test_matmul_gradients_for_batched_shapes(batch, n, k, m, seed):
    rng = np.random.default_rng(seed)
    x, y = _tensors([rng.standard_normal(batch + (n, k)), rng.standard_normal((k, m))])
    np.testing.assert_allclose((x @ y).numpy(), x.numpy() @ y.numpy(), rtol=1e-12)
    assert tg.gradcheck(lambda a, b: a @ b, [x, y])


def test_repeated_indices_accumulate_in_backward():
    w = tg.Tensor(np.zeros((3, 2)), requires_grad=True)
    w[np.array([0, 2, 0, 0])].sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[3, 3], [0, 0], [1, 1]])


def test_float32_gradients_agree_with_float64():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((4, 3))
    grads = []
    for dtype in ("float32", "float64"):
        x = tg.Tensor(a, dtype=dtype, requires_grad=True)
        (x.tanh() @ x.T).sigmoid().log_softmax(axis=1).sum().backward()
        assert x.grad.dtype == np.dtype(dtype)
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-4, atol=1e-6)

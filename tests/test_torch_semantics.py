"""Ops, dtypes, indexing and errors off the happy path behave as in PyTorch 2.13 (issue 12, 7–10).

Each test compares with torch where it is installed; the few facts that need no oracle
(0 ** 0 = 1, exact integer minima) are checked directly as well.
"""

import math

import numpy as np
import pytest
from conftest import TORCH, needs_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tg

NAN = math.nan


def _pair(*arrays, device="cpu"):
    """float64 leaves of ours and of torch's with the same values."""
    ours = [tg.Tensor(np.asarray(a, dtype=np.float64), dtype="float64", requires_grad=True,
                      device=device) for a in arrays]
    theirs = [TORCH.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    return ours, theirs


def _check(fn_ours, fn_theirs, *arrays, grads=True, device="cpu"):
    """Same values and the same gradients (NaN where torch has NaN) for every input."""
    ours, theirs = _pair(*arrays, device=device)
    out, ref = fn_ours(*ours), fn_theirs(*theirs)
    assert out.device == device
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-15, atol=0)
    assert out.shape == tuple(ref.shape)
    if not grads:
        return
    cot = np.arange(1.0, 1.0 + ref.numel()).reshape(tuple(ref.shape))
    out.backward(tg.Tensor(cot, dtype="float64", device=device))
    ref.backward(TORCH.tensor(cot))
    for mine, other in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad.numpy(), other.grad.numpy(), rtol=1e-12, atol=0)


# ---- 7. clip/clamp, pow, max/min, mean, integer min, 0-d dims, casts -------------------------

@needs_torch
def test_clip_with_tensor_bounds_values_and_gradients_match_torch_clamp(device):
    # ties with either bound, x outside both sides, lo > hi (hi wins), lo == hi, a NaN
    x = [-2.0, 0.0, 0.5, 1.0, 3.0, 0.2, -1.0, NAN]
    lo = [-1.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.3, 0.0]
    hi = [1.0, 1.0, 1.0, 1.0, 2.0, 0.1, 0.3, 1.0]
    _check(lambda a, b, c: a.clip(b, c), lambda a, b, c: a.clamp(b, c), x, lo, hi, device=device)
    _check(lambda a, b: a.clamp(min=b), lambda a, b: a.clamp(min=b), x, lo, device=device)
    _check(lambda a, c: tg.clip(a, max=c), lambda a, c: a.clamp(max=c), x, hi, device=device)


@needs_torch
def test_clip_with_broadcast_tensor_bound_and_a_number_bound():
    x = np.linspace(-2, 2, 12).reshape(3, 4)
    lo = np.array([[-1.0], [0.0], [0.5]])
    # torch.clamp takes two Tensors or two numbers; ours also mixes them
    _check(lambda a, b: a.clip(b, 1.5), lambda a, b: a.clamp(b, TORCH.tensor(1.5).double()), x, lo)


def test_clip_with_tensor_bounds_is_a_float_tensor_not_objects():
    x = tg.Tensor([0.0, 2.0, -3.0])
    out = x.clip(tg.Tensor([-1.0, -1.0, -1.0]), tg.Tensor([1.0, 1.0, 1.0]))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.numpy(), [0.0, 1.0, -1.0])


@needs_torch
def test_pow_with_a_tensor_exponent_matches_torch_for_negative_bases_and_zero(device):
    x = [0.0, -2.0, -2.0, 2.0, 0.0, 3.0, -1.5, 0.0]
    p = [0.0, 2.0, 3.0, 0.5, 2.0, 0.0, 0.0, -1.0]
    _check(lambda a, b: a ** b, lambda a, b: a ** b, x, p, device=device)


@needs_torch
def test_pow_with_a_broadcast_tensor_exponent_matches_torch():
    x = np.array([[-2.0, 1.5, 3.0], [0.5, -1.0, 2.0]])
    _check(lambda a, b: a ** b, lambda a, b: a ** b, x, [2.0, 3.0, -1.0])


@needs_torch
@pytest.mark.parametrize("p", [0, 0.0, 1, 2, 3, -1, 0.5])
def test_pow_with_a_number_matches_torch_including_zero_exponent(p):
    x = [0.0, -2.0, 2.0, 0.5] if p not in (-1, 0.5) else [-2.0, 2.0, 0.5, 3.0]
    if p == 0.5:
        x = [2.0, 0.5, 3.0]
    _check(lambda a: a ** p, lambda a: a ** p, x)


@needs_torch
@pytest.mark.parametrize("base", [2.0, 0.5, 0.0, -2.0, 3])
def test_number_to_a_tensor_power_matches_torch(base):
    x = [0.0, 1.0, 2.0, -1.0, 3.0] if base != 0.5 else [0.0, 1.5, -2.5]
    _check(lambda t: base ** t, lambda t: base ** t, x)
    ints = np.array([0, 1, 3])
    assert str((base ** tg.Tensor(ints)).dtype) == str((base ** TORCH.tensor(ints)).dtype)[6:]


@needs_torch
def test_pow_and_clip_with_0d_tensor_operands_match_torch():
    _check(lambda a, b: a ** b, lambda a, b: a ** b, -2.0, 3.0)
    _check(lambda a, b: a ** b, lambda a, b: a ** b, 0.0, 0.0)
    _check(lambda a, b, c: a.clip(b, c), lambda a, b, c: a.clamp(b, c), 5.0, 0.0, 1.0)


def test_zero_to_the_zero_is_one_and_its_gradient_is_zero():
    x = tg.Tensor([0.0, 0.0], requires_grad=True)
    y = x ** 0
    np.testing.assert_array_equal(y.numpy(), [1.0, 1.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])  # not NaN (0 · 0⁻¹)
    z = tg.Tensor([0.0], requires_grad=True) ** tg.Tensor([0.0], requires_grad=True)
    np.testing.assert_array_equal(z.numpy(), [1.0])


def test_pow_with_a_tensor_exponent_has_second_derivatives():
    x = tg.Tensor([1.5, -2.0, 0.7], dtype="float64", requires_grad=True)
    p = tg.Tensor([2.0, 3.0, 1.3], dtype="float64", requires_grad=True)
    assert tg.gradcheck(lambda a: a ** tg.Tensor([2.0, 3.0, 2.0], dtype="float64"), [x],
                        second_order=True)
    xs = tg.Tensor([1.5, 2.0, 0.7], dtype="float64", requires_grad=True)
    assert tg.gradcheck(lambda a, b: a ** b, [xs, p], second_order=True)


REDUCTIONS = {  # name: (ours, torch): torch's three rules for max/min gradients
    "max_full": (lambda t: t.max(), lambda t: t.max()),
    "min_full": (lambda t: t.min(), lambda t: t.min()),
    "max_dim0": (lambda t: t.max(axis=0).values, lambda t: t.max(dim=0).values),
    "max_dim1_keepdim": (lambda t: t.max(dim=1, keepdim=True).values,
                         lambda t: t.max(dim=1, keepdim=True).values),
    "min_dim1": (lambda t: t.min(axis=1).values, lambda t: t.min(dim=1).values),
    "min_dim_neg": (lambda t: t.min(axis=-1).values, lambda t: t.min(dim=-1).values),
    "amax_tuple": (lambda t: t.amax(axis=(0, 1)), lambda t: t.amax(dim=(0, 1))),
    "amin_tuple": (lambda t: t.amin(axis=(1,)), lambda t: t.amin(dim=(1,))),
}
TIES = [[1.0, 3.0, 3.0, 2.0], [5.0, 5.0, -1.0, 5.0], [0.0, 0.0, 0.0, 0.0]]
WITH_NAN = [[1.0, NAN, 3.0, NAN], [5.0, 5.0, -1.0, 2.0], [-3.0, 0.0, -3.0, NAN]]


@needs_torch
@pytest.mark.parametrize("data", [TIES, WITH_NAN], ids=["ties", "nan"])
@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_max_and_min_route_gradients_like_torch_with_ties_and_nan(name, data, device):
    ours, theirs = REDUCTIONS[name]
    _check(ours, theirs, data, device=device)


@needs_torch
@pytest.mark.parametrize("fn", ["maximum", "minimum"])
def test_maximum_and_minimum_route_gradients_like_torch_with_ties_and_nan(fn, device):
    x = [1.0, 2.0, NAN, 3.0, NAN, -1.0]
    y = [1.0, 1.0, 2.0, NAN, NAN, 0.0]
    _check(getattr(tg, fn), getattr(TORCH, fn), x, y, device=device)


@needs_torch
def test_mean_of_an_empty_selection_is_nan():
    for shape, axis in [((0,), None), ((0, 3), 0), ((2, 0), 1)]:
        ours = tg.zeros(*shape).mean(axis=axis)
        ref = TORCH.zeros(*shape).mean() if axis is None else TORCH.zeros(*shape).mean(dim=axis)
        assert ours.shape == tuple(ref.shape)
        np.testing.assert_array_equal(ours.numpy(), ref.numpy())
    assert math.isnan(tg.zeros(0).mean().item())


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int32", "int64", "bool"])
def test_integer_min_and_minimum_are_exact(dtype):
    values = np.array([0, 128, 255, 64, 32, 16]) if dtype == "uint8" else np.array([5, -3, 7, 0])
    a = values.astype(dtype)
    x = tg.Tensor(a)
    assert x.min().item() == a.min()
    np.testing.assert_array_equal(x.amin(axis=0).numpy(), a.min(axis=0))
    b = a[::-1].copy()
    out = tg.minimum(x, tg.Tensor(b))
    assert out.dtype == a.dtype
    np.testing.assert_array_equal(out.numpy(), np.minimum(a, b))
    if TORCH is not None and dtype != "bool":
        assert x.min().item() == TORCH.tensor(a).min().item()


@needs_torch
@pytest.mark.parametrize("dim", [0, -1])
def test_reductions_and_squeeze_accept_dim_0_and_minus_1_on_0d_tensors(dim):
    for name in ["sum", "mean", "max", "min"]:
        ours = getattr(tg.Tensor(3.0, requires_grad=True), name)(dim=dim)
        ref = getattr(TORCH.tensor(3.0), name)(dim)
        assert isinstance(ours, tuple) == isinstance(ref, tuple)  # max/min: (values, indices)
        ours = ours.values if isinstance(ours, tuple) else ours
        ref = ref.values if isinstance(ref, tuple) else ref
        assert ours.shape == tuple(ref.shape) == ()
        assert ours.item() == ref.item()
        ours.backward()
    for name in ["softmax", "log_softmax"]:
        ours = getattr(tg.Tensor(3.0, requires_grad=True), name)(dim=dim)
        ref = getattr(TORCH.tensor(3.0), name)(dim)
        assert ours.shape == () and ours.item() == ref.item()
    assert tg.Tensor(3.0).squeeze(dim).shape == tuple(TORCH.tensor(3.0).squeeze(dim).shape)
    with pytest.raises(IndexError, match="axis 1 is out of range"):
        tg.Tensor(3.0).sum(dim=1)


@needs_torch
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
def test_casting_to_an_integer_dtype_detaches(dtype):
    x = tg.Tensor([1.5, -0.5, 2.0], requires_grad=True)
    y = x.to(dtype=dtype)
    ref = TORCH.tensor([1.5, -0.5, 2.0], requires_grad=True).to(getattr(TORCH, dtype))
    assert y.requires_grad is ref.requires_grad is False
    assert y.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(y.numpy(), ref.numpy())
    assert x.float().requires_grad  # float casts stay differentiable


# ---- 8. dtype promotion ------------------------------------------------------------------------

def _promotion_cases():
    i = lambda: np.array([1, 2, 3])  # noqa: E731
    b = lambda: np.array([True, False, True])  # noqa: E731
    f32 = lambda: np.array([1.0, 2.0, 4.0], dtype=np.float32)  # noqa: E731
    f64 = lambda: np.array([1.0, 2.0, 4.0])  # noqa: E731
    i32 = lambda: np.array([1, 2, 3], dtype=np.int32)  # noqa: E731
    u8 = lambda: np.array([1, 2, 3], dtype=np.uint8)  # noqa: E731
    i8 = lambda: np.array([1, 2, 3], dtype=np.int8)  # noqa: E731
    return {
        "int*2.5": (i, lambda x: x * 2.5), "2.5*int": (i, lambda x: 2.5 * x),
        "int+2.5": (i, lambda x: x + 2.5), "int-2.5": (i, lambda x: x - 2.5),
        "2.5-int": (i, lambda x: 2.5 - x), "int/2.5": (i, lambda x: x / 2.5),
        "int/2": (i, lambda x: x / 2), "2/int": (i, lambda x: 2 / x),
        "int/int": (i, lambda x: x / x), "bool/bool": (b, lambda x: x / (x + True)),
        "int*2": (i, lambda x: x * 2), "int+True": (i, lambda x: x + True),
        "bool+1": (b, lambda x: x + 1), "bool*2.5": (b, lambda x: x * 2.5),
        "f32+1.5": (f32, lambda x: x + 1.5), "f64+1.5": (f64, lambda x: x * 1.5),
        "f32/3": (f32, lambda x: x / 3), "f64/3": (f64, lambda x: x / 3),
        "int**0.5": (i, lambda x: x ** 0.5), "int**2": (i, lambda x: x ** 2),
        "int32*2.5": (i32, lambda x: x * 2.5), "uint8/2": (u8, lambda x: x / 2),
        "int8*1.5": (i8, lambda x: x * 1.5),
        "int+f32": (i, lambda x: x + x.float() if hasattr(x, "float") else None),
        "int*np.float64": (i, lambda x: x * np.float64(2.5)),
    }


PROMOTIONS = _promotion_cases()


@needs_torch
@pytest.mark.parametrize("name", sorted(PROMOTIONS))
def test_dtype_promotion_with_python_scalars_follows_torch(name):
    make, fn = PROMOTIONS[name]
    out, ref = fn(tg.Tensor(make())), fn(TORCH.tensor(make()))
    assert str(out.dtype) == str(ref.dtype).replace("torch.", ""), name
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-6)


@needs_torch
def test_tensor_tensor_promotion_follows_torch():
    pairs = [("int64", "float32"), ("int64", "float64"), ("bool", "int64"), ("int32", "int64"),
             ("uint8", "int8"), ("bool", "float32"), ("int64", "int64"), ("bool", "bool")]
    for a, b in pairs:
        x, y = np.array([1, 0, 1]).astype(a), np.array([1, 1, 0]).astype(b)
        for op in (lambda p, q: p + q, lambda p, q: p * q, lambda p, q: p / (q + 1)):
            out, ref = op(tg.Tensor(x), tg.Tensor(y)), op(TORCH.tensor(x), TORCH.tensor(y))
            assert str(out.dtype) == str(ref.dtype).replace("torch.", ""), (a, b)


def test_integer_division_is_computed_in_float32_as_torch_does():
    big = np.array([2**24 + 1, 7])  # not a float32: torch rounds before dividing
    out = tg.Tensor(big) / tg.Tensor(np.array([1, 7]))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.numpy(), big.astype(np.float32) / np.float32([1, 7]))


@needs_torch
@pytest.mark.parametrize("args", [(0.0, 3.0), (0, 3, 0.5), (1.5,), (3,), (0, 10, 3), (-1.0, 1.0, 0.1)])
def test_arange_dtypes_follow_torch(args):
    out, ref = tg.arange(*args), TORCH.arange(*args)
    assert str(out.dtype) == str(ref.dtype).replace("torch.", "")
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-6, atol=1e-7)


# ---- 9. indexing: PyTorch's result shapes ---------------------------------------------------

INDEX_FORMS = [
    (0, slice(None), [0, 1]),
    ([0, 1], slice(None), 0),
    (slice(None), 0, [0, 2]),
    (0, [0, 1]),
    ([1, 0], 0),
    (0, None, [0, 1]),
    (0, slice(None), [[0, 1], [1, 3]]),
    (Ellipsis, 0, [1, 2]),
    (0, Ellipsis, [1, 2]),
    ("t1", slice(None), [0, 1]),  # a 0-d index tensor counts as an integer
    (1, slice(1, 3), [3, 3, 0]),  # repeated indices: gradients accumulate
    (-1, slice(None), "mask"),
    ([0, 1], None, [0, 1]),
    ([0, 1], slice(None), [0, 1]),
    (0, 1, [0, 1]),
    (slice(None), [0, 2], slice(None)),
    (0, slice(None, None, -1), [2]),
]


def _as_index(form, lib):
    out = []
    for p in form:
        if isinstance(p, list):
            p = np.array(p) if lib == "ours" else TORCH.tensor(p)
        elif isinstance(p, str) and p == "t1":
            p = tg.Tensor(np.array(1)) if lib == "ours" else TORCH.tensor(1)
        elif isinstance(p, str) and p == "mask":
            m = [True, False, True, True]
            p = np.array(m) if lib == "ours" else TORCH.tensor(m)
        elif isinstance(p, np.ndarray):
            p = p if lib == "ours" else TORCH.tensor(p)
        out.append(p)
    return tuple(out)


def _torch_index_safe(form):
    return all(not (isinstance(p, slice) and p.step is not None and p.step < 0) for p in form)


@needs_torch
@pytest.mark.parametrize("form", INDEX_FORMS, ids=str)
def test_indexing_shapes_values_and_gradients_match_torch(form, device):
    x = np.arange(24.0).reshape(2, 3, 4)
    if not _torch_index_safe(form):  # torch has no negative steps: compare with its flip
        ours, theirs = _pair(x, device=device)
        out = ours[0][_as_index(form, "ours")]
        ref = theirs[0][0].flip(0)[:, [2]]
        np.testing.assert_array_equal(out.numpy(), ref.detach().numpy())
        return
    _check(lambda t: t[_as_index(form, "ours")], lambda t: t[_as_index(form, "torch")], x,
           device=device)


_M34 = np.zeros((3, 4), bool)
_M34[0, 1] = _M34[2, 3] = _M34[1, 1] = True
INDEX_PARTS = {"int": 1, "slice": slice(None), "slice13": slice(1, 3), "array": [0, 1],
               "none": None, "ellipsis": Ellipsis, "true": True, "mask": _M34, "int0d": "t1"}


@needs_torch
def test_every_mix_of_up_to_three_index_parts_matches_torch():
    """Shapes, values and gradients of x[i, j, k] for every choice of up to three parts on a
    (2, 3, 4, 5) tensor; where torch refuses an index, so do we."""
    import itertools
    x = np.arange(120.0).reshape(2, 3, 4, 5)
    checked = 0
    for k in (1, 2, 3):
        for names in itertools.product(INDEX_PARTS, repeat=k):
            if names.count("ellipsis") > 1:
                continue
            form = tuple(np.array(INDEX_PARTS[n]) if n == "mask" else INDEX_PARTS[n]
                         for n in names)
            try:
                TORCH.tensor(x)[_as_index(form, "torch")]
            except (IndexError, RuntimeError, ValueError, TypeError):
                with pytest.raises((IndexError, RuntimeError, ValueError, TypeError)):
                    tg.Tensor(x)[_as_index(form, "ours")]
                continue
            _check(lambda t, f=form: t[_as_index(f, "ours")],
                   lambda t, f=form: t[_as_index(f, "torch")], x)
            checked += 1
    assert checked > 500


@needs_torch
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_random_mixes_of_integers_slices_and_index_arrays_match_torch(data):
    shape = tuple(data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    parts, length = [], data.draw(st.integers(1, 3))  # index arrays of one length broadcast
    for n in shape[: data.draw(st.integers(1, len(shape)))]:
        kind = data.draw(st.sampled_from(["int", "slice", "array", "none"]))
        if kind == "none":
            parts.append(None)
        if kind == "int":
            parts.append(data.draw(st.integers(-n, n - 1)))
        elif kind == "array":
            parts.append(data.draw(st.lists(st.integers(-n, n - 1), min_size=length,
                                            max_size=length)))
        else:
            parts.append(slice(data.draw(st.integers(0, n - 1)), None))
    form = tuple(parts)
    x = np.arange(float(np.prod(shape))).reshape(shape)
    _check(lambda t: t[_as_index(form, "ours")], lambda t: t[_as_index(form, "torch")], x)


# ---- 10. errors ---------------------------------------------------------------------------------

def test_shape_errors_are_value_errors_and_runtime_errors():
    for bad in (lambda: tg.zeros(2, 3) + tg.zeros(4), lambda: tg.zeros(2, 3) @ tg.zeros(2, 3),
                lambda: tg.zeros(2, 3).reshape(4, 2)):
        for cls in (ValueError, RuntimeError, tg.ShapeError):
            with pytest.raises(cls):
                bad()
    with pytest.raises(RuntimeError, match=r"getitem: \(3,\)"):
        tg.zeros(3)[5]
    with pytest.raises(IndexError):
        tg.zeros(3)[5]


@needs_torch
def test_torch_raises_runtime_error_for_the_same_mismatch():
    with pytest.raises(RuntimeError):
        TORCH.zeros(2, 3) + TORCH.zeros(4)
    with pytest.raises(RuntimeError):
        tg.zeros(2, 3) + tg.zeros(4)


def test_numpy_type_errors_stay_type_errors_with_the_op_and_scope():
    x = tg.zeros(2, 3)
    with tg.scope("enc"), pytest.raises(TypeError, match=r"reshape in enc: \(2, 3\)") as err:
        x.reshape(2.0, 3)
    assert not isinstance(err.value, tg.ShapeError)

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


# ---- masked softmax (attention, top-k sampling): masking wins however low the scores ----


@needs_torch
def test_attention_mask_holds_for_scores_below_minus_1e9():
    # before: masked scores were replaced by -1e9, which beat real scores of -1e10: the
    # softmax put its weight on the masked key, then zeroed it: context 0 instead of 1
    q = tg.tensor(np.full((1, 1, 1), 1e5, np.float32))
    k = tg.tensor(np.array([[[-1e5], [-2e5], [0.0]]], np.float32))
    v = tg.tensor(np.array([[[1.0], [2.0], [3.0]]], np.float32))
    keep = np.array([[True, True, False]])
    out = nn.DotAttention()(q, k, v, mask=keep)
    out = out[0] if isinstance(out, tuple) else out
    ref = TORCH.nn.functional.scaled_dot_product_attention(
        TORCH.tensor(q.numpy()), TORCH.tensor(k.numpy()), TORCH.tensor(v.numpy()),
        attn_mask=TORCH.tensor(keep).reshape(1, 1, 3), scale=1.0)
    np.testing.assert_allclose(out.numpy(), ref.numpy())
    assert out.numpy().item() == 1.0


def test_top_k_sampling_never_draws_a_masked_symbol_of_very_low_logits():
    # before: top_k=1 of [-1e10, -2e10, -3e10] drew symbol 2 (the least likely) every time
    from tinygrad_rnn.nn.sampling import sampling_probs
    probs = sampling_probs(tg.tensor([-1e10, -2e10, -3e10]), top_k=1).numpy()
    np.testing.assert_array_equal(probs, [1.0, 0.0, 0.0])
    assert {int(nn.sample(tg.tensor([-1e10, -2e10, -3e10]), top_k=1)) for _ in range(20)} == {0}


def test_masked_softmax_of_a_row_with_nothing_kept_is_zero_with_zero_gradient():
    from tinygrad_rnn.nn.attention import masked_softmax
    scores = tg.tensor(np.array([[1.0, 2.0], [3.0, -1e12]]), requires_grad=True)
    keep = np.array([[False, False], [True, False]])
    w = masked_softmax(scores, keep)
    np.testing.assert_array_equal(w.numpy(), [[0.0, 0.0], [1.0, 0.0]])
    (w * tg.tensor(np.array([[1.0, 2.0], [3.0, 4.0]]))).sum().backward()
    np.testing.assert_array_equal(scores.grad.numpy(), np.zeros((2, 2)))


def test_sampling_never_draws_a_zero_probability_symbol_when_the_cdf_ends_below_u(monkeypatch):
    # these float32 probabilities sum to 0.99999994; a uniform u above that (probability
    # ~6e-8 a draw, so it happens in long generations) drew the masked symbol 6
    from tinygrad_rnn import backend

    class HighU:
        def random(self, shape):
            return np.full(shape, 0.99999999)

    monkeypatch.setattr(backend, "generator", lambda device: HighU())
    logits = np.array([0.12573022, -0.13210486, 0.64042264, 0.10490011, -0.5356694,
                       0.36159506, -np.inf], np.float32)
    assert int(nn.sample(tg.tensor(logits))) == 5
    assert nn.sample(tg.tensor(np.stack([logits, logits[[6, 0, 1, 2, 3, 4, 5]]]))).tolist() == [5, 6]


# ---- in-place arithmetic: the manual SGD loop of PyTorch's tutorials -------------------


@needs_torch
def test_manual_sgd_with_isub_under_no_grad_updates_the_parameters_like_torch():
    # before: `p -= lr * p.grad` rebound the loop variable; the model never changed
    tg.manual_seed(0)
    model = nn.Linear(3, 2)
    ref = TORCH.nn.Linear(3, 2)
    with TORCH.no_grad():
        ref.weight.copy_(TORCH.tensor(model.weight.numpy()))
        ref.bias.copy_(TORCH.tensor(model.bias.numpy()))
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    for _ in range(3):
        for m, inp in ((model, tg.tensor(x)), (ref, TORCH.tensor(x))):
            (m(inp) ** 2).sum().backward()
        with tg.no_grad():
            for p in model.parameters():
                p -= 0.1 * p.grad
                p.grad = None
        with TORCH.no_grad():
            for p in ref.parameters():
                p -= 0.1 * p.grad
                p.grad = None
    np.testing.assert_allclose(model.weight.numpy(), ref.weight.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(model.bias.numpy(), ref.bias.detach().numpy(), rtol=1e-5, atol=1e-5)


def test_in_place_arithmetic_on_a_leaf_is_in_place_and_checked_like_torch():
    w = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    alias = buf = tg.zeros(3)
    buf += w * 2  # a constant leaf takes a recorded value: buf now has a graph
    assert buf is alias and buf.requires_grad
    a = tg.ones(3)
    a *= w
    (buf.sum() + a.sum()).backward()
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 3.0, 3.0])  # torch: the same
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        w += 1  # outside no_grad, as PyTorch
    n = tg.tensor(3)
    with pytest.raises(RuntimeError, match="dtype"):
        n += 1.5  # PyTorch: "result type Float can't be cast to ... Long"
    x = tg.zeros(2)
    with pytest.raises(RuntimeError, match="shape"):
        x += tg.ones(2, 2)


def test_in_place_arithmetic_writes_through_views_and_shared_arrays():
    base = np.zeros(4, np.float32)
    t = tg.from_numpy(base)
    t += 1
    view = t[1:3]
    view *= 5
    np.testing.assert_array_equal(base, [1.0, 5.0, 5.0, 1.0])


def test_in_place_arithmetic_after_a_saving_op_raises_at_backward():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    x = tg.tensor([3.0, 4.0])
    y = (w * x).sum()  # mul saved x
    with tg.no_grad():
        x += 1
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_in_place_arithmetic_on_a_computed_tensor_is_the_same_number_as_before():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    total = w * w
    total += w
    total.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 5.0])


# ---- shapes ------------------------------------------------------------------------------


@needs_torch
@pytest.mark.parametrize("shape, dim", [((1, 3, 1, 4), (0, 2)), ((1, 3, 1, 4), (0, 1)),
                                        ((1, 3, 1, 4), (-2, 0)), ((1, 3, 1, 4), 2),
                                        ((1, 3, 1, 4), ()), ((), 0), ((1, 1), (0, 1))])
def test_squeeze_of_a_tuple_of_dims_drops_every_one_like_torch(shape, dim):
    # before: squeeze((0, 2)) of (1, 3, 1, 4) dropped only axis 0: (3, 1, 4), torch (3, 4)
    x = tg.tensor(np.ones(shape), requires_grad=True)
    y = x.squeeze(dim)
    ref = TORCH.ones(shape).squeeze(dim)
    assert tuple(y.shape) == tuple(ref.shape)
    y.sum().backward()
    assert x.grad.shape == x.shape
    assert tuple(tg.squeeze(x, dim).shape) == tuple(ref.shape)


# ---- setitem: PyTorch's order of dimensions, and CUDA range checks ----------------------


@needs_torch
@pytest.mark.parametrize("index, vshape", [((0, slice(None), [0, 1, 2]), (3, 3)),
                                           ((0, slice(None), [0, 1]), (2,)),
                                           ((1, slice(None), [2, 0]), (3, 2)),
                                           ((slice(None), 0, slice(None), [1, 0]), (2, 3, 2))])
def test_setitem_with_an_integer_and_an_index_array_apart_writes_where_torch_does(index, vshape):
    # before: NumPy's reading: x[0, :, [0, 1, 2]] = v wrote v transposed, without a word
    shape = (2, 3, 3) if len(index) == 3 else (2, 2, 3, 3)
    v = np.arange(np.prod(vshape), dtype=np.float32).reshape(vshape)
    ours, theirs = tg.zeros(*shape), TORCH.zeros(shape)
    ours[index] = tg.tensor(v)
    theirs[index] = TORCH.tensor(v)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@needs_torch
def test_setitem_torch_order_with_gradients_is_refused_and_the_advised_form_is_torchs():
    w = tg.tensor(np.ones((2, 3, 3), np.float32), requires_grad=True)
    h = w * 2
    v = np.arange(6, dtype=np.float32).reshape(3, 2)
    with pytest.raises(IndexError, match=r"x\[0:1, :, idx\] = value.unsqueeze\(0\)"):
        h[0, :, [0, 1]] = tg.tensor(v)
    vt = tg.tensor(v, requires_grad=True)
    h[0:1, :, [0, 1]] = vt.unsqueeze(0)  # the advised form
    tw, tv = TORCH.ones((2, 3, 3), requires_grad=True), TORCH.tensor(v, requires_grad=True)
    th = tw * 2
    th[0, :, [0, 1]] = tv
    weights = np.random.default_rng(0).standard_normal((2, 3, 3)).astype(np.float32)
    (h * tg.tensor(weights)).sum().backward()
    (th * TORCH.tensor(weights)).sum().backward()
    np.testing.assert_array_equal(h.numpy(), th.detach().numpy())
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy())
    np.testing.assert_allclose(vt.grad.numpy(), tv.grad.numpy())


def test_setitem_torch_order_without_gradients_is_a_tracked_write():
    a = tg.tensor(np.ones((2, 3, 3)), requires_grad=True) * 1
    y = (a * a).sum()
    with tg.no_grad():
        a[0, :, [0, 1]] = 5.0
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


CUDA_ONLY = pytest.mark.skipif(not tg.backend.cuda_available(), reason="no CUDA GPU here (CuPy "
                               "missing or no device): CUDA cases run only on a GPU machine")


@CUDA_ONLY
@pytest.mark.gpu
def test_cuda_setitem_with_a_device_index_out_of_range_raises_not_wraps():
    # before: x[device [5]] = 1 on a (3,) CUDA tensor wrote x[2] (CuPy wraps), no error ever
    from tinygrad_rnn import backend
    backend._pending.clear()
    x = tg.tensor(np.zeros(3, np.float32), device="cuda")
    x[tg.tensor([5], device="cuda")] = 1.0
    with pytest.raises(IndexError, match="out of range"):
        x.numpy()
    y = tg.tensor(np.zeros(3, np.float32), device="cuda", requires_grad=True) * 1
    v = tg.tensor(np.ones(1, np.float32), device="cuda", requires_grad=True)
    y[tg.tensor([-4], device="cuda")] = v
    y.sum().backward()
    with pytest.raises(IndexError, match="out of range"):
        v.grad.numpy()


@CUDA_ONLY
@pytest.mark.gpu
def test_cuda_setitem_torch_order_matches_the_cpu():
    v = np.arange(9, dtype=np.float32).reshape(3, 3)
    cpu, gpu = tg.zeros(2, 3, 3), tg.zeros(2, 3, 3, device="cuda")
    cpu[0, :, [0, 1, 2]] = tg.tensor(v)
    gpu[0, :, [0, 1, 2]] = tg.tensor(v, device="cuda")
    np.testing.assert_array_equal(cpu.numpy(), gpu.numpy())


@needs_torch
@pytest.mark.parametrize("lo, hi", [(0.5, 2.5), (0, 2.5), (0.5, None), (None, 2.5), (0, 2)])
def test_clip_of_an_integer_tensor_with_number_bounds_has_torchs_dtype(lo, hi):
    # before: float bounds gave float64 (NumPy's promotion), torch gives float32
    values = [-3, 1, 2, 5]
    ours = tg.tensor(values).clip(lo, hi).numpy()
    theirs = TORCH.tensor(values).clamp(lo, hi).numpy()
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)


# ---- NumPy scalars are numbers (weak), never a silent float64 upcast --------------------


@needs_torch
@pytest.mark.parametrize("make", [
    lambda t, s: t ** s(2.0),
    lambda t, s: t.clip(s(1.5), None),
    lambda t, s: t.clip(None, s(1.5)),
    lambda t, s: t.clip(s(0.5), s(1.5)),
])
def test_a_numpy_float64_scalar_keeps_a_float32_tensor_float32_with_its_gradient(make):
    # before: x ** np.float64(2) and x.clip(np.float64(1.5)) were float64, and x.grad of a
    # float32 leaf came back float64 (np.float64 is a float subclass, so it skipped the check)
    x = tg.tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    tx = TORCH.tensor([1.0, 2.0], requires_grad=True)
    y, ty = make(x, np.float64), make(tx, np.float64)
    assert y.dtype == np.float32 and str(ty.dtype) == "torch.float32"
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy())
    y.sum().backward()
    ty.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


# ---- gradients keep their leaf's dtype -------------------------------------------------

from op_cases import CASES  # noqa: E402


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_every_op_hands_float32_inputs_float32_gradients(case):
    # before: maximum/minimum's tie weight (1 + bool) was int64, so float32 / int64 made the
    # gradients of float32 leaves float64 (and an optimizer step then mixed precisions)
    arrays = [a.astype(np.float32) for a in case.inputs(np.random.default_rng(0))]
    xs = [tg.tensor(a, requires_grad=True) for a in arrays]
    out = case.ours(*xs)
    assert out.dtype == np.float32
    out.sum().backward()
    for x in xs:
        assert x.grad is None or x.grad.dtype == np.float32, case.name


@needs_torch
def test_maximum_and_minimum_with_ties_hand_float32_gradients():
    x = tg.tensor(np.array([1.0, 2.0, 3.0], np.float32), requires_grad=True)
    y = tg.tensor(np.array([1.0, 3.0, 2.0], np.float32), requires_grad=True)
    (tg.maximum(x, y).sum() + tg.minimum(x, 2.0).sum()).backward()
    tx = TORCH.tensor([1.0, 2.0, 3.0], requires_grad=True)
    ty = TORCH.tensor([1.0, 3.0, 2.0], requires_grad=True)
    (TORCH.maximum(tx, ty).sum() + TORCH.minimum(tx, TORCH.tensor(2.0)).sum()).backward()
    assert x.grad.dtype == y.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    np.testing.assert_array_equal(y.grad.numpy(), ty.grad.numpy())


# ---- found by the review, fixed after it ------------------------------------------------------

@pytest.mark.parametrize("fn", ["exp", "log", "tanh", "sqrt", "sigmoid"])
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
def test_float_functions_of_integer_tensors_are_float32_like_torch(fn, dtype):
    a = np.array([1, 2, 3]).astype(dtype)
    ours = getattr(tg.tensor(a), fn)()
    assert ours.dtype == np.float32
    if TORCH is not None:
        ref = getattr(TORCH.tensor(a), fn)()
        assert str(ref.dtype) == "torch.float32"
        np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-6)


def test_float_functions_keep_float64():
    x = tg.tensor([1.0, 2.0], dtype="float64")
    assert all(getattr(x, f)().dtype == np.float64 for f in ("exp", "log", "tanh", "sqrt"))


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "bool", "int8"])
def test_sum_of_small_integers_is_int64_like_torch(dtype):
    a = np.array([200, 100, 50]).astype(dtype)
    ours = tg.tensor(a).sum()
    assert ours.dtype == np.int64 and ours.item() == int(a.astype("int64").sum())
    if TORCH is not None:
        assert str(TORCH.tensor(a).sum().dtype) == "torch.int64"


def test_init_of_an_integer_tensor_with_real_values_is_refused_not_truncated():
    t = tg.tensor([1, 2, 3])
    with pytest.raises(TypeError, match="truncated"):
        tg.nn.init.normal_(t)
    assert t.tolist() == [1, 2, 3]
    tg.nn.init.constant_(t, 7)  # an integer value into an integer tensor is fine
    assert t.tolist() == [7, 7, 7]


def test_backward_accumulates_into_the_existing_grad_in_place_like_torch():
    w = tg.ones(3, requires_grad=True)
    (w * 2).sum().backward()
    opt = optim.SGD([w], lr=0.1)
    opt.zero_grad(set_to_none=False)
    kept = w.grad                        # a reference kept from before, as torch users do
    (w * 3).sum().backward()
    assert kept is w.grad and kept.tolist() == [3.0, 3.0, 3.0]
    (w * 1).sum().backward()             # accumulation goes on in the same array
    assert kept.tolist() == [4.0, 4.0, 4.0]
    if TORCH is not None:
        t = TORCH.ones(3, requires_grad=True)
        (t * 2).sum().backward()
        TORCH.optim.SGD([t], lr=0.1).zero_grad(set_to_none=False)
        kept_t = t.grad
        (t * 3).sum().backward()
        (t * 1).sum().backward()
        assert kept_t.tolist() == kept.tolist()


def test_accumulating_into_a_grad_that_a_graph_saved_is_detected():
    w = tg.ones(2, requires_grad=True)
    (w * 2).sum().backward()
    v = tg.ones(2, requires_grad=True)
    y = (v * w.grad).sum()               # w.grad's values saved for y's backward
    (w * 5).sum().backward()             # accumulates into w.grad in place
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()

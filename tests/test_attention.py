"""Attention: weights sum to 1 over real keys and are exactly 0 on padding; gradchecks; errors."""

import numpy as np
import pytest
from conftest import TORCH, needs_torch

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.errors import DTypeError, ShapeError


@pytest.fixture(autouse=True)
def _seed():
    tg.manual_seed(0)


MODULES = {
    "additive": lambda: nn.AdditiveAttention(3, 4, 5),
    "dot": lambda: nn.DotAttention(),
    "dot-scaled": lambda: nn.DotAttention(scale=True),
    "general": lambda: nn.GeneralAttention(3, 4),
    "general-scaled": lambda: nn.GeneralAttention(3, 4, scale=True),
}


def _inputs(name, B=2, Q=3, K=5, dv=2, dtype="float32"):
    dq, dk = (4, 4) if name.startswith("dot") else (3, 4)
    return (tg.randn(B, Q, dq, dtype=dtype), tg.randn(B, K, dk, dtype=dtype),
            tg.randn(B, K, dv, dtype=dtype))


@pytest.mark.parametrize("name", MODULES)
def test_weights_sum_to_one_over_valid_keys_and_are_exactly_zero_on_masked(name):
    q, k, v = _inputs(name)
    context, weights = MODULES[name]()(q, k, v, valid_lens=[2, 4])
    w = weights.numpy()
    assert w.shape == (2, 3, 5) and context.shape == (2, 3, 2)
    np.testing.assert_allclose(w[0, :, :2].sum(-1), 1, rtol=1e-6)
    np.testing.assert_allclose(w[1, :, :4].sum(-1), 1, rtol=1e-6)
    assert np.all(w[0, :, 2:] == 0) and np.all(w[1, :, 4:] == 0)
    assert np.all(w[0, :, :2] > 0)
    np.testing.assert_allclose(context.numpy(), w @ v.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", MODULES)
def test_masked_values_and_keys_receive_no_gradient(name):
    q, k, v = _inputs(name, dtype="float64")
    k.requires_grad_(), v.requires_grad_()
    attn = MODULES[name]().double()
    context, _ = attn(q, k, v, valid_lens=[2, 5])
    context.sum().backward()
    assert np.all(k.grad.numpy()[0, 2:] == 0) and np.all(v.grad.numpy()[0, 2:] == 0)
    assert np.any(v.grad.numpy()[1, 2:] != 0)


def test_equal_keys_give_uniform_weights_and_the_mean_of_the_valid_values():
    attn = nn.AdditiveAttention(2, 2, 8)
    queries = tg.randn(2, 1, 2)
    keys = tg.ones(2, 10, 2)
    values = tg.arange(40, dtype="float32").reshape(1, 10, 4).expand(2, 10, 4)
    context, weights = attn(queries, keys, values, valid_lens=[2, 6])
    np.testing.assert_allclose(context.numpy()[:, 0], [[2, 3, 4, 5], [10, 11, 12, 13]], rtol=1e-6)
    np.testing.assert_allclose(weights.numpy()[0, 0, :2], 0.5, rtol=1e-6)
    np.testing.assert_allclose(weights.numpy()[1, 0, :6], 1 / 6, rtol=1e-6)
    assert np.all(weights.numpy()[0, 0, 2:] == 0) and np.all(weights.numpy()[1, 0, 6:] == 0)


def test_boolean_mask_and_per_query_lengths_equal_valid_lens():
    q, k, v = _inputs("additive")
    attn = MODULES["additive"]()
    _, by_lens = attn(q, k, v, valid_lens=[2, 4])
    mask = np.arange(5)[None, :] < np.array([2, 4])[:, None]
    _, by_mask = attn(q, k, v, mask=mask)
    _, by_query = attn(q, k, v, valid_lens=np.array([[2, 2, 2], [4, 4, 4]]))
    np.testing.assert_array_equal(by_lens.numpy(), by_mask.numpy())
    np.testing.assert_array_equal(by_lens.numpy(), by_query.numpy())


def test_query_without_valid_keys_gets_zero_weights_and_context():
    q, k, v = _inputs("dot")
    context, weights = nn.DotAttention()(q, k, v, valid_lens=[0, 5])
    assert np.all(weights.numpy()[0] == 0) and np.all(context.numpy()[0] == 0)


def test_additive_score_is_the_bahdanau_formula():
    attn = nn.AdditiveAttention(3, 4, 5).double()
    q, k, v = (t.double() for t in _inputs("additive"))
    _, weights = attn(q, k, v)
    W, U, va = attn.W_a.numpy(), attn.U_a.numpy(), attn.v_a.numpy()
    s, h = q.numpy(), k.numpy()
    e = np.tanh((s @ W.T)[:, :, None, :] + (h @ U.T)[:, None, :, :]) @ va
    alpha = np.exp(e) / np.exp(e).sum(-1, keepdims=True)
    np.testing.assert_allclose(weights.numpy(), alpha, rtol=1e-12)


def test_scaled_dot_divides_scores_by_sqrt_d():
    q, k, v = _inputs("dot")
    _, w = nn.DotAttention(scale=True)(q, k, v)
    e = q.numpy() @ k.numpy().transpose(0, 2, 1) / 2.0
    np.testing.assert_allclose(w.numpy(), np.exp(e) / np.exp(e).sum(-1, keepdims=True), rtol=1e-5)


@pytest.mark.parametrize("name", MODULES)
def test_attention_gradcheck_with_padding(name):
    attn = MODULES[name]().double()
    q, k, v = (t.requires_grad_() for t in _inputs(name, dtype="float64"))

    def fn(q, k, v, *params):
        context, weights = attn(q, k, v, valid_lens=[3, 5])
        return context, weights
    assert tg.gradcheck(fn, [q, k, v, *attn.parameters()])


def test_attention_scope_and_names_label_the_graph():
    q, k, v = _inputs("additive")
    context, weights = MODULES["additive"]()(q, k, v)
    assert context.name == "c_i" and weights.name == "alpha"
    assert context.node.scope == "attention" and weights.node.scope == "attention"


# ---- the two mask conventions (PyTorch's attn_mask: bool True = keep, float = added) -------


def _hand_attention(q, k, v, bias):
    """softmax(q kᵀ/√d + bias) v by hand, with exp(−inf) = 0."""
    e = q @ k.transpose(0, 2, 1) / np.sqrt(k.shape[-1]) + bias
    w = np.exp(e - e.max(-1, keepdims=True))
    w = w / w.sum(-1, keepdims=True)
    return w @ v, w


def _masks():
    keep = np.ones((2, 3, 5), bool)
    keep[0, :, 3:] = False
    keep[1, 1, [0, 2]] = False
    additive = np.where(keep, 0.0, -np.inf)
    additive[1, 2] += [0.5, -1.0, 0.0, 2.0, 0.25]   # finite entries are a bias on the score
    return keep, additive


def test_boolean_mask_true_keeps_the_key_as_a_hand_computation():
    q, k, v = (t.double() for t in _inputs("dot"))
    keep, _ = _masks()
    context, weights = nn.DotAttention(scale=True)(q, k, v, mask=keep)
    c, w = _hand_attention(q.numpy(), k.numpy(), v.numpy(), np.where(keep, 0.0, -np.inf))
    np.testing.assert_allclose(weights.numpy(), w, rtol=1e-12)
    np.testing.assert_allclose(context.numpy(), c, rtol=1e-12)
    assert np.all(weights.numpy()[~keep] == 0)


def test_float_mask_is_added_to_the_scores_as_a_hand_computation():
    q, k, v = (t.double() for t in _inputs("dot"))
    _, additive = _masks()
    context, weights = nn.DotAttention(scale=True)(q, k, v, mask=additive)
    c, w = _hand_attention(q.numpy(), k.numpy(), v.numpy(), additive)
    np.testing.assert_allclose(weights.numpy(), w, rtol=1e-12)
    np.testing.assert_allclose(context.numpy(), c, rtol=1e-12)
    assert np.all(weights.numpy()[additive == -np.inf] == 0)


def test_zero_minus_inf_float_mask_equals_the_boolean_mask_not_its_inverse():
    q, k, v = _inputs("additive")
    attn = MODULES["additive"]()
    keep = np.arange(5)[None, :] < np.array([2, 4])[:, None]
    _, by_bool = attn(q, k, v, mask=keep)
    _, by_float = attn(q, k, v, mask=np.where(keep, 0.0, -np.inf).astype(np.float32))
    np.testing.assert_array_equal(by_float.numpy(), by_bool.numpy())


@needs_torch
@pytest.mark.parametrize("kind", ["bool", "float"])
def test_masks_match_torch_scaled_dot_product_attention(kind):
    q, k, v = (t.double().requires_grad_() for t in _inputs("dot"))
    keep, additive = _masks()
    keep[1, 0] = False                                    # a query with no key left: zeros
    additive[1, 0] = -np.inf
    mask = keep if kind == "bool" else additive
    context, _ = nn.DotAttention(scale=True)(q, k, v, mask=mask)
    context.sum().backward()
    tq, tk, tv = (TORCH.tensor(t.numpy(), requires_grad=True) for t in (q, k, v))
    expected = TORCH.nn.functional.scaled_dot_product_attention(tq, tk, tv,
                                                                attn_mask=TORCH.tensor(mask))
    expected.sum().backward()
    np.testing.assert_allclose(context.numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    for ours, theirs in ((q, tq), (k, tk), (v, tv)):
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_float_mask_gradcheck():
    attn = MODULES["general"]().double()
    q, k, v = (t.requires_grad_() for t in _inputs("general", dtype="float64"))
    _, additive = _masks()

    def fn(q, k, v, *params):
        return attn(q, k, v, mask=additive)
    assert tg.gradcheck(fn, [q, k, v, *attn.parameters()])


def test_integer_mask_is_refused_with_the_conventions():
    q, k, v = _inputs("additive")
    with pytest.raises(DTypeError, match=r"booleans \(True = keep the key\) or floats added to "
                                         r"the scores \(0 = keep, -inf = mask out\), got int64"):
        MODULES["additive"]()(q, k, v, mask=np.ones((2, 5), np.int64))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_float_mask_with_nan_or_plus_inf_is_refused(bad):
    q, k, v = _inputs("additive")
    mask = np.zeros((2, 5))
    mask[1, 3] = bad
    with pytest.raises(ValueError, match=r"float mask is added to the scores.*NaN or \+inf"):
        MODULES["additive"]()(q, k, v, mask=mask)


# ---- bad input -------------------------------------------------------------------------------


def test_mask_of_the_wrong_shape_names_module_and_shapes():
    q, k, v = _inputs("additive")
    attn = MODULES["additive"]()
    with pytest.raises(ShapeError, match=r"AdditiveAttention.*valid_lens.*\(2,\).*got int64 array "
                                         r"of shape \(3,\)"):
        attn(q, k, v, valid_lens=[1, 2, 3])
    with pytest.raises(ShapeError, match=r"AdditiveAttention.*mask must have shape \(2, 5\).*"
                                         r"got \(2, 4\)"):
        attn(q, k, v, mask=np.ones((2, 4), bool))
    with pytest.raises(ValueError, match=r"valid_lens must lie in \[0, 5\]"):
        attn(q, k, v, valid_lens=[1, 6])


def test_mismatched_sizes_name_module_and_shapes():
    q, k, v = _inputs("additive")
    with pytest.raises(ShapeError, match=r"AdditiveAttention\(query_size=3.*queries \(2, 3, 4\)"):
        nn.AdditiveAttention(3, 4, 5)(k[:, :3], k, v)
    with pytest.raises(ShapeError, match=r"DotAttention.*one size.*\(2, 3, 3\).*\(2, 5, 4\)"):
        nn.DotAttention()(q, k, v)
    with pytest.raises(ShapeError, match=r"GeneralAttention.*values \(2, 4, 2\)"):
        nn.GeneralAttention(3, 4)(q, k, v[:, :4])
    with pytest.raises(DTypeError, match="AdditiveAttention"):
        nn.AdditiveAttention(3, 4, 5)(q.double(), k.double(), v.double())
    with pytest.raises(ValueError, match="hidden_size must be a positive integer"):
        nn.AdditiveAttention(3, 4, 0)


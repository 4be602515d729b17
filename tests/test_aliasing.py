"""Copies and shared memory: what a tensor owns, what it shares, and what a copy of it is."""

import copy
import pickle

import numpy as np
import pytest
from conftest import TORCH, needs_cuda, needs_torch

import tinygrad_rnn as tg
from tinygrad_rnn import nn, optim

# ---- construction copies, as torch.tensor; from_numpy shares ---------------------------------


def test_tensor_from_an_array_copies_so_refilling_a_batch_buffer_changes_no_graph():
    buffer = np.array([1.0, 2.0, 3.0])
    w = tg.Tensor(np.full(3, 2.0), requires_grad=True)
    x = tg.Tensor(buffer)
    loss = (w * x).sum()
    buffer[:] = 100.0           # the next batch is loaded into the same buffer
    loss.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(x.numpy(), [1.0, 2.0, 3.0])


@pytest.mark.parametrize("make", [
    lambda a: tg.Tensor(a), lambda a: tg.tensor(a), lambda a: nn.Parameter(a),
    lambda a: tg.Tensor(tg.from_numpy(a)), lambda a: tg.Tensor(a[1:]),
    lambda a: tg.Tensor(a, dtype="float64"),
], ids=["Tensor", "tensor", "Parameter", "Tensor(Tensor)", "view", "same dtype"])
def test_constructors_copy_their_data(make):
    a = np.array([1.0, 2.0, 3.0])
    t = make(a)
    before = t.numpy().copy()
    a[:] = -1.0
    np.testing.assert_array_equal(t.numpy(), before)


def test_two_parameters_from_one_array_are_not_tied():
    a = np.zeros(3)
    p, q = nn.Parameter(a), nn.Parameter(a)
    opt = optim.SGD([p], lr=1.0)
    p.grad = tg.Tensor(np.ones(3))
    opt.step()
    np.testing.assert_array_equal(q.numpy(), np.zeros(3))
    np.testing.assert_array_equal(a, np.zeros(3))  # nor the caller's array


def test_from_numpy_shares_memory_both_ways():
    a = np.array([1.0, 2.0])
    t = tg.from_numpy(a)
    a[0] = 5.0
    assert t.numpy()[0] == 5.0
    t[1] = 7.0
    assert a[1] == 7.0
    assert t.dtype == a.dtype and t.device == "cpu"


@needs_torch
def test_from_numpy_and_tensor_alias_like_torch():
    for lib in (TORCH, tg):
        a = np.array([1.0, 2.0])
        shared, copied = lib.from_numpy(a), lib.tensor(a)
        a[0] = 9.0
        assert (float(shared[0]), float(copied[0])) == (9.0, 1.0)


def test_from_numpy_refuses_what_is_not_a_numpy_array():
    with pytest.raises(TypeError, match="from_numpy expects a NumPy array.*tg.tensor"):
        tg.from_numpy([1.0, 2.0])
    with pytest.raises(TypeError, match="dtype object"):
        tg.from_numpy(np.array(["a"], dtype=object))


def test_internal_results_are_not_copied():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    assert y.detach().data is y.data          # detach shares, as in PyTorch
    assert tg.from_numpy(y.data).data is y.data


# ---- deepcopy and pickle give independent objects --------------------------------------------


def _model():
    tg.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))


def _train(model, opt, steps=3):
    x = tg.Tensor(np.linspace(-1, 1, 15).reshape(5, 3).astype("float32"))
    for _ in range(steps):
        opt.zero_grad()
        loss = (model(x) ** 2).mean()
        loss.backward()
        opt.step()
    return float(loss)


def _values(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def test_training_a_deep_copy_leaves_the_original_untouched():
    model = _model()
    before = _values(model)
    twin = copy.deepcopy(model)
    _train(twin, optim.SGD(twin.parameters(), lr=0.5))
    for p in model.parameters():
        assert p.grad is None
    for k, v in _values(model).items():
        np.testing.assert_array_equal(v, before[k])
    assert any(not np.array_equal(v, before[k]) for k, v in _values(twin).items())


def test_backward_through_a_deep_copied_leaf_fills_the_copys_grad():
    w = tg.Tensor([1.0, 2.0], requires_grad=True, name="w")
    w.grad = tg.Tensor([5.0, 5.0])
    c = copy.deepcopy(w)
    assert c.requires_grad and c.is_leaf and c.name == "w" and c.data is not w.data
    (c * 3).sum().backward()
    np.testing.assert_array_equal(c.grad.numpy(), [8.0, 8.0])   # its copied .grad, plus 3
    np.testing.assert_array_equal(w.grad.numpy(), [5.0, 5.0])


def test_deep_copy_keeps_tied_parameters_tied_and_types():
    p = nn.Parameter(np.ones(2))
    a, b = copy.deepcopy([p, p])
    assert a is b and type(a) is nn.Parameter and a is not p


@needs_torch
def test_deep_copy_of_a_computed_tensor_is_refused_like_torch():
    with pytest.raises(RuntimeError, match="leaves"):
        copy.deepcopy(TORCH.ones(2, requires_grad=True) * 2)
    with pytest.raises(RuntimeError, match="only leaf tensors.*detach"):
        copy.deepcopy(tg.Tensor([1.0], requires_grad=True) * 2)


def test_pickle_round_trip_of_a_module_and_its_optimizer_trains_like_the_original():
    model = _model()
    opt = optim.Adam(model.parameters(), lr=0.1)
    _train(model, opt, steps=2)
    model2, opt2 = pickle.loads(pickle.dumps((model, opt)))
    assert all(p2 is not p for p2, p in zip(model2.parameters(), model.parameters()))
    assert {id(p) for p in opt2._params()} == {id(p) for p in model2.parameters()}
    loss1, loss2 = _train(model, opt), _train(model2, opt2)
    assert loss1 == loss2
    for k, v in _values(model).items():
        np.testing.assert_array_equal(v, _values(model2)[k])


def test_pickled_tensor_keeps_values_dtype_name_and_requires_grad_but_no_graph():
    w = tg.Tensor(np.array([1.0, 2.0], dtype="float64"), requires_grad=True, name="w")
    w.grad = tg.Tensor([1.0, 1.0])
    u = pickle.loads(pickle.dumps(w))
    assert u.requires_grad and u.is_leaf and u.name == "w" and u.dtype == w.dtype
    assert u.grad is None  # as PyTorch: the gradient is not pickled
    (u * 2).sum().backward()
    np.testing.assert_array_equal(u.grad.numpy(), [2.0, 2.0])
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 1.0])


# ---- in-place writes to saved values are caught by backward ----------------------------------


def test_writing_into_a_saved_input_raises_naming_the_op_scope_and_fix():
    w = tg.Tensor(np.ones(3), requires_grad=True)
    x = tg.Tensor(np.arange(3.0))
    with tg.scope("rnn"), tg.scope("t=3"):
        loss = (w * x).sum()
    x[0] = 10.0
    with pytest.raises(RuntimeError, match=r"modified in place after it was saved for backward: "
                                           r"input 1 of mul in rnn/t=3; update after backward\(\), "
                                           r"or clone\(\) it first"):
        loss.backward()


@needs_torch
def test_an_optimizer_step_between_forward_and_backward_raises_like_torch():
    for lib, nn_, optim_ in ((TORCH, TORCH.nn, TORCH.optim), (tg, nn, optim)):
        layer = nn_.Linear(2, 2)
        opt = optim_.SGD(layer.parameters(), lr=0.1)
        x = lib.tensor(np.ones((1, 2), dtype="float32"), requires_grad=True)  # so W is saved
        first = layer(x).tanh().sum()
        second = (layer(x) ** 2).sum()
        first.backward()
        opt.step()
        with pytest.raises(RuntimeError, match="modified by an inplace|modified in place"):
            second.backward()


def _no_grad_write(p):
    with tg.no_grad():
        p[0, 0] = 5.0


def _load(p):
    holder = nn.Linear(3, 1)
    holder.weight = p
    holder.load_state_dict({"weight": np.ones((1, 3), "float32"), "bias": np.ones(1, "float32")})


@pytest.mark.parametrize("write", [
    nn.init.normal_, lambda p: nn.init.constant_(p, 0.5),
    lambda p: optim.SGD([p], lr=0.1).step(), lambda p: optim.Adam([p], lr=0.1).step(),
    _no_grad_write, _load,
], ids=["init.normal_", "init.constant_", "SGD.step", "Adam.step", "x[i]=v under no_grad",
        "load_state_dict"])
def test_every_library_write_into_a_saved_parameter_is_caught(write):
    layer = nn.Linear(3, 1)
    p = layer.weight
    p.grad = tg.zeros_like(p)
    loss = (tg.ones(2, 3) @ p.T).tanh().sum()   # matmul saved p
    write(p)
    with pytest.raises(RuntimeError, match="modified in place after it was saved"):
        loss.backward()


def test_writing_into_a_view_of_a_saved_array_is_caught():
    w = tg.Tensor(np.ones((2, 3)), requires_grad=True)
    buf = tg.Tensor(np.ones((2, 3)))
    loss = (w * buf[1]).sum()           # mul saved a view of buf's memory
    buf[1, 2] = 4.0                     # a write through buf itself
    with pytest.raises(RuntimeError, match="input 1 of mul"):
        loss.backward()


def test_clip_grad_into_create_graph_gradients_that_a_later_op_saved_is_caught():
    w = tg.Tensor(np.ones(3), requires_grad=True)
    (w ** 2).sum().backward(create_graph=True)
    penalty = (w.grad * w.grad.detach()).sum()     # mul saved w.grad's data
    nn.utils.clip_grad_value_([w], 0.5)
    with pytest.raises(RuntimeError, match="modified in place"):
        penalty.backward()


def test_no_false_alarm_for_writes_before_the_graph_or_after_backward():
    layer = nn.Linear(3, 2)
    opt = optim.Adam(layer.parameters(), lr=0.01)
    x = tg.ones(4, 3)
    for _ in range(3):                   # the usual loop: step after backward
        opt.zero_grad()
        loss = (layer(x).tanh() ** 2).sum()
        loss.backward()
        nn.utils.clip_grad_norm_(layer.parameters(), 0.1)
        opt.step()
    unrelated = tg.Tensor(np.zeros(3))
    loss = (layer(x) ** 2).sum()
    unrelated[0] = 1.0                   # written, but saved by no op of this graph
    loss.backward(retain_graph=True)
    loss.backward()                      # internal gradient sums are no writes


def test_a_write_into_an_array_whose_id_is_reused_is_no_false_alarm():
    import gc
    for _ in range(20):
        t = tg.Tensor(np.ones(4))
        t[0] = 2.0
        del t
        gc.collect()
        w = tg.Tensor(np.ones(4), requires_grad=True)
        (w * tg.Tensor(np.ones(4))).sum().backward()


# ---- x[index] = value is recorded when a gradient flows -------------------------------------


def _setitem_case(lib, index, value_shape):
    """x = a·2 (computed), x[index] = v·3; loss = Σ x²·c: gradients of a and v."""
    rng = np.random.default_rng(0)
    a0, v0, c0 = rng.normal(size=(3, 4)), rng.normal(size=value_shape), rng.normal(size=(3, 4))
    a = lib.tensor(a0, requires_grad=True)
    v = lib.tensor(v0, requires_grad=True)
    x = a * 2
    x[index] = v * 3
    loss = (x * x * lib.tensor(c0)).sum()
    loss.backward()
    return float(loss.detach()), a.grad.numpy(), v.grad.numpy()


@needs_torch
@pytest.mark.parametrize("index, value_shape", [
    ((1, 2), ()), (1, (4,)), (1, (1, 4)), ((slice(None), 0), (3,)), ((slice(0, 2),), (4,)),
    ([0, 2], (2, 4)), ((np.array([0, 2]), np.array([1, 3])), (2,)),
    (np.array([True, False, True]), (4,)), ((Ellipsis, -1), ()),
])
def test_setitem_gradients_match_torch(index, value_shape):
    torch_index = tuple(TORCH.from_numpy(i) if isinstance(i, np.ndarray) else i for i in index) \
        if isinstance(index, tuple) else (TORCH.from_numpy(index) if isinstance(index, np.ndarray)
                                          else index)
    expected = _setitem_case(TORCH, torch_index, value_shape)
    got = _setitem_case(tg, index, value_shape)
    assert got[0] == pytest.approx(expected[0], rel=1e-12)
    np.testing.assert_allclose(got[1], expected[1], atol=1e-12)
    np.testing.assert_allclose(got[2], expected[2], atol=1e-12)


def test_assigning_a_value_that_requires_grad_into_a_plain_buffer_is_recorded():
    w = tg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    hs = tg.zeros(3, 2, dtype="float64")
    for t in range(3):
        hs[t] = w * (t + 1)
    assert hs.requires_grad and hs.node.op.name == "setitem"
    hs.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [6.0, 6.0])   # 1 + 2 + 3


def test_setitem_of_a_float64_value_into_a_float32_tensor_gives_a_float64_gradient():
    v = tg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    x = tg.zeros(2, 2)
    x[0] = v
    (x * 2).sum().backward()
    assert v.grad.dtype == np.float64 and x.dtype == np.float32
    np.testing.assert_array_equal(v.grad.numpy(), [2.0, 2.0])


def test_setitem_is_differentiable_twice():
    w = tg.Tensor(np.array(3.0), requires_grad=True)
    x = tg.zeros(2, dtype="float64")
    x[1] = w ** 2
    (g,) = tg.grad((x ** 2).sum(), w, create_graph=True)   # d(w⁴)/dw = 4w³
    (gg,) = tg.grad(g.sum(), w)                              # 12w²
    assert float(g.sum()) == pytest.approx(108.0) and float(gg.sum()) == pytest.approx(108.0)


@needs_torch
def test_setitem_into_a_leaf_that_requires_grad_is_refused_like_torch():
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        TORCH.ones(3, requires_grad=True)[0] = 2.0
    w = tg.Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"a leaf tensor that requires grad is being used in an "
                                           r"in-place operation.*with tg.no_grad\(\):.*clone\(\)"):
        w[0] = 2.0
    with tg.no_grad():
        w[0] = 2.0      # allowed, as in PyTorch
    np.testing.assert_array_equal(w.numpy(), [2.0, 1.0, 1.0])


def test_setitem_into_a_view_with_gradients_is_refused_with_the_fix():
    h = tg.Tensor(np.ones((2, 3))) * 1.0
    v = tg.Tensor(np.array(5.0), requires_grad=True)
    row = tg.zeros(2, 3, dtype="float64")[0]
    with pytest.raises(RuntimeError, match=r"view of another tensor.*h\[0, 1\] = v"):
        row[1] = v
    h[0, 1] = v         # through the tensor itself: fine
    assert h.node.op.name == "setitem"


@needs_torch
def test_writing_h_t_while_h_t_minus_1_is_saved_raises_like_torch():
    for lib in (TORCH, tg):
        w = lib.tensor(np.full(2, 0.5), requires_grad=True)
        h = lib.zeros(3, 2, dtype=lib.float64)
        h[0] = w
        for t in range(1, 3):
            h[t] = (h[t - 1] * w).tanh()   # mul saved a view of h; then h is written
        with pytest.raises(RuntimeError, match="modified by an inplace|modified in place"):
            h.sum().backward()


def test_a_shape_mismatch_in_setitem_names_the_op_and_shapes():
    x = tg.zeros(2, 3)
    with pytest.raises(ValueError, match=r"setitem.*\(2, 3\).*\(4,\)"):
        x[0] = tg.zeros(4)


@needs_cuda
def test_setitem_of_a_list_or_numpy_value_into_a_cuda_tensor():
    x = tg.zeros(2, 3, device="cuda")
    x[0] = [1.0, 2.0, 3.0]
    x[1] = np.array([4.0, 5.0, 6.0])
    np.testing.assert_array_equal(x.numpy(), [[1, 2, 3], [4, 5, 6]])
    v = tg.Tensor(np.array([1.0, 1.0, 1.0], "float32"), device="cuda", requires_grad=True)
    x[0] = v * 2
    (x * x).sum().backward()
    np.testing.assert_allclose(v.grad.numpy(), [8.0, 8.0, 8.0])
    assert v.grad.device == "cuda"


def test_deep_copy_of_a_module_with_its_optimizer_gives_an_independent_pair():
    model = _model()
    opt = optim.Adam(model.parameters(), lr=0.1)
    _train(model, opt, steps=1)
    before = _values(model)
    twin, twin_opt = copy.deepcopy((model, opt))
    assert {id(p) for p in twin_opt._params()} == {id(p) for p in twin.parameters()}
    _train(twin, twin_opt, steps=2)
    for k, v in _values(model).items():
        np.testing.assert_array_equal(v, before[k])
    assert all(s["step"] == 1 for s in opt.state.values())
    assert all(s["step"] == 3 for s in twin_opt.state.values())


@needs_cuda
def test_pickle_and_deepcopy_keep_a_cuda_tensor_on_cuda():
    w = tg.Tensor(np.array([1.0, 2.0], "float32"), device="cuda", requires_grad=True)
    for c in (copy.deepcopy(w), pickle.loads(pickle.dumps(w))):
        assert c.device == "cuda" and c.requires_grad
        (c * 2).sum().backward()
        np.testing.assert_array_equal(c.grad.numpy(), [2.0, 2.0])
    assert w.grad is None

"""The engine's semantics: accumulation, retain_graph, hooks, grad(), scopes, messages."""

import gc
import weakref

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.tensor import FREED


def leaf(values, dtype="float64"):
    return tg.Tensor(values, dtype=dtype, requires_grad=True)


def test_leaf_gradients_accumulate_across_backward_calls_until_zeroed():
    x = leaf([1.0, 2.0])
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3 + 2, 3 + 4])
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3, 3])


def test_x_times_x_keeps_both_edges():
    x = leaf([3.0])
    y = x * x
    assert y.node.inputs == (x.node, x.node)
    y.backward()
    assert x.grad.item() == 6.0


def test_leaves_sharing_one_gradient_array_get_independent_copies():
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (x + y).sum().backward()
    x.grad.data *= 10  # e.g. an in-place clip of one gradient
    np.testing.assert_allclose(y.grad.numpy(), [1, 1])


def test_shared_intermediate_receives_summed_gradient():
    x = leaf([0.5])
    h = x.tanh()
    (h * 2 + h * 3 + h).backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * (1 - np.tanh(0.5) ** 2))


def test_second_backward_without_retain_graph_raises_and_names_the_fix():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True.*detach"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = leaf([1.0, 2.0])
    y = (x.tanh() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)


def test_saved_arrays_are_freed_as_backward_proceeds():
    x = leaf(np.ones(3))
    h = x
    for _ in range(5):
        h = (h * 2).tanh()
    nodes = []
    n = h.node
    while n.op is not None:
        nodes.append(n)
        n = n.inputs[0]
    h.sum().backward()
    assert all(node.saved is FREED for node in nodes)


def test_intermediate_arrays_nobody_saved_are_released_after_forward():
    x = leaf(np.ones(1000))
    pre = x + 1.0            # add saves nothing; tanh saves only its output
    ref = weakref.ref(pre.data)
    y = pre.tanh()
    del pre
    gc.collect()
    assert ref() is None
    y.sum().backward()


def test_detach_cuts_the_graph():
    x = leaf([2.0])
    h = (x * x).detach()
    assert not h.requires_grad
    y = h * x
    y.backward()
    assert x.grad.item() == 4.0


def test_no_grad_records_nothing_and_enable_grad_reopens():
    x = leaf([1.0])
    with tg.no_grad():
        y = x * 2
        with tg.enable_grad():
            z = x * 3
    assert not y.requires_grad and z.requires_grad

    @tg.no_grad()
    def f(t):
        return t * 2
    assert not f(x).requires_grad


def test_retain_grad_keeps_a_non_leaf_gradient():
    x = leaf([1.0, 2.0])
    h = x * 3
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), 2 * h.numpy())
    assert (x * 2).grad is None


def test_hook_sees_and_may_replace_the_gradient_and_can_be_removed():
    x = leaf([1.0, 2.0])
    seen = []
    h = x * 1.0
    handle = h.register_hook(lambda g: seen.append(g.numpy().copy()) or g * 10)
    (h * 2).sum().backward(retain_graph=True)
    np.testing.assert_allclose(seen[0], [2, 2])
    np.testing.assert_allclose(x.grad.numpy(), [20, 20])
    handle.remove()
    x.grad = None
    (h * 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2, 2])


def test_hook_on_a_leaf_runs_before_accumulation():
    x = leaf([1.0])
    x.register_hook(lambda g: g * 0)
    (x * 5).backward()
    assert x.grad.item() == 0.0


def test_grad_returns_without_touching_leaf_grad():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (gx,) = tg.grad((x * w).sum(), x)
    np.testing.assert_allclose(gx.numpy(), [3, 4])
    assert x.grad is None and w.grad is None


def test_grad_with_respect_to_an_intermediate_hidden_state():
    x = leaf([0.3])
    h1 = x.tanh()
    h2 = (h1 * 2).tanh()
    (g1,) = tg.grad(h2.sum(), h1)
    np.testing.assert_allclose(g1.numpy(), 2 * (1 - np.tanh(2 * np.tanh(0.3)) ** 2))


def test_grad_unused_input_raises_unless_allowed():
    x, y = leaf([1.0]), leaf([2.0])
    with pytest.raises(RuntimeError, match="not part of the graph.*allow_unused=True"):
        tg.grad((x * 2).sum(), [x, y])
    gx, gy = tg.grad((x * 2).sum(), [x, y], allow_unused=True)
    assert gx.item() == 2.0 and gy is None


def test_grad_outputs_weight_each_output():
    x = leaf([1.0, 2.0])
    (g,) = tg.grad([x * 2, x * x], x, grad_outputs=[tg.tensor([1.0, 1.0], dtype="float64"),
                                                  tg.tensor([0.5, 0.5], dtype="float64")])
    np.testing.assert_allclose(g.numpy(), [2 + 1, 2 + 2])


def test_create_graph_gives_higher_order_derivatives():
    x = leaf([0.7])
    (g,) = tg.grad(x.tanh(), x, create_graph=True)
    (gg,) = tg.grad(g, x)
    t = np.tanh(0.7)
    np.testing.assert_allclose(g.numpy(), 1 - t ** 2)
    np.testing.assert_allclose(gg.numpy(), -2 * t * (1 - t ** 2))


def test_backward_create_graph_makes_grad_differentiable():
    x = leaf([2.0])
    (x ** 3).backward(create_graph=True)
    g = x.grad
    assert g.requires_grad
    x.grad = None
    g.backward()
    assert x.grad.item() == pytest.approx(12.0)


def test_scopes_nest_and_tag_every_node():
    x = leaf([1.0])
    with tg.scope("encoder"), tg.scope("t=3"):
        y = x * 2
        assert y.node.scope == "encoder/t=3"
    z = y + 1
    assert z.node.scope == ""


def test_nodes_record_op_inputs_and_names():
    W = leaf(np.eye(2))
    W.name = "W_hh"
    h = tg.Tensor([1.0, 2.0], dtype="float64", name="h_0")
    y = W @ h
    assert y.node.op.name == "matmul"
    assert y.node.inputs[0] is W.node and W.node.name == "W_hh"
    assert y.node.inputs[1] is h and h.name == "h_0"


def test_message_recording_is_off_by_default_and_sums_to_the_gradient():
    W = leaf(np.array([[0.5, -0.2], [0.1, 0.3]]))
    h = tg.Tensor([1.0, -1.0], dtype="float64")
    with tg.record_messages() as rec:
        for t in range(4):
            with tg.scope(f"t={t}"):
                h = (W @ h).tanh()
        h.sum().backward()
    to_w = rec.to(W.node)
    assert len(to_w) == 4  # one message per time step that used W
    np.testing.assert_allclose(sum(m[3] for m in to_w), W.grad.numpy(), atol=1e-14)
    assg = tg.modes.state().recorder
    assert assg is None


def test_integer_tensors_do_not_track_gradients():
    t = tg.tensor([1, 2, 3])
    assert t.dtype == np.int64 and not t.requires_grad


def test_comparisons_give_boolean_tensors_without_gradient():
    x = leaf([1.0, -1.0])
    mask = x > 0
    assert mask.dtype == np.bool_ and not mask.requires_grad
    np.testing.assert_array_equal(mask.numpy(), [True, False])


def test_scalar_operands_keep_float32():
    x = tg.ones(3)
    assert (x * 2.5).dtype == np.float32
    assert (1 - x).dtype == np.float32
    assert (x / 3).dtype == np.float32


def test_iterating_a_tensor_gives_rows():
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert [r.tolist() for r in x] == [[1.0, 2.0], [3.0, 4.0]]


def test_gradients_of_single_elements_accumulate():
    x = leaf([1.0, 2.0, 3.0])
    (x[1] * 2 + x[1] * 3 + x[0]).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1, 5, 0])


def test_gradients_of_overlapping_slices_accumulate():
    x = leaf(np.arange(6.0).reshape(2, 3))
    (x[:, :2].sum() + x[:, 1:].sum() * 10 + x[1].sum()).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 11, 10], [2, 12, 11]])


def test_where_with_a_broadcasting_condition_sums_gradients_back():
    x = leaf([1.0, 2.0, 3.0])
    cond = np.array([[True, False, True], [False, False, True]])
    tg.where(cond, x, 0.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1, 0, 2])
    y = leaf([1.0, 2.0, 3.0])
    tg.where(cond, y, y * 2).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [3, 4, 2])


def _thin_product_graph(rng, uses):
    """A weight used by thin (batch-2) products at 5 steps, plus the extra ``uses`` of it."""
    W = leaf(rng.standard_normal((3, 3)) * 0.5)
    h = tg.Tensor(rng.standard_normal((2, 3)), dtype="float64")
    loss = 0
    for t in range(5):
        if t in uses:
            loss = loss + uses[t](W)
        h = (h @ W).tanh()
    (loss + (h * h).sum()).backward()
    return W.grad.numpy()


@pytest.mark.parametrize("uses", [
    {},                                                          # products only
    {0: lambda W: (W * W).sum()},                                # a dense message first
    {4: lambda W: (W * 3).sum()},                                # a dense message last
    {2: lambda W: W[1].sum() * 2, 4: lambda W: W[:, 0].sum()},   # scatters among the products
    {0: lambda W: W[0, 1] * 5, 3: lambda W: W.tanh().sum()},
])
def test_thin_product_gradients_summed_as_one_stacked_product_equal_the_step_by_step_sum(
        uses, monkeypatch):
    from tinygrad_rnn.factored import ProductGrad
    stacked = _thin_product_graph(np.random.default_rng(0), uses)
    monkeypatch.setattr(ProductGrad, "THIN", 0)  # every product summed one step at a time
    step_by_step = _thin_product_graph(np.random.default_rng(0), uses)
    np.testing.assert_allclose(stacked, step_by_step, rtol=1e-12, atol=1e-14)


def test_only_thin_products_keep_their_weight_gradient_factored():
    from tinygrad_rnn.factored import ProductGrad
    from tinygrad_rnn.ops import MATMUL
    dW = MATMUL.vjps[1]
    W, g = np.ones((3, 4)), np.ones((2, 4))
    assert type(dW(g, None, np.ones((2, 3)), W)) is ProductGrad
    thick = np.ones((ProductGrad.THIN + 1, 3))
    assert type(dW(np.ones((len(thick), 4)), None, thick, W)) is np.ndarray


def test_recorded_messages_of_thin_products_are_per_step_arrays_that_sum_to_the_gradient():
    W = leaf(np.array([[0.5, -0.2], [0.1, 0.3]]))
    h = tg.Tensor([[1.0, -1.0]], dtype="float64")
    with tg.record_messages() as rec:
        for _ in range(4):
            h = (h @ W).tanh()
        h.sum().backward()
    to_w = rec.to(W.node)
    assert len(to_w) == 4 and all(isinstance(m[3], np.ndarray) for m in to_w)
    np.testing.assert_allclose(sum(m[3] for m in to_w), W.grad.numpy(), atol=1e-14)


def test_stacked_products_are_multiplied_out_every_STACK_rows(monkeypatch):
    from tinygrad_rnn.factored import ProductGrad
    monkeypatch.setattr(ProductGrad, "STACK", 3)  # 5 messages of 2 rows: folds after 2 and 4
    folded = _thin_product_graph(np.random.default_rng(1), {})
    monkeypatch.setattr(ProductGrad, "THIN", 0)
    step_by_step = _thin_product_graph(np.random.default_rng(1), {})
    np.testing.assert_allclose(folded, step_by_step, rtol=1e-12, atol=1e-14)


def test_backward_memory_of_thin_products_does_not_grow_with_the_unroll_length():
    import tracemalloc

    def peak_of_backward(steps):
        W = leaf(np.random.default_rng(0).standard_normal((64, 64)) * 0.1)
        h = tg.Tensor(np.ones((1, 64)), dtype="float64")
        for _ in range(steps):
            h = (h @ W).tanh()
        loss = h.sum()
        tracemalloc.start()
        loss.backward()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak

    # pending factors are multiplied out every ProductGrad.STACK rows (held until the end,
    # 4000 steps would hold 4000 rows × 128 numbers × 8 bytes twice over: ~8 MB)
    assert peak_of_backward(4000) < 1.5 * peak_of_backward(1000)


def test_a_hook_that_updates_a_weight_in_place_does_not_change_other_gradients():
    W = leaf(np.ones((3, 2)))
    E = leaf(np.ones((2, 3)))
    E.register_hook(lambda g: E.data.__isub__(0.5 * g.data))  # an optimizer step in a hook
    (E @ W).sum().backward()
    np.testing.assert_array_equal(W.grad.numpy(), np.full((3, 2), 2.0))  # from E before the step


def test_a_hook_may_return_an_array_under_create_graph():
    h, W = leaf(np.ones((2, 2))), leaf(np.ones((2, 2)))
    b = (h @ W) * 2
    b.register_hook(lambda g: np.full((2, 2), 1.0))
    (dW,) = tg.grad(b.sum(), W, create_graph=True)
    np.testing.assert_array_equal(dW.numpy(), np.full((2, 2), 4.0))  # hᵀ (2 · ones)


def test_a_leaf_whose_data_was_replaced_by_another_shape_gets_a_gradient_of_the_new_shape():
    x = leaf(np.ones(3))
    x.data = tg.ones(1, 3, dtype="float64", device=x.device).data
    (x + tg.Tensor(np.ones((2, 3)), dtype="float64")).sum().backward()
    assert x.grad.shape == (1, 3)
    np.testing.assert_array_equal(x.grad.numpy(), [[2.0, 2.0, 2.0]])


def _writable_and_private(*grads):
    arrays = [g.data for g in grads]
    for a in arrays:
        assert a.flags.writeable and a.flags.owndata
    for i, a in enumerate(arrays):
        assert not any(np.shares_memory(a, b) for b in arrays[i + 1:])


def test_gradients_handed_out_are_writable_arrays_of_their_own():
    x = leaf(np.ones(3))
    y = leaf(np.ones(3))
    _writable_and_private(*tg.grad((x + y).sum(), [x, y]))          # sum → a broadcast view
    _writable_and_private(*tg.grad((x + y).sum(), [x, y], create_graph=True))
    z = x * 2
    z.retain_grad()
    z.sum().backward()
    _writable_and_private(z.grad, x.grad)
    x.grad = y.grad = None
    (x + y).sum().backward(create_graph=True)
    _writable_and_private(x.grad, y.grad)


def test_clip_grad_norm_works_on_create_graph_gradients():
    x = leaf(np.ones(4))
    x.sum().backward(create_graph=True)  # the gradient of a sum is a broadcast of ones
    total = tg.nn.utils.clip_grad_norm_([x], 1.0)
    assert float(total) == pytest.approx(2.0)
    assert float(np.linalg.norm(x.grad.numpy())) == pytest.approx(1.0, rel=1e-5)


def test_a_hook_may_not_change_the_gradients_dtype_or_shape():
    w = leaf(np.ones(3))
    h = w.register_hook(lambda g: g.to(dtype="float32"))
    with pytest.raises(RuntimeError, match="dtype float32 for a tensor of dtype float64"):
        (w * 2).sum().backward()
    h.remove()
    w.register_hook(lambda g: g.sum())
    with pytest.raises(ValueError, match=r"shape \(\) for a tensor of shape \(3,\)"):
        (w * 2).sum().backward()


def test_a_hook_that_returns_something_else_than_a_tensor_is_refused():
    w = leaf(np.ones(3))
    w.register_hook(lambda g: [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="returns a Tensor .* or None"):
        (w * 2).sum().backward()

"""Bad input gets a clear error that names what went wrong; one test per case."""

import numpy as np
import pytest

import tinygrad_rnn as tg


def test_matmul_shape_mismatch_names_op_shapes_and_scope():
    a, b = tg.zeros(32, 128), tg.zeros(64, 256)
    with tg.scope("rnn"), tg.scope("t=4"), pytest.raises(tg.ShapeError) as err:
        a @ b
    assert "matmul in rnn/t=4: (32, 128) @ (64, 256)" in str(err.value)


def test_broadcast_mismatch_names_op_and_shapes():
    with pytest.raises(tg.ShapeError, match=r"add: \(2, 3\), \(4,\)"):
        tg.zeros(2, 3) + tg.zeros(4)


def test_reshape_to_wrong_size_names_op():
    with pytest.raises(tg.ShapeError, match=r"reshape: \(2, 3\); shape=\(4, 2\)"):
        tg.zeros(2, 3).reshape(4, 2)


def test_index_out_of_range_is_an_index_error_naming_the_shape():
    with pytest.raises(IndexError, match=r"getitem: \(3,\)"):
        tg.zeros(3)[5]


def test_axis_out_of_range():
    with pytest.raises(IndexError, match="sum: axis 2 is out of range"):
        tg.zeros(2, 3).sum(axis=2)


def test_backward_on_non_scalar_needs_grad():
    x = tg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(3,\) needs grad=.*loss.sum\(\)"):
        (x * 2).backward()


def test_backward_grad_of_wrong_shape():
    x = tg.ones(3, requires_grad=True)
    with pytest.raises(ValueError, match=r"grad has shape \(2,\) but the tensor has shape \(3,\)"):
        (x * 2).backward(tg.ones(2))


def test_second_backward_through_freed_graph_says_retain_graph_or_detach():
    W = tg.ones(2, 2, requires_grad=True)
    h = tg.ones(2)
    with tg.scope("t=1"):
        h = (W @ h).tanh()
    h.sum().backward()
    with pytest.raises(RuntimeError) as err:
        (h * 2).sum().backward()  # a new chunk that still hangs on the old, freed graph
    msg = str(err.value)
    assert "retain_graph=True" in msg and "h = h.detach()" in msg and "t=1" in msg


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(TypeError, match="only floating-point tensors can require gradients"):
        tg.Tensor([1, 2, 3], requires_grad=True)


def test_backward_on_tensor_without_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tg.ones(1).backward()


def test_grad_of_input_not_in_graph():
    x, y = tg.ones(2, requires_grad=True), tg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="input 1 .* not part of the graph"):
        tg.grad((x * 2).sum(), [x, y])


def test_mixing_float32_and_float64_is_refused():
    a = tg.ones(2)
    b = tg.ones(2, dtype="float64")
    with tg.scope("lstm"), pytest.raises(tg.DTypeError, match="mul in lstm: float32 and float64"):
        a * b


def test_float64_numpy_array_with_float32_tensor_is_refused():
    with pytest.raises(tg.DTypeError, match=r"\.double\(\)"):
        tg.ones(2) + np.ones(2)


def test_integer_operand_is_cast_to_the_float_side():
    out = tg.ones(2) * tg.tensor([2, 3])
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.numpy(), [2, 3])


def test_detect_anomaly_names_the_op_and_scope_that_made_nan():
    x = tg.tensor([0.0, 1.0], requires_grad=True)
    with tg.detect_anomaly():
        with tg.scope("t=2"):
            y = x.sqrt()
        with np.errstate(divide="ignore"), \
                pytest.raises(FloatingPointError, match="'sqrt' in scope 't=2' produced NaN/Inf"):
            y.sum().backward()


def test_without_anomaly_detection_inf_passes_silently_as_in_pytorch():
    x = tg.tensor([0.0, 1.0], requires_grad=True)
    with np.errstate(divide="ignore"):
        x.sqrt().sum().backward()
    assert np.isinf(x.grad.numpy()[0])


def test_unknown_device():
    with pytest.raises(tg.DeviceError, match="unknown device 'tpu'"):
        tg.zeros(2, device="tpu")


def test_in_place_assignment_into_a_graph_tensor_is_refused():
    x = tg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place assignment"):
        x[0] = 5.0


def test_embedding_index_out_of_range():
    w = tg.ones(5, 2, requires_grad=True)
    with pytest.raises(IndexError, match=r"indices range over \[0, 7\] but the table has 5 rows"):
        tg.embedding(w, np.array([0, 7]))


def test_gradcheck_refuses_float32():
    with pytest.raises(TypeError, match="float64"):
        tg.gradcheck(lambda t: t * 2, [tg.ones(2, requires_grad=True)])


def test_gradcheck_catches_a_wrong_gradient():
    x = tg.tensor([0.3, -0.2], dtype="float64", requires_grad=True)

    def wrong(t):  # a hook that doubles the gradient makes autograd disagree with the function
        y = t * 1.0
        if y.requires_grad:  # gradcheck also evaluates under no_grad
            y.register_hook(lambda g: g * 2)
        return y.tanh()
    with pytest.raises(tg.GradcheckError, match="input 0"):
        tg.gradcheck(wrong, [x])


# ---- dropout = 1.0 is accepted, as in PyTorch: everything dropped in training ----------------


def test_dropout_module_with_p_one_gives_zeros_in_training_and_identity_in_eval():
    x = tg.randn(4, 5, requires_grad=True)
    drop = tg.nn.Dropout(p=1.0)
    out = drop(x)
    assert np.all(out.numpy() == 0)
    out.sum().backward()
    assert np.all(x.grad.numpy() == 0)
    np.testing.assert_array_equal(drop.eval()(x).numpy(), x.numpy())


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_rnn_layers_accept_dropout_one_like_torch(kind):
    from conftest import TORCH
    ours = getattr(tg.nn, kind)(3, 4, num_layers=2, dropout=1.0)
    assert ours.dropout == 1.0
    x = np.random.default_rng(0).standard_normal((5, 2, 3)).astype(np.float32)
    out, _ = ours(tg.tensor(x))
    if TORCH is None:
        return
    theirs = getattr(TORCH.nn, kind)(3, 4, num_layers=2, dropout=1.0)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    out, _ = ours(tg.tensor(x))
    expected, _ = theirs(TORCH.tensor(x))  # train mode: layer 2 sees only zeros
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("p", [-0.1, 1.5, True, "0.5"])
def test_rnn_dropout_outside_zero_one_is_refused(p):
    with pytest.raises(ValueError, match=r"LSTM: dropout must be a number in \[0, 1\]"):
        tg.nn.LSTM(3, 4, num_layers=2, dropout=p)

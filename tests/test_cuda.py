"""The CUDA path at the public boundary (issue 18): host data meeting device tensors, index
checks without host syncs, device names, and what one training step costs on the GPU.

Every test here needs CUDA: on a machine without a GPU they run under the CuPy stand-in
(``PYTHONPATH=../shared/fakecupy``), whose ``cupy._stats`` counts syncs and copies.
"""

import warnings

import numpy as np
import pytest
from conftest import needs_cuda

import tinygrad_rnn as tg
from tinygrad_rnn import backend, nn, optim
from tinygrad_rnn.nn import functional as Fn

pytestmark = [needs_cuda, pytest.mark.gpu]


def _cupy():
    return backend.xp_for("cuda")


@pytest.fixture(autouse=True)
def _no_pending_checks():
    """A test that leaves a failed deferred check behind must not fail the next one's read."""
    backend._pending.clear()
    yield
    backend._pending.clear()


# ---- 2. where -------------------------------------------------------------------------------

def test_where_on_cuda_moves_a_numpy_or_list_mask_to_the_device():
    x = tg.tensor([1.0, 2.0, 3.0], device="cuda", requires_grad=True)
    for mask in (np.array([True, False, True]), [True, False, True], tg.tensor(True)):
        y = tg.where(mask, x, 0.0)
        assert y.device == "cuda"
        expected = [1.0, 0.0, 3.0] if isinstance(mask, (list, np.ndarray)) else [1.0, 2.0, 3.0]
        np.testing.assert_array_equal(y.numpy(), expected)
    tg.where(np.array([True, False, True]), x, 0.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 0.0, 1.0])


def test_where_refuses_a_mask_tensor_on_another_device():
    x = tg.ones(3, device="cuda")
    with pytest.raises(tg.DeviceError, match=r"where: the condition is on cpu but x and y are "
                                             r"on cuda; move it with .to\('cuda'\)"):
        tg.where(tg.tensor([True, False, True], device="cpu"), x, 0.0)
    with pytest.raises(tg.DeviceError, match="condition is on cuda but x and y are on cpu"):
        tg.where(tg.tensor([True, False, True], device="cuda"), tg.ones(3, device="cpu"), 0.0)


# ---- 3. the default device --------------------------------------------------------------------

def test_default_device_cuda_puts_host_data_on_the_gpu(monkeypatch):
    monkeypatch.setenv("TINYGRAD_RNN_DEVICE", "cuda")
    for data in (np.ones((2, 3)), [1.0, 2.0], 3.0, 7):
        assert tg.tensor(data).device == "cuda"
        assert tg.Tensor(data).device == "cuda"
    assert tg.tensor([1.0], device="cpu").device == "cpu"  # an explicit device still wins
    x = tg.tensor(np.arange(3.0))
    assert (x * tg.tensor([1.0, 2.0, 3.0], dtype="float64")).device == "cuda"
    lin = nn.Linear(3, 2)
    assert lin.weight.device == "cuda" and lin(tg.tensor(np.ones((1, 3), np.float32))).device == "cuda"


# ---- 4. a CuPy array before anything asked for CUDA -----------------------------------------------

def test_tensor_from_a_cupy_array_before_anything_asked_for_cuda(monkeypatch):
    cupy = _cupy()
    a = cupy.arange(3.0)
    monkeypatch.setattr(backend, "_cupy", None)  # as in a fresh process
    monkeypatch.delitem(backend._XP_BY_TYPE, type(a))
    monkeypatch.delitem(backend._DEVICE_BY_TYPE, type(a))
    t = tg.Tensor(a)
    assert t.device == "cuda" and t.dtype == np.float64
    np.testing.assert_array_equal(t.numpy(), [0.0, 1.0, 2.0])


# ---- 5. out-of-range integer-array indices ----------------------------------------------------

def test_host_index_arrays_out_of_range_raise_at_once_on_cuda(device):
    x = tg.ones(3, 2, device=device, requires_grad=True)
    with pytest.raises(IndexError):
        x[np.array([0, 3])]
    with pytest.raises(IndexError):
        x[[-4]]
    with pytest.raises(IndexError):
        x[:, [0, 2]]
    x[[-3, 2]].sum().backward()  # negative indices in range are fine, as in NumPy
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 1], [0, 0], [1, 1]])


def test_device_index_arrays_out_of_range_raise_at_the_next_read_without_a_sync():
    cupy = _cupy()
    x = tg.ones(3, 2, device="cuda", requires_grad=True)
    bad = tg.tensor([0, 3], device="cuda")
    with cupy._stats.counting() as c:
        y = x[bad]                    # no sync: checked on the device ...
        y.sum().backward()            # ... and the gradient does not sync either
    assert c["sync"] == 0
    with pytest.raises(IndexError, match=r"getitem: an index array on the GPU held a value out "
                                         r"of range for axis 0 of size 3"):
        y.numpy()                     # ... the next read raises, never a wrapped value
    x[tg.tensor([2, -1], device="cuda")].sum().item()  # nothing pending after the error


def test_a_failed_check_raises_once_and_reads_cost_one_transfer():
    cupy = _cupy()
    x = tg.ones(4, device="cuda")
    idx = tg.tensor([1, 2], device="cuda")
    for _ in range(50):  # one flag per call site, OR-ed in place: nothing grows
        x[idx]
    assert len(backend._pending) == 1
    with cupy._stats.counting() as c:
        assert x.sum().item() == 4.0
    assert c["sync"] == 1 and not backend._pending


def test_embedding_and_cross_entropy_check_device_indices_on_the_device():
    w = tg.ones(5, 2, device="cuda", requires_grad=True)
    with pytest.raises(IndexError, match=r"indices range over \[0, 7\] but the table has 5 rows"):
        tg.embedding(w, np.array([0, 7]))  # host indices: checked before the upload
    out = tg.embedding(w, tg.tensor([0, 5], device="cuda"))
    with pytest.raises(IndexError, match=r"embedding: indices on the GPU held a value outside "
                                         r"\[0, 4\]: the table has 5 rows"):
        out.numpy()
    logits = tg.zeros(2, 3, device="cuda", requires_grad=True)
    with pytest.raises(IndexError, match="target holds class index 3, but input has 3 classes"):
        Fn.cross_entropy(logits, np.array([0, 3]))
    loss = Fn.cross_entropy(logits, tg.tensor([0, 3], device="cuda"))
    assert np.isnan(loss.data.get())  # the value itself is not a plausible number either
    with pytest.raises(IndexError, match="cross_entropy: target holds class index out of range"):
        loss.item()


def test_cross_entropy_on_cuda_ignores_targets_like_the_cpu():
    for target in ([1, -100, 2], [-100, -100, -100]):
        grads, losses = [], []
        for device in ("cpu", "cuda"):
            x = tg.tensor(np.linspace(-1, 1, 12).reshape(3, 4), device=device, requires_grad=True)
            loss = Fn.cross_entropy(x, tg.tensor(target, device=device))
            loss.backward()
            losses.append(loss.item())
            grads.append(x.grad.numpy())
        np.testing.assert_allclose(losses[1], losses[0], rtol=1e-6)
        np.testing.assert_allclose(grads[1], grads[0], rtol=1e-6, atol=1e-7)


# ---- 6. host values into CUDA tensors ----------------------------------------------------------

def test_setitem_on_cuda_takes_numpy_arrays_and_lists():
    t = tg.zeros(2, 3, device="cuda")
    t[0] = np.array([1.0, 2.0, 3.0])
    t[1, :2] = [4.0, 5.0]
    t[:, 2] = tg.tensor([6.0, 7.0], device="cuda")
    assert t.device == "cuda"
    np.testing.assert_array_equal(t.numpy(), [[1, 2, 6], [4, 5, 7]])


def test_comparing_a_cuda_tensor_with_numpy_arrays_lists_and_numbers():
    x = tg.tensor([1.0, 2.0, 3.0], device="cuda")
    for other in (np.array([2.0, 2.0, 2.0]), [2.0, 2.0, 2.0], 2.0):
        assert (x > other).device == "cuda"
        np.testing.assert_array_equal((x > other).numpy(), [False, False, True])
        np.testing.assert_array_equal((x <= other).numpy(), [True, True, False])
    with pytest.raises(tg.DeviceError, match="different devices"):
        _ = x < tg.tensor([1.0, 2.0, 3.0], device="cpu")


def test_tensor_from_a_list_of_device_scalars(monkeypatch):
    monkeypatch.setenv("TINYGRAD_RNN_DEVICE", "cpu")
    x = tg.tensor([1.0, 2.0, 3.0], device="cuda")
    s = tg.tensor([x.data.sum(), x.data.max()], device="cuda")
    assert s.device == "cuda" and s.dtype == np.float32
    np.testing.assert_array_equal(s.numpy(), [6.0, 3.0])
    on_host = tg.tensor([x.data.sum(), 1.0])  # the default device, as torch.tensor does
    assert on_host.device == "cpu"
    np.testing.assert_array_equal(on_host.numpy(), [6.0, 1.0])


# ---- 7. scatter-add --------------------------------------------------------------------------

def test_backward_through_indexing_on_cuda_does_not_warn():
    w = tg.zeros(3, 2, device="cuda", requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # cupyx.scatter_add's DeprecationWarning would fail
        w[tg.tensor([0, 2, 0], device="cuda")].sum().backward()
        tg.embedding(w, [1, 1]).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[2, 2], [2, 2], [1, 1]])


# ---- 8. 0-d float64 device values ------------------------------------------------------------

def test_a_float64_0d_device_value_times_a_float32_tensor(device):
    t = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    scale = tg.tensor([1.5, 0.5], dtype="float64", device=device).data.sum()  # 2.0, 0-d
    for y in (scale * t, t * scale, t / scale, t - scale):
        assert y.dtype == np.float32 and y.device == device
    (t * scale).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), [2.0, 2.0])


# ---- 9. cuda:N ------------------------------------------------------------------------------

def test_cuda_index_is_honoured_and_a_missing_gpu_is_a_device_error():
    count = _cupy().cuda.runtime.getDeviceCount()
    assert tg.zeros(2, device="cuda:0").device == "cuda"
    assert _cupy().cuda.runtime.getDevice() == 0
    with pytest.raises(tg.DeviceError, match=rf"device 'cuda:{count}' does not exist: this "
                                             rf"machine has {count} CUDA device"):
        tg.zeros(2, device=f"cuda:{count}")
    with pytest.raises(tg.DeviceError, match="does not exist"):
        tg.tensor([1.0]).to("cuda:x")
    with pytest.raises(tg.DeviceError, match="unknown device 'cpu:1'"):
        tg.zeros(2, device="cpu:1")


# ---- 10. device errors say so ----------------------------------------------------------------

def test_host_data_inside_a_cuda_op_is_a_device_error_not_a_shape_error():
    x = tg.ones(3, device="cuda")
    with pytest.raises(tg.DeviceError, match=r"clip: \(3,\) — host \(NumPy/list\) data mixed "
                                             r"with CUDA arrays"):
        tg.clip(x, min=np.zeros(3))


# ---- 11. a training step on the GPU: no syncs, no uploads, no growth ------------------------------

def test_one_lstm_training_step_on_cuda_makes_no_sync_no_upload_and_keeps_memory_flat(monkeypatch):
    cupy = _cupy()
    stats = getattr(cupy, "_stats", None)  # the stand-in's counters (real CuPy has none)
    if stats is not None:  # it tracks live bytes only when asked, from before the first array
        monkeypatch.setattr(stats, "TRACK_MEMORY", True)
    tg.manual_seed(0)
    lstm, head = nn.LSTM(3, 4, batch_first=True).to("cuda"), nn.Linear(4, 5).to("cuda")
    opt = optim.Adam(list(lstm.parameters()) + list(head.parameters()), lr=0.01)
    x = tg.randn(2, 3, 3, device="cuda")
    y = tg.randint(0, 5, (6,), device="cuda")

    def step():
        opt.zero_grad()
        h, _ = lstm(x)
        loss = Fn.cross_entropy(head(h).reshape(-1, 5), y)
        loss.backward()
        opt.step()
        return loss

    first = step().item()
    pool = cupy.get_default_memory_pool()
    loss = step()  # held, as in the loop below (its graph keeps a few constants alive)
    used = pool.used_bytes()
    if stats is not None:
        with stats.counting() as c:
            step()
        assert c["sync"] == 0 and c["h2d"] == 0 and c["d2h"] == 0, dict(c)
    for _ in range(100):
        loss = step()
    assert pool.used_bytes() <= used
    assert loss.item() < first  # it trained, and reading the loss raised no index error


# ---- the fused kernels (compiled by NVRTC on a GPU; their C bodies run in the stand-in) ---------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_fused_layers_on_cuda_equal_the_primitive_path(kind, dtype):
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((2, 4, 3)), dtype=dtype, device="cuda")
    w = tg.tensor(rng.standard_normal((2, 4, 5)), dtype=dtype, device="cuda")
    results = []
    for fused in (False, True):
        tg.manual_seed(0)
        layer = getattr(nn, kind)(3, 5, batch_first=True, fused=fused).to("cuda", dtype)
        out, _ = layer(x)
        (out * w).sum().backward()
        results.append((out.numpy(), [p.grad.numpy() for p in layer.parameters()]))
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(results[1][0], results[0][0], **tol)
    for a, b in zip(results[1][1], results[0][1]):
        np.testing.assert_allclose(a, b, **tol)


# ---- attention lengths on the device (found by the review: one sync per call) ------------------

def test_attention_with_valid_lens_on_the_device_makes_no_sync_and_equals_the_cpu():
    cupy = _cupy()
    tg.manual_seed(0)
    attn = nn.AdditiveAttention(4, 4, 6)
    q, k = tg.randn(2, 3, 4), tg.randn(2, 5, 4)
    lens = np.array([5, 2])
    ref, _ = attn(q, k, k, valid_lens=lens)
    attn_cuda = attn.to("cuda")
    qc, kc, lens_c = q.to("cuda"), k.to("cuda"), tg.tensor(lens, device="cuda")
    attn_cuda(qc, kc, kc, valid_lens=lens_c)  # warm-up: uploads the parameters once
    with cupy._stats.counting() as c:
        out, _ = attn_cuda(qc, kc, kc, valid_lens=lens_c)
        out.sum().backward()
    assert c["sync"] == 0 and c["h2d"] == 0
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-5, atol=1e-6)


def test_attention_with_device_lengths_out_of_range_raises_at_the_next_read():
    attn = nn.AdditiveAttention(4, 4, 6).to("cuda")
    q, k = tg.randn(2, 3, 4, device="cuda"), tg.randn(2, 5, 4, device="cuda")
    out, _ = attn(q, k, k, valid_lens=tg.tensor([5, 6], device="cuda"))  # 6 > 5 keys
    with pytest.raises(ValueError, match=r"valid_lens must lie in \[0, 5\]"):
        out.numpy()

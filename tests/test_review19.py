"""Review of issue 19's speed changes off the happy path: packed W_hhᵀ (packed.py), values saved
by a forward (apply.WithSaved) and the fused CPU VJPs that reuse them (fused.py).

Each case compares with PyTorch (float64, 1e-9), with the unfused layer (bit-identical on the
CPU) or with packing switched off; the first ones are the problems the review found.
"""

import threading

import numpy as np
import pytest
from conftest import TORCH, needs_cuda, needs_torch

import tinygrad_rnn as tg
from tinygrad_rnn import fused, nn, packed

# ---- problems found ---------------------------------------------------------------------------


def _gru_inputs(device="cpu", dtype="float64", seed=0):
    rng = np.random.default_rng(seed)
    return [tg.tensor(rng.standard_normal(s).astype(dtype), device=device, requires_grad=True)
            for s in [(2, 9), (2, 9), (2, 3)]]


def test_fused_gru_second_backward_reads_a_refilled_grad_buffer():
    # the CPU VJPs shared (dr, dz, dn) by the identity of ∂L/∂h: a second backward
    # (retain_graph) with the same grad tensor refilled got the first backward's gradients
    gx, gh, h = _gru_inputs()
    out = fused.gru_cell(gx, gh, h)
    v = tg.ones(2, 3, dtype="float64")
    out.backward(v, retain_graph=True)
    first = [x.grad.numpy().copy() for x in (gx, gh, h)]
    for x in (gx, gh, h):
        x.grad = None
    v.data[...] = 2.0
    out.backward(v)
    for x, g in zip((gx, gh, h), first):
        np.testing.assert_allclose(x.grad.numpy(), 2 * g, rtol=1e-12)


def test_fused_gru_jacobian_rows_with_one_reused_buffer():
    # a Jacobian row by row with one grad_outputs buffer, first for gx then for gh (only the
    # gh VJP runs in the second loop: it must not take what the gx VJP left for another row)
    gx, gh, h = _gru_inputs(seed=4)
    out = fused.gru_cell(gx, gh, h)
    a, b, c = (tg.tensor(x.numpy(), requires_grad=True) for x in (gx, gh, h))
    H = 3  # the GRU step from primitive ops (PyTorch's form, as fused.gru_cell computes it)
    r, z = (a[:, :H] + b[:, :H]).sigmoid(), (a[:, H:2 * H] + b[:, H:2 * H]).sigmoid()
    n = (a[:, 2 * H:] + r * b[:, 2 * H:]).tanh()
    primitive = n + z * (c - n)
    v = tg.zeros(2, 3, dtype="float64")
    for k in range(6):
        for wrt, ref in ((gx, a), (gh, b)):
            v.data[...] = 0
            v.data.reshape(-1)[k] = 1
            got = tg.grad(out, [wrt], grad_outputs=[v], retain_graph=True)[0].numpy()
            want = tg.grad(primitive, [ref], grad_outputs=[v], retain_graph=True)[0].numpy()
            np.testing.assert_array_equal(got, want)
    for k in range(6):  # the gh rows after the gx rows, with the buffer refilled in between
        v.data[...] = 0
        v.data.reshape(-1)[k] = 1
        tg.grad(out, [gx], grad_outputs=[v], retain_graph=True)
        v.data.reshape(-1)[k] = 3
        got = tg.grad(out, [gh], grad_outputs=[v], retain_graph=True)[0].numpy()
        want = tg.grad(primitive, [b], grad_outputs=[v], retain_graph=True)[0].numpy()
        np.testing.assert_array_equal(got, want)


def test_fused_gru_cell_refuses_mixed_dtypes():
    # gru_cell has three inputs (apply's general path does not promote): float32 gates with a
    # float64 state gave a float64 output and a float64 .grad on float32 tensors
    gx, gh, _ = _gru_inputs(dtype="float32")
    h = tg.randn(2, 3, dtype="float64")
    with pytest.raises(tg.DTypeError, match="gru_cell: tensors of different dtypes"):
        fused.gru_cell(gx, gh, h)


@needs_cuda
@pytest.mark.parametrize("which", ["lstm", "gru"])
def test_fused_cuda_second_backward_reads_a_refilled_grad_buffer(which):
    rng = np.random.default_rng(0)
    shapes = [(2, 9), (2, 9), (2, 3)] if which == "gru" else [(2, 12), (2, 3)]
    xs = [tg.tensor(rng.standard_normal(s), device="cuda", requires_grad=True) for s in shapes]
    out = fused.gru_cell(*xs) if which == "gru" else fused.lstm_cell_state(*xs)
    v = tg.ones(2, 3, dtype="float64", device="cuda")
    out.backward(v, retain_graph=True)
    first = xs[0].grad.numpy().copy()
    xs[0].grad = None
    v.data *= 2
    out.backward(v)
    np.testing.assert_allclose(xs[0].grad.numpy(), 2 * first, rtol=1e-12)


# ---- what held: nn layers around the packing thresholds, against PyTorch and fused=False ------


def _torch_twin(layer, mode, **kw):
    theirs = getattr(TORCH.nn, mode)(layer.input_size, layer.hidden_size, **kw).double()
    theirs.load_state_dict({k: TORCH.from_numpy(v.numpy().copy())
                            for k, v in layer.state_dict().items()})
    return theirs


def _loss(out, states, lib):
    w = np.random.default_rng(5).standard_normal(tuple(out.shape))
    w = tg.tensor(w) if lib is tg else TORCH.from_numpy(w)
    return (out * w).sum() + sum((s * s).sum() for s in states)


def _both(mode, B, T, fused_, kw, given_h):
    tg.manual_seed(0)
    layer = getattr(nn, mode)(3, 5, fused=fused_, **kw).double()
    theirs = _torch_twin(layer, mode, **kw)
    rng = np.random.default_rng(B * 10 + T)
    x = rng.standard_normal((B, T, 3) if kw.get("batch_first") else (T, B, 3))
    L = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
    h0 = [rng.standard_normal((L, B, 5)) for _ in range(2 if mode == "LSTM" else 1)]
    results = []
    for lib, model in ((tg, layer), (TORCH, theirs)):
        mk = (lambda a: tg.tensor(a, requires_grad=True)) if lib is tg else \
            (lambda a: TORCH.from_numpy(a.copy()).requires_grad_())
        xt, hs = mk(x), [mk(h) for h in h0]
        hx = None if not given_h else tuple(hs) if mode == "LSTM" else hs[0]
        out, st = model(xt, hx)
        states = st if isinstance(st, tuple) else (st,)
        _loss(out, states, lib).backward()
        grads = [p.grad for p in model.parameters()] + [xt.grad] + \
            ([h.grad for h in hs] if given_h else [])
        results.append([np.asarray(out.detach().numpy() if lib is TORCH else out.numpy())] +
                       [g.numpy() for g in grads])
    return results


@needs_torch
@pytest.mark.parametrize("mode, fused_", [("RNN", False), ("LSTM", False), ("LSTM", True),
                                          ("GRU", False), ("GRU", True)])
@pytest.mark.parametrize("B, T", [(3, 8), (4, 7), (4, 8), (5, 9)])
def test_layers_around_the_packing_thresholds_match_torch(mode, fused_, B, T):
    for kw, given_h in [(dict(num_layers=2, bidirectional=True), True),
                        (dict(batch_first=True, bias=False), False)]:
        ours, theirs = _both(mode, B, T, fused_, kw, given_h)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fused_is_bit_identical_with_dropout_lengths_and_unbatched_input(mode, dtype):
    def run(layer, x, lengths):
        tg.manual_seed(3)  # the same dropout masks in both runs
        xt = tg.tensor(x, requires_grad=True)
        out, st = layer(xt, lengths=lengths)
        states = st if isinstance(st, tuple) else (st,)
        ((out * out).sum() + sum((s * s).sum() for s in states)).backward()
        return [out.numpy()] + [p.grad.numpy() for p in layer.parameters()] + [xt.grad.numpy()]

    tg.manual_seed(0)
    kw = dict(num_layers=2, bidirectional=True, dropout=0.5)
    plain = getattr(nn, mode)(3, 5, **kw).to(dtype=dtype)
    fast = getattr(nn, mode)(3, 5, fused=True, **kw).to(dtype=dtype)
    fast.load_state_dict(plain.state_dict())
    rng = np.random.default_rng(1)
    for shape, lengths in [((9, 5, 3), np.array([9, 1, 0, 7, 3])), ((8, 3), None)]:
        x = rng.standard_normal(shape).astype(dtype)
        for a, b in zip(run(plain, x, lengths), run(fast, x, lengths)):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("mode, kw", [("LSTM", dict(peephole=True)), ("LSTM", dict(coupled=True)),
                                      ("GRU", dict(reset_after=False)),
                                      ("RNN", dict(nonlinearity="relu"))])
def test_packing_changes_no_number_of_the_other_layer_forms(mode, kw, monkeypatch):
    def run():
        tg.manual_seed(0)
        layer = getattr(nn, mode)(3, 5, num_layers=2, bidirectional=True, **kw).double()
        xt = tg.tensor(np.random.default_rng(2).standard_normal((9, 5, 3)), requires_grad=True)
        out, _ = layer(xt, lengths=np.array([9, 2, 0, 5, 1]))
        (out * out).sum().backward()
        return [out.numpy()] + [p.grad.numpy() for p in layer.parameters()] + [xt.grad.numpy()]

    calls = []
    original = packed.apply2
    monkeypatch.setattr(packed, "apply2", lambda *a: calls.append(1) or original(*a))
    with_packing = run()
    assert bool(calls) == kw.get("reset_after", True)  # reset_after=False slices W_hhᵀ instead
    monkeypatch.setattr(packed, "MIN_ROWS", 10 ** 9)
    for a, b in zip(with_packing, run()):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@needs_torch
@pytest.mark.parametrize("mode, fused_", [("RNN", False), ("LSTM", True), ("GRU", True)])
def test_double_backward_through_packed_and_fused_layers_matches_torch(mode, fused_):
    tg.manual_seed(0)
    layer = getattr(nn, mode)(3, 4, fused=fused_).double()
    theirs = _torch_twin(layer, mode)
    x = np.random.default_rng(1).standard_normal((8, 4, 3))  # packed: batch 4, 8 steps
    results = []
    for lib, model in ((tg, layer), (TORCH, theirs)):
        xt = tg.tensor(x, requires_grad=True) if lib is tg else \
            TORCH.from_numpy(x.copy()).requires_grad_()
        out, _ = model(xt)
        params = list(model.parameters())
        grad = tg.grad if lib is tg else TORCH.autograd.grad
        gs = grad((out * out).sum(), params + [xt], create_graph=True)
        sum((g * g).sum() for g in gs).backward()
        results.append([p.grad.numpy() for p in params] + [xt.grad.numpy()])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


@needs_torch
@pytest.mark.parametrize("mode, fused_", [("RNN", False), ("LSTM", True), ("GRU", True)])
def test_a_layer_used_twice_then_two_backwards_match_torch(mode, fused_):
    tg.manual_seed(0)
    layer = getattr(nn, mode)(3, 4, fused=fused_).double()
    theirs = _torch_twin(layer, mode)
    rng = np.random.default_rng(2)
    x1, x2 = rng.standard_normal((8, 4, 3)), rng.standard_normal((9, 5, 3))
    results = []
    for lib, model in ((tg, layer), (TORCH, theirs)):
        wrap = tg.tensor if lib is tg else TORCH.from_numpy
        (o1, _), (o2, _) = model(wrap(x1)), model(wrap(x2))
        loss = (o1 * o1).sum() + (o2 * o2 * o2).sum()
        loss.backward(retain_graph=True)
        loss.backward()
        results.append([p.grad.numpy() for p in model.parameters()])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("mode, fused_", [("RNN", False), ("LSTM", True), ("GRU", True)])
def test_writes_between_forward_and_backward_raise_for_packed_and_fused_layers(mode, fused_):
    tg.manual_seed(0)
    layer = getattr(nn, mode)(3, 4, fused=fused_)
    x = tg.tensor(np.random.default_rng(0).standard_normal((8, 4, 3)).astype("float32"))
    opt = tg.optim.SGD(layer.parameters(), lr=0.1)
    for write in (opt.step, lambda: layer.load_state_dict(
            {k: v * 2 for k, v in layer.state_dict().items()})):
        out, _ = layer(x)
        loss = (out * out).sum()
        loss.backward(retain_graph=True)
        write()
        with pytest.raises(RuntimeError, match="modified in place"):
            loss.backward()


def test_threads_running_fused_and_packed_layers_give_the_sequential_numbers():
    layers, inputs = [], []
    for k, mode in enumerate(["LSTM", "GRU", "RNN"] * 2):  # made here: manual_seed is global
        tg.manual_seed(k)
        layers.append(getattr(nn, mode)(5, 6, num_layers=2, fused=mode != "RNN").double())
        inputs.append(tg.tensor(np.random.default_rng(k).standard_normal((9, 5, 5))))

    def job(k):
        layer = layers[k]
        for p in layer.parameters():
            p.grad = None
        out, _ = layer(inputs[k])
        (out * out).sum().backward()
        return [p.grad.numpy().copy() for p in layer.parameters()]

    expected = [job(k) for k in range(len(layers))]
    got = [None] * len(layers)

    def worker(k):
        got[k] = job(k)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(len(layers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for g, e in zip(got, expected):
        for a, b in zip(g, e):
            np.testing.assert_array_equal(a, b)


@needs_cuda
@pytest.mark.parametrize("mode, fused_", [("LSTM", False), ("LSTM", True), ("GRU", True)])
def test_no_packing_on_cuda_and_the_cpu_numbers(mode, fused_, monkeypatch):
    calls = []
    original = packed.copy_for  # the packed copy a step multiplies by (None: not packed)
    monkeypatch.setattr(packed, "copy_for",
                        lambda *a: (c := original(*a)) is not None and calls.append(1) or c)
    results = {}
    for device in ("cuda", "cpu"):
        tg.manual_seed(0)
        layer = getattr(nn, mode)(5, 6, fused=fused_).double().to(device)
        x = tg.tensor(np.random.default_rng(0).standard_normal((9, 5, 5)), device=device)
        out, _ = layer(x)
        (out * out).sum().backward()
        results[device] = [out.numpy()] + [p.grad.numpy() for p in layer.parameters()]
        if device == "cuda":
            assert calls == []  # cuBLAS reads either layout: nothing to pack
    assert len(calls) == 9
    for a, b in zip(results["cuda"], results["cpu"]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_a_graph_kept_after_backward_does_not_keep_the_packed_copy(monkeypatch):
    # every step's node held {"packed": copy} as its attribute, and nodes outlive backward:
    # keeping the losses (losses.append(loss)) kept a copy of W_hh per layer call, 4 MiB each
    # for a 512-unit LSTM (43 MiB after 10 steps against 3 MiB unpacked)
    import gc
    import weakref

    from tinygrad_rnn import backend
    copies = []
    original = backend.c_contiguous
    monkeypatch.setattr(backend, "c_contiguous",
                        lambda a: copies.append(original(a)) or copies[-1])
    layer, x = nn.LSTM(3, 5), tg.tensor(np.random.default_rng(0).standard_normal((8, 4, 3)))
    out, _ = layer(x.float())
    loss = (out * out).sum()
    assert len(copies) == 1
    copy = weakref.ref(copies.pop())
    loss.backward()
    gc.collect()
    assert copy() is None and loss._node is not None  # the graph is kept, the copy is not


def test_fused_primitives_refuse_numbers_by_name():
    gx = tg.zeros(2, 9)
    with pytest.raises(TypeError, match="gru_cell takes Tensors, got float"):
        fused.gru_cell(gx, gx, 1.0)
    with pytest.raises(TypeError, match="lstm_cell_state takes Tensors, got int"):
        fused.lstm_cell_state(tg.zeros(2, 12), 0)


def test_the_notes_gru_does_not_pack_what_it_slices(monkeypatch):
    from tinygrad_rnn import packed
    packs = []
    monkeypatch.setattr(packed.backend, "c_contiguous", lambda a: packs.append(a) or a.copy())
    x = tg.randn(9, 5, 3)
    tg.nn.GRU(3, 4, reset_after=False)(x)
    assert packs == []
    tg.nn.GRU(3, 4)(x)
    assert len(packs) == 1

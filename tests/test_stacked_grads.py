"""Speed paths of nn.LSTM / nn.RNN training (issue 19) keep the gradients of the plain engine.

A recurrent weight used at T steps with a batch of up to ``ProductGrad.THIN`` rows (and at
least ``WIDE`` entries) gets its gradient as one stacked product
Σ_t h_{t−1}ᵀ g_t = [h_0; …; h_{T−1}]ᵀ [g_1; …; g_T]; these tests check it message by message
against the reference engine, and against PyTorch. The layers here are small, so ``WIDE`` is
lowered to put them on the stacked path.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_rnn as tg
from tests.conftest import TORCH, needs_torch
from tinygrad_rnn import nn
from tinygrad_rnn.factored import ProductGrad
from tinygrad_rnn.reference import check_backward


@pytest.fixture(autouse=True)
def _small_weights_stack(monkeypatch):
    monkeypatch.setattr(ProductGrad, "WIDE", 0)


def test_which_products_are_stacked():
    stacks = ProductGrad.stacks
    W = (256, 1024)  # an LSTM's W_hhᵀ at hidden 256
    assert ProductGrad.WIDE == 0  # the fixture; the rule with the real threshold:
    ProductGrad.WIDE = 40_000
    try:
        assert stacks(np.ones((64, W[0])), np.ones((64, W[1])))
        assert not stacks(np.ones((65, W[0])), np.ones((65, W[1])))
        assert stacks(np.ones((16, 100)), np.ones((16, 100)))        # few rows: any weight
        assert not stacks(np.ones((32, 100)), np.ones((32, 100)))    # a small weight at 32 rows
    finally:
        ProductGrad.WIDE = 0


def _layer_and_loss(mode: str, batch: int, seed: int = 0):
    tg.manual_seed(seed)
    layer = getattr(nn, mode)(5, 6).double()
    x = tg.Tensor(np.random.default_rng(seed).standard_normal((7, batch, 5)))
    out, _ = layer(x)
    return layer, x, (out * out).sum()


@pytest.mark.parametrize("mode", ["LSTM", "RNN", "GRU"])
@pytest.mark.parametrize("batch", [1, 32, ProductGrad.THIN, ProductGrad.THIN + 1])
def test_recurrent_weight_gradients_match_the_reference_engine(mode, batch):
    layer, _, loss = _layer_and_loss(mode, batch)
    check_backward(loss, rtol=1e-12)


@pytest.mark.parametrize("mode", ["LSTM", "RNN"])
def test_stacked_and_step_by_step_weight_gradients_are_equal(mode, monkeypatch):
    extended = []
    original = ProductGrad.extend
    monkeypatch.setattr(ProductGrad, "extend", lambda self, o: extended.append(o) or original(self, o))
    layer, _, loss = _layer_and_loss(mode, 32)
    loss.backward()
    assert len(extended) == 6  # W_hh's messages of steps 2…7 were stacked onto step 1's
    stacked = {k: p.grad.numpy().copy() for k, p in layer.named_parameters()}
    monkeypatch.setattr(ProductGrad, "THIN", 0)  # every product summed one step at a time
    layer, _, loss = _layer_and_loss(mode, 32)
    loss.backward()
    for k, p in layer.named_parameters():
        np.testing.assert_allclose(stacked[k], p.grad.numpy(), rtol=1e-12, atol=1e-13, err_msg=k)


@needs_torch
@pytest.mark.parametrize("batch", [32, 64])
def test_lstm_gradients_at_a_stacked_batch_equal_pytorchs_fused_lstm(batch):
    torch = TORCH
    layer, x, loss = _layer_and_loss("LSTM", batch)
    loss.backward()
    ref = torch.nn.LSTM(5, 6).double()
    with torch.no_grad():
        for k, p in ref.named_parameters():
            p.copy_(torch.from_numpy(getattr(layer, k).numpy()))
    out, _ = ref(torch.from_numpy(x.numpy()))
    (out * out).sum().backward()
    for k, p in ref.named_parameters():
        np.testing.assert_allclose(getattr(layer, k).grad.numpy(), p.grad.numpy(), rtol=1e-10,
                                   atol=1e-12, err_msg=k)

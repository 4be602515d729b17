"""Encoder–decoder: gradchecks through the decoder loop, masks, decoding, errors, a reversal run."""

import time

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.errors import IndexOutOfRange, ShapeError
from tinygrad_rnn.nn.seq2seq import (
    exponential_schedule,
    inverse_sigmoid_schedule,
    linear_schedule,
    sequence_loss,
)
from tinygrad_rnn.tensor import reachable

BOS, EOS = 1, 2


@pytest.fixture(autouse=True)
def _seed():
    tg.manual_seed(0)


def _model(cell="gru", attention="additive", vocab=6, embed=3, hidden=2, dec_hidden=4):
    enc = nn.Encoder(vocab, embed, hidden, cell=cell)
    dec = nn.AttentionDecoder(vocab, embed, dec_hidden, enc.output_size, cell=cell,
                              attention=attention, attention_size=2)
    return nn.Seq2Seq(enc, dec, BOS, EOS)


SRC = np.array([[3, 4, 5, 3], [5, 3, 0, 0]])
SRC_LENGTHS = np.array([4, 2])
TGT = np.array([[3, 5, 2], [4, 2, 0]])
TGT_LENGTHS = np.array([3, 2])


def test_forward_shapes_and_attention_rows_over_the_real_source_only():
    logits, attention = _model()(SRC, TGT, SRC_LENGTHS)
    assert logits.shape == (2, 3, 6) and attention.shape == (2, 3, 4)
    a = attention.numpy()
    np.testing.assert_allclose(a.sum(-1), 1, rtol=1e-6)
    assert np.all(a[1, :, 2:] == 0)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_padded_sequence_decodes_as_if_alone(cell):
    model = _model(cell).double()
    logits, attention = model(SRC, TGT, SRC_LENGTHS)
    alone, alone_attention = model(SRC[1:, :2], TGT[1:])
    np.testing.assert_allclose(logits.numpy()[1], alone.numpy()[0], atol=1e-12)
    np.testing.assert_allclose(attention.numpy()[1, :, :2], alone_attention.numpy()[0], atol=1e-12)


@pytest.mark.parametrize("cell,attention", [("gru", "additive"), ("lstm", "general"),
                                            ("gru", "dot"), ("lstm", None)])
def test_gradcheck_through_encoder_and_decoder_loop(cell, attention):
    model = _model(cell, attention, embed=2).double()

    def loss(*params):
        logits, _ = model(SRC, TGT, SRC_LENGTHS)
        return sequence_loss(logits, TGT, TGT_LENGTHS)
    assert tg.gradcheck(loss, list(model.parameters()), directions=3)


def test_classic_encoder_decoder_feeds_the_same_context_C_to_every_step():
    model = _model(attention=None)
    logits, attention = model(SRC, TGT, SRC_LENGTHS)
    assert attention is None
    contexts = [n for n in _nodes(logits) if n.name == "c_i"]
    assert len(contexts) == 1 and contexts[0].op is not None  # one C, not one per step
    h, C = model.encoder(SRC, SRC_LENGTHS)
    assert C.shape == (2, 4) and C.name == "C"
    out, _ = model.encoder.rnn(model.encoder.embedding(SRC), lengths=SRC_LENGTHS)
    # C = [→h_T ; ←h_1]: the forward state at each sequence's own end, the backward one at step 1
    np.testing.assert_allclose(C.numpy()[1], np.concatenate([out.numpy()[1, 1, :2],
                                                             out.numpy()[1, 0, 2:]]), rtol=1e-6)


def test_free_running_feeds_back_the_greedy_choices():
    model = _model()
    hyps = model.greedy_decode(SRC, SRC_LENGTHS, max_len=3)
    logits, _ = model(SRC, np.zeros((2, 3), np.int64), SRC_LENGTHS, teacher_forcing_ratio=0.0)
    for b, hyp in enumerate(hyps):
        n = len(hyp.tokens)
        assert list(logits.numpy()[b, :n].argmax(-1)) == hyp.tokens


def test_teacher_forcing_ratio_mixes_true_and_own_inputs():
    model = _model()
    forced, _ = model(SRC, TGT, SRC_LENGTHS)
    tg.manual_seed(3)
    half, _ = model(SRC, TGT, SRC_LENGTHS, teacher_forcing_ratio=0.5)
    free, _ = model(SRC, TGT, SRC_LENGTHS, teacher_forcing_ratio=0.0)
    np.testing.assert_array_equal(forced.numpy()[:, 0], free.numpy()[:, 0])  # y_0 is <bos> anyway
    assert not np.allclose(forced.numpy(), free.numpy())
    assert half.shape == forced.shape


def test_scheduled_sampling_ratios_fall_from_one_towards_zero():
    lin, exp_, sig = linear_schedule(100), exponential_schedule(0.99), inverse_sigmoid_schedule(10)
    assert lin(0) == 1 and lin(50) == 0.5 and lin(1000) == 0
    assert exp_(0) == 1 and abs(exp_(100) - 0.99 ** 100) < 1e-12
    assert sig(0) > 0.9 and sig(100) < 0.01
    for f in (lin, exp_, sig):
        values = [f(k) for k in range(0, 200, 10)]
        assert all(a >= b for a, b in zip(values, values[1:]))


# ---- decoding -------------------------------------------------------------------------------


@pytest.mark.parametrize("cell,attention", [("gru", "additive"), ("lstm", "dot"),
                                            ("gru", None), ("lstm", "general")])
def test_beam_one_is_greedy_and_wider_beams_are_never_worse(cell, attention):
    rng = np.random.default_rng(0)
    for seed in range(3):
        tg.manual_seed(seed)
        model = _model(cell, attention, vocab=7, embed=4, hidden=4, dec_hidden=8).double()
        src = rng.integers(3, 7, (4, 5))
        greedy = model.greedy_decode(src, max_len=6)
        one = model.beam_search(src, beam_width=1, max_len=6)
        for g, b in zip(greedy, one):
            assert g.tokens == b.tokens and g.log_prob == pytest.approx(b.log_prob, abs=1e-12)
            np.testing.assert_allclose(np.array(g.attention), np.array(b.attention), atol=1e-12)
        for width in (2, 3, 5):
            for g, b in zip(greedy, model.beam_search(src, beam_width=width, max_len=6)):
                assert b.log_prob >= g.log_prob - 1e-12


def test_beam_search_returns_the_scored_sequence_and_its_attention():
    model = _model(vocab=7, embed=4, hidden=4, dec_hidden=8).double()
    (hyp,) = model.beam_search(SRC[:1], beam_width=3, max_len=5)
    assert 1 <= len(hyp.tokens) <= 5 and len(hyp.attention) == len(hyp.tokens)
    assert hyp.finished == (hyp.tokens[-1] == EOS)
    # re-score the returned sequence with teacher forcing: the same Σ log p
    logits, _ = model(SRC[:1], np.array([hyp.tokens]))
    logp = logits.log_softmax(-1).numpy()[0]
    assert logp[np.arange(len(hyp.tokens)), hyp.tokens].sum() == pytest.approx(hyp.log_prob)


def test_greedy_stops_at_the_end_symbol_or_max_len():
    model = _model()
    model.decoder.out.bias.data[EOS] = 100.0  # the end symbol always wins
    assert [h.tokens for h in model.greedy_decode(SRC, SRC_LENGTHS)] == [[EOS], [EOS]]
    model.decoder.out.bias.data[EOS] = -100.0  # ... or never
    hyps = model.greedy_decode(SRC, SRC_LENGTHS, max_len=4)
    assert all(len(h.tokens) == 4 and not h.finished for h in hyps)


# ---- the graph ------------------------------------------------------------------------------


def _nodes(t):
    return reachable([t.node])  # every recorded node the tensor depends on


def test_scopes_and_names_show_the_encoder_and_decoder_steps():
    logits, _ = _model()(SRC, TGT, SRC_LENGTHS)
    nodes = _nodes(logits.sum())
    scopes = {n.scope for n in nodes}
    assert {"encoder/gru/l0/fwd/t=1", "encoder/gru/l0/bwd/t=4", "decoder/t=1", "decoder/t=3",
            "decoder/t=2/attention"} <= scopes
    names = {(n.scope, n.name) for n in nodes}
    assert {("decoder/t=2", "s_i"), ("decoder/t=2/attention", "alpha"),
            ("decoder/t=2/attention", "c_i"), ("encoder", "h_j")} <= names


# ---- bad input ------------------------------------------------------------------------------


def test_mismatched_encoder_and_decoder_sizes_are_named():
    enc = nn.Encoder(6, 3, 2)
    dec = nn.AttentionDecoder(6, 3, 4, 5)
    with pytest.raises(ShapeError, match=r"Seq2Seq: the encoder's annotations h_j have size 4.*"
                                         r"context_size=5"):
        nn.Seq2Seq(enc, dec, BOS, EOS)
    with pytest.raises(ShapeError, match=r"AttentionDecoder: dot attention.*hidden_size \(4\).*"
                                         r"context size \(6\)"):
        nn.AttentionDecoder(6, 3, 4, 6, attention="dot")


def test_bad_decoding_and_input_arguments():
    model = _model()
    with pytest.raises(ValueError, match=r"beam_width must be an integer ≥ 1, got 0"):
        model.beam_search(SRC, beam_width=0)
    with pytest.raises(ValueError, match="max_len must be a positive integer"):
        model.greedy_decode(SRC, max_len=0)
    with pytest.raises(ShapeError, match=r"Encoder.*the source must be integer tokens of shape "
                                         r"\(B, T\), got float64 array of shape \(2, 4\)"):
        model(SRC * 1.0, TGT)
    with pytest.raises(ShapeError, match=r"GRU\(3, 2.*lengths must be 2 integers.*shape \(3,\)"):
        model(SRC, TGT, src_lengths=[4, 2, 1])
    state = model.decoder.init_state(*model.encoder(SRC), [4, 2, 1])
    with pytest.raises(ShapeError, match=r"AdditiveAttention.*valid_lens.*\(2,\).*shape \(3,\)"):
        model.decoder.step(np.array([BOS, BOS]), state)
    with pytest.raises(ValueError, match=r"teacher_forcing_ratio must be in \[0, 1\]"):
        model(SRC, TGT, teacher_forcing_ratio=1.5)
    with pytest.raises(ValueError, match="AttentionDecoder: cell must be 'gru' or 'lstm'"):
        nn.AttentionDecoder(6, 3, 4, 4, cell="rnn")


# ---- learning ------------------------------------------------------------------------------


class _Adam:
    """A minimal Adam for the smoke test (the library's optim lives elsewhere)."""

    def __init__(self, params, lr):
        self.params, self.lr, self.t = list(params), lr, 0
        self.m = [p.data * 0 for p in self.params]
        self.v = [p.data * 0 for p in self.params]

    def step(self):
        self.t += 1
        for i, p in enumerate(self.params):
            g = p.grad.data
            self.m[i] = 0.9 * self.m[i] + 0.1 * g
            self.v[i] = 0.999 * self.v[i] + 0.001 * g * g
            m_hat, v_hat = self.m[i] / (1 - 0.9 ** self.t), self.v[i] / (1 - 0.999 ** self.t)
            p.data -= self.lr * m_hat / (v_hat ** 0.5 + 1e-8)


def _reversal_batch(rng, n):
    """Digits 0–9 as tokens 3–12, lengths 4–5, padded with 0; target = reversed + <eos>."""
    lengths = rng.integers(4, 6, n)
    src = np.zeros((n, lengths.max()), np.int64)
    tgt = np.zeros((n, lengths.max() + 1), np.int64)
    for b, n_x in enumerate(lengths):
        digits = rng.integers(3, 13, n_x)
        src[b, :n_x], tgt[b, :n_x], tgt[b, n_x] = digits, digits[::-1], EOS
    return src, lengths, tgt, lengths + 1


def test_attention_seq2seq_learns_to_reverse_digit_sequences():
    model = nn.Seq2Seq(nn.Encoder(13, 16, 16), nn.AttentionDecoder(13, 16, 32, 32), BOS, EOS)
    opt = _Adam(model.parameters(), 1e-2)
    rng = np.random.default_rng(0)
    test_src, test_lengths, test_tgt, test_tgt_lengths = _reversal_batch(np.random.default_rng(1), 100)
    start, accuracy = time.perf_counter(), 0.0
    for step in range(1, 501):
        src, lengths, tgt, tgt_lengths = _reversal_batch(rng, 32)
        logits, _ = model(src, tgt, lengths)
        loss = sequence_loss(logits, tgt, tgt_lengths)
        model.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0:
            hyps = model.greedy_decode(test_src, test_lengths, max_len=7)
            accuracy = np.mean([h.tokens == list(test_tgt[b, :test_tgt_lengths[b]])
                                for b, h in enumerate(hyps)])
            if accuracy >= 0.95:
                break
    print(f"reversal: {accuracy:.0%} exact match after {step} steps, "
          f"{time.perf_counter() - start:.1f} s")
    assert accuracy >= 0.9


def test_sequence_loss_rejects_negative_targets():
    with pytest.raises(IndexOutOfRange, match="5 classes"):
        sequence_loss(tg.randn(2, 3, 5), np.full((2, 3), -1))

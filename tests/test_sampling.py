"""Sampling: temperature, top-k, and the three ways to end a generated sequence."""

import numpy as np
import pytest
from conftest import TORCH, needs_torch

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.nn.sampling import sampling_probs


@pytest.fixture(autouse=True)
def _seed():
    tg.manual_seed(0)


LOGITS = np.log(np.array([0.5, 0.25, 0.15, 0.1]))


def _frequencies(logits, n=20000, **kw):
    batch = tg.tensor(np.tile(logits, (n, 1)))
    return np.bincount(nn.sample(batch, **kw), minlength=len(logits)) / n


def test_samples_follow_softmax_of_logits_over_temperature():
    for tau in (0.5, 1.0, 2.0):
        expected = np.exp(LOGITS / tau) / np.exp(LOGITS / tau).sum()
        np.testing.assert_allclose(sampling_probs(tg.tensor(LOGITS), tau).numpy(), expected,
                                   rtol=1e-6)
        np.testing.assert_allclose(_frequencies(LOGITS, temperature=tau), expected, atol=0.015)


def test_temperature_zero_is_argmax_and_high_temperature_flattens():
    logits = tg.tensor(np.array([[0.1, 2.0, 0.3], [3.0, 0.0, -1.0]]))
    assert nn.sample(logits, temperature=0).tolist() == [1, 0]
    cold = sampling_probs(tg.tensor(LOGITS), 0.1).numpy()
    hot = sampling_probs(tg.tensor(LOGITS), 100.0).numpy()
    assert cold[0] > 0.999 and np.all(np.abs(hot - 0.25) < 0.01)


def test_top_k_gives_exactly_zero_to_the_rest_and_renormalises():
    probs = sampling_probs(tg.tensor(LOGITS), top_k=2).numpy()
    assert np.all(probs[2:] == 0)
    np.testing.assert_allclose(probs[:2], [2 / 3, 1 / 3], rtol=1e-6)
    freq = _frequencies(LOGITS, top_k=2)
    assert freq[2] == 0 and freq[3] == 0 and abs(freq[0] - 2 / 3) < 0.015
    assert np.all(_frequencies(LOGITS, n=200, top_k=1) == [1, 0, 0, 0])


class _Markov:
    """A toy generative model: the next-symbol logits depend only on the previous symbol."""

    def __init__(self, table, stop_logit=None):
        self.table, self.stop_logit, self.remaining = tg.tensor(table), stop_logit, []

    def __call__(self, y_prev, state, remaining):
        self.remaining.append(None if remaining is None else remaining.tolist())
        logits = self.table[y_prev]
        if self.stop_logit is None:
            return logits, state
        return logits, state, tg.full((len(y_prev),), self.stop_logit)


def test_end_symbol_ends_each_sequence_and_is_kept():
    # from 0 go to 1 or 2; from 1 or 2 always to the end symbol 3
    table = np.full((4, 4), -30.0)
    table[0, 1] = table[0, 2] = 0.0
    table[1, 3] = table[2, 3] = table[3, 3] = 0.0
    out = nn.generate(_Markov(table), None, start=[0] * 50, max_len=10, end_token=3)
    assert all(len(s) == 2 and s[0] in (1, 2) and s[1] == 3 for s in out)
    assert {s[0] for s in out} == {1, 2}


def test_bernoulli_stop_output_gives_geometric_lengths():
    table = np.zeros((3, 3))
    out = nn.generate(_Markov(table, stop_logit=0.0), None, start=[0] * 4000, max_len=50,
                      stop="bernoulli")
    lengths = np.array([len(s) for s in out])
    assert lengths.min() == 1 and abs(lengths.mean() - 2.0) < 0.1  # P(stop) = σ(0) = 1/2
    sure = nn.generate(_Markov(table, stop_logit=30.0), None, start=[0] * 5, max_len=50,
                       stop="bernoulli")
    assert [len(s) for s in sure] == [1] * 5


def test_given_length_generates_exactly_n_and_tells_the_model_what_remains():
    model = _Markov(np.zeros((3, 3)))
    out = nn.generate(model, None, start=[0, 0], max_len=6, stop="length", length=[3, 5])
    assert [len(s) for s in out] == [3, 5]
    assert model.remaining == [[3, 5], [2, 4], [1, 3], [0, 2], [0, 1]]


def test_stop_output_loss_is_bernoulli_nll_and_gradchecks():
    head = nn.StopOutput(3).double()
    h = tg.randn(5, 3, dtype="float64", requires_grad=True)
    stop = np.array([0, 1, 1, 0, 1])
    p = 1 / (1 + np.exp(-head(h).numpy()))
    expected = -np.mean(stop * np.log(p) + (1 - stop) * np.log(1 - p))
    assert float(head.loss(h, stop)) == pytest.approx(expected, rel=1e-12)
    assert tg.gradcheck(lambda h, *ps: head.loss(h, stop), [h, *head.parameters()])


def test_bad_sampling_arguments():
    logits = tg.tensor(LOGITS)
    with pytest.raises(ValueError, match=r"top_k must be an integer in \[1, 4\].*got 5"):
        nn.sample(logits, top_k=5)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        nn.sample(logits, temperature=-1)
    model = _Markov(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="needs end_token"):
        nn.generate(model, None, start=[0], max_len=3)
    with pytest.raises(ValueError, match=r"length must be one integer or 1 integers in \[1, 3\]"):
        nn.generate(model, None, start=[0], max_len=3, stop="length", length=4)
    with pytest.raises(ValueError, match="needs step to return"):
        nn.generate(model, None, start=[0], max_len=3, stop="bernoulli")
    with pytest.raises(Exception, match=r"StopOutput: stop targets of shape \(2,\)"):
        nn.StopOutput(3).loss(tg.randn(5, 3), [0, 1])


# ---- bad numbers: refused, as torch.multinomial refuses inf/NaN probabilities ----------------

BAD_LOGITS = {
    "nan": [0.0, np.nan, 1.0],
    "plus-inf": [0.0, np.inf, 1.0],
    "all-minus-inf": [-np.inf, -np.inf, -np.inf],
}


@pytest.mark.parametrize("case", BAD_LOGITS)
@pytest.mark.parametrize("kw", [{}, {"temperature": 0}, {"top_k": 2}, {"temperature": 0.5}])
def test_sample_refuses_nan_plus_inf_and_all_masked_logits(case, kw):
    logits = tg.tensor([[0.0, 1.0, 2.0], BAD_LOGITS[case]])
    with pytest.raises(ValueError, match=r"sampling: (the logits .* hold NaN or \+inf|every logit "
                                         r"of a row is −inf)"):
        nn.sample(logits, **kw)
    with pytest.raises(ValueError, match="sampling:"):
        sampling_probs(logits)


@needs_torch
@pytest.mark.parametrize("case", BAD_LOGITS)
def test_torch_refuses_the_same_logits(case):
    probs = TORCH.softmax(TORCH.tensor([BAD_LOGITS[case]]), -1)
    with pytest.raises(RuntimeError, match="inf.*nan"):
        TORCH.multinomial(probs, 1)


def test_minus_inf_logit_is_a_masked_symbol_never_drawn():
    logits = [0.0, -np.inf, np.log(3.0), -np.inf]
    probs = sampling_probs(tg.tensor(logits)).numpy()
    np.testing.assert_allclose(probs, [0.25, 0, 0.75, 0], rtol=1e-6)
    if TORCH is not None:
        expected = TORCH.distributions.Categorical(logits=TORCH.tensor(logits)).probs.numpy()
        np.testing.assert_allclose(probs, expected, rtol=1e-6)
    freq = _frequencies(logits, n=4000)
    assert freq[1] == 0 and freq[3] == 0 and abs(freq[0] - 0.25) < 0.03
    assert list(_frequencies(logits, n=10, temperature=0)) == [0, 0, 1, 0]


def test_tiny_temperature_overflowing_the_logits_is_refused():
    with np.errstate(over="ignore"), pytest.raises(ValueError, match=r"NaN or \+inf.*raise the "
                                                                     r"temperature"):
        nn.sample(tg.tensor([1e30, 0.0]), temperature=1e-10)


def test_generate_refuses_nan_logits_and_nan_stop_logits():
    table = np.zeros((3, 3))
    table[1] = np.nan
    with pytest.raises(ValueError, match="sampling: the logits"):
        nn.generate(_Markov(table), None, start=[1], max_len=3, end_token=2)
    with pytest.raises(ValueError, match="generate: a stop logit is NaN"):
        nn.generate(_Markov(np.zeros((3, 3)), stop_logit=np.nan), None, start=[0], max_len=3,
                    stop="bernoulli")

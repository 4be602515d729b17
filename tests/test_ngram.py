"""The char-rnn baselines: add-k n-grams and the fixed-window feed-forward LM (tasks.ngram)."""

import math

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.tasks import text_corpus
from tinygrad_rnn.tasks.ngram import KS, CharNGram, FeedForwardLM, windows


def test_bigram_is_the_smoothed_count_ratio():
    text, vocab = "abab" + "ac", "abc"
    m = CharNGram(2, vocab, k=0.5).fit(text)
    # contexts: a→b, b→a, a→b, b→a, a→c: count(a, b) = 2, count(a) = 3
    assert m.prob("a", "b") == pytest.approx((2 + 0.5) / (3 + 0.5 * 3))
    assert m.prob("xxa", "c") == pytest.approx((1 + 0.5) / (3 + 1.5))  # only the last char counts
    assert m.prob("c", "a") == pytest.approx(1 / 3)  # an unseen context: uniform


@pytest.mark.parametrize("n", [1, 2, 3])
def test_probabilities_sum_to_one_and_bits_match_a_direct_sum(n):
    text = "the cat sat on the mat. the dog sat."
    vocab = sorted(set(text))
    m = CharNGram(n, vocab, k=0.1).fit(text)
    for context in ("th", "t ", "zz"[: n - 1] if n > 1 else ""):
        assert sum(m.prob(context, c) for c in vocab) == pytest.approx(1)
    held = "the mat sat."
    direct = -np.mean([math.log2(m.prob(held[max(0, t - n + 1):t], held[t])) for t in range(2, len(held))])
    assert m.bits_per_char(held, start=2) == pytest.approx(direct)


def test_huge_k_is_the_uniform_model():
    vocab = "abcdefgh"
    m = CharNGram(3, vocab, k=1e9).fit("abcabcabdd")
    assert m.bits_per_char("abcdefgh") == pytest.approx(3.0, abs=1e-6)


def test_tuned_picks_a_k_and_more_context_helps_on_text():
    text = text_corpus(max_chars=30_000, plain=True)
    vocab, cut = sorted(set(text)), 27_000
    scores = [CharNGram.tuned(n, text[:cut], vocab) for n in (1, 2, 3)]
    assert all(m.k in KS for m in scores)
    bpc = [m.bits_per_char(text[cut:], start=2) for m in scores]
    assert bpc[0] > bpc[1] > bpc[2]


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="n must be"):
        CharNGram(0, "ab")
    with pytest.raises(ValueError, match="outside the vocabulary"):
        CharNGram(2, "ab").fit("abc")


def test_windows():
    x, y = windows(np.arange(7), 3)
    assert x.tolist() == [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5]] and y.tolist() == [3, 4, 5, 6]


def test_feed_forward_lm_learns_a_periodic_text():
    tg.manual_seed(0)
    ids = np.array([0, 1, 2, 3, 1] * 200)  # the next id is fixed by the 2 before it
    lm = FeedForwardLM(4, context=2, embed=4, hidden=16)
    losses = lm.fit(ids, steps=200, batch=64, lr=0.03)
    assert losses[0] > 1.0 and losses[-1] < 0.05
    assert lm.bits_per_char(ids[:100]) < 0.1
    with pytest.raises(ValueError, match="start must be"):
        lm.bits_per_char(ids, start=1)


def test_plain_corpus_has_no_layout():
    text = text_corpus(plain=True)
    assert "  " not in text and "\n\n" not in text and "\n " not in text
    assert text.split() == text_corpus().split()  # the same words

"""The toy-task generators produce what their docstrings promise."""

import datetime
import re

import numpy as np
import pytest

from tinygrad_rnn.tasks import (
    adding,
    adding_problem,
    copy_task,
    copying,
    date_pairs,
    random_trees,
    sentiment,
    sentiment_sentences,
    slot_filling_sentences,
    slots,
    text_corpus,
)


def test_adding_problem_marks_one_value_in_each_half_and_sums_them():
    x, y = adding_problem(500, 20, seed=1)
    assert x.shape == (500, 20, 2) and y.shape == (500,)
    markers = x[:, :, 1]
    assert (markers.sum(axis=1) == 2).all()
    assert (markers[:, :10].sum(axis=1) == 1).all()
    np.testing.assert_allclose((x[:, :, 0] * markers).sum(axis=1), y, rtol=1e-6)
    baseline = float(((y - 1) ** 2).mean())
    assert abs(baseline - adding.BASELINE_MSE) < 0.02


def test_copy_task_layout_and_baseline():
    x, y = copy_task(3, delay=7, seed=2)
    assert x.shape == y.shape == (3, 27)
    assert (x[:, 16] == copying.DELIMITER).all()
    np.testing.assert_array_equal(x[:, :10], y[:, -10:])
    assert (y[:, :17] == copying.BLANK).all()
    xr, yr = copy_task(3, delay=7, seed=2, reverse=True)
    np.testing.assert_array_equal(xr[:, :10], x[:, 9::-1])
    np.testing.assert_array_equal(yr, y)
    assert abs(copying.baseline_loss(100) - 10 * np.log(8) / 120) < 1e-12


def test_slot_filling_city_label_depends_only_on_the_verb():
    data = slot_filling_sentences(200, seed=3)
    labels_of_taipei = set()
    for words, labels in data:
        assert len(words) == len(labels)
        city = [w for w, tag in zip(words, labels) if tag in ("dest", "dep")]
        assert len(city) == 1 and city[0] in slots.CITIES
        arriving = any(v.split()[0] in " ".join(words) for v in ("arrive", "fly to", "go to")) \
            and not any(v in " ".join(words) for v in ("leave", "depart", "fly from"))
        assert ("dest" in labels) == arriving
        labels_of_taipei |= {tag for w, tag in zip(words, labels) if w == "taipei"}
    assert labels_of_taipei == {"dest", "dep"}  # the same word, two labels


def test_unseen_cities_are_unseen_words():
    train = slot_filling_sentences(100, seed=1)
    test = slot_filling_sentences(20, seed=2, cities=slots.UNSEEN_CITIES)
    lexicon = slots.Lexicon(train)
    plain = slots.Lexicon(train, other=False)
    assert len(plain) == len(lexicon) - 1 and plain.encode(["taipei"]) == [lexicon.index["taipei"] - 1]
    for words, labels in test:
        city = [w for w, tag in zip(words, labels) if tag in ("dest", "dep")]
        assert city[0] in lexicon.unknown(words) and city[0] in slots.UNSEEN_CITIES
        assert lexicon.encode(city) == [0]  # every unseen word is the one "other" dimension
        with pytest.raises(KeyError, match="cannot encode"):
            plain.encode(words)


def test_one_hot_has_an_other_dimension_and_hashing_uses_trigrams():
    data = slot_filling_sentences(50, seed=4)
    lexicon = slots.Lexicon(data)
    assert lexicon.encode(["zanzibar"]) == [0]
    assert slots.letter_trigrams("apple") == ["#ap", "app", "ppl", "ple", "le#"]
    hasher = slots.TrigramHasher(data)
    vec = hasher.encode(["taipei", "taipeii"])
    # taipei: #ta tai aip ipe pei ei# (6); taipeii adds the unseen eii and ii# (5 counted)
    assert vec.shape == (2, len(hasher)) and vec[0].sum() == 6 and vec[1].sum() == 5


def test_ordinals():
    assert [slots.ordinal(d) for d in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23)] == \
        ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd"]


def test_date_pairs_targets_are_the_dates_the_sources_name():
    for source, target in date_pairs(300, seed=5):
        d = datetime.date.fromisoformat(target)
        assert str(d.day) in source
        month = slots.MONTHS[d.month - 1]
        assert month[:3] in source or f"{d.month}/{d.day}/{d.year}" == source


def test_sentiment_score_respects_negation_and_intensifiers():
    assert sentiment.score(["the", "film", "was", "not", "good"]) == -1
    assert sentiment.score(["very", "bad", "and", "good"]) == -1
    data, vocab = sentiment_sentences(300, seed=6)
    assert {label for _, label in data} == {0, 1, 2}
    for words, label in data:
        assert label == (0 if sentiment.score(words) < 0 else 1 if sentiment.score(words) == 0 else 2)
        assert set(words) <= set(vocab)


def test_random_trees_are_well_formed_and_labelled_at_every_node():
    for tree in random_trees(50, seed=7):
        depth = 0
        for ch in tree:
            depth += ch == "("
            depth -= ch == ")"
            assert depth >= 0
        assert depth == 0
        assert tree.count("(") == len(re.findall(r"\(\d", tree))  # a class at every node


def test_text_corpus_is_deterministic_and_large_enough():
    a, b = text_corpus(), text_corpus()
    assert a == b and len(a) > 50_000
    assert a.startswith("The Zen of Python")
    assert text_corpus(max_chars=1000, lowercase=True) == a[:1000].lower()


def test_hashing_into_buckets_gives_every_word_a_vector():
    data = slot_filling_sentences(50, seed=4)
    seen_only, hashed = slots.TrigramHasher(data), slots.TrigramHasher(data, buckets=64)
    assert len(hashed) == 64
    assert seen_only.encode(["osaka"]).sum() == 0  # none of its trigrams was seen
    vec = hashed.encode(["osaka", "taipei"])
    assert vec.shape == (2, 64) and vec.sum(1).tolist() == [5, 6]  # all trigrams counted
    import zlib
    assert vec[0, zlib.crc32(b"#os") % 64] >= 1

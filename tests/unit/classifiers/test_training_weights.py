"""Corpus rows count `classifier.corpus_weight` times a public set's row in the fit; the weights line up with rows."""

from __future__ import annotations

import numpy as np
import pytest

from classifiers.data import Example
from classifiers.lexicon import Lexicons
from classifiers.train import train
from classifiers.training import TrainingSet
from modpipe.settings import SettingsError, load_settings


def test_each_training_row_carries_the_weight_of_its_set() -> None:
    sets = TrainingSet()
    rows = [Example(f"第{i}条消息，内容各不相同{i * 7}", frozenset()) for i in range(60)]
    sets.add("public", rows[:30])
    sets.add("corpus", rows[30:], weight=2.0)
    assert len(sets.weights) == len(sets.train)
    from_corpus = {e.text for e in rows[30:]}
    assert [w for e, w in zip(sets.train, sets.weights, strict=True) if e.text in from_corpus] == [2.0] * sum(
        e.text in from_corpus for e in sets.train
    )
    assert {w for e, w in zip(sets.train, sets.weights, strict=True) if e.text not in from_corpus} == {1.0}


def test_a_weight_moves_the_fit(lexicons: Lexicons) -> None:
    pos = [Example(f"加v看福利视频 资源{i}号 同城约", frozenset({"C7"}), "porn") for i in range(40)]
    neg = [Example(f"周末一起去公园散步吧 第{i}次 约饭", frozenset()) for i in range(40)]
    examples = [*pos, *neg]
    plain = train(examples, lexicons, ["C7"], {"C7": 0.5}, refit=False)
    heavy = train(examples, lexicons, ["C7"], {"C7": 0.5}, refit=False, weights=[5.0] * 40 + [1.0] * 40)
    assert not np.allclose(plain.model.coef, heavy.model.coef)
    with pytest.raises(ValueError, match="weights: one per training example"):
        train(examples, lexicons, ["C7"], {"C7": 0.5}, weights=[1.0])


def test_the_corpus_weight_is_a_checked_setting() -> None:
    assert load_settings(environ={}).classifier.corpus_weight == 2.0
    with pytest.raises(SettingsError, match=r"classifier\.corpus_weight"):
        load_settings(environ={}, overrides={"classifier.corpus_weight": 0})

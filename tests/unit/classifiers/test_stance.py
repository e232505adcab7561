"""The stance model: how it tempers a category's decision, how it is stored, and the default model it changes."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from classifiers.lexicon import Lexicons
from classifiers.loading import load_tagger
from classifiers.model import FORMAT, META, CategoryModel, load_model, tempered
from classifiers.tagger import Tagger
from modpipe.settings import load_settings


def test_tempering_multiplies_the_probabilities() -> None:
    decision = np.array([[2.0, -1.0], [0.0, 5.0]], dtype=np.float32)
    stance = np.array([0.0, 3.0])
    out = tempered(decision, stance, 1.0)
    prob = 1 / (1 + np.exp(-out))
    sig = 1 / (1 + np.exp(-decision.astype(np.float64)))
    expected = sig * (1 / (1 + np.exp(-stance))).reshape(-1, 1)
    assert np.allclose(prob, expected, atol=1e-6)
    assert np.all(out <= decision)  # a stance can only lower a score
    assert np.all(np.isfinite(tempered(np.array([[60.0]], dtype=np.float32), np.array([60.0]), 1.0)))


def test_a_model_keeps_its_stance_through_save_and_load(tmp_path: Path, default_model_obj: CategoryModel) -> None:
    assert default_model_obj.stance_coef is not None
    assert default_model_obj.stance_gamma == 1.0
    default_model_obj.save(tmp_path / "m")
    again = load_model(tmp_path / "m")
    assert again.stance_gamma == default_model_obj.stance_gamma
    assert np.array_equal(again.stance_coef, default_model_obj.stance_coef)  # type: ignore[arg-type]
    assert again.stance_intercept == default_model_obj.stance_intercept


def test_the_stance_tempers_a_warning_more_than_an_ad(default_model_obj: CategoryModel, lexicons: Lexicons) -> None:
    settings = load_settings(environ={})
    plain = dataclasses.replace(default_model_obj, stance_gamma=0.0)
    with_stance = Tagger(settings.categories, lexicons, default_model_obj)
    without = Tagger(settings.categories, lexicons, plain)
    warning = "警方提醒：网上所谓刷单返利、日赚几百的兼职都是诈骗，千万不要垫付"
    a, b = with_stance.classify(warning), without.classify(warning)
    assert a.categories["C9"] < b.categories["C9"]


def test_a_default_model_of_an_older_format_is_trained_again(tmp_path: Path) -> None:
    settings = load_settings(
        environ={}, overrides={"stack.home": str(tmp_path), "classifier.default_training": ["corpus"]}
    )
    old = tmp_path / "models" / "default"
    old.mkdir(parents=True)
    (old / META).write_text(json.dumps({"format": FORMAT - 1}), encoding="utf-8")
    tagger = load_tagger(settings)
    assert json.loads((old / META).read_text(encoding="utf-8"))["format"] == FORMAT
    assert tagger.model.stance_coef is not None

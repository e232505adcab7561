"""Fixtures of the classifier tests: settings without a stack, the shipped lexicons, one seed model per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifiers import Tagger
from classifiers.data import SEED_CORPUS, load_examples
from classifiers.lexicon import Lexicons, Matcher, load_lexicons, shipped_lexicon_dir
from classifiers.model import CategoryModel, load_model
from classifiers.train import train
from modpipe.settings import Settings, load_settings


@pytest.fixture(scope="session")
def clf_settings() -> Settings:
    return load_settings(environ={})


@pytest.fixture(scope="session")
def lexicons(clf_settings: Settings) -> Lexicons:
    return load_lexicons([shipped_lexicon_dir()], clf_settings.categories)


@pytest.fixture(scope="session")
def matcher(lexicons: Lexicons) -> Matcher:
    return Matcher(lexicons)


@pytest.fixture(scope="session")
def seed_model_dir(tmp_path_factory: pytest.TempPathFactory, clf_settings: Settings, lexicons: Lexicons) -> Path:
    """The default model (seed corpus only), trained once for the whole session."""
    folder = tmp_path_factory.mktemp("seed-model")
    review = {code: cat.thresholds.review for code, cat in clf_settings.categories.items()}
    result = train(load_examples(SEED_CORPUS), lexicons, sorted(clf_settings.categories), review)
    result.model.save(folder)
    return folder


@pytest.fixture(scope="session")
def seed_model(seed_model_dir: Path) -> CategoryModel:
    return load_model(seed_model_dir)


@pytest.fixture(scope="session")
def tagger(clf_settings: Settings, lexicons: Lexicons, seed_model: CategoryModel) -> Tagger:
    return Tagger(clf_settings.categories, lexicons, seed_model)

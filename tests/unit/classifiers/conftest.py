"""Fixtures of the classifier tests; the settings, lexicons and seed model folder are shared (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifiers import Tagger
from classifiers.lexicon import Lexicons, Matcher
from classifiers.model import CategoryModel, load_model
from modpipe.settings import Settings


@pytest.fixture(scope="session")
def matcher(lexicons: Lexicons) -> Matcher:
    return Matcher(lexicons)


@pytest.fixture(scope="session")
def default_model_obj(default_model_dir: Path) -> CategoryModel:
    return load_model(default_model_dir)


@pytest.fixture(scope="session")
def tagger(clf_settings: Settings, lexicons: Lexicons, default_model_obj: CategoryModel) -> Tagger:
    return Tagger(clf_settings.categories, lexicons, default_model_obj)

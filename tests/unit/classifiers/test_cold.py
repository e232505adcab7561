"""Quality on COLD: trained on COLD train (offensive -> C8) plus the seed corpus, measured on COLD dev."""

from __future__ import annotations

import pytest

from classifiers import Tagger
from classifiers.data import SEED_CORPUS, load_examples, parse_label_map
from classifiers.lexicon import Lexicons
from classifiers.recipes import evaluate
from classifiers.train import train
from modpipe.settings import Settings
from tests.support import COLD_DIR


@pytest.mark.slow
def test_cold_dev_macro_f1(clf_settings: Settings, lexicons: Lexicons) -> None:
    train_csv, dev_csv = COLD_DIR / "train.csv", COLD_DIR / "dev.csv"
    if not train_csv.is_file() or not dev_csv.is_file():
        pytest.fail(f"COLD is needed for this test: expected {train_csv} and {dev_csv}")
    label_map = parse_label_map("1=C8,0=")
    examples = load_examples(train_csv, "TEXT", "label", label_map) + load_examples(SEED_CORPUS)
    review = {code: cat.thresholds.review for code, cat in clf_settings.categories.items()}
    result = train(examples, lexicons, sorted(clf_settings.categories), review, refit=False)
    tagger = Tagger(clf_settings.categories, lexicons, result.model)
    report = evaluate(tagger, load_examples(dev_csv, "TEXT", "label", label_map))
    assert report["offensive_vs_safe"]["f1"] >= 0.80, report["offensive_vs_safe"]

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from classifiers.exceptions import DatasetMissingError
from classifiers.lexicon import load_lexicons, shipped_lexicon_dir
from classifiers.loading import load_tagger
from classifiers.model import CategoryModel
from classifiers.policy import decide
from classifiers.tagger import Tagger, TagResult, policy_version
from modpipe.cli.main import app
from modpipe.settings import Action, Settings, load_settings


def test_thresholds_and_caps_give_the_action(clf_settings: Settings) -> None:
    cats = clf_settings.categories
    zero = dict.fromkeys(cats, 0.0)
    assert decide(zero, cats) == (Action.PASS, ())
    assert decide({**zero, "C8": 0.6}, cats) == (Action.REVIEW, ("C8",))
    assert decide({**zero, "C8": 0.95}, cats) == (Action.BLOCK, ("C8",))
    # C6 is capped at review: even a certain rumour only goes to a moderator.
    assert decide({**zero, "C6": 0.99}, cats) == (Action.REVIEW, ("C6",))
    assert decide({**zero, "C6": 0.99, "C7": 0.9}, cats) == (Action.BLOCK, ("C6", "C7"))


def test_policy_version_follows_thresholds(clf_settings: Settings) -> None:
    other = load_settings(environ={}, overrides={"categories.C8.thresholds.review": 0.6})
    assert policy_version(clf_settings.categories) != policy_version(other.categories)
    assert policy_version(clf_settings.categories) == policy_version(load_settings(environ={}).categories)


def test_batch_results_in_order_with_spans(tagger: Tagger) -> None:
    texts = ["今天天气很好，我们去公园散步", "你这个傻 逼，滚", "兼职刷单返利，日结三百，加微信", ""]
    results = tagger.classify_batch(texts)
    assert [type(r) for r in results] == [TagResult] * 4
    assert results[0].action is Action.PASS
    assert not results[0].hits
    assert set(results[0].categories) == {f"C{i}" for i in range(1, 10)}
    assert results[1].flagged == ("C8",)
    assert results[1].action is not Action.PASS
    hit = results[1].hits[0]
    assert (hit.start, hit.end, hit.matched, hit.category) == (3, 6, "傻 逼", "C8")
    assert "C9" in results[2].flagged
    assert results[2].sub_labels["C9"] == "fraud"
    assert results[3].action is Action.PASS
    assert tagger.classify_batch([]) == []
    assert [tagger.classify_batch([t])[0] for t in texts] == results


def test_operator_lexicon_adds_a_category(
    clf_settings: Settings, default_model_obj: CategoryModel, tmp_path: Path
) -> None:
    (tmp_path / "C1.txt").write_text("# operator list\nzorblax\n弗鲁克斯|\n", encoding="utf-8")
    lexicons = load_lexicons([shipped_lexicon_dir(), tmp_path], clf_settings.categories)
    tagger = Tagger(clf_settings.categories, lexicons, default_model_obj)
    result = tagger.classify("说ZORBLAX了，还有弗 鲁 克 斯")
    assert result.flagged == ("C1",)
    assert result.action is Action.REVIEW  # C1's action cap
    assert [(h.term, h.matched) for h in result.hits] == [("zorblax", "ZORBLAX"), ("弗鲁克斯", "弗 鲁 克 斯")]
    assert tagger.lexicon_version != load_lexicons([shipped_lexicon_dir()]).version


def test_from_settings_trains_the_default_model_once(tmp_path: Path) -> None:
    # The corpus alone: the mechanism is the same as for the full default training, in a fraction of the time.
    settings = load_settings(
        environ={}, overrides={"stack.home": str(tmp_path), "classifier.default_training": ["corpus"]}
    )
    tagger = load_tagger(settings)
    assert (tmp_path / "models" / "default" / "model.json").is_file()
    again = load_tagger(settings)
    assert again.model_version == tagger.model_version
    assert again.classify("出售冰毒").action is Action.BLOCK


def test_cli_train_evaluate_classify(tmp_path: Path) -> None:
    data = tmp_path / "small.csv"
    rows = ["text,label"] + [f"你这个傻瓜笨蛋{i}号,1" for i in range(12)] + [f"今天天气很好{i}号,0" for i in range(12)]
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "model"
    runner = CliRunner()
    trained = runner.invoke(
        app, ["train", "--no-defaults", "--data", str(data), "--label-map", "1=C8,0=", "--out", str(out)]
    )
    assert trained.exit_code == 0, trained.output
    assert (out / "model.json").is_file()
    evaluated = runner.invoke(app, ["evaluate", "--model", str(out), "--data", str(data), "--label-map", "1=C8,0="])
    assert evaluated.exit_code == 0, evaluated.output
    assert "offensive vs safe" in evaluated.output
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text('{"message_id": "m1", "text": "出售冰毒"}\n{"text": "你好"}\n', encoding="utf-8")
    classified = runner.invoke(app, ["classify", "--jsonl", str(jsonl), "--model", str(out)])
    assert classified.exit_code == 0, classified.output
    lines = [line for line in classified.output.splitlines() if line.startswith("{")]
    assert len(lines) == 2
    assert '"m1"' in lines[0]
    assert '"block"' in lines[0]
    bad = runner.invoke(app, ["evaluate", "--model", str(tmp_path / "none"), "--data", str(data)])
    assert bad.exit_code != 0


def test_default_training_without_its_files_names_the_missing_one(tmp_path: Path) -> None:
    settings = load_settings(
        environ={},
        overrides={"stack.home": str(tmp_path), "classifier.default_training": ["corpus", "swsr"]},
    )
    with pytest.raises(DatasetMissingError) as err:
        load_tagger(settings)
    assert str(tmp_path / "datasets" / "swsr" / "comments.jsonl") in str(err.value)
    assert not (tmp_path / "models" / "default").exists()

"""The base lexicons follow the config folder (issue 17: they ignored --config-dir and MODPIPE_CONFIG_DIR)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from classifiers.lexicon import load_lexicons, shipped_lexicon_dir
from classifiers.tagger import lexicon_folders
from modpipe.settings import SettingsError, load_settings
from tests.support import REPO

OWN_TERM = "测试专用违禁词"


def config_copy(tmp_path: Path, with_lexicons: bool) -> Path:
    folder = tmp_path / "config"
    folder.mkdir()
    for name in ("modpipe.yaml", "categories.yaml", "services.yaml", "datasets.yaml"):
        shutil.copy(REPO / "config" / name, folder / name)
    if with_lexicons:
        (folder / "lexicons").mkdir()
        (folder / "lexicons" / "C9.txt").write_text(f"{OWN_TERM}|test|block\n", encoding="utf-8")
    return folder


@pytest.mark.parametrize("how", ["--config-dir", "MODPIPE_CONFIG_DIR"])
def test_the_config_folders_lexicons_replace_the_shipped_ones(tmp_path: Path, how: str) -> None:
    folder = config_copy(tmp_path, with_lexicons=True)
    if how == "--config-dir":
        settings = load_settings(folder, environ={})
    else:
        settings = load_settings(environ={"MODPIPE_CONFIG_DIR": str(folder)})
    assert settings.classifier.lexicon_dir == str(folder / "lexicons")
    assert lexicon_folders(settings) == [folder / "lexicons"]
    lexicons = load_lexicons(lexicon_folders(settings), settings.categories)
    assert [t.term for t in lexicons.terms] == [OWN_TERM]
    assert lexicons.version != load_lexicons([shipped_lexicon_dir()]).version


def test_a_config_folder_without_lexicons_uses_the_shipped_ones(tmp_path: Path) -> None:
    settings = load_settings(config_copy(tmp_path, with_lexicons=False), environ={})
    assert settings.classifier.lexicon_dir == ""
    assert lexicon_folders(settings) == [shipped_lexicon_dir()]


def test_the_default_config_folder_gives_the_shipped_lexicons() -> None:
    settings = load_settings(environ={})
    assert lexicon_folders(settings) == [shipped_lexicon_dir()]


def test_extra_lexicons_come_after_the_base_folder(tmp_path: Path) -> None:
    folder = config_copy(tmp_path, with_lexicons=True)
    extra = tmp_path / "extra"
    extra.mkdir()
    settings = load_settings(folder, environ={"MODPIPE__CLASSIFIER__EXTRA_LEXICONS": str(extra)})
    assert lexicon_folders(settings) == [folder / "lexicons", extra]


def test_a_lexicon_dir_that_does_not_exist_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(SettingsError) as caught:
        load_settings(environ={"MODPIPE__CLASSIFIER__LEXICON_DIR": str(missing)})
    message = str(caught.value)
    assert "classifier.lexicon_dir" in message
    assert "MODPIPE__CLASSIFIER__LEXICON_DIR" in message
    assert "an existing folder of lexicon files" in message

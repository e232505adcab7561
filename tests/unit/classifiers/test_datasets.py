"""The dataset registry: files found, checked and mapped to categories; downloads over a real HTTP connection."""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from classifiers.datasets import load_dataset, sha256_file
from classifiers.exceptions import DataError, DatasetMissingError
from modpipe.settings import Settings, SettingsError, load_settings
from modpipe.settings.datasets import DatasetSpec
from tests.support import DATASETS

CSV = "\ufeff,split,topic,label,TEXT\n0,train,race,1,甲\n1,train,gender,1,乙\n2,train,region,0,丙\n"


def spec(**extra: object) -> DatasetSpec:
    fields: dict[str, object] = {
        "name": "tiny", "file": "tiny/rows.csv", "format": "csv", "text_field": "TEXT", "licence": "MIT",
        "may_train": True, "use": "train", "source": "https://example.org/tiny", "commit": "abc1234",
        "upstream_path": "rows.csv", "sha256": hashlib.sha256(CSV.encode()).hexdigest(),
        "rules": [
            {"when": {"label": "0"}, "labels": []},
            {"when": {"label": "1", "topic": "gender"}, "labels": ["C8"]},
            {"when": {"label": "1"}, "labels": ["C4"]},
        ],
    }  # fmt: skip
    fields.update(extra)
    return DatasetSpec.model_validate(fields)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "served"
    root.mkdir()
    (root / "rows.csv").write_text(CSV, encoding="utf-8")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

        def log_message(self, *_args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_every_registered_file_in_the_shared_folder_matches_its_pinned_digest(clf_settings: Settings) -> None:
    for name, ds in clf_settings.datasets.items():
        assert sha256_file(DATASETS / ds.file) == ds.sha256, name


def test_csv_rows_are_labelled_by_the_first_matching_rule(tmp_path: Path) -> None:
    (tmp_path / "tiny").mkdir()
    (tmp_path / "tiny" / "rows.csv").write_text(CSV, encoding="utf-8")
    rows = load_dataset(spec(), tmp_path, download=False)
    assert [(e.text, sorted(e.labels)) for e in rows] == [("甲", ["C4"]), ("乙", ["C8"]), ("丙", [])]


def test_a_missing_file_offline_names_the_file_its_source_and_digest(tmp_path: Path) -> None:
    with pytest.raises(DatasetMissingError) as err:
        load_dataset(spec(), tmp_path)
    message = str(err.value)
    assert str(tmp_path / "tiny" / "rows.csv") in message
    assert "https://example.org/tiny" in message
    assert spec().sha256 in message
    assert "classifier.datasets_dir" in message


def test_a_missing_file_is_downloaded_checked_and_cached(tmp_path: Path, server: str) -> None:
    ds = spec(url=f"{server}/rows.csv")
    assert len(load_dataset(ds, tmp_path / "cache")) == 3
    assert (tmp_path / "cache" / "tiny" / "rows.csv").read_text(encoding="utf-8") == CSV
    assert len(load_dataset(spec(url="http://127.0.0.1:9/gone.csv"), tmp_path / "cache")) == 3  # cached: no fetch


def test_a_download_with_the_wrong_digest_leaves_no_file(tmp_path: Path, server: str) -> None:
    ds = spec(url=f"{server}/rows.csv", sha256="0" * 64)
    with pytest.raises(DataError, match="sha256"):
        load_dataset(ds, tmp_path / "cache")
    assert list((tmp_path / "cache").rglob("*")) == [tmp_path / "cache" / "tiny"]


def test_an_unreachable_download_says_what_to_do(tmp_path: Path, server: str) -> None:
    with pytest.raises(DatasetMissingError, match="downloading"):
        load_dataset(spec(url=f"{server}/absent.csv"), tmp_path)


def test_a_set_whose_licence_forbids_training_cannot_be_a_training_set() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(environ={}, overrides={"datasets.toxicn.use": "train"})
    assert "toxicn" in str(err.value)
    with pytest.raises(SettingsError) as err:
        load_settings(environ={}, overrides={"classifier.default_training": ["corpus", "ced"]})
    assert "ced" in str(err.value)

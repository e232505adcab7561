"""`modpipe compliance`: obligations -> features and the tests that prove them, read from the test markers."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from modpipe.cli.compliance import OBLIGATIONS, matrix
from modpipe.cli.main import app
from tests.support import REPO


def test_markers_on_functions_and_modules_are_read(tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_a.py").write_text(
        'import pytest\n@pytest.mark.obligation("L3", "L9")\ndef test_export(): pass\ndef test_unmarked(): pass\n',
        encoding="utf-8",
    )
    (tests / "test_b.py").write_text(
        'import pytest\npytestmark = [pytest.mark.obligation("L8")]\ndef test_tamper(): pass\n', encoding="utf-8"
    )
    table = matrix(tests)
    assert table["L3"].tests == ["tests/test_a.py::test_export"]
    assert table["L9"].tests == ["tests/test_a.py::test_export"]
    assert table["L8"].tests == ["tests/test_b.py::test_tamper"]
    assert table["L1"].tests == []
    result = CliRunner().invoke(app, ["compliance", "--tests", str(tests)])
    assert result.exit_code == 1
    assert "proved by NO TEST" in result.output


def test_every_obligation_of_the_real_suite_has_a_test_and_its_features() -> None:
    table = matrix(REPO / "tests")
    assert set(table) == set(OBLIGATIONS)
    assert {code: row.tests for code, row in table.items() if not row.tests} == {}
    assert {code: row.features for code, row in table.items() if not all(row.features.values())} == {}

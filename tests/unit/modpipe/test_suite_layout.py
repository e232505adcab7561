"""The test suite reads like the code: folders named after the packages they test, fixtures as plugins under
tests/fixtures/, helpers in importable modules (never in a conftest)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support import PACKAGES, REPO

TESTS = REPO / "tests"
# Folders that test no package: the Docker files, and the review page in a browser.
NOT_PACKAGES = {"unit": {"deploy"}, "integration": set()}


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return names


def test_test_folders_are_named_after_packages() -> None:
    for kind, others in NOT_PACKAGES.items():
        folders = {p.name for p in (TESTS / kind).iterdir() if p.is_dir() and p.name != "__pycache__"}
        assert folders - others <= set(PACKAGES), kind
        assert not list((TESTS / kind).glob("test_*.py")), f"tests/{kind}/ holds tests of no package"


def test_no_module_imports_from_a_conftest() -> None:
    found = [
        f"{path.relative_to(REPO)}: {name}"
        for path in [*TESTS.rglob("*.py"), *(REPO / "bench").rglob("*.py")]
        for name in _imports(path)
        if name.rsplit(".", 1)[-1] == "conftest"
    ]
    assert found == []


def test_the_top_conftest_registers_every_fixture_plugin_and_defines_no_fixture() -> None:
    tree = ast.parse((TESTS / "conftest.py").read_text(encoding="utf-8"))
    plugins: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "pytest_plugins" for t in node.targets):
            plugins = list(ast.literal_eval(node.value))
        if isinstance(node, ast.FunctionDef):
            assert node.name.startswith("pytest_"), f"{node.name}: fixtures belong in tests/fixtures/"
    modules = {f"tests.fixtures.{p.stem}" for p in (TESTS / "fixtures").glob("*.py") if p.stem != "__init__"}
    assert set(plugins) == modules

"""The test suite's hooks; its fixtures are plugins under tests/fixtures/ (helpers: tests/support.py and the
fixture modules, importable like any module)."""

from __future__ import annotations

import pytest

pytest_plugins = [
    "tests.fixtures.leaks",
    "tests.fixtures.stack",
    "tests.fixtures.classifiers",
    "tests.fixtures.workers",
    "tests.fixtures.review",
    "tests.fixtures.browser",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.path):
            item.add_marker(pytest.mark.integration)

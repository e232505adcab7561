"""Only the moderation agent loads the classifier stack (numpy, scipy, the lexicon automaton): a worker of the
other agents builds its apps without it, so it starts in less time and memory (issue 17). Checked by what a fresh
interpreter has imported after building the worker's apps, not by timing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import imported_after, loaded

CLASSIFIER_STACK = ("classifiers.tagger", "classifiers.lexicon", "numpy", "scipy", "sklearn", "ahocorasick", "jieba")

_BUILD = """
from modpipe.settings import load_settings
from pipeline.app import create_apps
apps, ctx = create_apps(load_settings(), {agents!r}, worker_id="probe")
for close in ctx.closers:
    close()
"""


@pytest.mark.parametrize("agents", [["records", "decisions"], ["queue", "reports", "measures"]])
def test_a_worker_without_the_moderation_agent_imports_no_classifier_stack(agents: list[str], tmp_path: Path) -> None:
    modules = imported_after(_BUILD.format(agents=agents), tmp_path)
    assert "pipeline.moderation" in modules  # the routing the agents share is there, the classifier is not
    assert loaded(modules, CLASSIFIER_STACK) == []

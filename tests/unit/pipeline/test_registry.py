"""Agent names come from one list (modpipe.settings.models.AgentName): the CLI, the settings and the worker agree."""

from __future__ import annotations

from modpipe.cli.pipeline import ALL_AGENTS
from modpipe.settings.models import AGENT_NAMES
from pipeline.app import group_id
from pipeline.registry import REGISTRY


def test_every_named_agent_has_an_implementation_and_its_own_group() -> None:
    assert tuple(REGISTRY) == AGENT_NAMES == ALL_AGENTS
    assert len({group_id(name) for name in AGENT_NAMES}) == len(AGENT_NAMES)
    assert group_id("records") == "modpipe-records"

"""The one registry of agents: each name of modpipe.settings.AGENT_NAMES and the function that adds it to a worker."""

from __future__ import annotations

from collections.abc import Callable

import faust

from modpipe.settings.models import AgentName
from pipeline.agents import decisions_agent, moderation_agent, queue_agent, records_agent
from pipeline.context import WorkerContext
from pipeline.stage_agents import measures_agent, reports_agent

REGISTRY: dict[AgentName, Callable[[faust.App, WorkerContext], None]] = {
    "moderation": moderation_agent,
    "decisions": decisions_agent,
    "records": records_agent,
    "queue": queue_agent,
    "reports": reports_agent,
    "measures": measures_agent,
}

"""BrokerHealth: unhealthy only after the grace period without a broker answer, healthy with the next answer;
and the probe's answer for a broker that refuses or never answers."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime, timedelta

import pytest

from modpipe.clock import FixedClock
from modpipe.settings import SettingsError, load_settings
from modpipe.stack.health import free_port
from pipeline.health import BrokerHealth, broker_problem
from tests.support import REPO


def test_healthy_until_the_grace_period_passes_without_an_answer_then_healthy_with_the_next() -> None:
    clock = FixedClock(datetime(2025, 3, 1, tzinfo=UTC))
    health = BrokerHealth(grace_s=6, clock=clock)
    assert health.unhealthy_reason() is None  # started after the preflight's check
    clock.advance(timedelta(hours=5))  # nothing checked, nothing said otherwise
    assert "no broker check has succeeded for 18000s" in (health.unhealthy_reason() or "")
    health.record(None)
    for _ in range(3):  # one or two failed checks are within the grace period
        clock.advance(timedelta(seconds=2))
        health.record("ConnectionRefusedError: refused")
        assert health.unhealthy_reason() is None
    clock.advance(timedelta(seconds=2))
    health.record("ConnectionRefusedError: refused")
    assert health.unhealthy_reason() == "broker unreachable for 8s: ConnectionRefusedError: refused"
    assert health.snapshot() == {
        "last_answer_s_ago": 8.0,
        "last_check_s_ago": 0.0,
        "last_problem": "ConnectionRefusedError: refused",
    }
    health.record(None)
    assert health.unhealthy_reason() is None


def test_a_refusing_port_is_a_problem_named_by_server() -> None:
    port = free_port()
    problem = asyncio.run(broker_problem([f"127.0.0.1:{port}"], 1.0, "test"))
    assert problem is not None
    assert problem.startswith(f"127.0.0.1:{port}: ")


def test_a_broker_that_never_answers_times_out() -> None:
    with socket.socket() as listener:  # accepts the connection (the kernel does) and never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        problem = asyncio.run(broker_problem([f"127.0.0.1:{port}"], 0.3, "test"))
    assert problem == f"127.0.0.1:{port}: no answer within 0.3s"


def test_a_grace_period_shorter_than_a_check_is_refused_with_both_names() -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(
            REPO / "config",
            environ={"MODPIPE__WORKER__HEALTH_GRACE_S": "1", "MODPIPE__WORKER__HEALTH_CHECK_INTERVAL_S": "2"},
        )
    assert "worker.health_grace_s" in str(info.value)
    assert "worker.health_check_interval_s" in str(info.value)

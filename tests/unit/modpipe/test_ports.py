"""Ports for local stacks and workers: chosen together, and a start that meets a taken port tries other ones."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from modpipe.net import free_ports
from modpipe.stack import health, manager
from modpipe.stack.errors import PortTaken


def test_free_ports_are_distinct_bindable_and_avoid_what_they_are_told() -> None:
    avoid = frozenset(free_ports(5))
    ports = free_ports(40, avoid)
    assert len(set(ports)) == 40
    assert not avoid & set(ports)
    assert all(health.port_is_free(port) for port in ports)


def test_a_taken_port_is_tried_again_on_other_ports_then_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        chosen: list[list[int]] = []
        real = health.free_ports

        def unlucky(n: int, avoid: frozenset[int] = frozenset()) -> list[int]:
            # Every public triple starts with the squatter's port, as if another program took it after the choice.
            ports = real(n, avoid)
            if n == 3:
                ports[0] = taken
                chosen.append(ports)
            return ports

        monkeypatch.setattr(health, "free_ports", unlucky)
        with pytest.raises(PortTaken, match=str(taken)):
            manager.start_on_free_ports(tmp_path / "stack", broker_storage="memory", attempts=3)
    assert len(chosen) == 3, "one start per attempt"
    assert len({tuple(p[1:]) for p in chosen}) == 3, "each attempt on other ports"
    # Nothing was started: every port is checked before the first server starts.
    assert not list((tmp_path / "stack" / "run").glob("*.pid"))

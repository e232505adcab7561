"""The docker/ helper scripts: healthcheck, wait-for-Kibana and the Elasticsearch users one-shot.

They run in the image with the standard library only; here they talk to a small HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.unit.deploy.deployfiles import DOCKER_DIR


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"modpipe_docker_{name}", DOCKER_DIR / f"{name}.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


healthcheck = load("healthcheck")
wait_for = load("wait_for")
elastic_users = load("elastic_users")

Reply = tuple[int, dict[str, Any]]


class Server:
    """Answers each request with the next reply of a script (the last one repeats) and records the requests."""

    def __init__(self, replies: list[Reply]) -> None:
        self.replies = replies
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "auth": self.headers.get("Authorization"),
                        "body": json.loads(body) if body else None,
                    }
                )
                status, doc = outer.replies[min(len(outer.requests), len(outer.replies)) - 1]
                data = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), name="deploy-test-http")

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def serve() -> Iterator[Callable[[list[Reply]], Server]]:
    started: list[Server] = []

    def start(replies: list[Reply]) -> Server:
        server = Server(replies)
        server.thread.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---- healthcheck.py ----------------------------------------------------------------------------------------


def test_healthcheck_target_precedence() -> None:
    assert (
        healthcheck.target(["http://a/healthz"], {"MODPIPE_HEALTHCHECK_URL": "http://b/healthz"}) == "http://a/healthz"
    )
    assert healthcheck.target([], {"MODPIPE_HEALTHCHECK_URL": "http://b/healthz"}) == "http://b/healthz"
    assert healthcheck.target([], {}) == "http://127.0.0.1:6066/healthz"


def test_healthcheck_healthy_and_unhealthy(serve: Callable[[list[Reply]], Server]) -> None:
    ok = serve([(200, {"status": "ok"})])
    assert healthcheck.main([ok.url + "/healthz"]) == 0
    failing = serve([(503, {"status": "starting"})])
    assert "answered 503" in (healthcheck.problem(failing.url + "/healthz") or "")
    assert healthcheck.main([failing.url + "/healthz"]) == 1
    assert "unreachable" in (healthcheck.problem(f"http://127.0.0.1:{free_port()}/healthz", timeout=1) or "")
    assert "not an http" in (healthcheck.problem("file:///etc/passwd") or "")


# ---- wait_for.py -------------------------------------------------------------------------------------------


def test_kibana_level_reads_the_status_document() -> None:
    assert wait_for.kibana_level(b'{"status": {"overall": {"level": "available"}}}') == "available"
    assert wait_for.kibana_level(b'{"status": {"overall": {"level": "degraded"}}}') == "degraded"
    assert wait_for.kibana_level(b"Kibana server is not ready yet") is None
    assert wait_for.kibana_level(b'{"statusCode": 401}') is None


def test_kibana_status_sends_credentials_and_reads_503_bodies(serve: Callable[[list[Reply]], Server]) -> None:
    kibana = serve(
        [
            (503, {"status": {"overall": {"level": "unavailable"}}}),
            (200, {"status": {"overall": {"level": "available"}}}),
        ]
    )
    headers = wait_for.auth_header(
        {"MODPIPE__ELASTICSEARCH__USERNAME": "elastic", "MODPIPE__ELASTICSEARCH__PASSWORD": "pw-123456789012"}
    )
    assert wait_for.kibana_status(kibana.url, headers) == "unavailable"
    assert wait_for.kibana_status(kibana.url, headers) == "available"
    assert kibana.requests[0]["path"] == "/api/status"
    assert base64.b64decode(kibana.requests[0]["auth"].split()[1]) == b"elastic:pw-123456789012"
    assert "unreachable" in wait_for.kibana_status(f"http://127.0.0.1:{free_port()}", {}, timeout=1)


def test_wait_polls_until_available_or_times_out() -> None:
    clock = [0.0]
    states = iter(["HTTP 503", "degraded", "available"])
    lines: list[str] = []

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    assert wait_for.wait(lambda: next(states), 60, sleep=sleep, now=lambda: clock[0], say=lines.append)
    assert lines[-1] == "kibana: available"
    assert clock[0] == 2 * wait_for.POLL_S
    clock[0] = 0.0
    assert not wait_for.wait(lambda: "degraded", 12, sleep=sleep, now=lambda: clock[0], say=lines.append)


# ---- elastic_users.py --------------------------------------------------------------------------------------

GOOD_ENV = {
    "ELASTIC_PASSWORD": "elastic-secret-123",
    "KIBANA_SYSTEM_PASSWORD": "kibana-secret-123",
    "MODPIPE__ELASTICSEARCH__USERNAME": "modpipe",
    "MODPIPE__ELASTICSEARCH__PASSWORD": "modpipe-secret-123",
    "MODPIPE__ELASTICSEARCH__INDEX": "modpipe-queue",
}


def test_calls_need_every_secret_and_an_own_user() -> None:
    with pytest.raises(elastic_users.SetupError) as err:
        elastic_users.calls(
            {**GOOD_ENV, "KIBANA_SYSTEM_PASSWORD": "short", "MODPIPE__ELASTICSEARCH__USERNAME": "elastic"}
        )
    assert "KIBANA_SYSTEM_PASSWORD" in str(err.value)
    assert "MODPIPE__ELASTICSEARCH__USERNAME" in str(err.value)
    assert "ELASTIC_PASSWORD (" not in str(err.value)


def test_role_is_limited_to_the_queue_indices() -> None:
    calls = {call.path: call for call in elastic_users.calls(GOOD_ENV)}
    role = calls["/_security/role/modpipe_pipeline"].body
    assert role["cluster"] == ["monitor", "manage_index_templates"]
    assert role["indices"][0]["names"] == ["modpipe-queue", "modpipe-queue-*"]
    assert "all" not in role["indices"][0]["privileges"]
    assert calls["/_security/user/modpipe"].body["roles"] == ["modpipe_pipeline"]
    assert calls["/_security/user/kibana_system/_password"].body == {"password": "kibana-secret-123"}


def test_run_retries_while_elasticsearch_is_unavailable(
    serve: Callable[[list[Reply]], Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(elastic_users, "RETRY_S", 0.0)
    es = serve([(503, {"error": "security index not ready"}), (200, {"acknowledged": True})])
    elastic_users.run({**GOOD_ENV, "MODPIPE__ELASTICSEARCH__URL": es.url}, attempts=3)
    assert [(r["method"], r["path"]) for r in es.requests] == [
        ("POST", "/_security/user/kibana_system/_password"),
        ("POST", "/_security/user/kibana_system/_password"),
        ("PUT", "/_security/role/modpipe_pipeline"),
        ("PUT", "/_security/user/modpipe"),
    ]
    assert base64.b64decode(es.requests[0]["auth"].split()[1]) == b"elastic:elastic-secret-123"


def test_run_stops_at_once_on_a_wrong_elastic_password(
    serve: Callable[[list[Reply]], Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(elastic_users, "RETRY_S", 0.0)
    es = serve([(401, {"error": "unable to authenticate user [elastic]"})])
    with pytest.raises(elastic_users.SetupError, match="HTTP 401"):
        elastic_users.run({**GOOD_ENV, "MODPIPE__ELASTICSEARCH__URL": es.url}, attempts=5)
    assert len(es.requests) == 1


# ---- entrypoint.sh -----------------------------------------------------------------------------------------


def run_entrypoint(tmp_path: Path, env: dict[str, str], *args: str) -> str:
    fake = tmp_path / "modpipe"
    fake.write_text('#!/bin/sh\necho "id=${MODPIPE__WORKER__ID} args=$*"\n', encoding="utf-8")
    fake.chmod(0o755)
    result = subprocess.run(
        ["/bin/sh", str(DOCKER_DIR / "entrypoint.sh"), *args],
        env={"PATH": f"{tmp_path}:/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    )
    return result.stdout.strip()


def test_entrypoint_names_each_replica_after_its_role_and_host(tmp_path: Path) -> None:
    env = {"MODPIPE_WORKER_ROLE": "records", "HOSTNAME": "3f2a1b4c5d6e"}
    out = run_entrypoint(tmp_path, env, "worker", "--agents", "records")
    assert out == "id=records-3f2a1b4c5d6e args=worker --agents records"


def test_entrypoint_keeps_an_explicit_worker_id(tmp_path: Path) -> None:
    assert run_entrypoint(tmp_path, {"MODPIPE__WORKER__ID": "w-7"}, "version") == "id=w-7 args=version"

"""Issue 16 item 6 and 10: roles on every route, source IPs only for the roles that need them, the audit trail of
people, and `Secure` + HSTS behind a trusted TLS proxy; on the real Elasticsearch-API server and Kafka broker."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from modpipe.clock import FixedClock
from modpipe.settings import Settings
from review.desk import users
from review.desk.app import audit_path, create_app
from review.desk.roles import ACCESS, Role
from tests.fixtures.review import PASSWORD
from tests.integration.review.test_review_app import run, seed, sign_in

NAMES = {Role.MODERATOR: "mod", Role.SENIOR: "sen", Role.AUDITOR: "aud", Role.ADMIN: "adm"}


def _with(settings: Settings, **review: Any) -> Settings:
    return settings.model_copy(update={"review": settings.review.model_copy(update=review)})


@pytest.fixture
def staff(rsettings: Settings, tmp_path: Path) -> Settings:
    path = tmp_path / "users"
    for role, name in NAMES.items():
        users.set_password(path, name, PASSWORD, role)
    return _with(rsettings, users_file=str(path), audit_file=str(tmp_path / "audit.jsonl"))


async def _token(client: TestClient[Any, Any], name: str) -> str:
    resp = await client.post("/api/login", json={"username": name, "password": PASSWORD})
    assert resp.status == 200, await resp.text()
    return str((await resp.json())["token"])


async def _call(client: TestClient[Any, Any], method: str, url: str, token: str | None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {"outcome": "confirmed"} if method == "POST" else None
    resp = await client.request(method, url, headers=headers, json=body, allow_redirects=False)
    if resp.status == 403:
        refused = (await resp.json())["error"] if url.startswith("/api/") else await resp.text()
        assert "forbidden" in refused or "may not do this" in refused, (method, url, refused)
    return resp.status


def test_the_role_table_covers_every_route(staff: Settings) -> None:
    app = create_app(staff)
    routes = {
        (r.method, r.resource.canonical)
        for r in app.router.routes()
        if r.resource is not None and r.method != "HEAD" and not r.resource.canonical.startswith("/static")
    }
    assert routes - set(ACCESS) == {("GET", "/login"), ("POST", "/login"), ("POST", "/api/login"), ("GET", "/healthz")}
    assert set(ACCESS) <= routes


@pytest.mark.obligation("L8")
def test_every_route_refuses_a_missing_or_wrong_role(staff: Settings) -> None:
    seed(staff)
    checked: list[tuple[str, str, str, int]] = []

    async def scenario(client: TestClient[Any, Any], _: TestClient[Any, Any]) -> None:
        tokens = {role: await _token(client, name) for role, name in NAMES.items()}
        # Sign-out routes last: they end the token they are called with.
        for (method, route), allowed in sorted(ACCESS.items(), key=lambda kv: "logout" in kv[0][1]):
            url = re.sub(r"\{[^}]+\}", "m1", route)  # every path parameter
            status = await _call(client, method, url, None)
            assert status == (401 if url.startswith("/api/") else 303), (method, url, "no session", status)
            for role in Role:
                token = tokens[role] if "logout" not in url else await _token(client, NAMES[role])
                status = await _call(client, method, url, token)
                checked.append((method, url, role.value, status))
                if role in allowed:
                    assert status not in (401, 403), (method, url, role, status)
                else:
                    assert status == 403, (method, url, role, status)

    run(staff, scenario)
    assert len(checked) == len(ACCESS) * len(Role)


@pytest.mark.obligation("L8")
def test_source_ips_only_for_seniors_auditors_and_admins(staff: Settings) -> None:
    seed(staff)

    async def scenario(client: TestClient[Any, Any], _: TestClient[Any, Any]) -> None:
        for role, sees in ((Role.MODERATOR, False), (Role.SENIOR, True), (Role.AUDITOR, True)):
            auth = {"Authorization": f"Bearer {await _token(client, NAMES[role])}"}
            item = await (await client.get("/api/items/m1", headers=auth)).json()
            listing = await (await client.get("/api/items", headers=auth)).text()
            page = await (await client.get("/items/m1", headers=auth)).text()
            assert ("ip" in item.get("source", {})) is sees, role
            assert ("203.0.113.7" in listing, "203.0.113.7" in page) == (sees, sees), role
            assert ('name="outcome"' in page) is (role is not Role.AUDITOR), role

    run(staff, scenario)


def test_logins_failures_and_decisions_are_in_the_audit_trail(staff: Settings) -> None:
    seed(staff)

    async def scenario(mod: TestClient[Any, Any], other: TestClient[Any, Any]) -> None:
        assert await sign_in(other, "sen", "wrong password") == 401
        token = await _token(mod, "mod")
        auth = {"Authorization": f"Bearer {token}"}
        assert (await mod.post("/api/items/m1/decision", json={"outcome": "overturned"}, headers=auth)).status == 201
        assert (await mod.post("/api/items/m1/decision", json={"outcome": "confirmed"}, headers=auth)).status == 409
        audit = await other.get("/api/audit", headers={"Authorization": f"Bearer {await _token(other, 'aud')}"})
        events = (await audit.json())["events"]
        assert [e["event"] for e in events] == ["login_failed", "login", "decision", "decision_refused", "login"]

    run(staff, scenario)
    lines = [json.loads(line) for line in audit_path(staff).read_text().splitlines()]
    failed, login, decided, refused, _ = lines
    assert (failed["who"], failed["from"], failed["reason"]) == ("sen", "127.0.0.1", "not_signed_in")
    assert (login["who"], login["role"], login["via"]) == ("mod", "moderator", "api")
    assert (decided["who"], decided["item"], decided["outcome"], decided["role"]) == (
        "mod",
        "m1",
        "overturned",
        "moderator",
    )
    assert decided["decision_id"]
    assert decided["at"].endswith("+00:00")
    assert (refused["reason"], refused["decided_by"]) == ("already_decided", "mod")
    assert audit_path(staff).stat().st_mode & 0o777 == 0o600


def test_secure_cookies_and_hsts_only_behind_a_trusted_tls_proxy(staff: Settings) -> None:
    https = {"X-Forwarded-Proto": "https"}

    async def untrusted(client: TestClient[Any, Any], _: TestClient[Any, Any]) -> None:
        resp = await client.get("/login", headers=https)
        assert "Secure" not in resp.headers["Set-Cookie"]
        assert "Strict-Transport-Security" not in resp.headers

    async def trusted(client: TestClient[Any, Any], _: TestClient[Any, Any]) -> None:
        resp = await client.get("/login", headers=https)
        cookie = resp.headers["Set-Cookie"]
        assert all(flag in cookie for flag in ("Secure", "HttpOnly", "SameSite=Strict")), cookie
        assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
        plain = await client.get("/login")
        assert "Secure" not in plain.headers["Set-Cookie"]
        assert "Strict-Transport-Security" not in plain.headers

    run(staff, untrusted)
    run(_with(staff, trusted_proxies=("127.0.0.1", "::1")), trusted)


def test_a_stranger_failing_on_a_colleagues_name_does_not_lock_her_out(staff: Settings) -> None:
    """Issue 16: five failed logins used to lock an account, so anyone could lock a colleague out by name.

    The desk's clock stands still: on a loaded machine a password check can outlast the first back-off (1 s), and
    the brake would then rightly let the next guess through."""
    settings = _with(staff, trusted_proxies=("127.0.0.1", "::1"))

    async def scenario(client: TestClient[Any, Any], _: TestClient[Any, Any]) -> None:
        stranger = {"X-Forwarded-For": "203.0.113.50"}
        statuses = []
        for i in range(8):
            body = {"username": "mod", "password": f"guess number {i}"}
            statuses.append((await client.post("/api/login", json=body, headers=stranger)).status)
        assert statuses[:3] == [401, 401, 401]
        assert set(statuses[3:]) == {429}
        slow = await client.post("/api/login", json={"username": "mod", "password": PASSWORD}, headers=stranger)
        assert slow.status == 429
        assert int(slow.headers["Retry-After"]) >= 1
        colleague = {"X-Forwarded-For": "198.51.100.20"}
        ok = await client.post("/api/login", json={"username": "mod", "password": PASSWORD}, headers=colleague)
        assert ok.status == 200

    run(settings, scenario, clock=FixedClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC)))

"""Graded measures on the review desk (issue 14 item 6, L6), route by route on the real Elasticsearch-API server,
S3 server and Kafka broker: everyone who reads an item sees its author's and group's strikes, measures, level and
blacklisting; only a senior lifts a measure or changes the blacklist, always with a reason, by an event on the
measure-events topic as `modpipe measures` sends it. The agent's side (command and record) is
tests/integration/measures; the whole loop in a browser is tests/browser/test_measures_browser.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from measures import Policy, strikes_for_verdict
from measures.model import BlacklistAdd, Lift, SubjectRef
from measures.wire import Envelope, StoredState
from modpipe.clock import SystemClock
from modpipe.settings import Action, Settings
from modpipe.settings.measures import MeasureKind, SubjectType
from pipeline.measures_store import MeasuresStore
from review.desk import users
from review.desk.roles import Role
from review.queue import QueueSink, ensure_index
from tests.fixtures.review import PASSWORD, make_records_bucket
from tests.integration.review.test_review_app import csrf_of, run, sign_in
from tests.support import read_topic
from tests.unit.review.factory import make_verdict

pytestmark = [pytest.mark.integration, pytest.mark.obligation("L6")]
AUTHOR, GROUP = SubjectRef(type=SubjectType.ACCOUNT, id="author-3"), SubjectRef(type=SubjectType.GROUP, id="g-7")


def seed_measures(settings: Settings, author: str = "author-3", group: str = "g-7") -> str:
    """A C4 block of the author in the group, a moment ago: the author's posting suspended 7 days, the group warned
    (a notice: nothing stays in force).
    Stored as the measures agent stores states. Returns the suspension's id."""
    now = datetime.now(UTC) - timedelta(minutes=1)
    verdict = make_verdict("old-1", author=author, service_type="group", group_id=group, action=Action.BLOCK,
                           flagged=("C4",), published_at=now)  # fmt: skip
    policy = Policy(settings.measures)
    store = MeasuresStore(settings, SystemClock())
    try:
        for event in strikes_for_verdict(verdict.model_copy(update={"decided_at": now}), settings.measures):
            state, _ = policy.apply(policy.new_state(event.subject), event, now)
            store.save(StoredState(state=state, at=now))
        stored = store.load(SubjectRef(type=SubjectType.ACCOUNT, id=author))
    finally:
        store.close()
    assert stored is not None
    return next(m.measure_id for m in stored.state.measures if m.kind is MeasureKind.SUSPEND_POSTING)


@pytest.fixture
def desk(rsettings: Settings, unique: str, tmp_path: Path) -> Settings:
    path = tmp_path / "users"
    for name, role in (("mod", Role.MODERATOR), ("sen", Role.SENIOR), ("aud", Role.AUDITOR)):
        users.set_password(path, name, PASSWORD, role)
    s3 = rsettings.s3.model_copy(update={"records_bucket": f"desk-{unique}".lower()[:60]})
    review = rsettings.review.model_copy(update={"users_file": str(path), "audit_file": str(tmp_path / "audit")})
    settings = rsettings.model_copy(update={"s3": s3, "review": review})
    make_records_bucket(settings)
    ensure_index(settings)
    sink = QueueSink(settings, refresh=True)
    try:
        sink.add(make_verdict("gm-1", "办理假证件，包过", service_type="group", author="author-3", group_id="g-7"))
        sink.flush()
    finally:
        sink.close()
    return settings


async def _token(client: TestClient[Any, Any], name: str) -> dict[str, str]:
    resp = await client.post("/api/login", json={"username": name, "password": PASSWORD})
    assert resp.status == 200, await resp.text()
    return {"Authorization": f"Bearer {(await resp.json())['token']}"}


def _events(settings: Settings) -> list[Envelope]:
    return [Envelope.model_validate(v) for _, v in read_topic(settings, settings.kafka.topics.measure_events.name)]


def test_the_json_api_shows_the_subjects_and_only_a_senior_changes_them_with_a_reason(desk: Settings) -> None:
    suspension = seed_measures(desk)
    url = "/api/items/gm-1/measures"

    async def scenario(client: TestClient[Any, Any], _: TestClient[Any, Any]) -> None:
        mod, sen, aud = [await _token(client, n) for n in ("mod", "sen", "aud")]
        for who in (mod, aud):
            resp = await client.get(url, headers=who)
            assert resp.status == 200
        body = await resp.json()
        by_key = {s["subject"]: s for s in body["subjects"]}
        assert list(by_key) == ["account:author-3", "group:g-7"]  # author first
        author = by_key["account:author-3"]
        assert [m["kind"] for m in author["measures"]] == ["suspend_posting"]
        assert (author["active_strikes"], author["blacklist"]) == (1, None)
        assert author["level"] in {lv.level for lv in desk.measures.credit.levels}
        group = by_key["group:g-7"]
        assert (group["active_strikes"], group["measures"]) == (1, [])  # warned: a notice, nothing in force

        lift = {"subject": "account:author-3", "measure_id": suspension, "reason": "appeal upheld"}
        resp = await client.post(url + "/lift", json=lift, headers=mod)
        assert resp.status == 403  # a moderator may not
        resp = await client.post(url + "/lift", json=lift | {"reason": "  "}, headers=sen)
        assert (resp.status, (await resp.json())["error"]) == (400, "reason_required")
        resp = await client.post(url + "/lift", json=lift | {"measure_id": "nope"}, headers=sen)
        assert (resp.status, (await resp.json())["error"]) == (409, "not_in_force")
        resp = await client.post(url + "/lift", json=lift | {"subject": "account:someone-else"}, headers=sen)
        assert (resp.status, (await resp.json())["error"]) == (400, "bad_subject")
        resp = await client.post(url + "/lift", json=lift, headers=sen)
        assert resp.status == 202, await resp.text()

        black = {"subject": "group:g-7", "action": "add", "reason": "spam ring"}
        resp = await client.post(url + "/blacklist", json=black, headers=aud)
        assert resp.status == 403
        resp = await client.post(url + "/blacklist", json=black | {"reason": ""}, headers=sen)
        assert resp.status == 400
        resp = await client.post(url + "/blacklist", json=black | {"action": "remove"}, headers=sen)
        assert (resp.status, (await resp.json())["error"]) == (409, "not_blacklisted")
        resp = await client.post(url + "/blacklist", json=black, headers=sen)
        assert resp.status == 202, await resp.text()
        resp = await client.get("/api/items/nothing-here/measures", headers=mod)
        assert resp.status == 404

    run(desk, scenario)
    sent = _events(desk)
    assert [(e.subject, type(e.event).__name__) for e in sent] == [(AUTHOR, "Lift"), (GROUP, "BlacklistAdd")]
    assert sent[0].event == Lift(subject=AUTHOR, measure_id=suspension, moderator="sen", reason="appeal upheld")
    assert sent[1].event == BlacklistAdd(subject=GROUP, moderator="sen", reason="spam ring")
    audit = Path(desk.review.audit_file or "").read_text(encoding="utf-8")
    assert audit.count('"event": "measure_change"') == 2


def test_the_item_page_shows_the_measures_and_forms_with_csrf_only_to_a_senior(desk: Settings) -> None:
    suspension = seed_measures(desk)

    async def scenario(mod: TestClient[Any, Any], sen: TestClient[Any, Any]) -> None:
        assert await sign_in(mod, "mod") == 303
        page = await (await mod.get("/items/gm-1")).text()
        assert 'id="measures"' in page
        assert f'data-measure="{suspension}"' in page
        assert 'data-subject="group:g-7"' in page
        assert 'class="lift"' not in page  # a moderator reads only
        assert 'class="blacklist"' not in page
        form = {"subject": "account:author-3", "measure_id": suspension, "reason": "appeal", "csrf": csrf_of(page)}
        resp = await mod.post("/items/gm-1/measures/lift", data=form, allow_redirects=False)
        assert resp.status == 403

        assert await sign_in(sen, "sen") == 303
        page = await (await sen.get("/items/gm-1")).text()
        assert len(re.findall(r'class="lift"', page)) == 1
        assert len(re.findall(r'class="blacklist"', page)) == 2  # the author and the group
        form["csrf"] = "not the token"
        resp = await sen.post("/items/gm-1/measures/lift", data=form, allow_redirects=False)
        assert resp.status == 403  # no valid CSRF token
        form["csrf"] = csrf_of(page)
        resp = await sen.post("/items/gm-1/measures/lift", data=form | {"reason": ""}, allow_redirects=False)
        assert resp.status == 400
        assert "A reason is mandatory" in await resp.text()
        resp = await sen.post("/items/gm-1/measures/lift", data=form, allow_redirects=False)
        assert (resp.status, resp.headers["Location"]) == (303, "/items/gm-1?measures=sent#measures")
        page = await (await sen.get("/items/gm-1?measures=sent")).text()
        assert "Your change was sent" in page

    run(desk, scenario)
    assert [type(e.event).__name__ for e in _events(desk)] == ["Lift"]

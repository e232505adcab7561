"""Issue 16 item 5: a senior reopens or reverses a carried-out decision with a mandatory reason; every change is a
new decision through the same first-wins claim, naming the decision it corrects; violation tags on decisions. On
the real Elasticsearch-API server and Kafka broker; the queue agent's own apply_decision carries decisions out."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from modpipe.clock import FixedClock
from modpipe.contracts import CommandType, Decision, DecisionOutcome
from modpipe.contracts.commands import command_for
from modpipe.settings import Settings
from review.desk import users
from review.desk.roles import Role
from review.queue import QueueSink, QueueStore
from tests.fixtures.review import PASSWORD
from tests.integration.review.test_review_app import run, seed
from tests.support import read_topic
from tests.unit.review.factory import T0


def _staff(settings: Settings, tmp_path: Path) -> Settings:
    path = tmp_path / "users"
    for name, role in (("alice", Role.MODERATOR), ("sen", Role.SENIOR)):
        users.set_password(path, name, PASSWORD, role)
    review = settings.review.model_copy(update={"users_file": str(path), "audit_file": str(tmp_path / "audit.jsonl")})
    return settings.model_copy(update={"review": review})


def test_a_senior_reverses_and_reopens_with_a_reason_and_every_change_is_a_decision(
    rsettings: Settings, tmp_path: Path
) -> None:
    settings = _staff(rsettings, tmp_path)
    seed(settings)
    topic = settings.kafka.topics.decisions.name
    sink = QueueSink(settings, refresh=True)
    store = QueueStore(settings)
    seen = 0

    def carry_out() -> Decision:
        """What the queue agent does with the next decision on the topic."""
        nonlocal seen
        sent = read_topic(settings, topic, want=seen + 1)
        assert len(sent) == seen + 1
        decision = Decision.model_validate(sent[seen][1])
        seen += 1
        sink.apply_decision(decision)
        return decision

    async def scenario(alice: TestClient[Any, Any], sen: TestClient[Any, Any]) -> None:
        auth = {}
        for client, name in ((alice, "alice"), (sen, "sen")):
            resp = await client.post("/api/login", json={"username": name, "password": PASSWORD})
            auth[name] = {"Authorization": f"Bearer {(await resp.json())['token']}"}

        async def post(name: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            client = alice if name == "alice" else sen
            resp = await client.post(f"/api/items/m1/{path}", json=body, headers=auth[name])
            return resp.status, await resp.json()

        # Tags: the sub-labels of the item's category (C9) and the free ones of review.tags; nothing else.
        status, body = await post("alice", "decision", {"outcome": "confirmed", "tags": ["nonsense"]})
        assert (status, body["error"]) == (400, "bad_tags")
        assert "weapons" in body["message"]
        assert "repeat_offender" in body["message"]
        status, body = await post("alice", "decision", {"outcome": "confirmed", "tags": ["weapons", "repeat_offender"]})
        assert status == 201
        first = body["decision"]
        assert first["tags"] == ["weapons", "repeat_offender"]
        assert (first["corrects"], first["prior_outcome"]) == (None, None)

        # While the first decision is in flight, no correction either.
        status, body = await post("sen", "correction", {"action": "reverse", "reason": "too fast"})
        assert (status, body["error"], body["in_flight"]) == (409, "already_decided", True)
        assert carry_out().decision_id == first["decision_id"]

        # A moderator may not correct; a senior must give a reason.
        status, _ = await post("alice", "correction", {"action": "reverse", "reason": "oops"})
        assert status == 403
        status, body = await post("sen", "correction", {"action": "reverse", "reason": "  "})
        assert (status, body["error"]) == (400, "reason_required")
        page = await (await sen.get("/items/m1", headers=auth["sen"])).text()
        assert 'id="correction"' in page
        assert 'id="decision-tags"' in page
        assert "weapons" in page

        status, body = await post("sen", "correction", {"action": "reverse", "reason": "a toy gun, not a sale"})
        assert status == 201
        reversal = body["decision"]
        assert (reversal["outcome"], reversal["corrects"], reversal["prior_outcome"]) == (
            "overturned", first["decision_id"], "confirmed",
        )  # fmt: skip
        assert reversal["comment"] == "a toy gun, not a sale"
        status, body = await post("sen", "correction", {"action": "reverse", "reason": "again"})
        assert (status, body["in_flight"]) == (409, True)  # exactly once: the second is refused, not re-sent
        carry_out()
        doc = store.get("m1").moderation
        assert (doc["status"], doc["in_effect"], doc["applied_id"]) == (
            "overturned", "overturned", reversal["decision_id"],
        )  # fmt: skip

        status, body = await post("sen", "correction", {"action": "reopen", "reason": "ask the team lead"})
        assert status == 201
        reopening = body["decision"]
        assert (reopening["outcome"], reopening["corrects"], reopening["prior_outcome"]) == (
            "reopened", reversal["decision_id"], "overturned",
        )  # fmt: skip
        carry_out()
        listing = await (await alice.get("/api/items", params={"status": "pending"}, headers=auth["alice"])).json()
        assert "m1" in [i["id"] for i in listing["items"]]  # open again, unclaimed
        page = await (await alice.get("/items/m1", headers=auth["alice"])).text()
        assert "ask the team lead" in page
        assert 'class="decide"' in page

        status, body = await post("alice", "decision", {"outcome": "confirmed", "comment": "it is a sale"})
        assert status == 201
        again = body["decision"]
        assert (again["corrects"], again["prior_outcome"]) == (reopening["decision_id"], "overturned")
        carry_out()

        # Nothing to correct on an open item.
        resp = await sen.post("/api/items/m3/correction", json={"action": "reopen", "reason": "x"}, headers=auth["sen"])
        assert (resp.status, (await resp.json())["error"]) == (409, "nothing_to_correct")

    try:
        run(settings, scenario)
        decisions = [Decision.model_validate(v) for _, v in read_topic(settings, topic, want=4, idle_s=2.0)]
    finally:
        sink.close()
        store.close()
    # Four decisions on m1, one per accepted request, each naming the one before; the commands follow the state.
    assert [d.outcome for d in decisions] == [
        DecisionOutcome.CONFIRMED, DecisionOutcome.OVERTURNED, DecisionOutcome.REOPENED, DecisionOutcome.CONFIRMED,
    ]  # fmt: skip
    assert [d.corrects for d in decisions[1:]] == [d.decision_id for d in decisions[:-1]]
    commands = [command_for(d, FixedClock(T0)) for d in decisions]
    assert [c.command if c else None for c in commands] == [
        CommandType.TAKEDOWN, CommandType.RESTORE, None, CommandType.TAKEDOWN,
    ]  # fmt: skip
    events = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    corrections = [(e["event"], e.get("correction"), e.get("why")) for e in events if "correction" in e["event"]]
    assert corrections == [
        ("correction_refused", "reverse", "in_flight"),
        ("correction", "reverse", None),
        ("correction_refused", "reverse", "in_flight"),
        ("correction", "reopen", None),
        ("correction_refused", "reopen", "nothing_to_correct"),
    ]
    assert next(e for e in events if e["event"] == "correction")["reason"] == "a toy gun, not a sale"
    assert re.fullmatch(r"[0-9a-f]{32}", decisions[1].decision_id)

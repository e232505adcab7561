"""The measures agent on the real local servers (issue 14, L6): a scripted stream of machine blocks against a few
authors and groups gives exactly the pure core's measures at the envelopes' moments, lifts them on ticks, and a
SIGKILL of the worker in the middle changes nothing: the same states in S3, the same command keys, none lost.
The moderation step then blocks the barred authors and groups with their reason, without the classifier."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer

from measures import Policy, Tick, strikes_for_verdict
from measures.model import MeasureCommand, SubjectRef, SubjectState
from measures.wire import Envelope
from modpipe.contracts import SourcePosition, Verdict
from modpipe.settings import Action, Settings
from modpipe.settings.measures import SubjectType
from modpipe.stack.manager import StackInfo
from pipeline.measures_store import MeasuresStore
from tests.fixtures.workers import PipelineEnv, own_overrides, storage_env
from tests.integration.pipeline.test_end_to_end import modpipe

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.obligation("L6")]
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


@pytest.fixture
def measures_env(stack: StackInfo, unique: str, tmp_path: Path) -> Iterator[PipelineEnv]:
    # Small batches: the kill lands between them.
    yield from storage_env(
        own_overrides(stack, unique, {"worker.batch_size": 4, "measures.tick_interval_s": 1}), tmp_path
    )


def block(n: int, author: str, code: str, at: datetime, **message: Any) -> Verdict:
    return Verdict(
        verdict_id=f"v-{n}", message_id=f"m-{n}", action=Action.BLOCK, categories={code: 0.99}, flagged=(code,),
        model_version="m", lexicon_version="l", policy_version="p", decided_by="machine", decided_at=at,
        service_type="group" if "group_id" in message else "bbs", source=SourcePosition(topic="posts", partition=0,
        offset=n), message={"message_id": f"m-{n}", "author_id": author, **message},
    )  # fmt: skip


def script() -> list[Verdict | Envelope]:
    """a1 suspended 7 days, then lifted by a tick after 8; a2 (admin of g1) suspended 30 days, g1 restricted, a2's
    credit lowered as admin; a3 closed and blacklisted; a4 warned only. The tick comes last: it is published
    straight to the measure-events topic, and must not overtake the strikes the agent routes there."""
    minute = timedelta(minutes=1)
    a1 = SubjectRef(type=SubjectType.ACCOUNT, id="a1")
    return [
        block(1, "a1", "C4", T0),
        block(2, "a2", "C8", T0 + minute, group_id="g1", author_role="admin"),
        block(3, "a4", "C8", T0 + 2 * minute),
        block(4, "a2", "C1", T0 + 3 * minute, group_id="g1", author_role="admin"),
        block(5, "a3", "C1", T0 + 4 * minute),
        block(6, "a3", "C2", T0 + 5 * minute),
        block(7, "a5", "C8", T0 + 6 * minute, group_id="g1", group_owner_id="o1"),
        Envelope(subject=a1, at=T0 + timedelta(days=8), event=Tick()),
    ]


def expected(settings: Settings) -> tuple[dict[str, SubjectState], set[tuple[str, str]]]:
    """The run without any kill: the pure core, one subject at a time, each event at its moment."""
    policy = Policy(settings.measures)
    states: dict[str, tuple[SubjectState, datetime]] = {}
    commands: set[tuple[str, str]] = set()
    for item in script():
        events = (
            [
                Envelope(subject=e.subject, at=item.decided_at, event=e)
                for e in strikes_for_verdict(item, settings.measures)
            ]
            if isinstance(item, Verdict)
            else [item]
        )
        for env in events:
            state, last = states.get(env.subject.key, (policy.new_state(env.subject), env.at))
            now = max(env.at, last)
            state, issued = policy.apply(state, env.event, now)
            states[env.subject.key] = (state, now)
            commands.update((c.key, c.action.value) for c in issued)
    return {k: s for k, (s, _) in states.items()}, commands


def publish(env: PipelineEnv, items: list[Verdict | Envelope]) -> None:
    topics = env.settings.kafka.topics
    producer = KafkaProducer(bootstrap_servers=env.settings.kafka.servers, acks="all")
    try:
        for item in items:
            if isinstance(item, Verdict):  # one partition: the script's order is the order of arrival
                producer.send(
                    topics.verdicts.name, item.model_dump_json().encode(), item.message_id.encode(), partition=0
                )
            else:
                producer.send(topics.measure_events.name, item.model_dump_json().encode(), item.key)
        producer.flush()
    finally:
        producer.close()


def followed_gate(settings: Settings, group: str) -> dict[str, Any]:
    """The gate view the moderation agent's follower builds from the measures and credit-level topics, once it has
    read them to their end."""
    from pipeline.gatefeed import GateFeed

    async def follow() -> dict[str, Any]:
        feed = GateFeed(settings, group)
        task = asyncio.create_task(feed.run())
        try:
            await asyncio.wait_for(feed.ready.wait(), 60)
            return dict(feed.gate())
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    return asyncio.run(follow())


def commands(env: PipelineEnv, want: int, timeout_s: float = 120) -> list[MeasureCommand]:
    deadline = time.monotonic() + timeout_s
    while True:
        found = [MeasureCommand.model_validate(v) for _, v in env.read_all("measures", idle_s=2.0)]
        if len({(c.key, c.action) for c in found}) >= want or time.monotonic() > deadline:
            return found
        time.sleep(1)


def stored_states(env: PipelineEnv) -> dict[str, SubjectState]:
    store = MeasuresStore(env.settings, clock=_Now())
    try:
        return {s.state.subject.key: s.state for s in store.states()}
    finally:
        store.close()


class _Now:
    def now(self) -> datetime:
        return datetime.now(UTC)


def check(env: PipelineEnv, found: list[MeasureCommand]) -> None:
    states, keys = expected(env.settings)
    assert {(c.key, c.action.value) for c in found} == keys, "the ladder's measures, no more, no fewer"
    by_key: dict[tuple[str, str], MeasureCommand] = {}
    for c in found:  # a re-delivered command is the same command, never a second measure
        assert by_key.setdefault((c.key, c.action.value), c) == c
    deadline = time.monotonic() + 30
    while (got := stored_states(env)) != states and time.monotonic() < deadline:
        time.sleep(1)
    assert {k: s.to_json() for k, s in got.items()} == {k: s.to_json() for k, s in states.items()}


def test_a_scripted_stream_gives_the_ladders_measures_and_ticks_lift_them(measures_env: PipelineEnv) -> None:
    env = measures_env
    states, keys = expected(env.settings)
    kinds = {(c.split(":")[0], a) for c, a in keys}
    assert ("account", "lift") in kinds  # the tick's lift is in the script
    assert states["account:a3"].blacklisted
    assert any(m.kind.value == "lower_credit" for m in states["group_admin:a2"].measures)
    worker = env.start_worker("measures", "measures-1")
    worker.wait_assigned()
    items = script()
    publish(env, items[:-1])
    commands(env, len(keys) - 1)
    publish(env, items[-1:])
    found = commands(env, len(keys))
    check(env, found)
    # Every command is a locked record, with the category of the strike it rests on.
    store = MeasuresStore(env.settings, clock=_Now())
    try:
        records = store.records(T0.date()) + store.records((T0 + timedelta(days=8)).date())
    finally:
        store.close()
    assert {(r["key"], r["action"]) for r in records} == keys
    assert {r["category"] for r in records if r["measure"] == "close"} == {"C2"}  # a3's second strike closed it


def test_a_worker_killed_mid_stream_recovers_the_same_states_and_commands(measures_env: PipelineEnv) -> None:
    env = measures_env
    _, keys = expected(env.settings)
    items = script()
    worker = env.start_worker("measures", "measures-k1")
    worker.wait_assigned()
    publish(env, items[:4])
    commands(env, 2, timeout_s=60)
    worker.stop(signal.SIGKILL)
    publish(env, items[4:-1])
    again = env.start_worker("measures", "measures-k2")
    again.wait_assigned()
    commands(env, len(keys) - 1)
    publish(env, items[-1:])
    found = commands(env, len(keys))
    check(env, found)


def test_the_moderation_step_blocks_barred_subjects_with_their_reason(measures_env: PipelineEnv) -> None:
    env = measures_env
    _, keys = expected(env.settings)
    env.start_worker("measures", "measures-g").wait_assigned()
    items = script()
    publish(env, items[:-1])
    commands(env, len(keys) - 1)
    publish(env, items[-1:])
    commands(env, len(keys))

    gate = followed_gate(env.settings, "test-gate")
    reasons = moderate(env.settings, gate)
    assert reasons == {
        "a1": None,  # suspended 7 days, lifted by the tick
        "a2": "account_suspended",
        "a3": "blacklisted",
        "a4": None,  # a warning stops nothing
        "g1-member": None,  # restricted functions stop no message
    }


class PassingTagger:
    """Passes everything, and notes what it was asked: a barred author's text must never reach it."""

    model_version, lexicon_version, policy_version = "m", "l", "p"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def classify_batch(self, texts: list[str], services: list[str]) -> list[Any]:
        from classifiers.tagger import TagResult

        self.seen.extend(texts)
        return [TagResult(action=Action.PASS, categories={}, flagged=(), hits=(), sub_labels={}) for _ in texts]


def moderate(settings: Settings, gate: Any) -> dict[str, str | None]:
    from modpipe.contracts.intake import RawMessage
    from pipeline.moderation import ModerationProcessor

    now = datetime.now(UTC)
    authors = {"a1": {}, "a2": {}, "a3": {}, "a4": {}, "g1-member": {"group_id": "g1"}}
    batch = [
        RawMessage("posts", 0, i, None, json.dumps({
            "message_id": f"new-{name}", "service_type": "group" if extra else "bbs",
            "kind": "group_message" if extra else "post", "text": f"hello from {name}",
            "published_at": now.isoformat(), "author_id": name, "source_ip": "203.0.113.7", **extra,
        }).encode())
        for i, (name, extra) in enumerate(authors.items())
    ]  # fmt: skip
    tagger = PassingTagger()
    out = ModerationProcessor(settings, tagger, _Now()).process(batch, gate)  # type: ignore[arg-type]
    reasons = {v.message["author_id"]: v.gate for v in out.verdicts}
    for verdict in out.verdicts:
        assert (verdict.action is Action.BLOCK) == (verdict.gate is not None)
    assert sorted(tagger.seen) == sorted(f"hello from {n}" for n, r in reasons.items() if r is None)
    assert {t.message_id for t in out.takedowns} == {f"new-{n}" for n, r in reasons.items() if r is not None}
    return reasons


def test_moderators_lift_and_blacklist_through_the_cli_with_a_reason(measures_env: PipelineEnv, tmp_path: Path) -> None:
    env = measures_env
    _, keys = expected(env.settings)
    env.start_worker("measures", "measures-cli").wait_assigned()
    publish(env, script()[:-1])
    commands(env, len(keys) - 1)

    no_reason = modpipe(env, "measures", "blacklist", "add", "account:a4", "--reason", " ", "--moderator", "s1")
    assert no_reason.returncode == 2
    assert "--reason" in no_reason.stderr
    done = modpipe(env, "measures", "blacklist", "add", "account:a4", "--reason", "spam ring", "--moderator", "s1")
    assert done.returncode == 0, done.stderr
    a2 = json.loads(modpipe(env, "measures", "show", "account:a2").stdout)
    suspension = next(m for m in a2["measures"] if m["kind"] == "suspend_posting" and m["ended_at"] is None)
    lifted = modpipe(env, "measures", "lift", "account:a2", suspension["measure_id"], "--reason", "appeal upheld",
                     "--moderator", "s1")  # fmt: skip
    assert lifted.returncode == 0, lifted.stderr
    found = commands(env, len(keys) - 1 + 2)
    mine = {
        (c.subject.key, c.measure.value, c.action.value, c.decided_by, c.reason) for c in found if c.decided_by == "s1"
    }
    assert mine == {
        ("account:a4", "blacklist", "apply", "s1", "spam ring"),
        ("account:a2", "suspend_posting", "lift", "s1", "appeal upheld"),
    }
    removed = modpipe(env, "measures", "blacklist", "remove", "account:a4", "--reason", "mistake", "--moderator", "s2")
    assert removed.returncode == 0, removed.stderr
    commands(env, len(keys) - 1 + 3)
    listed = json.loads(modpipe(env, "measures", "list", "--json").stdout)
    subjects = {row["subject"]: row for row in listed}
    assert "account:a4" not in subjects
    assert subjects["account:a3"]["blacklisted"]
    assert "account:a2" not in subjects  # its suspension lifted, its warning long over

    # The day of the moderators' changes (the script's measures may fall on the day before, in Beijing time). The
    # agent writes a command's record just after the broker acknowledged the command: wait for it.
    deadline = time.monotonic() + 60
    while True:
        now = datetime.now(UTC).isoformat()
        out = tmp_path / f"report-{time.monotonic_ns()}"
        report = modpipe(env, "report", "--date", now, "--out", str(out), "--json")
        assert report.returncode == 0, report.stdout + report.stderr
        summary = json.loads(report.stdout)
        if summary["measures"]["lifted"] >= 2 or time.monotonic() > deadline:
            break
        time.sleep(2)
    counts = summary["measures"]
    assert counts["by_category"].get("moderator") == 1, summary  # the blacklisting of a4; lifts are counted apart
    assert counts["by_measure"]["blacklist"] >= 1
    assert counts["lifted"] >= 2  # a2's suspension, a4's blacklisting
    assert counts["applied"] == sum(counts["by_measure"].values()) == sum(counts["by_subject_type"].values())

"""`modpipe measures`: the graded measures of issue 14. Reading is from the measures agent's store; every change
(a lift, a blacklisting, its removal) is an event on the measure-events topic, so the agent, the one writer of a
subject's state, applies it, issues the command and writes the record. A reason is mandatory."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from modpipe.cli.common import State, fail, known_failures, say
from modpipe.clock import SystemClock

if TYPE_CHECKING:
    from measures.model import SubjectRef
    from measures.wire import Envelope
    from modpipe.settings import Settings

measures_app = typer.Typer(help="Graded measures, credit levels and the blacklist (L6).", no_args_is_help=True)
blacklist_app = typer.Typer(help="Add a subject to the blacklist or remove it, with a reason.", no_args_is_help=True)
measures_app.add_typer(blacklist_app, name="blacklist")

SubjectArg = Annotated[str, typer.Argument(help="TYPE:ID, TYPE one of account, public_account, group, group_admin.")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (mandatory, recorded with the change).")]
ModeratorOpt = Annotated[str, typer.Option("--moderator", help="Who decides (a senior moderator's id).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def register(app: typer.Typer) -> None:
    app.add_typer(measures_app, name="measures")


def _subject(text: str) -> SubjectRef:
    from measures.model import SubjectRef
    from modpipe.settings.measures import SubjectType

    kind, sep, ident = text.partition(":")
    types = [t.value for t in SubjectType]
    if not sep or not ident or kind not in types:
        fail(f"SUBJECT {text!r}: expected TYPE:ID with TYPE one of {types}", 2)
    return SubjectRef(type=SubjectType(kind), id=ident)


def _reason(reason: str) -> str:
    if not reason.strip():
        fail("--reason: a non-empty reason is mandatory for every change", 2)
    return reason.strip()


def _send(settings: Settings, envelope: Envelope) -> None:
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    topic = settings.kafka.topics.measure_events.name
    timeout_s = settings.kafka.request_timeout_ms / 1000
    try:
        producer = KafkaProducer(bootstrap_servers=settings.kafka.servers, acks="all",
                                 max_block_ms=settings.kafka.request_timeout_ms)  # fmt: skip
        try:
            producer.send(topic, key=envelope.key, value=envelope.model_dump_json().encode()).get(timeout=timeout_s)
        finally:
            producer.close(timeout=5)
    except KafkaError as exc:
        fail(f"measure-events topic {topic} (setting kafka.topics.measure_events): {exc}")


@measures_app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """Subjects with a measure in force or on the blacklist."""
    from pipeline.measures_store import MeasuresStore

    with known_failures():
        settings = State.settings()
        now = datetime.now(UTC)
        store = MeasuresStore(settings, SystemClock())
        try:
            rows = []
            for stored in store.states():
                state = stored.state
                active = state.in_force(now)
                if active or state.blacklisted:
                    rows.append({"subject": state.subject.key, "level": state.credit.level,
                                 "blacklisted": state.blacklisted,
                                 "measures": [{"id": m.measure_id, "kind": m.kind.value,
                                               "ends_at": m.ends_at.isoformat() if m.ends_at else None}
                                              for m in active]})  # fmt: skip
        finally:
            store.close()
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in sorted(rows, key=lambda r: str(r["subject"])):
        kinds = ", ".join(f"{m['kind']} {m['id']} until {m['ends_at'] or 'lifted'}" for m in row["measures"])  # type: ignore[attr-defined]
        say(f"{row['subject']}  level {row['level']}{'  BLACKLISTED' if row['blacklisted'] else ''}  {kinds}")


@measures_app.command("show")
def show(subject: SubjectArg) -> None:
    """A subject's strikes, measures, blacklisting and credit level, as JSON."""
    from pipeline.measures_store import MeasuresStore

    ref = _subject(subject)
    with known_failures():
        settings = State.settings()
        store = MeasuresStore(settings, SystemClock())
        try:
            stored = store.load(ref)
        finally:
            store.close()
    if stored is None:
        fail(f"{ref.key}: no strikes or measures recorded", 1)
    print(json.dumps({"as_of": stored.at.isoformat(), **stored.state.to_json()}, ensure_ascii=False, indent=2))


@measures_app.command("lift")
def lift(subject: SubjectArg, measure_id: str, reason: ReasonOpt, moderator: ModeratorOpt) -> None:
    """Lift a measure in force before its time."""
    from measures.model import Lift

    ref = _subject(subject)
    event = Lift(subject=ref, measure_id=measure_id, moderator=moderator, reason=_reason(reason))
    _submit(ref, event)
    say(f"lift of {measure_id} on {ref.key} sent")


@blacklist_app.command("add")
def blacklist_add(subject: SubjectArg, reason: ReasonOpt, moderator: ModeratorOpt) -> None:
    """Put a subject on the blacklist."""
    from measures.model import BlacklistAdd

    ref = _subject(subject)
    _submit(ref, BlacklistAdd(subject=ref, moderator=moderator, reason=_reason(reason)))
    say(f"{ref.key}: blacklisting sent")


@blacklist_app.command("remove")
def blacklist_remove(subject: SubjectArg, reason: ReasonOpt, moderator: ModeratorOpt) -> None:
    """Take a subject off the blacklist."""
    from measures.model import BlacklistRemove

    ref = _subject(subject)
    _submit(ref, BlacklistRemove(subject=ref, moderator=moderator, reason=_reason(reason)))
    say(f"{ref.key}: removal from the blacklist sent")


def _submit(ref: SubjectRef, event: object) -> None:
    from measures.wire import Envelope

    with known_failures():
        settings = State.settings()
        envelope = Envelope.model_validate({"subject": ref, "at": datetime.now(UTC), "event": event})
        _send(settings, envelope)

"""The access log from the command line (L8): the identity an access is logged as, the wrapper every command that
touches the records runs in, and `modpipe audit access` to list it (docs/retention.md, "The access log")."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

from modpipe.cli.common import State, fail, known_failures, say
from modpipe.clock import SystemClock

if TYPE_CHECKING:
    from modpipe.settings import Settings
    from retention.store import Store

ActorOpt = Annotated[
    str | None,
    typer.Option(
        "--actor", help="Who makes this access, as the access log records it (default: setting records.actor, else "
        "the OS user).",
    ),
]  # fmt: skip


def actor_of(given: str | None, settings: Settings) -> str:
    if given is not None:
        if not given.strip():
            fail("--actor: a non-empty name (who makes this access)", 2)
        return given
    return settings.records.actor or getpass.getuser()


@contextmanager
def logged(
    settings: Settings, store: Store, actor: str, action: str, query: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    """Run an access to the records with its start and end written to the access log; the body fills the counts."""
    from retention.access_log import AccessLog

    with AccessLog(settings, store, SystemClock()).logged(actor, action, query) as counts:
        yield counts


def register(audit_app: typer.Typer) -> None:
    audit_app.command("access")(list_access)


def bound(text: str, option: str) -> datetime:
    """The time a --from/--to option names; a wrong one stops with the option and what it takes."""
    from retention.exports import parse_bound

    if text == "now":
        return SystemClock().now()
    try:
        return parse_bound(text)
    except ValueError:
        fail(f"{option} {text!r}: an RFC 3339 time with an offset, a date (YYYY-MM-DD, midnight UTC) or now", 2)


def list_access(
    start: Annotated[str | None, typer.Option("--from", help="From (inclusive; default: 7 days ago).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="To (exclusive; default: now).")] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="Only the accesses of this actor.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per access (for machines).")] = False,
) -> None:
    """List the access log: every export, report, verify, hold and release of the records, who made it, when, what
    was asked and what came of it."""
    from retention.access_log import accesses, read_window
    from retention.store import Store

    now = datetime.now(UTC)
    t1 = now - timedelta(days=7) if start is None else bound(start, "--from")
    t2 = now + timedelta(seconds=1) if end is None else bound(end, "--to")
    if t2 <= t1:
        fail("--to must be after --from", 2)
    with known_failures(), Store(State.settings("auditor")) as store:
        found = accesses(read_window(store, t1, t2), actor)
    for item in found:
        first = item.start or item.end or {}
        if as_json:
            doc = {"access_id": item.access_id, "start": item.start or None, "end": item.end, "keys": item.keys,
                   "hidden": item.hidden, "rewritten": item.rewritten}  # fmt: skip
            sys.stdout.write(json.dumps(doc, ensure_ascii=False) + "\n")
            continue
        counts = (item.end or {}).get("counts") or {}
        shown = ", ".join(f"{k}={v}" for k, v in counts.items())
        query = json.dumps(item.start.get("query"), ensure_ascii=False) if item.start else "(start not in range)"
        say(f"{first.get('at')}  {first.get('actor')}  {first.get('action')}  {item.outcome}  {query}  {shown}")
        if item.end is not None and item.end.get("detail"):
            say(f"    {item.end['detail']}")
        for key in item.hidden:
            say(f"    HIDDEN: {key} is behind a delete marker (its locked entry, shown here, is still stored)")
        for key in item.rewritten:
            say(f"    REWRITTEN: {key} has a later version that differs from this original one")
    if not found and not as_json:
        say(f"no accesses from {t1.isoformat()} to {t2.isoformat()}")

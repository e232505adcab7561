"""`modpipe decisions export`: the moderators' decisions of a window, read from the records, as training rows."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modpipe.cli.access import ActorOpt, actor_of, bound, logged
from modpipe.cli.common import State, fail, is_tty, say
from modpipe.cli.record_failures import failures

decisions_app = typer.Typer(help="Moderators' decisions from the records, as training data.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(decisions_app, name="decisions")


@decisions_app.command("export")
def decisions_export(
    start: Annotated[str, typer.Option("--from", help="Window start, INCLUSIVE (RFC 3339 or YYYY-MM-DD = 00:00 UTC).")],
    end: Annotated[str, typer.Option("--to", help="Window end, EXCLUSIVE (RFC 3339, YYYY-MM-DD = 00:00 UTC, or now).")],
    out: Annotated[Path, typer.Option("--out", help="The JSONL file to write (for `modpipe train --data`).")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite --out if it exists.")] = False,
    actor: ActorOpt = None,
) -> None:
    """The moderators' decisions in [from, to) (by decided_at) as labelled training rows, one JSON line per
    decided message (the latest decision wins): confirmed = its category codes, overturned = benign ([])."""
    from retention.store import Store
    from retention.training_rows import export_rows

    t1, t2 = bound(start, "--from"), bound(end, "--to")
    if t2 <= t1:
        fail("--to must be after --from", 2)
    if out.exists() and not force:
        fail(f"--out {out}: the file exists; give --force to overwrite it", 2)
    with failures():
        settings = State.settings("auditor")
        try:
            query = {"from": t1.isoformat(), "to": t2.isoformat(), "out": str(out.absolute())}
            who = actor_of(actor, settings)
            with Store(settings) as store, logged(settings, store, who, "decisions-export", query):
                summary = export_rows(settings, store, t1, t2, out, force=force, progress=is_tty())
        except FileExistsError:
            fail(f"--out {out}: the file exists; give --force to overwrite it", 2)
    say(summary.line())

"""`modpipe retention refresh --id ID`: copy what a hold selects in records stored after it was placed."""

from __future__ import annotations

from typing import Annotated

import typer

from modpipe.cli.access import ActorOpt, actor_of, logged
from modpipe.cli.common import State, say
from modpipe.cli.record_failures import failures
from modpipe.clock import SystemClock


def register(retention_app: typer.Typer) -> None:
    retention_app.command("refresh")(refresh)


def refresh(
    hold_id: Annotated[str, typer.Option("--id", help="The hold to refresh (`retention holds` lists ids).")],
    actor: ActorOpt = None,
) -> None:
    """Copy the records a hold selects that were stored after it was placed into its own locked, legally held
    copies; until then the sweep keeps their whole objects (other users' records included) past their date."""
    from retention import holds
    from retention.store import Store

    with failures():
        settings = State.settings("compliance")
        with Store(settings) as store, logged(settings, store, actor_of(actor, settings), "refresh",
                                              {"id": hold_id}) as counts:  # fmt: skip
            before = holds.load(store, hold_id)
            done = holds.refresh(store, settings, SystemClock(), hold_id)
            counts["copies"] = len(done.copies) - (len(before.copies) if before is not None else 0)
    say(f"hold {done.id}: {counts['copies']} new hold copies, {len(done.copies)} in all")

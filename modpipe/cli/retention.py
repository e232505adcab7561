"""Sub-commands of the records store: `storage init`, `retention sweep|hold|release|holds`, `audit export|verify`,
`report`, `decisions export`. See docs/retention.md."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from modpipe.cli.access import ActorOpt, actor_of, bound, logged
from modpipe.cli.common import State, fail, is_tty, say
from modpipe.cli.record_failures import EXIT_INTEGRITY, failures
from modpipe.clock import Clock, PinnedClock, SystemClock

if TYPE_CHECKING:
    from modpipe.settings import Settings

storage_app = typer.Typer(help="The S3 bucket that holds the records.", no_args_is_help=True)
retention_app = typer.Typer(help="Retention enforcement: sweep expired records, legal holds.", no_args_is_help=True)
audit_app = typer.Typer(help="The auditor's export of records, and its verification.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    from modpipe.cli import hold_refresh, s3_config

    s3_config.register(storage_app)
    hold_refresh.register(retention_app)
    app.add_typer(storage_app, name="storage")
    app.add_typer(retention_app, name="retention")
    app.add_typer(audit_app, name="audit")
    app.command("report")(report)


def _clock(now: str | None) -> Clock:
    if now is None:
        return SystemClock()
    from retention.exports import parse_bound

    try:
        return PinnedClock(parse_bound(now))
    except ValueError:
        fail(f"--now {now!r}: an RFC 3339 time with an offset (2026-11-23T08:00:00+00:00) or a date (2026-11-23)")


def _known_services(given: list[str], settings: Settings) -> list[str]:
    """Every --service value a service type of services.yaml (or `unclassified`, where records of an unknown type
    are kept): a typo must not export, hold or count nothing and still succeed."""
    from retention.layout import UNCLASSIFIED

    known = [*sorted(settings.services), UNCLASSIFIED]
    unknown = [s for s in given if s not in known]
    if unknown:
        fail(f"--service {', '.join(map(repr, unknown))}: expected one of {', '.join(known)}", 2)
    return given


@storage_app.command("init")
def storage_init() -> None:
    """Create the records bucket with object lock and versioning (idempotent); refuse a bucket without lock."""
    from retention.store import Store, init_bucket

    with failures():
        settings = State.settings()
        with Store(settings) as store:
            created = init_bucket(store)
    verb = "created" if created else "already set up"
    say(f"records bucket {settings.s3.records_bucket} {verb}: object lock ({settings.s3.lock_mode.value}), versioning")


NOW_HELP = (
    "Act as if it were this time (RFC 3339 or a date). For planning with --dry-run and for tests: it only chooses "
    "what counts as expired; the S3 server still refuses to delete anything whose lock has not passed."
)


@retention_app.command("sweep")
def sweep(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be deleted; delete nothing.")] = False,
    now: Annotated[str | None, typer.Option("--now", help=NOW_HELP)] = None,
) -> None:
    """Delete every object version whose retention date has passed and that no legal hold keeps."""
    import retention

    clock = _clock(now)
    with failures():
        report = retention.sweep(State.settings("pipeline"), clock, dry_run=dry_run)
    for key, version in report.deleted:
        say(f"{'would delete' if dry_run else 'deleted'} {key} (version {version})")
    say(report.summary())


def _selector(message_id: str | None, author: str | None, group: str | None, prefix: str | None) -> tuple[str, str]:
    given = [(n, v) for n, v in (("message_id", message_id), ("author", author), ("group", group),
                                  ("prefix", prefix)) if v]  # fmt: skip
    if len(given) != 1:
        fail("give exactly one of --message-id, --author, --group, --prefix", 2)
    return given[0]


MessageOpt = Annotated[str | None, typer.Option("--message-id", help="Records of this message.")]
AuthorOpt = Annotated[str | None, typer.Option("--author", help="Records of this author (author_id).")]
GroupOpt = Annotated[str | None, typer.Option("--group", help="Records of this group (group_id).")]
PrefixOpt = Annotated[
    str | None,
    typer.Option("--prefix", help="Objects under this key prefix, e.g. records/service=group/date=2026-11-23/"),
]
ByOpt = Annotated[
    str | None,
    typer.Option("--by", "--actor", help="Who asks (recorded with the hold and in the access log); default: setting "
                 "records.actor, else the OS user."),
]  # fmt: skip


@retention_app.command("hold")
def hold(
    reason: Annotated[str, typer.Option("--reason", help="Why (case number, request); recorded with the hold.")],
    message_id: MessageOpt = None,
    author: AuthorOpt = None,
    group: GroupOpt = None,
    prefix: PrefixOpt = None,
    by: ByOpt = None,
    service: Annotated[
        str | None, typer.Option("--service", help="Search only this service type's records (faster).")
    ] = None,
) -> None:
    """Place a legal hold: matching records are kept past their retention date until released."""
    from retention import holds
    from retention.store import Store

    selector, value = _selector(message_id, author, group, prefix)
    with failures():
        settings = State.settings("compliance")
        if service is not None:
            _known_services([service], settings)
        who = actor_of(by, settings)
        query = {selector: value, "reason": reason, "service": service}
        with Store(settings) as store, logged(settings, store, who, "hold", query) as counts:
            placed = holds.place(store, settings, SystemClock(), selector, value, reason, who, service=service)  # type: ignore[arg-type]
            counts["objects_held"] = len(placed.objects)
            counts["copies"] = len(placed.copies)
    copied = f" (their selected records copied into {len(placed.copies)} hold copies)" if placed.copies else ""
    say(f"hold {placed.id} on {selector}={value}: {len(placed.objects)} objects held{copied}")
    if placed.selects_nothing:
        say(f"note: the hold selects no stored record now; it keeps matching records stored later (check {selector})")


@retention_app.command("release")
def release(
    hold_id: Annotated[
        str | None, typer.Option("--id", help="The hold to release (`retention holds` lists ids).")
    ] = None,
    message_id: MessageOpt = None,
    author: AuthorOpt = None,
    group: GroupOpt = None,
    prefix: PrefixOpt = None,
    by: ByOpt = None,
) -> None:
    """Release one legal hold, by --id or by its subject when only one is active there (the hold record stays,
    with who released it and when; other holds on the same subject are untouched)."""
    from retention import holds
    from retention.store import Store

    subject = (
        None
        if hold_id and not any((message_id, author, group, prefix))
        else _selector(message_id, author, group, prefix)
    )
    if (subject is None) == (not hold_id):
        fail("give --id or one of --message-id, --author, --group, --prefix, not both", 2)
    with failures():
        settings = State.settings("compliance")
        who = actor_of(by, settings)
        query = {"id": hold_id} if subject is None else {subject[0]: subject[1]}
        with Store(settings) as store, logged(settings, store, who, "release", query) as counts:
            if subject is None:
                assert hold_id is not None  # the check above: --id when no subject
                done = holds.release(store, settings, SystemClock(), hold_id, who)
            else:
                done = holds.release_on(store, settings, SystemClock(), subject[0], subject[1], who)  # type: ignore[arg-type]
            counts["hold_id"] = done.id
    say(f"hold {done.id} on {done.selector}={done.value} ({done.reason}) released")


@retention_app.command("holds")
def list_holds() -> None:
    """List every legal hold, active or released."""
    from retention import holds
    from retention.store import Store

    with failures(), Store(State.settings("compliance")) as store:
        found = holds.all_holds(store)
    for h in found:
        status = "active" if h.active else f"released {h.released_at} by {h.released_by}"
        hidden = "  (record hidden behind a delete marker)" if h.hidden else ""
        say(f"{h.id}  {h.selector}={h.value}  {status}  placed by {h.placed_by} at {h.placed_at}: {h.reason}"
            f"  [{len(h.objects)} objects, {len(h.copies)} copies]{hidden}")  # fmt: skip
    if not found:
        say("no holds")


ForceOpt = Annotated[bool, typer.Option("--force", help="Write into a non-empty --out (its bundle files replaced).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object (for machines).")]


@audit_app.command("export")
def export(
    start: Annotated[str, typer.Option("--from", help="Window start, INCLUSIVE (RFC 3339 or YYYY-MM-DD = 00:00 UTC).")],
    end: Annotated[str, typer.Option("--to", help="Window end, EXCLUSIVE (RFC 3339, YYYY-MM-DD = 00:00 UTC, or now).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for records.jsonl, manifest.json (and records.csv).")],
    service: Annotated[list[str] | None, typer.Option("--service", help="Only this service type (repeatable).")] = None,
    author: Annotated[str | None, typer.Option("--author", help="Only this author_id.")] = None,
    group: Annotated[str | None, typer.Option("--group", help="Only this group_id.")] = None,
    with_csv: Annotated[bool, typer.Option("--csv", help="Also write records.csv.")] = False,
    force: ForceOpt = False,
    as_json: JsonOpt = False,
    actor: ActorOpt = None,
) -> None:
    """Every record in [from, to): verdicts by their message's published_at, decisions by decided_at. Verifies
    hash chains, checksums and manifests while reading; exits 3 naming the object on any break. The folder gets
    a README.md (Chinese and English) that says how to check the bundle by hand."""
    from retention.exports import export as run
    from retention.store import Store

    t1, t2 = bound(start, "--from"), bound(end, "--to")
    if t2 <= t1:
        fail("--to must be after --from", 2)
    with failures():
        settings = State.settings("auditor")
        _known_services(service or [], settings)
        query = {"from": t1.isoformat(), "to": t2.isoformat(), "services": service or None, "author": author,
                 "group": group, "out": str(out.absolute())}  # fmt: skip
        with Store(settings) as store, logged(settings, store, actor_of(actor, settings), "export", query) as counts:
            manifest = run(settings, store, t1, t2, out, services=service or None, author=author, group=group,
                           with_csv=with_csv, progress=is_tty() and not as_json, force=force)  # fmt: skip
            counts.update(records=manifest["counts"]["records"], objects=len(manifest["objects_read"]))
    _summary(manifest, out, settings, as_json)


def _summary(
    manifest: dict[str, Any], out: Path, settings: Settings, as_json: bool, extra: dict[str, Any] | None = None
) -> None:
    from retention.bundle_files import Names, summary, summary_lines

    info = summary(manifest, out)
    if as_json:
        info.update(extra or {})
        sys.stdout.write(json.dumps(info, ensure_ascii=False) + "\n")
        return
    for line in summary_lines(info, Names.of(settings)):
        say(line)


@audit_app.command("verify")
def verify(
    folder: Annotated[Path, typer.Argument(help="A folder written by `audit export` or `report`.")],
    offline: Annotated[bool, typer.Option("--offline", help="Check the files only, not the S3 objects.")] = False,
    checkpoint: Annotated[
        Path | None, typer.Option("--checkpoint", help="A checkpoint kept from earlier (`audit checkpoint`).")
    ] = None,
    public_key: Annotated[
        Path | None, typer.Option("--public-key", help="The operator's public key (default: the key file's .pub).")
    ] = None,
    as_json: JsonOpt = False,
    actor: ActorOpt = None,
) -> None:
    """Re-check an export: file hashes, record hashes and chains, counts, and (unless --offline) that every object
    read is still the same version with the same bytes in S3; with --checkpoint, that its manifests are in the
    signed tree of that checkpoint or of a later one consistent with it. Exits 3 naming what failed."""
    from retention import bundle
    from retention.store import Store

    if offline and checkpoint is not None:
        fail("--checkpoint needs the S3 objects: it cannot be combined with --offline", 2)
    proof = None
    with failures():
        if offline:
            result = bundle.verify(folder)
        else:
            settings = State.settings("auditor")
            query = {"folder": str(folder.absolute()), "checkpoint": str(checkpoint) if checkpoint else None}
            with Store(settings) as store, logged(settings, store, actor_of(actor, settings), "verify", query) as n:
                result = bundle.verify(folder, store)
                n.update(records=result.records, objects=result.objects)
                if checkpoint is not None:
                    from retention.checkpoint_verify import prove_file

                    proof = prove_file(settings, store, folder, checkpoint, public_key)
                    n["checkpoint_manifests"] = proof.manifests
    if result.tampers:
        fail(f"{folder}: the files verify, but the export found {result.tampers} tampered object(s) or manifest(s): "
             f"see {folder / 'tamper-report.json'}", EXIT_INTEGRITY)  # fmt: skip
    if as_json:
        extra = {"checkpoint": asdict(proof)} if proof is not None else {}
        sys.stdout.write(json.dumps({"ok": True, **asdict(result), **extra}) + "\n")
        return
    where = "files and S3 objects" if result.checked_against_store else "files only"
    say(f"OK: {result.records} records from {result.objects} objects verified ({where})")
    if proof is not None:
        say(f"OK: {proof.manifests} manifest versions and {proof.objects} objects proved by checkpoint "
            f"{proof.kept_seq} ({proof.kept_tree_size} leaves) and checkpoint {proof.latest_seq} "
            f"({proof.latest_tree_size} leaves) consistent with it; {proof.written_after} written after it are "
            "append-only")  # fmt: skip


def _report_day(text: str, settings: Settings) -> date:
    from retention.exports import report_day

    zone = settings.records.report_zone
    if text == "now":
        return report_day(SystemClock().now(), zone)
    try:
        return date.fromisoformat(text) if len(text) == 10 else report_day(datetime.fromisoformat(text), zone)
    except ValueError:
        fail(
            f"--date {text!r}: a day (YYYY-MM-DD, a calendar day in records.report_timezone = "
            f"{settings.records.report_timezone}), an RFC 3339 time with an offset (its day there), or now",
            2,
        )


def report(
    date: Annotated[
        str,
        typer.Option(
            "--date",
            help="The day whose published items to report: YYYY-MM-DD, a calendar day in records.report_timezone "
            "(default Asia/Shanghai), or an RFC 3339 time with an offset (the day it falls on there).",
        ),
    ],
    out: Annotated[Path | None, typer.Option("--out", help="Folder for the bundle (default: report-<date>).")] = None,
    force: ForceOpt = False,
    as_json: JsonOpt = False,
    actor: ActorOpt = None,
) -> None:
    """The blocked items published on a day, by category and service type, with their records (L2)."""
    from modpipe.cli.report_view import print_report_tail
    from pipeline.measures_store import measures_of_day
    from retention.exports import report as run
    from retention.store import Store

    with failures():
        settings = State.settings("auditor")
        day = _report_day(date, settings)
        folder = out or Path(f"report-{day.isoformat()}")
        query = {"date": day.isoformat(), "out": str(folder.absolute())}
        with Store(settings) as store, logged(settings, store, actor_of(actor, settings), "report", query) as counts:
            manifest = run(settings, store, SystemClock(), day, folder, progress=is_tty() and not as_json, force=force)
            counts.update(blocked_items=manifest["report"]["blocked_items"], records=manifest["counts"]["records"])
            summary = manifest["report"]
            measures = measures_of_day(settings, SystemClock(), store, summary["from"], summary["to"])
    if as_json:
        _summary(manifest, folder, settings, as_json, {"measures": measures})
        return
    say(f"{summary['blocked_items']} blocked items published on {summary['day']} ({summary['timezone']}) -> {folder}")
    say(f"  from {summary['from']} (inclusive) to {summary['to']} (exclusive), as of {summary['as_of']}")
    for code, n in summary["by_category"].items():
        say(f"  {code}: {n}")
    print_report_tail(summary, measures)

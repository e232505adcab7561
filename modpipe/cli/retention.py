"""Sub-commands of the records store: `storage init`, `retention sweep|hold|release|holds`, `audit export|verify`,
`report`, `decisions export`. See docs/retention.md."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from modpipe.cli.common import State, fail, is_tty, known_failures, say
from modpipe.clock import Clock, PinnedClock, SystemClock

if TYPE_CHECKING:
    from modpipe.settings import Settings

storage_app = typer.Typer(help="The S3 bucket that holds the records.", no_args_is_help=True)
retention_app = typer.Typer(help="Retention enforcement: sweep expired records, legal holds.", no_args_is_help=True)
audit_app = typer.Typer(help="The auditor's export of records, and its verification.", no_args_is_help=True)
decisions_app = typer.Typer(help="Moderators' decisions from the records, as training data.", no_args_is_help=True)

EXIT_INTEGRITY = 3


def register(app: typer.Typer) -> None:
    app.add_typer(storage_app, name="storage")
    app.add_typer(retention_app, name="retention")
    app.add_typer(audit_app, name="audit")
    app.add_typer(decisions_app, name="decisions")
    app.command("report")(report)


@contextmanager
def _failures() -> Iterator[None]:
    from retention import IntegrityError, OutputNotEmpty, RetentionError
    from retention.exceptions import CheckpointKeyError

    with known_failures():
        try:
            yield
        except CheckpointKeyError as exc:
            fail(str(exc), 2)
        except OutputNotEmpty as exc:
            fail(f"--out {exc.folder}: {exc.problem}", 2)
        except IntegrityError as exc:
            fail(f"INTEGRITY CHECK FAILED for {exc.object_key}: {exc.problem}", EXIT_INTEGRITY)
        except RetentionError as exc:
            fail(str(exc))


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

    with _failures():
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
    with _failures():
        report = retention.sweep(State.settings(), clock, dry_run=dry_run)
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
ByOpt = Annotated[str | None, typer.Option("--by", help="Who asks (recorded); default: the OS user.")]


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
    with _failures():
        settings = State.settings()
        if service is not None:
            _known_services([service], settings)
        with Store(settings) as store:
            who = by or getpass.getuser()
            placed = holds.place(store, settings, SystemClock(), selector, value, reason, who, service=service)  # type: ignore[arg-type]
    say(f"hold {placed.id} on {selector}={value}: {len(placed.objects)} objects held")
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
    with _failures():
        settings = State.settings()
        who = by or getpass.getuser()
        with Store(settings) as store:
            if subject is None and hold_id:
                done = holds.release(store, settings, SystemClock(), hold_id, who)
            elif subject is not None and not hold_id:
                done = holds.release_on(store, settings, SystemClock(), subject[0], subject[1], who)  # type: ignore[arg-type]
            else:
                fail("give --id or one of --message-id, --author, --group, --prefix, not both", 2)
    say(f"hold {done.id} on {done.selector}={done.value} ({done.reason}) released")


@retention_app.command("holds")
def list_holds() -> None:
    """List every legal hold, active or released."""
    from retention import holds
    from retention.store import Store

    with _failures(), Store(State.settings()) as store:
        found = holds.all_holds(store)
    for h in found:
        status = "active" if h.active else f"released {h.released_at} by {h.released_by}"
        hidden = "  (record hidden behind a delete marker)" if h.hidden else ""
        say(f"{h.id}  {h.selector}={h.value}  {status}  placed by {h.placed_by} at {h.placed_at}: {h.reason}"
            f"  [{len(h.objects)} objects]{hidden}")  # fmt: skip
    if not found:
        say("no holds")


def _bound(text: str, option: str) -> datetime:
    from retention.exports import parse_bound

    if text == "now":
        return SystemClock().now()
    try:
        return parse_bound(text)
    except ValueError:
        fail(f"{option} {text!r}: an RFC 3339 time with an offset or a date (YYYY-MM-DD, midnight UTC)", 2)


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
) -> None:
    """Every record in [from, to): verdicts by their message's published_at, decisions by decided_at. Verifies
    hash chains, checksums and manifests while reading; exits 3 naming the object on any break. The folder gets
    a README.md (Chinese and English) that says how to check the bundle by hand."""
    from retention.exports import export as run
    from retention.store import Store

    t1, t2 = _bound(start, "--from"), _bound(end, "--to")
    if t2 <= t1:
        fail("--to must be after --from", 2)
    with _failures():
        settings = State.settings()
        _known_services(service or [], settings)
        with Store(settings) as store:
            manifest = run(settings, store, t1, t2, out, services=service or None, author=author, group=group,
                           with_csv=with_csv, progress=is_tty() and not as_json, force=force)  # fmt: skip
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
) -> None:
    """Re-check an export: file hashes, record hashes and chains, counts, and (unless --offline) that every object
    read is still the same version with the same bytes in S3; with --checkpoint, that its manifests are in the
    signed tree of that checkpoint or of a later one consistent with it. Exits 3 naming what failed."""
    from retention import bundle
    from retention.store import Store

    if offline and checkpoint is not None:
        fail("--checkpoint needs the S3 objects: it cannot be combined with --offline", 2)
    proof = None
    with _failures():
        if offline:
            result = bundle.verify(folder)
        else:
            settings = State.settings()
            with Store(settings) as store:
                result = bundle.verify(folder, store)
                if checkpoint is not None:
                    from retention.checkpoint_verify import prove_file

                    proof = prove_file(settings, store, folder, checkpoint, public_key)
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
) -> None:
    """The blocked items published on a day, by category and service type, with their records (L2)."""
    from pipeline.measures_store import measures_of_day
    from retention.exports import report as run
    from retention.store import Store

    with _failures():
        settings = State.settings()
        day = _report_day(date, settings)
        folder = out or Path(f"report-{day.isoformat()}")
        with Store(settings) as store:
            manifest = run(settings, store, SystemClock(), day, folder, progress=is_tty() and not as_json, force=force)
            summary = manifest["report"]
            measures = measures_of_day(settings, SystemClock(), store, summary["from"], summary["to"])
    if as_json:
        _summary(manifest, folder, settings, as_json, {"measures": measures})
        return
    say(f"{summary['blocked_items']} blocked items published on {summary['day']} ({summary['timezone']}) -> {folder}")
    say(f"  from {summary['from']} (inclusive) to {summary['to']} (exclusive), as of {summary['as_of']}")
    for code, n in summary["by_category"].items():
        say(f"  {code}: {n}")
    counts = summary.get("user_reports") or {}
    if counts:
        say(
            f"user reports filed on {summary['day']}: {counts['received']} received, {counts['handled_in_time']} "
            f"handled in time, {counts['handled_late']} handled late, {counts['overdue']} overdue, {counts['open']} "
            f"open, {counts['rejected_as_malicious']} rejected as malicious"
        )
    say(f"measures applied that day: {measures['applied']} (lifted: {measures['lifted']})")
    for title in ("by_measure", "by_subject_type", "by_category"):
        counts = ", ".join(f"{k} {n}" for k, n in measures[title].items()) or "none"
        say(f"  {title.replace('_', ' ')}: {counts}")


@decisions_app.command("export")
def decisions_export(
    start: Annotated[str, typer.Option("--from", help="Window start, INCLUSIVE (RFC 3339 or YYYY-MM-DD = 00:00 UTC).")],
    end: Annotated[str, typer.Option("--to", help="Window end, EXCLUSIVE (RFC 3339, YYYY-MM-DD = 00:00 UTC, or now).")],
    out: Annotated[Path, typer.Option("--out", help="The JSONL file to write (for `modpipe train --data`).")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite --out if it exists.")] = False,
) -> None:
    """The moderators' decisions in [from, to) (by decided_at) as labelled training rows, one JSON line per
    decided message (the latest decision wins): confirmed = its category codes, overturned = benign ([])."""
    from retention.store import Store
    from retention.training_rows import export_rows

    t1, t2 = _bound(start, "--from"), _bound(end, "--to")
    if t2 <= t1:
        fail("--to must be after --from", 2)
    if out.exists() and not force:
        fail(f"--out {out}: the file exists; give --force to overwrite it", 2)
    with _failures():
        settings = State.settings()
        try:
            with Store(settings) as store:
                summary = export_rows(settings, store, t1, t2, out, force=force, progress=is_tty())
        except FileExistsError:
            fail(f"--out {out}: the file exists; give --force to overwrite it", 2)
    say(summary.line())

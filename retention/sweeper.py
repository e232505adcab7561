"""Retention enforced the other way: delete what has passed its date (data minimisation), never a day early.

A version is deleted when the clock is at or past its retention date (the later of its S3 lock date and the date
its writer recorded, both already rounded up to the end of a day), it has no S3 legal hold, and no active hold
selects it that has not copied what it selects from it (retention.hold_copies: the held records live on in the
hold's copies, the other users' records go on their date). Only date folders old enough to hold something expired
are listed. A manifest version goes only when its own date has passed and no version of any records object of its
hour is left, so an auditor never finds a record without the manifest that vouches for it. S3 still refuses any
early delete: the sweeper never sends the governance-bypass header.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from modpipe.clock import Clock
from modpipe.settings import Settings
from retention.codec import decode
from retention.dates import shortest_days
from retention.exceptions import StorageError
from retention.holds import Hold, all_holds, key_matches, record_matches
from retention.layout import MANIFESTS, RECORDS, hour_of
from retention.scan import Version, folders, state, versions
from retention.store import Store

log = logging.getLogger("modpipe.retention")


@dataclass
class SweepReport:
    now: datetime
    dry_run: bool
    examined: int = 0
    deleted: list[tuple[str, str | None]] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    kept: int = 0
    refused: list[tuple[str, str | None]] = field(default_factory=list)  # due by our date, still locked in S3

    def summary(self) -> str:
        verb = "would delete" if self.dry_run else "deleted"
        return (
            f"{verb} {len(self.deleted)} object versions; {self.kept} not yet due; "
            f"{len(self.held)} kept by a legal hold; {len(self.refused)} refused by the S3 lock; "
            f"{self.examined} examined"
        )


def sweep(settings: Settings, clock: Clock, *, dry_run: bool = False, store: Store | None = None) -> SweepReport:
    own = store is None
    store = store or Store(settings)
    try:
        return _Sweeper(settings, store, clock.now(), dry_run).run()
    finally:
        if own:
            store.close()


class _Sweeper:
    def __init__(self, settings: Settings, store: Store, now: datetime, dry_run: bool) -> None:
        self.settings = settings
        self.store = store
        self.now = now
        self.report = SweepReport(now, dry_run)
        self.holds: list[Hold] = []

    def run(self) -> SweepReport:
        self.holds = [h for h in all_holds(self.store) if h.active]
        for prefix in self._due_dates(RECORDS):
            self._sweep_records(prefix)
        for prefix in self._due_dates(MANIFESTS):
            self._sweep_manifests(prefix)
        log.info("retention sweep: %s", self.report.summary())
        return self.report

    def _due_dates(self, root: str) -> list[str]:
        rules = {name: svc.retention for name, svc in self.settings.services.items()}
        fallback = min((shortest_days(r) for r in rules.values()), default=0)
        due = []
        for service_folder in folders(self.store, root):
            service = service_folder.removeprefix(root).removeprefix("service=").rstrip("/")
            days = shortest_days(rules[service]) if service in rules else fallback
            for date_folder in folders(self.store, service_folder):
                day = date_folder.rstrip("/").rsplit("date=", 1)[-1]
                try:
                    start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC)
                except ValueError:
                    continue
                if start + timedelta(days=days) <= self.now:
                    due.append(date_folder)
        return due

    def _delete(self, v: Version) -> bool:
        if not self.report.dry_run:
            try:
                self.store.call(self.store.client.remove_object, self.store.bucket, v.key, version_id=v.version_id)
            except StorageError as exc:
                if exc.code != "AccessDenied":
                    raise
                # the server's lock outlasts the date we computed (clock ahead of the server, or --now): keep it
                log.warning("S3 refused to delete %s (version %s): still locked", v.key, v.version_id)
                self.report.refused.append((v.key, v.version_id))
                return False
        self.report.deleted.append((v.key, v.version_id))
        return True

    def _held_by_content(self, v: Version) -> bool:
        prefix_holds = [h for h in self.holds if key_matches(h, v.key)]
        if prefix_holds:
            return True
        # a hold whose copies hold this object's selected records lets the original go on its date
        content_holds = [h for h in self.holds if h.selector != "prefix" and not h.covers(v.key)]
        if not content_holds:
            return False
        data, _ = self.store.get(v.key, v.version_id)
        records = decode(v.key, data)
        return any(record_matches(h.selector, h.value, r, set()) for h in content_holds for r in records)

    def _sweep_records(self, prefix: str) -> None:
        by_key: dict[str, list[Version]] = {}
        for v in versions(self.store, prefix):
            by_key.setdefault(v.key, []).append(v)
        for key, found in by_key.items():
            gone = 0
            data_versions = [v for v in found if not v.is_delete_marker]
            for v in data_versions:
                self.report.examined += 1
                st = state(self.store, v.key, v.version_id)
                if st.legal_hold or self._held_by_content(v):
                    self.report.held.append(key)
                elif st.retain_until is None or st.retain_until > self.now:
                    self.report.kept += 1
                elif self._delete(v):
                    gone += 1
            if gone == len(data_versions):
                # nothing left under the key but delete markers: remove those too
                for v in found:
                    if v.is_delete_marker:
                        self._delete(v)

    def _sweep_manifests(self, prefix: str) -> None:
        deleted = set(self.report.deleted)
        hours_left: dict[str, bool] = {}
        for v in versions(self.store, prefix):
            if v.is_delete_marker:
                continue
            where = hour_of(v.key)
            if where is None:
                continue
            hour_prefix = RECORDS + v.key.removeprefix(MANIFESTS).rsplit("/", 1)[0] + "/"
            if hour_prefix not in hours_left:
                remaining = [r for r in versions(self.store, hour_prefix) if (r.key, r.version_id) not in deleted]
                hours_left[hour_prefix] = any(not r.is_delete_marker for r in remaining)
            self.report.examined += 1
            st = state(self.store, v.key, v.version_id)
            if st.legal_hold:
                self.report.held.append(v.key)
            elif hours_left[hour_prefix] or st.retain_until is None or st.retain_until > self.now:
                self.report.kept += 1
            else:
                self._delete(v)

"""The reports agent's work (L7): validate user reports, aggregate them per message, screen them, put the
reported message in the review queue, and turn a moderator's decision into one final outcome per report.

It reads the reports, verdicts and decisions topics. Its state lives in Elasticsearch (pipeline.report_store),
read at the start of every batch and written before the batch's outputs are published, so that a crash anywhere
replays the batch against what was stored: a report seen before is `duplicate` and its outcomes are published
again, identical and keyed by report id, instead of new ones. Reports only rank and flag; the takedown is the
moderator's decision's command (decisions agent).
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from modpipe.clock import Clock
from modpipe.contracts import DeadLetterReason, Decision, DecisionOutcome, Invalid, Verdict
from modpipe.contracts.intake import RawMessage
from modpipe.settings import Settings
from pipeline.report_store import MessageDoc, ReporterDoc, ReportStore
from reports import Actioned, Added, Outcome, Rejected, Report, ReportState, ReportValidator, Ruling
from retention.lookup import VerdictFinder
from retention.store import Store
from review.queue.reported import ReportedItems

log = logging.getLogger("modpipe.reports")
_RECENT_VERDICTS = 20_000  # verdicts kept in memory for a report that comes soon after its message


@dataclass(frozen=True)
class Event:
    raw: RawMessage
    report: Report | None = None
    verdict: dict[str, Any] | None = None
    decision: Decision | None = None


@dataclass
class Result:
    outcomes: list[Outcome]
    letters: list[tuple[RawMessage, str, str]]  # (input, reason, detail) to dead-letter
    published: list[tuple[str, bytes, bytes]]  # (topic, key, value) of the outcomes
    added: dict[str, int]


class ReportProcessor:
    def __init__(
        self, settings: Settings, clock: Clock, store: ReportStore, queue: ReportedItems, records: Store | None
    ) -> None:
        """`records`: where to look for the verdict of a message the agent did not see (None: nowhere)."""
        self.settings = settings
        self.clock = clock
        self.store = store
        self.queue = queue
        lookback = timedelta(hours=settings.reports.verdict_lookback_hours)
        self.finder = VerdictFinder(records, lookback) if records is not None else None
        self.validator = ReportValidator.for_settings(settings)
        topics = settings.kafka.topics
        self._reports_topic = topics.reports.name
        self._verdicts_topic = topics.verdicts.name
        self._outcomes_topic = topics.report_outcomes.name
        self._recent: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def parse(self, batch: Sequence[RawMessage]) -> tuple[list[Event], list[tuple[RawMessage, str, str]]]:
        """Reports are validated like messages; verdicts and decisions that fail their contract are the other
        agents' dead letters, skipped here."""
        events: list[Event] = []
        letters: list[tuple[RawMessage, str, str]] = []
        for raw in batch:
            if raw.topic == self._reports_topic:
                parsed = self.validator.parse(raw.value)
                if isinstance(parsed, Invalid):
                    letters.append((raw, parsed.reason.value, parsed.detail))
                else:
                    events.append(Event(raw, report=parsed.report))
                continue
            try:
                value = json.loads(raw.value)
                if raw.topic == self._verdicts_topic:
                    message_id = Verdict.model_validate(value).message_id
                    self._remember(message_id, value)
                    events.append(Event(raw, verdict=value))
                else:
                    events.append(Event(raw, decision=Decision.model_validate(value)))
            except (ValueError, ValidationError):
                continue
        return events, letters

    def _remember(self, message_id: str, verdict: dict[str, Any]) -> None:
        self._recent[message_id] = verdict
        self._recent.move_to_end(message_id)
        while len(self._recent) > _RECENT_VERDICTS:
            self._recent.popitem(last=False)

    def process(self, events: Sequence[Event]) -> Result:
        """Blocking. Recomputed from the stored state on every call, so a retry after a failure is safe."""
        reported = {e.report.message_id for e in events if e.report is not None}
        others = {_message_id(e) for e in events if e.report is None}
        docs = self.store.messages(reported | others)
        relevant = reported | set(docs)
        reporter_ids = {e.report.reporter_id for e in events if e.report is not None}
        for doc in docs.values():
            reporter_ids.update(str(r["report"]["reporter_id"]) for r in doc.reports.get("reports", ()))
        reporters = self.store.reporters(reporter_ids)
        state = _state(docs, reporters, self.settings)
        verdicts: dict[str, dict[str, Any]] = {m: d.verdict for m, d in docs.items() if d.verdict is not None}
        rulings = {m: d.rulings for m, d in docs.items()}
        now = self.clock.now()
        result = Result([], [], [], {})
        touched: set[str] = set()
        for event in events:
            message_id = _message_id(event)
            if message_id not in relevant:
                continue
            touched.add(message_id)
            if event.report is not None:
                self._receive(state, event, now, result)
            elif event.verdict is not None:
                verdicts[message_id] = event.verdict
            elif event.decision is not None and event.decision.outcome is not DecisionOutcome.REOPENED:
                # A reopening rules on nothing: the reports wait for the re-review's decision.
                ruling = _ruling(event.decision, state)
                at = event.decision.decided_at
                for outcome in state.decide(message_id, ruling, at):
                    rulings.setdefault(message_id, {})[outcome.report_id] = {
                        "decision_id": event.decision.decision_id,
                        "screening": state.screening(message_id).to_dict(),
                    }
                # Every final outcome of the message again: the ones this decision gave, and any a crash kept from
                # being published after it was stored.
                for entry in state.messages[message_id].entries:
                    final = state.outcomes.final(entry.report.report_id)
                    if final is not None:
                        result.outcomes.append(final)
        self._save(state, docs, reporters, verdicts, rulings, touched)
        for message_id in sorted(touched):
            self._queue(state, message_id, verdicts)
        for outcome in result.outcomes:
            result.published.append(self._outcome_value(state, outcome, rulings))
        return result

    def _receive(self, state: ReportState, event: Event, now: Any, result: Result) -> None:
        report = event.report
        assert report is not None
        received = state.receive(report, now)
        result.added[received.added.value] = result.added.get(received.added.value, 0) + 1
        if received.added is Added.CONFLICT:
            detail = f"report_id {report.report_id!r} already names another report about {report.message_id}"
            result.letters.append((event.raw, DeadLetterReason.BAD_VALUE.value, detail))
            return
        first = state.outcomes.received(report.report_id)
        if first is not None:
            result.outcomes.append(first)  # new, or published again after a crash: the same value either way
        final = state.outcomes.final(report.report_id)
        if final is not None:
            result.outcomes.append(final)

    def _save(
        self,
        state: ReportState,
        docs: dict[str, MessageDoc],
        reporters: dict[str, ReporterDoc],
        verdicts: dict[str, dict[str, Any]],
        rulings: dict[str, dict[str, Any]],
        touched: set[str],
    ) -> None:
        book = state.reporters.to_dict()
        learned_by: dict[str, list[str]] = {}
        for aggregate in state.messages.values():
            for entry in aggregate.entries:
                if entry.report.report_id in book["learned"]:
                    learned_by.setdefault(entry.report.reporter_id, []).append(entry.report.report_id)
        writes: list[tuple[str, dict[str, Any], tuple[int, int] | None]] = []
        for rid, counts in book["reporters"].items():
            old = reporters.get(rid)
            learned = sorted(set(learned_by.get(rid, [])) | set(old.learned if old else []))
            new = ReporterDoc(rid, counts["confirmed"], counts["rejected"], learned, old.seq if old else None)
            if old is None or old.body() != new.body():
                writes.append((f"r:{rid}", new.body(), new.seq))
        # Reporters first: a retry after only they were written finds the outcomes missing and gives them again,
        # and learning them a second time changes nothing.
        self.store.save(writes)
        writes = []
        outcomes = state.outcomes.to_dict()
        for message_id in sorted(touched):
            aggregate = state.messages[message_id]
            ids = {e.report.report_id for e in aggregate.entries}
            known = docs.get(message_id)
            doc = MessageDoc(
                message_id, aggregate.to_dict(),
                {k: [o for o in outcomes[k] if o["report_id"] in ids] for k in ("received", "final")},
                verdicts.get(message_id), known.seq if known else None, rulings.get(message_id, {}),
            )  # fmt: skip
            open_due = [e.due_at for e in aggregate.entries if state.outcomes.final(e.report.report_id) is None]
            if known is None or doc.body(open_due) != known.stored:
                writes.append((f"m:{message_id}", doc.body(open_due), doc.seq))
        self.store.save(writes)

    def _queue(self, state: ReportState, message_id: str, verdicts: dict[str, dict[str, Any]]) -> None:
        aggregate = state.messages[message_id]
        value = verdicts.get(message_id) or self._recent.get(message_id)
        if value is None and not self.queue.known(message_id):
            value = self._from_records(aggregate.entries[0].report)
            if value is not None:
                verdicts[message_id] = value
        verdict = Verdict.model_validate(value) if value is not None else None
        fields = queue_fields(state, message_id)
        reasons = [r for r in dict.fromkeys(k.partition(".")[0] for k in aggregate.reasons) if r != "other"]
        if not self.queue.apply(message_id, fields, verdict, reasons):
            log.info("reports on %s wait for its verdict", message_id)

    def _from_records(self, report: Report) -> dict[str, Any] | None:
        if self.finder is None:
            return None
        return self.finder.find(report.service_type, report.message_id, report.reported_at)

    def _outcome_value(
        self, state: ReportState, outcome: Outcome, rulings: dict[str, dict[str, Any]]
    ) -> tuple[str, bytes, bytes]:
        entry = state.messages[outcome.message_id].entry(outcome.report_id)
        assert entry is not None
        value = outcome.to_dict()
        value["service_type"] = entry.report.service_type
        value["platform"] = entry.report.platform
        value["reason_key"] = entry.report.reason_key
        value["reported_at"] = entry.report.reported_at.isoformat()
        if outcome.final:
            ruling = rulings.get(outcome.message_id, {}).get(outcome.report_id, {})
            value["decision_id"] = ruling.get("decision_id")
            value["screening"] = ruling.get("screening")
        body = json.dumps(value, ensure_ascii=False, sort_keys=True).encode()
        return self._outcomes_topic, outcome.report_id.encode(), body


def _message_id(event: Event) -> str:
    if event.report is not None:
        return event.report.message_id
    if event.decision is not None:
        return event.decision.message_id
    assert event.verdict is not None
    return str(event.verdict["message_id"])


def _ruling(decision: Decision, state: ReportState) -> Ruling:
    aggregate = state.messages[decision.message_id]
    if decision.outcome is DecisionOutcome.CONFIRMED:
        top = next(iter(aggregate.reasons), "other")
        return Actioned(decision.categories[0] if decision.categories else top)
    if state.screening(decision.message_id).suspected_campaign:
        reason = "suspected malicious report campaign; the moderator found no violation"
    else:
        reason = "the moderator found no violation"
    return Rejected(f"{reason}: {decision.comment}" if decision.comment else reason)


def _state(docs: dict[str, MessageDoc], reporters: dict[str, ReporterDoc], settings: Settings) -> ReportState:
    return ReportState.from_dict(
        {
            "messages": [d.reports for d in docs.values()],
            "outcomes": {k: [o for d in docs.values() for o in d.outcomes.get(k, ())] for k in ("received", "final")},
            "reporters": {
                "reporters": {
                    r.reporter_id: {"confirmed": r.confirmed, "rejected": r.rejected} for r in reporters.values()
                },
                "learned": sorted({i for r in reporters.values() for i in r.learned}),
            },
        },
        settings.reports,
    )


def queue_fields(state: ReportState, message_id: str) -> dict[str, Any]:
    """The `moderation.reports` fields of a reported message's queue document."""
    view = state.view(message_id)
    aggregate = state.messages[message_id]
    open_entries = [e for e in aggregate.entries if state.outcomes.final(e.report.report_id) is None]
    last = max((e.report.reported_at for e in open_entries), default=None)
    return {
        "count": view.count,
        "open": view.open_reports,
        "reporters": len(view.reporters),
        "reasons": list(view.reasons),
        "reason_counts": [f"{k}: {n}" for k, n in view.reasons.items()],
        "priority": view.priority,
        "due_at": view.earliest_due_at.isoformat() if view.earliest_due_at else None,
        "last_reported_at": last.isoformat() if last else None,
        "suspected_campaign": view.screening.suspected_campaign,
        "screening": list(view.screening.reasons),
    }


def report_check(settings: Settings) -> Callable[[RawMessage], bool]:
    """Whether a value of the reports topic is a valid report: the records keep those, the others are dead
    letters of the reports agent."""
    validator = ReportValidator.for_settings(settings)
    return lambda raw: not isinstance(validator.parse(raw.value), Invalid)


def is_outcome(raw: RawMessage) -> bool:
    """The outcomes topic is written by the reports agent only: any object with a report id and a status."""
    try:
        value = json.loads(raw.value)
    except ValueError:
        return False
    return isinstance(value, dict) and isinstance(value.get("report_id"), str) and "status" in value

"""The pure core: `Policy.apply(state, event, now)` gives a subject's next state and the commands for the
platform. No clock is read here and no id is random, so replaying the same events at the same moments gives the
same states and the same command keys.

Rules, in the order `apply` runs them:
- measures whose time is up end first (at their scheduled end), whatever the event;
- a strike lifts the points in the ladder's rolling window; crossing one or more steps issues the highest one
  crossed, unless a measure of that kind already in force lasts as long (a longer one supersedes it: the new
  measure is applied before the old one is lifted, so the platform never sees a gap). Nothing climbs above a
  closure in force;
- a strike with a known source id changes nothing, except that a moderator's confirmation marks it confirmed, or
  brings back a strike an earlier overturn withdrew (a machine verdict never outvotes a moderator's overturn);
- a withdrawn strike ends every ladder measure the remaining strikes no longer justify (counted in the window the
  measure was issued in), and the blacklisting such a measure caused;
- lifts and blacklist changes by a moderator act at once and carry the moderator and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from measures.credit import credit_of
from measures.model import (
    MACHINE,
    BlacklistAdd,
    Blacklisting,
    BlacklistRemove,
    CommandAction,
    Credit,
    Event,
    Lift,
    Measure,
    MeasureCommand,
    Strike,
    StrikeEvent,
    SubjectRef,
    SubjectState,
    Tick,
    Withdraw,
    Withdrawal,
    stable_id,
)
from modpipe.settings.measures import Ladder, MeasureKind, MeasuresSettings


@dataclass
class _Draft:
    """The state being changed by one event, with the commands it has produced so far."""

    subject: SubjectRef
    now: datetime
    strikes: list[Strike]
    pending: list[Withdrawal]
    measures: list[Measure]
    blacklist: Blacklisting | None
    serial: int
    commands: list[MeasureCommand] = field(default_factory=list)

    def new_id(self, *parts: str | datetime) -> str:
        self.serial += 1
        return stable_id(self.subject.key, str(self.serial), *parts)

    def command(self, measure: Measure, action: CommandAction, reason: str, by: str) -> None:
        ends_at = measure.ends_at if action is CommandAction.APPLY else measure.ended_at
        self._issue(action, measure.kind, measure.measure_id, measure.started_at, ends_at, reason, by, measure.levels)

    def end(self, index: int, reason: str, by: str, at: datetime | None = None) -> None:
        ended = self.measures[index].model_copy(
            update={"ended_at": at or self.now, "end_reason": reason, "ended_by": by}
        )
        self.measures[index] = ended
        self.command(ended, CommandAction.LIFT, reason, by)

    def blacklist_command(self, entry: Blacklisting, action: CommandAction, reason: str, by: str) -> None:
        ends_at = None if action is CommandAction.APPLY else self.now
        self._issue(action, MeasureKind.BLACKLIST, entry.entry_id, entry.since, ends_at, reason, by)

    def _issue(
        self,
        action: CommandAction,
        kind: MeasureKind,
        measure_id: str,
        starts_at: datetime,
        ends_at: datetime | None,
        reason: str,
        by: str,
        levels: int = 0,
    ) -> None:
        # The key is the same for a measure's apply and its lift: the platform keeps the last command of a key.
        self.commands.append(
            MeasureCommand(
                key=f"{self.subject.key}:{measure_id}",
                action=action,
                subject=self.subject,
                measure=kind,
                measure_id=measure_id,
                starts_at=starts_at,
                ends_at=ends_at,
                levels=levels,
                reason=reason,
                decided_by=by,
                issued_at=self.now,
            )
        )

    def index_of(self, source_id: str) -> int | None:
        return next((i for i, s in enumerate(self.strikes) if s.source.id == source_id), None)

    def add_strike(self, strike: Strike) -> None:
        self.strikes.append(strike)
        self.strikes.sort(key=lambda s: (s.at, s.source.id))


def points(strikes: list[Strike] | tuple[Strike, ...], ladder: Ladder, at: datetime, without: str = "") -> int:
    """The points of the strikes in force in the rolling window ending at `at`."""
    since = at - timedelta(days=ladder.window_days)
    return sum(s.weight for s in strikes if s.active and since < s.at <= at and s.source.id != without)


def _lasts(measure: Measure, until: datetime | None) -> bool:
    if measure.ends_at is None:
        return True
    return until is not None and measure.ends_at >= until


class Policy:
    def __init__(self, settings: MeasuresSettings) -> None:
        self.settings = settings

    def new_state(self, subject: SubjectRef) -> SubjectState:
        return SubjectState(subject=subject, credit=self._best_credit())

    def _best_credit(self) -> Credit:
        credit = self.settings.credit
        return Credit(score=credit.max_score, level=credit.levels[credit.level_of(credit.max_score)].level)

    def apply(
        self, state: SubjectState, event: Event, now: datetime
    ) -> tuple[SubjectState, tuple[MeasureCommand, ...]]:
        if now.tzinfo is None:
            raise ValueError("apply needs a timezone-aware `now`")
        if not isinstance(event, Tick) and event.subject != state.subject:
            raise ValueError(f"an event for {event.subject.key} applied to the state of {state.subject.key}")
        draft = _Draft(
            subject=state.subject,
            now=now,
            strikes=list(state.strikes),
            pending=list(state.pending_withdrawals),
            measures=list(state.measures),
            blacklist=state.blacklist,
            serial=state.serial,
        )
        self._expire(draft)
        if isinstance(event, StrikeEvent):
            self._strike(draft, event.strike)
        elif isinstance(event, Withdraw):
            self._withdraw(draft, event)
        elif isinstance(event, Lift):
            self._lift(draft, event)
        elif isinstance(event, BlacklistAdd):
            self._blacklist_add(draft, event)
        elif isinstance(event, BlacklistRemove):
            self._blacklist_remove(draft, event)
        self._prune(draft)
        new = SubjectState(
            subject=state.subject,
            strikes=tuple(draft.strikes),
            pending_withdrawals=tuple(draft.pending),
            measures=tuple(draft.measures),
            blacklist=draft.blacklist,
            credit=credit_of(draft.strikes, draft.measures, now, self.settings.credit),
            serial=draft.serial,
        )
        return new, tuple(draft.commands)

    def replay(
        self, state: SubjectState, events: list[tuple[Event, datetime]]
    ) -> tuple[SubjectState, tuple[MeasureCommand, ...]]:
        commands: list[MeasureCommand] = []
        for event, at in events:
            state, issued = self.apply(state, event, at)
            commands.extend(issued)
        return state, tuple(commands)

    # -- the events ---------------------------------------------------------------------------------------------

    def _expire(self, d: _Draft) -> None:
        for i, m in enumerate(d.measures):
            if m.ended_at is None and m.ends_at is not None and m.ends_at <= d.now:
                d.end(i, "expired", MACHINE, at=m.ends_at)

    def _strike(self, d: _Draft, strike: Strike) -> None:
        strike = strike.model_copy(update={"withdrawn": None})
        if strike.at <= d.now - timedelta(days=self.settings.horizon_days):
            return  # older than anything still counts: it would be pruned at once
        index = d.index_of(strike.source.id)
        if index is not None:
            known = d.strikes[index]
            if known.active:
                if strike.confirmed and not known.confirmed:
                    d.strikes[index] = known.model_copy(update={"source": strike.source})
                return
            if not strike.confirmed:
                return
            del d.strikes[index]
        else:
            pending = next((w for w in d.pending if w.source_id == strike.source.id), None)
            if pending is not None:
                d.pending.remove(pending)
                if not strike.confirmed:
                    d.add_strike(strike.model_copy(update={"withdrawn": pending}))
                    return
        d.add_strike(strike)
        self._escalate(d, strike)

    def _escalate(self, d: _Draft, strike: Strike) -> None:
        ladder = self.settings.ladders.of(d.subject.type)
        at = max(d.now, strike.at)
        if any(m.kind is MeasureKind.CLOSE and m.in_force(d.now) for m in d.measures):
            return
        after = points(d.strikes, ladder, at)
        before = points(d.strikes, ladder, at, without=strike.source.id)
        crossed = [i for i, s in enumerate(ladder.steps) if before < s.points <= after]
        if not crossed:
            return
        index = crossed[-1]
        step = ladder.steps[index]
        measure_id = d.new_id("step", str(index), strike.source.id)
        notice = step.measure is MeasureKind.WARNING
        ends = d.now if notice else (None if step.days is None else d.now + timedelta(days=step.days))
        current = [i for i, m in enumerate(d.measures) if m.kind is step.measure and m.in_force(d.now)]
        covered = any(_lasts(d.measures[i], ends) for i in current)
        reason = f"{after} points in {ladder.window_days} days: step {index + 1} ({step.measure.value})"
        if not covered:
            measure = Measure(
                measure_id=measure_id,
                kind=step.measure,
                step=index,
                threshold=step.points,
                points=after,
                basis_at=at,
                trigger=strike.source.id,
                started_at=d.now,
                ends_at=ends,
                levels=step.credit_levels,
                ended_at=d.now if notice else None,
                end_reason="notice" if notice else None,
                ended_by=MACHINE if notice else None,
            )
            d.measures.append(measure)
            d.command(measure, CommandAction.APPLY, reason, MACHINE)
            for i in current:
                d.end(i, f"superseded by {measure_id}", MACHINE)
        if step.blacklist and d.blacklist is None:
            entry = Blacklisting(
                entry_id=d.new_id("blacklist", measure_id),
                reason=reason,
                by=MACHINE,
                since=d.now,
                measure_id=None if covered else measure_id,
            )
            d.blacklist = entry
            d.blacklist_command(entry, CommandAction.APPLY, reason, MACHINE)

    def _withdraw(self, d: _Draft, event: Withdraw) -> None:
        withdrawal = Withdrawal(source_id=event.source_id, at=d.now, by=event.by)
        index = d.index_of(event.source_id)
        if index is None:
            if all(w.source_id != event.source_id for w in d.pending):
                d.pending.append(withdrawal)
            return
        if not d.strikes[index].active:
            return
        d.strikes[index] = d.strikes[index].model_copy(update={"withdrawn": withdrawal})
        ladder = self.settings.ladders.of(d.subject.type)
        for i, m in enumerate(d.measures):
            if m.step is None or not m.in_force(d.now) or points(d.strikes, ladder, m.basis_at) >= m.threshold:
                continue
            reason = f"strike {event.source_id} withdrawn by {event.by}"
            d.end(i, reason, event.by)
            if d.blacklist is not None and d.blacklist.measure_id == m.measure_id:
                d.blacklist_command(d.blacklist, CommandAction.LIFT, reason, event.by)
                d.blacklist = None

    def _lift(self, d: _Draft, event: Lift) -> None:
        for i, m in enumerate(d.measures):
            if m.measure_id == event.measure_id and m.in_force(d.now):
                d.end(i, event.reason, event.moderator)

    def _blacklist_add(self, d: _Draft, event: BlacklistAdd) -> None:
        if d.blacklist is not None:
            return
        entry = Blacklisting(
            entry_id=d.new_id("blacklist", event.moderator, d.now),
            reason=event.reason,
            by=event.moderator,
            since=d.now,
        )
        d.blacklist = entry
        d.blacklist_command(entry, CommandAction.APPLY, event.reason, event.moderator)

    def _blacklist_remove(self, d: _Draft, event: BlacklistRemove) -> None:
        if d.blacklist is None:
            return
        d.blacklist_command(d.blacklist, CommandAction.LIFT, event.reason, event.moderator)
        d.blacklist = None

    def _prune(self, d: _Draft) -> None:
        # Strikes stay while any window can still count them, including the windows of ladder measures in force
        # (a later withdrawal re-counts those).
        horizon = timedelta(days=self.settings.horizon_days)
        anchors = [d.now, *(m.basis_at for m in d.measures if m.step is not None and m.ended_at is None)]
        cutoff = min(anchors) - horizon
        d.strikes = [s for s in d.strikes if s.at > cutoff]
        d.pending = [w for w in d.pending if w.at > d.now - horizon]
        d.measures = [m for m in d.measures if m.ended_at is None or m.ended_at > d.now - horizon]

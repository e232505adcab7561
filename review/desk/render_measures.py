"""The item page's section on graded measures (L6): for the item's author, public account and group, the strikes,
the measures in force, the credit level and the blacklisting, as the measures agent last stored them; and, for the
roles that may change them, a form per change with a mandatory reason. Every value passes through `e()`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from measures.model import SubjectRef, SubjectState
from measures.wire import StoredState
from review.desk.i18n import t
from review.desk.render import e, item_url
from review.desk.shown import when

RECENT_STRIKES = 10


@dataclass(frozen=True)
class SubjectView:
    role: str  # what the subject is to the item: author, public account, group
    subject: SubjectRef
    stored: StoredState | None


def subject_json(view: SubjectView, now: datetime) -> dict[str, Any]:
    """The JSON API's view of one subject (the page shows the same)."""
    state = view.stored.state if view.stored is not None else None
    out: dict[str, Any] = {"role": view.role, "subject": view.subject.key, "recorded": state is not None}
    if state is None:
        return out | {"level": None, "score": None, "blacklist": None, "measures": [], "strikes": []}
    return out | {
        "as_of": view.stored.at.isoformat() if view.stored is not None else None,
        "level": state.credit.level,
        "score": state.credit.score,
        "blacklist": state.blacklist.model_dump(mode="json") if state.blacklist is not None else None,
        "measures": [m.model_dump(mode="json") for m in state.in_force(now)],
        "strikes": [s.model_dump(mode="json") for s in state.strikes],
        "active_strikes": sum(1 for s in state.strikes if s.active),
    }


def _hidden(csrf: str, subject: SubjectRef) -> str:
    return (
        f'<input type="hidden" name="csrf" value="{e(csrf)}">'
        f'<input type="hidden" name="subject" value="{e(subject.key)}">'
    )


def _reason() -> str:
    return f'<label>{e(t("Reason (required)"))} <input name="reason" required maxlength="2000"></label>'


def _strikes(state: SubjectState) -> str:
    if not state.strikes:
        return f"<p>{e(t('No strikes.'))}</p>"
    rows = []
    for s in sorted(state.strikes, key=lambda s: s.at, reverse=True)[:RECENT_STRIKES]:
        status = t("withdrawn") if not s.active else (t("confirmed") if s.confirmed else t("machine block"))
        rows.append(
            f"<tr><td>{when(s.at.isoformat())}</td><td>{e(s.category)}"
            f"{' / ' + e(s.sub_label) if s.sub_label else ''}</td><td>{e(s.weight)}</td><td>{e(status)}</td></tr>"
        )
    head = "".join(f"<th>{e(t(h))}</th>" for h in ("Time", "Category", "Points", "Status"))
    active = sum(1 for s in state.strikes if s.active)
    return (
        f"<p>{e(t('Strikes'))}: {e(active)} {e(t('active'))}, {e(len(state.strikes))} {e(t('recorded'))}</p>"
        f'<table class="strikes"><tr>{head}</tr>{"".join(rows)}</table>'
    )


def _measures(view: SubjectView, state: SubjectState, now: datetime, csrf: str, can_change: bool, url: str) -> str:
    active = state.in_force(now)
    if not active:
        return f'<p class="no-measures">{e(t("No measure in force."))}</p>'
    items = []
    for m in active:
        until = m.ends_at.isoformat() if m.ends_at else t("until lifted")
        form = ""
        if can_change:
            form = (
                f'<form method="post" action="{e(url)}/measures/lift" class="lift">{_hidden(csrf, view.subject)}'
                f'<input type="hidden" name="measure_id" value="{e(m.measure_id)}">{_reason()}'
                f'<button type="submit">{e(t("Lift this measure"))}</button></form>'
            )
        items.append(
            f'<li class="measure" data-measure="{e(m.measure_id)}"><b>{e(m.kind.value)}</b> '
            f"{e(t('since'))} {when(m.started_at.isoformat())}, {e(t('until'))} {when(until)}"
            f" <code>{e(m.measure_id)}</code>{form}</li>"
        )
    return f'<ul class="measures">{"".join(items)}</ul>'


def _blacklist(view: SubjectView, state: SubjectState | None, csrf: str, can_change: bool, url: str) -> str:
    entry = state.blacklist if state is not None else None
    if entry is not None:
        text = (
            f'<p class="blacklisted"><b>{e(t("On the blacklist"))}</b> {e(t("since"))} '
            f"{when(entry.since.isoformat())} ({e(entry.by)}: {e(entry.reason)})</p>"
        )
    else:
        text = f"<p>{e(t('Not on the blacklist.'))}</p>"
    if not can_change:
        return text
    action, label = (
        ("remove", t("Remove from the blacklist")) if entry is not None else ("add", t("Add to the blacklist"))
    )
    return (
        f'{text}<form method="post" action="{e(url)}/measures/blacklist" class="blacklist">'
        f'{_hidden(csrf, view.subject)}<input type="hidden" name="action" value="{action}">{_reason()}'
        f'<button type="submit">{e(label)}</button></form>'
    )


def _subject(view: SubjectView, now: datetime, csrf: str, can_change: bool, url: str) -> str:
    state = view.stored.state if view.stored is not None else None
    title = f"{e(t(view.role))}: <code>{e(view.subject.key)}</code>"
    if state is None:
        body = f"<p>{e(t('No strikes or measures recorded.'))}</p>"
    else:
        body = (
            f'<p>{e(t("Credit level"))}: <b class="level">{e(state.credit.level)}</b> '
            f"({e(t('score'))} {e(state.credit.score)})</p>"
            f"{_strikes(state)}{_measures(view, state, now, csrf, can_change, url)}"
        )
    return (
        f'<div class="subject" data-subject="{e(view.subject.key)}"><h3>{title}</h3>{body}'
        f"{_blacklist(view, state, csrf, can_change, url)}</div>"
    )


def measures_section(
    message_id: str, views: Sequence[SubjectView], now: datetime, csrf: str, can_change: bool, notice: str = ""
) -> str:
    url = item_url(message_id)
    banner = f'<p class="notice" role="status">{e(notice)}</p>' if notice else ""
    subjects = "".join(_subject(v, now, csrf, can_change, url) for v in views)
    return (
        f'<section class="measures-panel" id="measures"><h2>{e(t("Measures, strikes and credit level"))}</h2>'
        f"{banner}{subjects}</section>"
    )

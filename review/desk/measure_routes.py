"""Graded measures on the review desk (L6): an item's author, public account and group with their strikes,
measures, credit level and blacklisting, on the item page and as JSON; and a senior moderator's lift of a measure
and blacklist changes, each with a mandatory reason.

A change goes the way `modpipe measures lift | blacklist` goes: an event on the measure-events topic (acknowledged
by the broker before the answer), from which the measures agent, the one writer of a subject's state, issues the
command and writes its record. The desk reads the states the agent stores (measures.reader), never writes them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from measures.model import BlacklistAdd, BlacklistRemove, Lift, SubjectRef
from measures.reader import StateReader
from measures.wire import Envelope
from modpipe.settings import Settings
from modpipe.settings.measures import SubjectType
from retention.exceptions import RetentionError
from retention.store import Store
from review.desk.acked import AckedTopic
from review.desk.exceptions import PublishFailed
from review.desk.i18n import t
from review.desk.render import e, item_url
from review.desk.render_measures import SubjectView, measures_section, subject_json
from review.desk.roles import allowed
from review.desk.web import ROLE, SESSION, client_ip, fail, is_api, on_item, redirect, review_of
from review.queue import ItemNotFound

log = logging.getLogger("modpipe.review")
MAX_REASON = 2000
SENT = "sent"
UNAVAILABLE = "The measures store (records bucket) is unavailable; retry."


class EventPublisher:
    """The measure-events topic, acks=all: a change is answered only once the broker has it."""

    def __init__(self, settings: Settings) -> None:
        topic = settings.kafka.topics.measure_events.name
        self._out = AckedTopic(
            settings, topic, "review-measures", f"measure-events topic {topic} (kafka.topics.measure_events)"
        )

    def publish(self, envelope: Envelope) -> None:
        self._out.send(envelope.key, envelope.model_dump_json().encode())

    def close(self) -> None:
        self._out.close()


@dataclass
class MeasuresDesk:
    reader: StateReader
    publish: Callable[[Envelope], None]  # blocking


MEASURES = web.AppKey("measures", MeasuresDesk)


def install(app: web.Application, settings: Settings) -> None:
    """The routes, and the records-bucket reader and event producer opened on start-up, closed on clean-up."""
    add = app.router
    add.add_get("/api/items/{message_id}/measures", subjects)
    for prefix in ("", "/api"):
        add.add_post(prefix + "/items/{message_id}/measures/lift", lift)
        add.add_post(prefix + "/items/{message_id}/measures/blacklist", blacklist)

    async def resources(app: web.Application) -> Any:
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="review-measures")
        loop = asyncio.get_running_loop()
        store, events = await asyncio.gather(
            loop.run_in_executor(pool, Store, settings), loop.run_in_executor(pool, EventPublisher, settings)
        )

        def fetch(key: str) -> bytes | None:
            found = store.get_if_exists(key)
            return None if found is None else found[0]

        app[MEASURES] = MeasuresDesk(StateReader(fetch), events.publish)
        yield
        await loop.run_in_executor(pool, events.close)
        store.close()
        pool.shutdown(wait=True)

    app.cleanup_ctx.append(resources)


def item_subjects(source: dict[str, Any]) -> list[tuple[str, SubjectRef]]:
    """The subjects an item's message counts against, author first (as measures.subjects_of orders them)."""
    labels = source.get("labels") or {}
    found = [
        ("Author", SubjectType.ACCOUNT, (source.get("user") or {}).get("id")),
        ("Public account", SubjectType.PUBLIC_ACCOUNT, labels.get("account_id")),
        ("Group", SubjectType.GROUP, labels.get("group_id")),
    ]
    return [(role, SubjectRef(type=kind, id=str(ident))) for role, kind, ident in found if ident]


def _views(request: web.Request, source: dict[str, Any]) -> list[SubjectView]:
    reader = request.app[MEASURES].reader
    return [SubjectView(role, ref, reader.load(ref)) for role, ref in item_subjects(source)]


def _may_change(request: web.Request) -> bool:
    return allowed("POST", "/items/{message_id}/measures/lift", request.get(ROLE))


async def section(request: web.Request, source: dict[str, Any], message_id: str) -> str:
    """The item page's measures section (the hook in item_routes.item_view)."""
    review = review_of(request)
    try:
        views = await review.run(_views, request, source)
    except RetentionError:
        # The item itself is still worth judging: the page says what is missing instead of failing.
        log.exception("measures states unreadable")
        return f'<section class="measures-panel" id="measures"><p class="error">{e(t(UNAVAILABLE))}</p></section>'
    notice = t("Your change was sent; it shows here once the measures agent has applied it.") if (
        request.query.get("measures") == SENT
    ) else ""  # fmt: skip
    csrf = request[SESSION].csrf
    return measures_section(message_id, views, review.clock.now(), csrf, _may_change(request), notice)


def with_section(page: str, section_html: str) -> str:
    """The page with the section at the end of its main column, whatever the item page lays out above it."""
    head, sep, tail = page.rpartition("</main>")
    return f"{head}{section_html}{sep}{tail}" if sep else page + section_html


async def subjects(request: web.Request) -> web.StreamResponse:
    review = review_of(request)
    message_id = request.match_info["message_id"]
    try:
        item = await review.run(review.store.get, message_id)
    except ItemNotFound:
        return fail(request, 404, "not_found", f"No item {message_id} in the queue.")
    try:
        views = await review.run(_views, request, item.source)
    except RetentionError:
        log.exception("measures states unreadable")
        return fail(request, 503, "measures_unavailable", t(UNAVAILABLE))
    now = review.clock.now()
    return web.json_response({"message_id": message_id, "subjects": [subject_json(v, now) for v in views]})


async def _body(request: web.Request) -> dict[str, str]:
    if is_api(request):
        try:
            body = await request.json()
        except ValueError:
            return {}
        return {k: str(v) for k, v in body.items()} if isinstance(body, dict) else {}
    form = await request.post()
    return {k: str(v) for k, v in form.items()}


async def _change(request: web.Request, kind: str) -> web.StreamResponse:
    review, session, message_id = on_item(request)
    body = await _body(request)
    reason = body.get("reason", "").strip()[:MAX_REASON]
    if not reason:
        return fail(request, 400, "reason_required", t("A reason is mandatory for every change to measures."))
    try:
        item = await review.run(review.store.get, message_id)
    except ItemNotFound:
        return fail(request, 404, "not_found", f"No item {message_id} in the queue.")
    refs = {ref.key: ref for _, ref in item_subjects(item.source)}
    ref = refs.get(body.get("subject", ""))
    if ref is None:
        keys = ", ".join(refs)
        return fail(request, 400, "bad_subject", t("subject: one of this item's subjects") + f" ({keys})")
    try:
        stored = await review.run(request.app[MEASURES].reader.load, ref)
    except RetentionError:
        log.exception("measures states unreadable")
        return fail(request, 503, "measures_unavailable", t(UNAVAILABLE))
    state = stored.state if stored is not None else None
    now = review.clock.now()
    event: Lift | BlacklistAdd | BlacklistRemove
    try:
        if kind == "lift":
            measure_id = body.get("measure_id", "")
            if state is None or not any(m.measure_id == measure_id for m in state.in_force(now)):
                return fail(
                    request, 409, "not_in_force", t("No such measure in force on") + f" {ref.key}: {measure_id}"
                )
            event = Lift(subject=ref, measure_id=measure_id, moderator=session.user, reason=reason)
        elif body.get("action") == "add":
            if state is not None and state.blacklisted:
                return fail(request, 409, "already_blacklisted", f"{ref.key}: " + t("already on the blacklist"))
            event = BlacklistAdd(subject=ref, moderator=session.user, reason=reason)
        elif body.get("action") == "remove":
            if state is None or not state.blacklisted:
                return fail(request, 409, "not_blacklisted", f"{ref.key}: " + t("not on the blacklist"))
            event = BlacklistRemove(subject=ref, moderator=session.user, reason=reason)
        else:
            return fail(request, 400, "bad_request", "action: add or remove")
        envelope = Envelope(subject=ref, at=now, event=event)
    except ValidationError as exc:
        return fail(request, 400, "bad_request", str(exc)[:500])
    what = {"item": message_id, "subject": ref.key, "change": event.kind, "reason": reason}
    if isinstance(event, Lift):
        what["measure_id"] = event.measure_id
    try:
        await review.run(request.app[MEASURES].publish, envelope)
    except PublishFailed:
        log.exception("measures change on %s not sent", ref.key)
        review.audit.record("measure_refused", session.user, client_ip(request), role=request[ROLE].value, **what)
        return fail(request, 503, "publish_failed", t("The change could not be sent (broker unavailable); retry."))
    review.audit.record("measure_change", session.user, client_ip(request), role=request[ROLE].value, **what)
    if is_api(request):
        return web.json_response({"sent": envelope.model_dump(mode="json")}, status=202)
    return redirect(f"{item_url(message_id)}?measures={SENT}#measures")


async def lift(request: web.Request) -> web.StreamResponse:
    return await _change(request, "lift")


async def blacklist(request: web.Request) -> web.StreamResponse:
    return await _change(request, "blacklist")

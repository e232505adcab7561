"""The QA queue on the desk: moderators judge drawn machine verdicts (blind: a label, a category code or `none`),
seniors, auditors and admins read the estimates; as pages and as JSON. Who may call each route: review.desk.roles."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from aiohttp import web

from modpipe.settings import Settings
from review.desk import render_qa
from review.desk.i18n import t
from review.desk.web import ROLE, SESSION, client_ip, fail, html, is_api, redirect, review_of
from review.queue.qa import NO_VIOLATION, WRONG, Estimate, Stratum
from review.queue.qa_store import QaAlreadyAnswered, QaItem, QaNotFound, QaStore

QA = web.AppKey("qa", QaStore)
NEXT_POOL = 20  # the first open items by draw; each account starts at its own place among them
MAX_ITEMS = 100


def install(app: web.Application, settings: Settings, store: QaStore | None = None) -> None:
    """Add the QA routes and the QA store's life to the app (before create_app checks every route's roles)."""

    async def resources(app: web.Application) -> AsyncIterator[None]:
        own = store or QaStore(settings)
        app[QA] = own
        yield
        if store is None:
            own.close()

    app.cleanup_ctx.append(resources)
    add = app.router
    add.add_get("/qa", queue_page)
    add.add_post("/qa/items/{qa_id}/answer", answer)
    add.add_get("/qa/dashboard", dashboard)
    add.add_get("/api/qa/items", items)
    add.add_post("/api/qa/items/{qa_id}/answer", answer)
    add.add_get("/api/qa/dashboard", dashboard)


def _blind(item: QaItem) -> dict[str, Any]:
    """What a moderator sees of a QA item before answering: no action, score or category of the machine."""
    src = item.source
    return {"id": item.id, **{k: src.get(k) for k in ("message_id", "text", "service_type", "published_at")}}


def _pick(pool: list[QaItem], user: str) -> QaItem | None:
    # Two moderators working the QA queue at once should not both get the same item first.
    if not pool:
        return None
    return pool[int(hashlib.sha256(user.encode()).hexdigest(), 16) % len(pool)]


async def queue_page(request: web.Request) -> web.StreamResponse:
    review = review_of(request)
    session = request[SESSION]
    store = request.app[QA]
    pool = await review.run(store.open_items, NEXT_POOL)
    count = await review.run(store.open_count)
    notice = str(request.query.get("notice", ""))[:300]
    page = render_qa.qa_page(review.settings, _pick(pool, session.user), count, session.user, session.csrf,
                             notice=notice)  # fmt: skip
    return html(page)


async def items(request: web.Request) -> web.StreamResponse:
    review = review_of(request)
    try:
        limit = int(request.query.get("limit", "20"))
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_ITEMS:
        return fail(request, 400, "bad_filter", f"limit: a whole number from 1 to {MAX_ITEMS}")
    pool = await review.run(request.app[QA].open_items, limit)
    return web.json_response({"items": [_blind(i) for i in pool]})


async def _label_of(request: web.Request) -> str:
    if is_api(request):
        try:
            body = await request.json()
        except ValueError:
            body = None
        return str(body.get("label", "")) if isinstance(body, dict) else ""
    return str((await request.post()).get("label", ""))


async def answer(request: web.Request) -> web.StreamResponse:
    review = review_of(request)
    session = request[SESSION]
    qa_id = request.match_info["qa_id"]
    label = await _label_of(request)
    allowed = [NO_VIOLATION, *review.settings.categories]
    if label not in allowed:
        return fail(request, 400, "bad_label", f"label: one of {', '.join(allowed)}; got {label!r}")
    try:
        item = await review.run(request.app[QA].answer, qa_id, label, session.user, review.clock.now())
    except QaNotFound:
        return fail(request, 404, "not_found", f"No QA item {qa_id}.")
    except QaAlreadyAnswered as exc:
        if is_api(request):
            return fail(request, 409, "already_answered", str(exc), answered_by=exc.by)
        return redirect("/qa?notice=" + _quote(t("Already answered by another moderator; here is the next one.")))
    judged = str(item.answer.get("judged"))
    review.audit.record(
        "qa_answer", session.user, client_ip(request), role=request[ROLE].value, qa_id=qa_id, label=label, judged=judged
    )
    if is_api(request):
        return web.json_response({"id": qa_id, "label": label, "judged": judged, "action": item.source["action"]})
    return redirect("/qa?notice=" + _quote(_feedback(str(item.source["action"]), judged)))


def _feedback(action: str, judged: str) -> str:
    machine = t("The machine had blocked it") if action == "block" else t("The machine had passed it")
    verdict = t("your answer says it was wrong") if judged == WRONG else t("your answer says it was right")
    return f"{t('Recorded.')} {machine}: {verdict}."


def _quote(text: str) -> str:
    return quote(text, safe="")


def _estimate(est: Estimate) -> dict[str, Any]:
    return {"hits": est.hits, "n": est.n, "estimate": est.point, "low": est.low, "high": est.high}


def _stratum(s: Stratum) -> dict[str, Any]:
    measure = "precision" if s.action == "block" else "miss_rate"
    return {
        "action": s.action, "category": s.category, "share": s.share, "sampled": s.sampled, "answered": s.answered,
        "wrong": s.wrong, "labels": dict(s.labels), measure: _estimate(s.estimate),
    }  # fmt: skip


async def dashboard(request: web.Request) -> web.StreamResponse:
    review = review_of(request)
    session = request[SESSION]
    default = review.settings.review.qa_sample.window_days
    try:
        days = int(request.query.get("days", str(default)) or default)
    except ValueError:
        days = 0
    if not 1 <= days <= 3650:
        return fail(request, 400, "bad_filter", "days: a whole number from 1 to 3650")
    model = str(request.query.get("model", ""))[:200]
    store = request.app[QA]
    strata = await review.run(store.strata, review.clock.now(), days, model)
    if is_api(request):
        return web.json_response({"window_days": days, "model_version": model or None,
                                  "strata": [_stratum(s) for s in strata]})  # fmt: skip
    models = await review.run(store.model_versions)
    return html(render_qa.dashboard_page(review.settings, strata, days, model, models, session.user, session.csrf))

"""A senior's correction of a carried-out decision (page form or JSON): reopen it for re-review, or reverse it
(confirmed <-> overturned), always with a reason; recorded in the audit trail whether accepted or refused."""

from __future__ import annotations

from aiohttp import web

from review.desk import render
from review.desk.decide import Correction
from review.desk.decision_routes import checked_tags, read_asked
from review.desk.exceptions import PublishFailed
from review.desk.i18n import t
from review.desk.item_routes import item_view
from review.desk.web import ROLE, client_ip, fail, is_api, on_item, redirect
from review.queue import AlreadyDecided, ItemNotFound
from review.queue.exceptions import NothingToCorrect

USAGE = 'JSON {"action": "reopen"|"reverse", "reason": "why (required)", "tags": []}'


async def correct(request: web.Request) -> web.StreamResponse:
    review, session, message_id = on_item(request)
    asked = await read_asked(request, "action", "reason", USAGE)
    if isinstance(asked, web.Response):
        return asked
    try:
        correction = Correction(asked.choice)
    except ValueError:
        return fail(request, 400, "bad_request", t("action: reopen or reverse"))
    reason = asked.text
    if not reason:
        message = t("A reason is required to reopen or reverse a decision.")
        if is_api(request):
            return fail(request, 400, "reason_required", message)
        return await item_view(request, message_id, error=message, status=400)
    tags = await checked_tags(request, message_id, asked.tags)
    if isinstance(tags, web.Response):
        return tags

    def audit(event: str, **what: object) -> None:
        who, role = session.user, request[ROLE].value
        review.audit.record(event, who, client_ip(request), role=role, item=message_id, correction=correction.value,
                            reason=reason, **what)  # fmt: skip

    try:
        decision = await review.run(review.decider.correct, message_id, correction, session.user, reason, tags)
    except NothingToCorrect as exc:
        audit("correction_refused", why="nothing_to_correct", status=exc.status)
        message = t("Nothing to correct: the item has no carried-out decision") + f" ({exc.status})."
        if is_api(request):
            return fail(request, 409, "nothing_to_correct", message, item_status=exc.status)
        return await item_view(request, message_id, error=message, status=409)
    except AlreadyDecided as exc:
        audit("correction_refused", why="in_flight", decided_by=exc.decided_by)
        message = (
            f"{t('A decision is in flight (not yet carried out)')}: {exc.outcome} by {exc.decided_by} at "
            f"{exc.decided_at}. {t('Your correction was not sent.')}"
        )
        if is_api(request):
            return fail(
                request, 409, "already_decided", message, decided_by=exc.decided_by, outcome=exc.outcome,
                in_flight=exc.in_flight, decision_id=exc.decision_id,
            )  # fmt: skip
        return await item_view(request, message_id, error=message, status=409)
    except ItemNotFound:
        return fail(request, 404, "not_found", t("No item {id} in the queue.", id=message_id))
    except PublishFailed:
        audit("correction_refused", why="publish_failed")
        return fail(request, 503, "publish_failed", t("The correction could not be sent (broker unavailable); retry."))
    audit(
        "correction", decision_id=decision.decision_id, corrects=decision.corrects, outcome=decision.outcome.value,
        prior_outcome=decision.prior_outcome.value if decision.prior_outcome else None, tags=list(tags),
    )  # fmt: skip
    if is_api(request):
        return web.json_response({"decision": decision.model_dump(mode="json")}, status=201)
    return redirect(f"{render.item_url(message_id)}?corrected=1")

"""A decision on an item (page form or JSON), recorded in the audit trail whether it is accepted or refused."""

from __future__ import annotations

from aiohttp import web

from modpipe.contracts import DecisionOutcome
from review.desk import render
from review.desk.exceptions import PublishFailed
from review.desk.i18n import local_time, t
from review.desk.item_routes import item_view
from review.desk.shown import word
from review.desk.tags import BadTags, allowed_tags, check_tags
from review.desk.web import ROLE, SESSION, client_ip, fail, is_api, redirect, review_of
from review.desk.work_routes import next_response
from review.queue import AlreadyDecided, ItemNotFound

MAX_COMMENT = 2000


async def checked_tags(request: web.Request, message_id: str, given: object) -> tuple[str, ...] | web.Response:
    """The tags of a decision or a correction, checked against what the item allows (one read of the item, only
    when tagged); or the refusal to answer with (404: no such item, 400: a tag the item does not allow)."""
    if given is None or given == []:
        return ()
    if not isinstance(given, list):
        return fail(request, 400, "bad_tags", "tags: a list of tag names")
    review = review_of(request)
    try:
        item = await review.run(review.store.get, message_id)
        return check_tags(given, allowed_tags(review.settings, item))
    except ItemNotFound:
        return fail(request, 404, "not_found", t("No item {id} in the queue.", id=message_id))
    except BadTags as exc:
        return fail(request, 400, "bad_tags", str(exc))


async def decide(request: web.Request) -> web.StreamResponse:
    review = review_of(request)
    session = request[SESSION]
    message_id = request.match_info["message_id"]
    work = ""
    if is_api(request):
        try:
            body = await request.json()
            outcome_raw, comment = str(body["outcome"]), str(body.get("comment") or "")
            given: object = body.get("tags")
        except (ValueError, KeyError, TypeError, AttributeError):
            return fail(
                request, 400, "bad_request", 'JSON {"outcome": "confirmed"|"overturned", "comment": "", "tags": []}'
            )
    else:
        form = await request.post()
        outcome_raw, comment = str(form.get("outcome", "")), str(form.get("comment", ""))
        work = str(form.get("work", ""))
        given = list(form.getall("tags", []))
    try:
        outcome = DecisionOutcome(outcome_raw)
    except ValueError:
        return fail(request, 400, "bad_request", t("outcome: confirmed or overturned"))
    if outcome is DecisionOutcome.REOPENED:
        return fail(request, 400, "bad_request", t("outcome: confirmed or overturned (a reopening is a correction)"))
    comment = comment.strip()[:MAX_COMMENT]
    tags = await checked_tags(request, message_id, given)
    if isinstance(tags, web.Response):
        return tags

    def audit(event: str, **what: object) -> None:
        who, role = session.user, request[ROLE].value
        review.audit.record(event, who, client_ip(request), role=role, item=message_id, outcome=outcome.value, **what)

    try:
        decision = await review.run(review.decider.decide, message_id, outcome, session.user, comment, tags)
    except AlreadyDecided as exc:
        audit("decision_refused", reason="already_decided", decided_by=exc.decided_by, in_flight=exc.in_flight)
        state = t("A decision is in flight (not yet carried out)") if exc.in_flight else t("Already decided")
        message = t(
            "{state}: {outcome} by {user} at {time}. Your decision was not sent.", state=state,
            outcome=word(exc.outcome), user=exc.decided_by, time=local_time(exc.decided_at) or exc.decided_at,
        )  # fmt: skip
        if is_api(request):
            return fail(
                request, 409, "already_decided", message, decided_by=exc.decided_by, outcome=exc.outcome,
                in_flight=exc.in_flight, decision_id=exc.decision_id,
            )  # fmt: skip
        return await item_view(request, message_id, error=message, status=409, work=work)
    except ItemNotFound:
        return fail(request, 404, "not_found", t("No item {id} in the queue.", id=message_id))
    except PublishFailed:
        audit("decision_refused", reason="publish_failed")
        return fail(request, 503, "publish_failed", t("The decision could not be sent (broker unavailable); retry."))
    audit("decision", decision_id=decision.decision_id, comment=comment, tags=list(tags))
    if is_api(request):
        return web.json_response({"decision": decision.model_dump(mode="json")}, status=201)
    if work:  # work mode: on to the next item of the same queue
        return await next_response(request, work)
    return redirect(f"{render.item_url(message_id)}?decided=1")

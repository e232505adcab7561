"""A decision on an item (page form or JSON), recorded in the audit trail whether it is accepted or refused."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from modpipe.contracts import DecisionOutcome
from review.desk import render
from review.desk.exceptions import PublishFailed
from review.desk.i18n import local_time, t
from review.desk.item_routes import item_view
from review.desk.shown import word
from review.desk.tags import BadTags, allowed_tags, check_tags
from review.desk.web import ROLE, client_ip, fail, is_api, on_item, redirect, review_of
from review.desk.work_routes import next_response
from review.queue import AlreadyDecided, ItemNotFound

MAX_COMMENT = 2000
USAGE = 'JSON {"outcome": "confirmed"|"overturned", "comment": "", "tags": []}'


@dataclass(frozen=True)
class Asked:
    """What a decision or a correction asks for, from its JSON body or the page's form."""

    choice: str  # the outcome, or the correction's action
    text: str  # the comment, or the reason: trimmed, at most MAX_COMMENT characters
    tags: object  # as given: checked_tags checks them against the item
    work: str = ""  # the form's work mode: the queue to go on with after deciding


async def read_asked(request: web.Request, choice: str, text: str, usage: str) -> Asked | web.Response:
    """The request's `choice` and `text` fields and its tags, or the 400 to answer with (`usage` says what JSON is
    expected)."""
    if is_api(request):
        try:
            body = await request.json()
            given = Asked(str(body[choice]), str(body.get(text) or ""), body.get("tags"))
        except (ValueError, KeyError, TypeError, AttributeError):
            return fail(request, 400, "bad_request", usage)
    else:
        form = await request.post()
        tags = list(form.getall("tags", []))
        given = Asked(str(form.get(choice, "")), str(form.get(text, "")), tags, str(form.get("work", "")))
    return Asked(given.choice, given.text.strip()[:MAX_COMMENT], given.tags, given.work)


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
    review, session, message_id = on_item(request)
    asked = await read_asked(request, "outcome", "comment", USAGE)
    if isinstance(asked, web.Response):
        return asked
    comment, work = asked.text, asked.work
    try:
        outcome = DecisionOutcome(asked.choice)
    except ValueError:
        return fail(request, 400, "bad_request", t("outcome: confirmed or overturned"))
    if outcome is DecisionOutcome.REOPENED:
        return fail(request, 400, "bad_request", t("outcome: confirmed or overturned (a reopening is a correction)"))
    tags = await checked_tags(request, message_id, asked.tags)
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

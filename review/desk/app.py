"""The review web application (aiohttp): sign-in, the queue, an item, decisions; and the same as a JSON API.

Blocking work (Elasticsearch, argon2, the Kafka producer) runs in the app's own small thread pool.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from modpipe.clock import Clock, SystemClock
from modpipe.contracts import DecisionOutcome
from modpipe.settings import Settings
from review.desk import render
from review.desk.decide import Decider, KafkaPublisher, Publisher
from review.desk.exceptions import PublishFailed, UsersFileError
from review.desk.filters import BadFilter, parse_filter
from review.desk.sessions import Session, Sessions, Throttle, same_token
from review.desk.users import Accounts
from review.queue import AlreadyDecided, ItemNotFound, QueueStore, SearchUnavailable
from review.queue.exceptions import BadCursor

log = logging.getLogger("modpipe.review")
T = TypeVar("T")
COOKIE = "modpipe_review"
LOGIN_COOKIE = "modpipe_login"
STATIC = Path(__file__).with_name("static")
MAX_COMMENT = 2000
MAX_SELECTION = 100_000
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Review:
    settings: Settings
    store: QueueStore
    decider: Decider
    accounts: Accounts
    sessions: Sessions
    throttle: Throttle
    clock: Clock
    pool: ThreadPoolExecutor

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)


REVIEW = web.AppKey("review", Review)
SESSION = web.RequestKey("session", Session)


def _review(request: web.Request) -> Review:
    return request.app[REVIEW]


def _is_api(request: web.Request) -> bool:
    return request.path.startswith("/api/")


def _session_of(request: web.Request) -> tuple[Session | None, str]:
    review = _review(request)
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        return review.sessions.get(auth[7:].strip()), "bearer"
    return review.sessions.get(request.cookies.get(COOKIE)), "cookie"


PUBLIC = {"/login", "/api/login", "/healthz"}


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Everything but sign-in needs a live session of an account that still exists; cookie POSTs need the CSRF
    token (bearer-token API calls cannot be forged by another site, so they need none)."""
    if request.path in PUBLIC or request.path.startswith("/static/"):
        return await _headers(await handler(request))
    session, via = _session_of(request)
    if session is not None and not _review(request).accounts.exists(session.user):
        _review(request).sessions.end(session.token)
        session = None
    if session is None:
        if _is_api(request):
            return await _headers(web.json_response({"error": "not_signed_in"}, status=401))
        return await _headers(_redirect("/login"))
    if request.method == "POST" and via == "cookie":
        given = request.headers.get("X-CSRF-Token")
        if given is None and request.content_type == "application/x-www-form-urlencoded":
            given = str((await request.post()).get("csrf", ""))
        if not same_token(given, session.csrf):
            return await _headers(_fail(request, 403, "csrf", "This form has expired; reload the page and try again."))
    request[SESSION] = session
    try:
        return await _headers(await handler(request))
    except SearchUnavailable:
        log.exception("Elasticsearch unavailable")
        return await _headers(_fail(request, 503, "search_unavailable", "The queue store is unavailable; retry."))


async def _headers(response: web.StreamResponse) -> web.StreamResponse:
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; connect-src 'self'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if not isinstance(response, web.FileResponse):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _fail(request: web.Request, status: int, code: str, message: str, **extra: Any) -> web.Response:
    if _is_api(request):
        return web.json_response({"error": code, "message": message, **extra}, status=status)
    session = request.get(SESSION)
    html = render.error_page("Sorry", message, session.user if session else None, session.csrf if session else "")
    return web.Response(text=html, content_type="text/html", status=status)


def _redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, content_type="text/html", status=status)


# ---- sign in / out -------------------------------------------------------------------------------------------


async def login_form(request: web.Request) -> web.StreamResponse:
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    response = _html(render.login_page(token))
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="Strict", secure=request.secure, path="/login")
    return response


async def _check_password(request: web.Request, name: str, password: str) -> str | None:
    """None when signed in, else the message to show."""
    review = _review(request)
    if review.throttle.blocked(name):
        return "Too many failed attempts for this account; wait a few minutes."
    if not name or not password or not await review.run(review.accounts.verify, name, password):
        review.throttle.failed(name)
        return "Wrong account or password."
    review.throttle.succeeded(name)
    return None


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    name, password = str(form.get("username", "")), str(form.get("password", ""))
    login_token = request.cookies.get(LOGIN_COOKIE, "")
    if not login_token or not same_token(str(form.get("csrf", "")), login_token):
        return _html(render.login_page(login_token or secrets.token_urlsafe(24), "Reload the page and try again."), 403)
    problem = await _check_password(request, name, password)
    if problem:
        log.warning("failed sign-in for %r from %s", name, request.remote)
        return _html(render.login_page(login_token, problem, name), 401)
    session = _review(request).sessions.create(name)
    log.info("%s signed in from %s", name, request.remote)
    response = _redirect("/")
    response.set_cookie(
        COOKIE, session.token, httponly=True, samesite="Strict", secure=request.secure, path="/",
        max_age=_review(request).sessions.ttl_s,
    )  # fmt: skip
    response.del_cookie(LOGIN_COOKIE, path="/login")
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    session = request[SESSION]
    _review(request).sessions.end(session.token)
    if _is_api(request):
        return web.json_response({"signed_out": True})
    response = _redirect("/login")
    response.del_cookie(COOKIE, path="/")
    return response


async def api_login(request: web.Request) -> web.StreamResponse:
    try:
        body = await request.json()
        name, password = str(body["username"]), str(body["password"])
    except (ValueError, KeyError, TypeError):
        return web.json_response({"error": "bad_request", "message": "JSON {username, password}"}, status=400)
    problem = await _check_password(request, name, password)
    if problem:
        return web.json_response({"error": "not_signed_in", "message": problem}, status=401)
    session = _review(request).sessions.create(name)
    return web.json_response({"token": session.token, "expires_at": session.expires_at.isoformat(), "user": name})


# ---- queue and items -----------------------------------------------------------------------------------------


async def queue(request: web.Request) -> web.StreamResponse:
    review = _review(request)
    session = request[SESSION]
    query = dict(request.query)
    try:
        flt = parse_filter(query, review.clock.now())
    except BadFilter as exc:
        return _fail(request, 400, "bad_filter", str(exc))
    try:
        page = await review.run(review.store.search, flt, query.get("cursor") or None)
    except BadCursor as exc:
        return _fail(request, 400, "bad_cursor", str(exc))
    if _is_api(request):
        return web.json_response(
            {
                "total": page.total, "counts": page.counts, "position": page.position,
                "next_cursor": page.next_cursor, "items": [_api_item(i) for i in page.items],
            }
        )  # fmt: skip
    return _html(render.queue_page(review.settings, page, flt, query, session.user, session.csrf))


async def selection(request: web.Request) -> web.StreamResponse:
    """The ids of every item the filters match, from one snapshot: what a bulk action over a whole queue acts on."""
    review = _review(request)
    try:
        flt = parse_filter(dict(request.query), review.clock.now())
        limit = int(request.query.get("limit", str(MAX_SELECTION)) or MAX_SELECTION)
    except BadFilter as exc:
        return _fail(request, 400, "bad_filter", str(exc))
    except ValueError:
        return _fail(request, 400, "bad_filter", f"limit: a whole number from 1 to {MAX_SELECTION}")
    if not 1 <= limit <= MAX_SELECTION:
        return _fail(request, 400, "bad_filter", f"limit: a whole number from 1 to {MAX_SELECTION}")
    ids = await review.run(review.store.select_ids, flt, limit)
    return web.json_response({"count": len(ids), "limit": limit, "ids": ids})


def _api_item(item: Any) -> dict[str, Any]:
    source = dict(item.source)
    moderation = {k: v for k, v in (source.get("moderation") or {}).items() if k != "tokens"}
    return {"id": item.id, "status": render.status_of(item), **source, "moderation": moderation}


async def _item_view(
    request: web.Request, message_id: str, notice: str = "", error: str = "", status: int = 200
) -> web.StreamResponse:
    review = _review(request)
    session = request[SESSION]
    try:
        item = await review.run(review.store.get, message_id)
    except ItemNotFound:
        return _fail(request, 404, "not_found", f"No item {message_id} in the queue.")
    parent_id = item.source.get("labels", {}).get("parent_id")
    parent = await review.run(review.store.find, parent_id) if parent_id else None
    author = item.source.get("user", {}).get("id")
    author_items = await review.run(review.store.by_author, author, item.id) if author else []
    if _is_api(request):
        body = {
            **_api_item(item),
            "parent": _api_item(parent) if parent else None,
            "author_items": [_api_item(i) for i in author_items],
        }
        return web.json_response(body, status=status)
    html = render.item_page(
        review.settings, item, parent, author_items, session.user, session.csrf, notice=notice, error=error
    )
    return _html(html, status)


async def item(request: web.Request) -> web.StreamResponse:
    notice = "Your decision was recorded and sent for execution." if request.query.get("decided") else ""
    return await _item_view(request, request.match_info["message_id"], notice=notice)


async def decide(request: web.Request) -> web.StreamResponse:
    review = _review(request)
    session = request[SESSION]
    message_id = request.match_info["message_id"]
    if _is_api(request):
        try:
            body = await request.json()
            outcome_raw, comment = str(body["outcome"]), str(body.get("comment") or "")
        except (ValueError, KeyError, TypeError):
            return _fail(request, 400, "bad_request", 'JSON {"outcome": "confirmed"|"overturned", "comment": ""}')
    else:
        form = await request.post()
        outcome_raw, comment = str(form.get("outcome", "")), str(form.get("comment", ""))
    try:
        outcome = DecisionOutcome(outcome_raw)
    except ValueError:
        return _fail(request, 400, "bad_request", "outcome: confirmed or overturned")
    comment = comment.strip()[:MAX_COMMENT]
    try:
        decision = await review.run(review.decider.decide, message_id, outcome, session.user, comment)
    except AlreadyDecided as exc:
        state = "A decision is in flight (not yet carried out)" if exc.in_flight else "Already decided"
        message = f"{state}: {exc.outcome} by {exc.decided_by} at {exc.decided_at}. Your decision was not sent."
        if _is_api(request):
            return _fail(
                request, 409, "already_decided", message, decided_by=exc.decided_by, outcome=exc.outcome,
                in_flight=exc.in_flight, decision_id=exc.decision_id,
            )  # fmt: skip
        return await _item_view(request, message_id, error=message, status=409)
    except ItemNotFound:
        return _fail(request, 404, "not_found", f"No item {message_id} in the queue.")
    except PublishFailed:
        return _fail(request, 503, "publish_failed", "The decision could not be sent (broker unavailable); retry.")
    if _is_api(request):
        return web.json_response({"decision": decision.model_dump(mode="json")}, status=201)
    return _redirect(f"{render.item_url(message_id)}?decided=1")


async def healthz(request: web.Request) -> web.StreamResponse:
    return web.json_response({"ok": True})


# ---- assembly ------------------------------------------------------------------------------------------------


def users_path(settings: Settings) -> Path:
    if not settings.review.users_file:
        raise UsersFileError("no users file: set review.users_file (env MODPIPE__REVIEW__USERS_FILE)")
    return Path(settings.review.users_file)


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    publisher: Publisher | None = None,
    store: QueueStore | None = None,
) -> web.Application:
    """The application; it opens its Elasticsearch and Kafka clients on start-up and closes them on clean-up."""
    path = users_path(settings)
    Accounts(path)._current()  # a malformed users file stops start-up with its line number
    clk = clock or SystemClock()
    app = web.Application(middlewares=[guard], client_max_size=64 * 1024)

    async def resources(app: web.Application) -> Any:
        pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="review")
        own_store = store or QueueStore(settings)
        pub: Publisher
        if publisher is not None:
            pub = publisher
        else:
            pub = await asyncio.get_running_loop().run_in_executor(pool, KafkaPublisher, settings)
        app[REVIEW] = Review(
            settings, own_store, Decider(own_store, pub, clk), Accounts(path),
            Sessions(clk, settings.review.session_ttl_s), Throttle(clk), clk, pool,
        )  # fmt: skip
        yield
        await asyncio.get_running_loop().run_in_executor(pool, pub.close)
        if store is None:
            own_store.close()
        pool.shutdown(wait=True)

    app.cleanup_ctx.append(resources)
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login)
    app.router.add_post("/api/login", api_login)
    app.router.add_get("/", queue)
    app.router.add_get("/api/items", queue)
    app.router.add_get("/api/selection", selection)
    # The page and the API share these handlers: each answers in the form the request's path asks for.
    for prefix in ("", "/api"):
        app.router.add_post(f"{prefix}/logout", logout)
        app.router.add_get(f"{prefix}/items/{{message_id}}", item)
        app.router.add_post(f"{prefix}/items/{{message_id}}/decision", decide)
    app.router.add_get("/healthz", healthz)
    app.router.add_static("/static/", STATIC)
    return app


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    app = create_app(settings)
    web.run_app(app, host=host or settings.review.host, port=port or settings.review.port, print=None)

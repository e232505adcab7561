"""The review web application (aiohttp): sign-in, the queue, an item, decisions; and the same as a JSON API.

The routes live by concern (auth_routes, item_routes, decision_routes, admin_routes); who may call each is the
table in review.desk.roles, applied by review.desk.guard. Blocking work (Elasticsearch, the Kafka producer) runs in
the app's own small thread pool; password checks in a smaller one of their own (auth_routes).
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from aiohttp import web

from modpipe.clock import Clock, SystemClock
from modpipe.settings import Settings
from retention.store import Store
from review.desk import (
    admin_routes,
    auth_routes,
    correction_routes,
    decision_routes,
    item_routes,
    measure_routes,
    qa_routes,
    work_routes,
)  # fmt: skip
from review.desk.assignments import Assignments
from review.desk.audit import AuditLog
from review.desk.context import ContextReader
from review.desk.decide import Decider, KafkaPublisher, Publisher
from review.desk.exceptions import PortBusy, UsersFileError
from review.desk.guard import guard
from review.desk.i18n import speech_for
from review.desk.roles import ACCESS, PUBLIC
from review.desk.sessions import Sessions
from review.desk.speaking import SPEECH, speak
from review.desk.throttle import LoginBrake
from review.desk.users import Accounts
from review.desk.web import REVIEW, Review
from review.queue import QueueStore
from review.queue.claims import Claims

STATIC = Path(__file__).with_name("static")


async def healthz(request: web.Request) -> web.StreamResponse:
    return web.json_response({"ok": True})


def users_path(settings: Settings) -> Path:
    if not settings.review.users_file:
        raise UsersFileError("no users file: set review.users_file (env MODPIPE__REVIEW__USERS_FILE)")
    return Path(settings.review.users_file)


def audit_path(settings: Settings) -> Path:
    """Setting review.audit_file, else audit.jsonl beside the users file (the desk's own folder)."""
    if settings.review.audit_file:
        return Path(settings.review.audit_file)
    return users_path(settings).with_name("audit.jsonl")


def assignments_path(settings: Settings) -> Path:
    """The seniors' queue assignments: assignments.json beside the users file."""
    return users_path(settings).with_name("assignments.json")


def _routes(app: web.Application) -> None:
    add = app.router
    add.add_get("/login", auth_routes.login_form)
    add.add_post("/login", auth_routes.login)
    add.add_post("/logout", auth_routes.logout)
    add.add_get("/", item_routes.queue)
    add.add_get("/items/{message_id}", item_routes.item)
    add.add_post("/items/{message_id}/decision", decision_routes.decide)
    add.add_post("/api/login", auth_routes.api_login)
    add.add_post("/api/logout", auth_routes.logout)
    add.add_get("/api/items", item_routes.queue)
    add.add_get("/api/selection", item_routes.selection)
    add.add_get("/api/items/{message_id}", item_routes.item)
    add.add_post("/api/items/{message_id}/decision", decision_routes.decide)
    add.add_post("/work", work_routes.start)
    add.add_post("/items/{message_id}/skip", work_routes.skip)
    add.add_post("/api/items/{message_id}/claim", work_routes.renew)
    add.add_post("/bulk", work_routes.bulk_form)
    add.add_post("/api/bulk", work_routes.bulk_api)
    add.add_get("/assignments", work_routes.assignments_page)
    add.add_post("/assignments", work_routes.assign)
    add.add_get("/api/assignments", work_routes.assignments_api)
    add.add_post("/items/{message_id}/correction", correction_routes.correct)
    add.add_post("/api/items/{message_id}/correction", correction_routes.correct)
    add.add_get("/accounts", admin_routes.accounts_page)
    add.add_get("/api/users", admin_routes.accounts)
    add.add_get("/api/audit", admin_routes.audit)
    add.add_get("/healthz", healthz)
    add.add_static("/static/", STATIC)
    missing = [
        f"{r.method} {r.resource.canonical}"
        for r in add.routes()
        if r.resource is not None and r.method != "HEAD" and not r.resource.canonical.startswith("/static")
        and r.resource.canonical not in PUBLIC and (r.method, r.resource.canonical) not in ACCESS
    ]  # fmt: skip
    if missing:
        raise AssertionError(f"routes without roles in review.desk.roles.ACCESS: {missing}")


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
    proxies = tuple(ipaddress.ip_network(p, strict=False) for p in settings.review.trusted_proxies)
    app = web.Application(middlewares=[speak, guard], client_max_size=64 * 1024)
    app[SPEECH] = speech_for(settings)
    app[auth_routes.HASHING] = auth_routes.Hashing()

    async def resources(app: web.Application) -> Any:
        pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="review")
        own_store = store or QueueStore(settings)
        pub: Publisher
        if publisher is not None:
            pub = publisher
        else:
            pub = await asyncio.get_running_loop().run_in_executor(pool, KafkaPublisher, settings)
        # The records (S3) give the context the queue lacks: messages the machine passed (review.desk.context).
        records = Store(settings, timeout_s=10.0)
        app[REVIEW] = Review(
            settings, own_store, Decider(own_store, pub, clk), Accounts(path),
            Sessions(clk, settings.review.session_ttl_s), LoginBrake(clk), AuditLog(audit_path(settings), clk), clk,
            pool, proxies, ContextReader(settings, own_store, records),
        )  # fmt: skip
        app[work_routes.WORK] = work_routes.Work(Claims(settings), Assignments(assignments_path(settings)))
        yield
        app[work_routes.WORK].claims.close()
        records.close()
        await asyncio.get_running_loop().run_in_executor(pool, pub.close)
        if store is None:
            own_store.close()
        pool.shutdown(wait=True)
        app[auth_routes.HASHING].pool.shutdown(wait=True)

    app.cleanup_ctx.append(resources)
    qa_routes.install(app, settings)
    measure_routes.install(app, settings)
    _routes(app)
    return app


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Raises PortBusy when the address is taken (one clear line for the operator, not a traceback)."""
    app = create_app(settings)
    bind_host, bind_port = host or settings.review.host, port or settings.review.port
    try:
        # Bound before start-up, so a taken port is said at once, not after connecting to the broker.
        sock = socket.create_server((bind_host, bind_port), reuse_port=False)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise PortBusy(f"{bind_host}:{bind_port} is already in use (setting review.port or --port)") from exc
        raise
    web.run_app(app, sock=sock, print=None)

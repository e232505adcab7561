"""What every route of the review desk shares: the app's state, the signed-in session, the client behind a trusted
proxy, error answers (JSON for the API, a page otherwise) and the security headers."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

from modpipe.clock import Clock
from modpipe.settings import Settings
from review.desk import render
from review.desk.audit import AuditLog
from review.desk.context import ContextReader
from review.desk.decide import Decider
from review.desk.i18n import t
from review.desk.roles import SEES_SOURCE_IP, Role
from review.desk.sessions import Session, Sessions
from review.desk.throttle import LoginBrake
from review.desk.users import Accounts
from review.queue import QueueStore

T = TypeVar("T")
COOKIE = "modpipe_review"
LOGIN_COOKIE = "modpipe_login"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass
class Review:
    settings: Settings
    store: QueueStore
    decider: Decider
    accounts: Accounts
    sessions: Sessions
    brake: LoginBrake
    audit: AuditLog
    clock: Clock
    pool: ThreadPoolExecutor
    proxies: tuple[Network, ...] = ()
    context: ContextReader | None = None

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)


REVIEW = web.AppKey("review", Review)
SESSION = web.RequestKey("session", Session)
ROLE = web.RequestKey("role", Role)


def review_of(request: web.Request) -> Review:
    return request.app[REVIEW]


def on_item(request: web.Request) -> tuple[Review, Session, str]:
    """What a route acting on one queue item works with: the desk, the signed-in session and the item's id."""
    return review_of(request), request[SESSION], request.match_info["message_id"]


def is_api(request: web.Request) -> bool:
    return request.path.startswith("/api/")


def _trusted(review: Review, address: str | None) -> bool:
    if not address or not review.proxies:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in review.proxies)


def client_ip(request: web.Request) -> str:
    """The peer, or, when the peer is a configured proxy, the nearest untrusted address it forwarded: a header
    from anyone else is ignored, or any client could pick the address its failed logins are counted under."""
    review = review_of(request)
    remote = request.remote or "unknown"
    if not _trusted(review, remote):
        return remote
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(review, hop):
            return hop
    return hops[0] if hops else remote


def is_secure(request: web.Request) -> bool:
    """TLS to the browser: our own, or a configured proxy's that says so in X-Forwarded-Proto."""
    if request.secure:
        return True
    proto = request.headers.get("X-Forwarded-Proto", "").split(",")[-1].strip().lower()
    return proto == "https" and _trusted(review_of(request), request.remote)


def sees_source_ip(request: web.Request) -> bool:
    return request.get(ROLE) in SEES_SOURCE_IP


def fail(request: web.Request, status: int, code: str, message: str, **extra: Any) -> web.Response:
    if is_api(request):
        return web.json_response({"error": code, "message": message, **extra}, status=status)
    session = request.get(SESSION)
    html = render.error_page(t("Sorry"), message, session.user if session else None, session.csrf if session else "")
    return web.Response(text=html, content_type="text/html", status=status)


def redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, content_type="text/html", status=status)


def set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str, path: str, **kw: Any) -> None:
    response.set_cookie(name, value, httponly=True, samesite="Strict", secure=is_secure(request), path=path, **kw)


def add_headers(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; connect-src 'self'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if is_secure(request):
        # Only over TLS: HSTS sent over plain HTTP is ignored by browsers, and on a dev box it would pin localhost.
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if not isinstance(response, web.FileResponse):
        response.headers.setdefault("Cache-Control", "no-store")
    return response

"""The middleware that makes every request speak the configured language and show times in the configured zone
(review.desk.i18n), error pages of the guard included."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from review.desk.i18n import Speech, speaking

SPEECH = web.AppKey("speech", Speech)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def speak(request: web.Request, handler: Handler) -> web.StreamResponse:
    # A contextvar, not an argument: aiohttp runs each request in a task of its own, so what one request speaks
    # never leaks into another, and render code deep in a page needs no extra parameter to translate.
    with speaking(request.app[SPEECH]):
        return await handler(request)

"""The accounts (admin) and the audit trail (auditor, admin), read-only: accounts are changed with
`modpipe review users ...` on the server, where the operator already is."""

from __future__ import annotations

from aiohttp import web

from review.desk import render
from review.desk.i18n import t
from review.desk.shown import te
from review.desk.web import SESSION, fail, html, review_of

MAX_AUDIT = 10_000


async def accounts(request: web.Request) -> web.StreamResponse:
    listing = review_of(request).accounts.listing()
    return web.json_response({"users": [{"name": name, "role": role.value} for name, role in listing]})


async def accounts_page(request: web.Request) -> web.StreamResponse:
    """Where an admin lands after signing in: the accounts and how to change them (on the server)."""
    session = request[SESSION]
    rows = "".join(
        f'<tr data-user="{render.e(name)}"><td>{render.e(name)}</td><td>{render.e(role.value)}</td></tr>'
        for name, role in review_of(request).accounts.listing()
    )
    body = (
        f'<h1>{render.e(t("Accounts"))}</h1><table class="accounts"><thead><tr><th>{render.e(t("Name"))}</th>'
        f"<th>{render.e(t('Role'))}</th></tr></thead><tbody>{rows}</tbody></table><p>"
        + te(
            "Add, change or remove accounts on the server: {add}, {remove}.",
            add="<code>modpipe review users add NAME --role moderator|senior|auditor|admin</code>",
            remove="<code>modpipe review users remove NAME</code>",
        )
        + "</p>"
    )
    return html(render.layout(t("Accounts"), body, session.user, session.csrf))


async def audit(request: web.Request) -> web.StreamResponse:
    try:
        limit = int(request.query.get("limit", "1000"))
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_AUDIT:
        return fail(request, 400, "bad_request", t("limit: a whole number from 1 to {max}", max=MAX_AUDIT))
    review = review_of(request)
    return web.json_response({"events": await review.run(review.audit.tail, limit)})

"""Who may do what on the review desk: four roles and one table of route -> roles that the guard applies to every
route and API call. A route missing from the table is refused to everyone (create_app also refuses to start)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    MODERATOR = "moderator"
    SENIOR = "senior"
    AUDITOR = "auditor"
    ADMIN = "admin"


MOD, SENIOR, AUDITOR, ADMIN = Role.MODERATOR, Role.SENIOR, Role.AUDITOR, Role.ADMIN
ANY = frozenset(Role)
READERS = frozenset({MOD, SENIOR, AUDITOR})
DECIDERS = frozenset({MOD, SENIOR})
# Reopening or reversing a carried-out decision is a senior's (issue 16): a second pair of eyes on the first.
CORRECTORS = frozenset({SENIOR})
# Source IPs are personal data (PIPL) only needed to escalate a case to the police or to investigate abuse:
# seniors escalate, auditors check the escalations, admins investigate account abuse; moderators judge the text.
SEES_SOURCE_IP = frozenset({SENIOR, AUDITOR, ADMIN})
QA_OVERSIGHT = frozenset({SENIOR, AUDITOR, ADMIN})

PUBLIC = frozenset({"/login", "/api/login", "/healthz"})

ACCESS: dict[tuple[str, str], frozenset[Role]] = {
    ("POST", "/logout"): ANY,
    ("POST", "/api/logout"): ANY,
    ("GET", "/"): READERS,
    ("GET", "/api/items"): READERS,
    ("GET", "/api/selection"): READERS,
    ("GET", "/items/{message_id}"): READERS,
    ("GET", "/api/items/{message_id}"): READERS,
    ("POST", "/items/{message_id}/decision"): DECIDERS,
    ("POST", "/api/items/{message_id}/decision"): DECIDERS,
    # Working the queue (review.desk.work_routes): claims, work mode, bulk decisions; seniors assign queues.
    ("POST", "/work"): DECIDERS,
    ("POST", "/items/{message_id}/skip"): DECIDERS,
    ("POST", "/api/items/{message_id}/claim"): DECIDERS,
    ("POST", "/bulk"): DECIDERS,
    ("POST", "/api/bulk"): DECIDERS,
    ("GET", "/assignments"): frozenset({SENIOR}),
    ("POST", "/assignments"): frozenset({SENIOR}),
    ("GET", "/api/assignments"): frozenset({SENIOR, AUDITOR}),
    ("POST", "/items/{message_id}/correction"): CORRECTORS,
    ("POST", "/api/items/{message_id}/correction"): CORRECTORS,
    # Graded measures (L6): everyone who reads items sees them; only a senior lifts one or changes the blacklist.
    ("GET", "/api/items/{message_id}/measures"): READERS,
    ("POST", "/items/{message_id}/measures/lift"): frozenset({SENIOR}),
    ("POST", "/api/items/{message_id}/measures/lift"): frozenset({SENIOR}),
    ("POST", "/items/{message_id}/measures/blacklist"): frozenset({SENIOR}),
    ("POST", "/api/items/{message_id}/measures/blacklist"): frozenset({SENIOR}),
    ("GET", "/accounts"): frozenset({ADMIN}),
    ("GET", "/api/users"): frozenset({ADMIN}),
    ("GET", "/api/audit"): frozenset({AUDITOR, ADMIN}),
    # Quality sampling (review.desk.qa_routes): deciders judge drawn verdicts; the estimates are for oversight.
    ("GET", "/qa"): DECIDERS,
    ("GET", "/api/qa/items"): DECIDERS,
    ("POST", "/qa/items/{qa_id}/answer"): DECIDERS,
    ("POST", "/api/qa/items/{qa_id}/answer"): DECIDERS,
    ("GET", "/qa/dashboard"): QA_OVERSIGHT,
    ("GET", "/api/qa/dashboard"): QA_OVERSIGHT,
}


def home(role: Role) -> str:
    """Where a role lands after signing in."""
    return "/accounts" if role is ADMIN else "/"


def allowed(method: str, route: str, role: Role | None) -> bool:
    """`route` is the route's canonical pattern (e.g. /items/{message_id}); HEAD follows GET."""
    roles = ACCESS.get(("GET" if method == "HEAD" else method, route))
    return role is not None and roles is not None and role in roles


def parse_role(text: str) -> Role:
    try:
        return Role(text)
    except ValueError:
        raise ValueError(f"role {text!r}: one of {', '.join(r.value for r in Role)}") from None

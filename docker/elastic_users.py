"""One-shot: set the built-in kibana_system password and create the pipeline's own Elasticsearch user and role.

Runs as `elastic` (ELASTIC_PASSWORD) against MODPIPE__ELASTICSEARCH__URL. Kibana signs in as kibana_system
(KIBANA_SYSTEM_PASSWORD); the workers and the review page sign in as MODPIPE__ELASTICSEARCH__USERNAME with a role
limited to the moderation-queue indices, so the superuser password lives only in the one-shot services. Every call
is an upsert: running it again on each `up` changes nothing unless a password in the env file changed.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ROLE = "modpipe_pipeline"
DEFAULT_INDEX = "modpipe-queue"
ATTEMPTS = 30
RETRY_S = 2.0
MIN_PASSWORD = 12


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: dict[str, Any]
    what: str


class SetupError(Exception):
    pass


def role_body(index: str) -> dict[str, Any]:
    # The queue worker's first write sets the index up itself when `search init` has not (review.queue.sink:
    # template, mapping, alias), so the role may manage templates and the queue indices, and nothing else.
    return {
        "cluster": ["monitor", "manage_index_templates"],
        "indices": [
            {
                "names": [index, f"{index}-*"],
                "privileges": ["read", "write", "create_index", "view_index_metadata", "manage"],
            }
        ],
    }


def calls(environ: Mapping[str, str]) -> list[Call]:
    """What to send, from the environment; raises SetupError naming every missing or weak secret."""
    missing = []
    for name in ("ELASTIC_PASSWORD", "KIBANA_SYSTEM_PASSWORD", "MODPIPE__ELASTICSEARCH__PASSWORD"):
        if len(environ.get(name, "")) < MIN_PASSWORD:
            missing.append(f"{name} (at least {MIN_PASSWORD} characters)")
    user = environ.get("MODPIPE__ELASTICSEARCH__USERNAME", "")
    if not user or user in {"elastic", "kibana_system"}:
        missing.append("MODPIPE__ELASTICSEARCH__USERNAME (a user of its own, not elastic or kibana_system)")
    if missing:
        raise SetupError("set in the env file: " + ", ".join(missing))
    index = environ.get("MODPIPE__ELASTICSEARCH__INDEX") or DEFAULT_INDEX
    return [
        Call(
            "POST",
            "/_security/user/kibana_system/_password",
            {"password": environ["KIBANA_SYSTEM_PASSWORD"]},
            "kibana_system password",
        ),
        Call("PUT", f"/_security/role/{ROLE}", role_body(index), f"role {ROLE} on {index}*"),
        Call(
            "PUT",
            f"/_security/user/{user}",
            {
                "password": environ["MODPIPE__ELASTICSEARCH__PASSWORD"],
                "roles": [ROLE],
                "full_name": "modpipe workers and review page",
            },
            f"user {user}",
        ),
    ]


def send(base_url: str, password: str, call: Call, timeout: float = 15.0) -> None:
    if not base_url.startswith(("http://", "https://")):
        raise SetupError(f"MODPIPE__ELASTICSEARCH__URL is not an http(s) URL: {base_url!r}")
    token = base64.b64encode(f"elastic:{password}".encode()).decode("ascii")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        base_url.rstrip("/") + call.path,
        data=json.dumps(call.body).encode(),
        method=call.method,
        headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        response.read()


def run(environ: Mapping[str, str], attempts: int = ATTEMPTS) -> None:
    todo = calls(environ)
    url = environ.get("MODPIPE__ELASTICSEARCH__URL", "")
    for call in todo:
        for attempt in range(1, attempts + 1):
            try:
                send(url, environ["ELASTIC_PASSWORD"], call)
                break
            except urllib.error.HTTPError as exc:
                detail = exc.read()[:300].decode(errors="replace")
                exc.close()
                # 401/403/400 will not heal by waiting: a wrong elastic password or a rejected body.
                if exc.code not in {429, 502, 503, 504} or attempt == attempts:
                    raise SetupError(f"{call.what}: HTTP {exc.code} {detail}") from None
            except (urllib.error.URLError, OSError) as exc:
                if attempt == attempts:
                    raise SetupError(f"{call.what}: {url} unreachable: {exc}") from None
            time.sleep(RETRY_S)
        print(f"elasticsearch: {call.what} set")


def main(argv: Sequence[str] | None = None) -> int:
    del argv
    try:
        run(os.environ)
    except SetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

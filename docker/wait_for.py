"""Wait until a service reports itself ready: `wait_for.py kibana URL [--timeout SECONDS]`.

Kibana's container healthcheck reads the redacted status Kibana gives anyone; this reads the full status with the
set-up's credentials (MODPIPE__ELASTICSEARCH__USERNAME/PASSWORD), so the set-up also waits out a Kibana that fell
back to unavailable after its container turned healthy, before importing saved objects.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Any

POLL_S = 5.0


def kibana_level(body: bytes) -> str | None:
    """The overall level of a Kibana 8/9 status document (available, degraded, unavailable, critical)."""
    try:
        doc: Any = json.loads(body)
        level = doc["status"]["overall"]["level"]
    except (ValueError, KeyError, TypeError):
        return None
    return level if isinstance(level, str) else None


def auth_header(environ: Mapping[str, str]) -> dict[str, str]:
    user = environ.get("MODPIPE__ELASTICSEARCH__USERNAME", "")
    password = environ.get("MODPIPE__ELASTICSEARCH__PASSWORD", "")
    if not user:
        return {}
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


def kibana_status(url: str, headers: Mapping[str, str], timeout: float = 10.0) -> str:
    """The level, or why there is none yet."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {url!r}")
    # The scheme is checked above.
    request = urllib.request.Request(url.rstrip("/") + "/api/status", headers=dict(headers))  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = response.read()
    except urllib.error.HTTPError as exc:
        # Kibana answers 503 with the status document while a plugin is still starting.
        body = exc.read()
        exc.close()
        if not body:
            return f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return f"unreachable: {exc}"
    return kibana_level(body) or "no status document"


def wait(
    probe: Callable[[], str],
    timeout: float,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], float] = time.monotonic,
    say: Callable[[str], None] = print,
) -> bool:
    deadline = now() + timeout
    last = ""
    while True:
        state = probe()
        if state == "available":
            say("kibana: available")
            return True
        if state != last:
            say(f"kibana: {state}; waiting")
            last = state
        if now() >= deadline:
            return False
        sleep(POLL_S)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("service", choices=["kibana"])
    parser.add_argument("url")
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args(argv)
    headers = auth_header(os.environ)
    if wait(lambda: kibana_status(args.url, headers), args.timeout):
        return 0
    print(f"kibana at {args.url} did not report available within {args.timeout:.0f}s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())

"""Container healthcheck without curl: exit 0 when the service's /healthz answers 2xx in time, else 1.

The URL is the first argument, else MODPIPE_HEALTHCHECK_URL, else a worker's default web port. Standard library
only, so it works in the slim image as the HEALTHCHECK of every service built from it.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence

DEFAULT_URL = "http://127.0.0.1:6066/healthz"
TIMEOUT_S = 4.0


def target(argv: Sequence[str], environ: Mapping[str, str]) -> str:
    if argv:
        return argv[0]
    return environ.get("MODPIPE_HEALTHCHECK_URL") or DEFAULT_URL


def problem(url: str, timeout: float = TIMEOUT_S) -> str | None:
    """None when healthy, else what is wrong, for `docker inspect` to show."""
    if not url.startswith(("http://", "https://")):
        return f"not an http(s) URL: {url!r}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - scheme checked above
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        return f"{url} answered {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return f"{url} unreachable: {exc}"
    return None if 200 <= status < 300 else f"{url} answered {status}"


def main(argv: Sequence[str] | None = None) -> int:
    url = target(sys.argv[1:] if argv is None else argv, os.environ)
    found = problem(url)
    if found is not None:
        print(found, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

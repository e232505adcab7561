"""Kibana saved objects shipped under config/kibana/*.ndjson, and their import through the saved-objects API.

Kibana answers 200 even when some objects failed (`success: false`, `errors: [...]`), so the answer's body, not
its status, decides whether the import worked.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from modpipe.errors import TerminalError

DATA_VIEW_ID = "modpipe-queue"
LINK_FIELD = "event.id"


class KibanaImportError(TerminalError):
    """Kibana refused the saved objects, or answered with something that is not Kibana."""


def load_objects(folder: Path) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    files = sorted(folder.glob("*.ndjson"))
    if not files:
        raise KibanaImportError(f"no *.ndjson files in {folder}")
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                try:
                    objects.append(json.loads(line))
                except ValueError as exc:
                    raise KibanaImportError(f"{path.name}:{number}: not JSON: {exc}") from exc
    return objects


def customise(objects: Iterable[dict[str, Any]], index: str, review_url: str) -> list[dict[str, Any]]:
    """Point the data view at this deployment's queue alias and its item links at this review page."""
    out = []
    for original in objects:
        obj = json.loads(json.dumps(original))
        if obj.get("type") == "index-pattern" and obj.get("id") == DATA_VIEW_ID:
            attrs = obj["attributes"]
            attrs["title"] = index
            formats = json.loads(attrs.get("fieldFormatMap") or "{}")
            link = formats.setdefault(LINK_FIELD, {"id": "url", "params": {}})
            link["params"]["urlTemplate"] = review_url.rstrip("/") + "/items/{{value}}"
            link["params"].setdefault("labelTemplate", "{{value}}")
            attrs["fieldFormatMap"] = json.dumps(formats, ensure_ascii=False)
        out.append(obj)
    return out


def to_ndjson(objects: Iterable[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects).encode()


@dataclass(frozen=True)
class ImportResult:
    success_count: int
    errors: list[dict[str, Any]]


def check_response(status: int, body: Any) -> ImportResult:
    if status >= 300:
        raise KibanaImportError(f"Kibana answered HTTP {status}: {str(body)[:500]}")
    if not isinstance(body, dict):
        raise KibanaImportError(f"unexpected answer from Kibana: {str(body)[:500]}")
    errors = list(body.get("errors") or [])
    if body.get("success") is not True or errors:
        details = "; ".join(
            f"{err.get('type')}/{err.get('id')}: {json.dumps(err.get('error'), ensure_ascii=False)}" for err in errors
        )
        raise KibanaImportError(f"Kibana reported a failed import: {details or json.dumps(body)[:500]}")
    return ImportResult(int(body.get("successCount", 0)), [])


async def import_objects(
    url: str,
    payload: bytes,
    *,
    user: str | None = None,
    password: str | None = None,
    space: str | None = None,
    timeout_s: float = 60,
) -> ImportResult:
    base = url.rstrip("/")
    if space:
        base += f"/s/{quote(space, safe='')}"
    form = aiohttp.FormData()
    form.add_field("file", payload, filename="modpipe.ndjson", content_type="application/ndjson")
    headers = {"kbn-xsrf": "modpipe"}
    if user:
        token = base64.b64encode(f"{user}:{password or ''}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as session:
        try:
            async with session.post(
                f"{base}/api/saved_objects/_import", params={"overwrite": "true"}, data=form, headers=headers,
            ) as response:  # fmt: skip
                try:
                    body = await response.json(content_type=None)
                except ValueError:
                    body = await response.text()
                return check_response(response.status, body)
        except aiohttp.ClientError as exc:
            raise KibanaImportError(f"no answer from Kibana at {url}: {exc}") from exc

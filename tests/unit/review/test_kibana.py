"""The shipped Kibana objects (structure, ids, references, fields) and `modpipe kibana import`'s failure detection.

No Kibana can run on these machines, so the import is tested against a small aiohttp server in the test that
answers the way Kibana's saved-objects import API does (200 with `success` and `errors` in the body).
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from typer.testing import CliRunner

from modpipe.cli.main import app as cli
from modpipe.settings import load_settings
from review.desk.kibana import (
    DATA_VIEW_ID,
    KibanaImportError,
    check_response,
    customise,
    import_objects,
    load_objects,
    to_ndjson,
)
from review.queue.mapping import properties
from tests.support import REPO

FOLDER = REPO / "config" / "kibana"
FIXED_IDS = {
    "modpipe-queue", "modpipe-pending-by-category", "modpipe-blocked-24h", "modpipe-by-service-type",
    "modpipe-by-author", "modpipe-vis-category-over-time", "modpipe-vis-queue-by-status",
    "modpipe-vis-decisions-per-moderator", "modpipe-moderation", "modpipe-reported-by-due",
}  # fmt: skip


def _mapped_fields() -> set[str]:
    found: set[str] = set()

    def walk(props: dict[str, Any], prefix: str) -> None:
        for name, spec in props.items():
            found.add(prefix + name)
            walk(spec.get("properties", {}), prefix + name + ".")
            for sub in spec.get("fields", {}):
                found.add(f"{prefix}{name}.{sub}")

    walk(properties(load_settings(environ={})), "")
    return found


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return load_objects(FOLDER)


def test_every_object_has_a_fixed_unique_id(objects: list[dict[str, Any]]) -> None:
    ids = [o["id"] for o in objects]
    assert len(ids) == len(set(ids))
    assert set(ids) == FIXED_IDS
    types = {o["id"]: o["type"] for o in objects}
    assert types[DATA_VIEW_ID] == "index-pattern"
    assert [t for t in types.values()].count("search") == 5
    assert types["modpipe-moderation"] == "dashboard"


def test_every_reference_resolves_to_a_shipped_object(objects: list[dict[str, Any]]) -> None:
    known = {(o["type"], o["id"]) for o in objects}
    for obj in objects:
        for ref in obj.get("references", []):
            assert (ref["type"], ref["id"]) in known, f"{obj['id']} refers to missing {ref}"
        meta = obj["attributes"].get("kibanaSavedObjectMeta", {}).get("searchSourceJSON")
        if meta and "indexRefName" in json.loads(meta):
            names = {r["name"] for r in obj["references"]}
            assert json.loads(meta)["indexRefName"] in names


def test_dashboard_panels_match_its_references(objects: list[dict[str, Any]]) -> None:
    dash = next(o for o in objects if o["type"] == "dashboard")
    panels = json.loads(dash["attributes"]["panelsJSON"])
    assert len(panels) == 3
    assert {p["panelRefName"] for p in panels} == {r["name"] for r in dash["references"]}
    titles = {o["attributes"]["title"] for o in objects if o["type"] == "visualization"}
    assert titles == {"Queued items per category over time", "Queue size by status", "Decisions per moderator"}


def test_every_field_the_objects_use_is_in_the_index_mapping(objects: list[dict[str, Any]]) -> None:
    mapped = _mapped_fields() | {"_id"}
    used: set[str] = set()
    for obj in objects:
        attrs = obj["attributes"]
        used |= set(attrs.get("columns", []))
        used |= {field for field, _ in attrs.get("sort", [])}
        if "visState" in attrs:
            used |= {a["params"]["field"] for a in json.loads(attrs["visState"])["aggs"] if "field" in a["params"]}
        meta = attrs.get("kibanaSavedObjectMeta", {}).get("searchSourceJSON")
        if meta:
            kql = json.loads(meta)["query"]["query"]
            used |= set(re.findall(r"([A-Za-z@_][\w.@]*):", kql))
        used |= set(json.loads(attrs.get("fieldFormatMap", "{}")))
    assert used - mapped == set()


def test_the_data_view_links_items_to_the_review_page(objects: list[dict[str, Any]]) -> None:
    from review.desk.app import create_app  # noqa: F401 - the route below is the app's

    view = next(o for o in customise(objects, "queue-x", "https://review.example/") if o["id"] == DATA_VIEW_ID)
    assert view["attributes"]["title"] == "queue-x"
    assert view["attributes"]["timeFieldName"] == "@timestamp"
    link = json.loads(view["attributes"]["fieldFormatMap"])["event.id"]
    assert link["id"] == "url"
    assert link["params"]["urlTemplate"] == "https://review.example/items/{{value}}"


def test_a_body_with_errors_fails_even_with_status_200() -> None:
    with pytest.raises(KibanaImportError, match="missing_references"):
        check_response(200, {"success": False, "successCount": 1, "errors": [
            {"id": "modpipe-moderation", "type": "dashboard", "error": {"type": "missing_references"}}]})  # fmt: skip
    with pytest.raises(KibanaImportError):
        check_response(200, {"success": True, "errors": [{"id": "x", "type": "search", "error": {"type": "conflict"}}]})
    with pytest.raises(KibanaImportError, match="403"):
        check_response(403, {"message": "forbidden"})
    assert check_response(200, {"success": True, "successCount": 9}).success_count == 9


class FakeKibana:
    """Answers like Kibana's saved-objects import API; records what it was sent."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer
        self.requests: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        form = await request.post()
        upload = form["file"]
        assert isinstance(upload, web.FileField)
        self.requests.append({
            "path": request.path, "query": dict(request.query), "xsrf": request.headers.get("kbn-xsrf"),
            "auth": request.headers.get("Authorization"), "filename": upload.filename,
            "lines": upload.file.read().decode().splitlines(),
        })  # fmt: skip
        return web.json_response(self.answer)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/saved_objects/_import", self.handle)
        app.router.add_post("/s/{space}/api/saved_objects/_import", self.handle)
        return app


def test_import_posts_ndjson_with_overwrite_and_the_xsrf_header(objects: list[dict[str, Any]]) -> None:
    fake = FakeKibana({"success": True, "successCount": len(objects)})

    async def scenario() -> int:
        async with TestServer(fake.app()) as server:
            result = await import_objects(
                str(server.make_url("/")), to_ndjson(objects), user="elastic", password="pw", space="mod"
            )
            return result.success_count

    assert asyncio.run(scenario()) == len(objects)
    sent = fake.requests[0]
    assert sent["path"] == "/s/mod/api/saved_objects/_import"
    assert sent["query"] == {"overwrite": "true"}
    assert sent["xsrf"]
    assert sent["auth"].startswith("Basic ")
    assert sent["filename"].endswith(".ndjson")
    assert [json.loads(line)["id"] for line in sent["lines"]] == [o["id"] for o in objects]


@pytest.fixture
def fake_kibana_url() -> Iterator[tuple[FakeKibana, str]]:
    """The fake in a thread of its own, for the CLI (which runs its own event loop)."""
    fake = FakeKibana({})
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, Any] = {}

    async def start() -> None:
        runner = web.AppRunner(fake.app())
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        holder["runner"] = runner
        holder["port"] = runner.addresses[0][1]
        started.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()), daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield fake, f"http://127.0.0.1:{holder['port']}"
    finally:
        asyncio.run_coroutine_threadsafe(holder["runner"].cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_cli_import_fails_when_kibana_reports_errors_with_200(fake_kibana_url: tuple[FakeKibana, str]) -> None:
    fake, url = fake_kibana_url
    fake.answer = {"success": False, "successCount": 8, "errors": [
        {"id": "modpipe-moderation", "type": "dashboard", "title": "Moderation queue",
         "error": {"type": "missing_references", "references": [{"type": "visualization", "id": "x"}]}}]}  # fmt: skip
    result = CliRunner().invoke(cli, ["kibana", "import", "--url", url, "--review-url", "https://r.example"])
    assert result.exit_code == 1, result.output
    assert "missing_references" in result.output
    sent = [json.loads(line) for line in fake.requests[0]["lines"]]
    view = next(o for o in sent if o["id"] == DATA_VIEW_ID)
    assert "https://r.example/items/{{value}}" in view["attributes"]["fieldFormatMap"]

    fake.answer = {"success": True, "successCount": 9}
    result = CliRunner().invoke(cli, ["kibana", "import", "--url", url])
    assert result.exit_code == 0, result.output
    assert "imported 9" in result.output


def test_cli_import_fails_when_nobody_answers(tmp_path: Path) -> None:
    from modpipe.stack.health import free_port

    result = CliRunner().invoke(cli, ["kibana", "import", "--url", f"http://127.0.0.1:{free_port()}"])
    assert result.exit_code == 1
    assert "no answer from Kibana" in result.output

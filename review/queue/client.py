"""The Elasticsearch client and the translation of its failures into transient vs terminal errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, Elasticsearch, NotFoundError

from modpipe.settings import Settings
from review.queue.exceptions import SearchRejected, SearchUnavailable

T = TypeVar("T")


def make_client(settings: Settings) -> Elasticsearch:
    es = settings.elasticsearch
    auth = (es.username, es.password.get_secret_value()) if es.username else None
    # No client retries: the callers own the retry policy (the queue agent backs off; the page answers 503).
    return Elasticsearch(
        es.url.rstrip("/"), basic_auth=auth, request_timeout=es.request_timeout_s, max_retries=0, retry_on_timeout=False
    )


class OwnedClient:
    """An Elasticsearch client and who closes it: one made here is closed with its holder, one given by the caller
    belongs to the caller and stays open."""

    def __init__(self, settings: Settings, client: Elasticsearch | None = None) -> None:
        self.es = client or make_client(settings)
        self._own = client is None

    def close(self) -> None:
        if self._own:
            self.es.close()


class SearchStore:
    """The base of what keeps its data on the search server: the settings and a client, closed with the store
    only when the store made it (OwnedClient)."""

    def __init__(self, settings: Settings, client: Elasticsearch | None = None) -> None:
        self._settings = settings
        self._client = OwnedClient(settings, client)
        self._es = self._client.es

    def close(self) -> None:
        self._client.close()


@dataclass(frozen=True)
class Versioned:
    """A document as read, with the version a conditional write (if_seq_no, if_primary_term) is made against; -1
    when it was read without one (a search hit, an mget)."""

    id: str
    source: dict[str, Any]
    seq_no: int = -1
    primary_term: int = -1

    def part(self, name: str) -> dict[str, Any]:
        """One object field of the document; empty when it has none (yet)."""
        value: dict[str, Any] = self.source.get(name) or {}
        return value


V = TypeVar("V", bound=Versioned)


def read_versioned(
    es: Elasticsearch, index: str, doc_id: str, what: str, kind: type[V], missing: Callable[[str], Exception]
) -> V:
    """One document with its version, as `kind`; `missing(doc_id)` is raised when there is none."""
    with translated(what):
        try:
            res = es.get(index=index, id=doc_id)
        except NotFoundError as exc:
            raise missing(doc_id) from exc
    return kind(res["_id"], res["_source"], int(res["_seq_no"]), int(res["_primary_term"]))


def is_transient_status(status: int) -> bool:
    return status == 429 or status >= 500


@contextmanager
def translated(what: str) -> Iterator[None]:
    try:
        yield
    except (TransportConnectionError, ConnectionTimeout) as exc:
        raise SearchUnavailable(f"{what}: Elasticsearch unreachable: {exc}") from exc
    except ApiError as exc:
        if is_transient_status(exc.meta.status):
            raise SearchUnavailable(f"{what}: Elasticsearch answered {exc.meta.status}: {exc}") from exc
        raise SearchRejected(f"{what}: Elasticsearch refused ({exc.meta.status}): {exc}") from exc


def call(what: str, fn: Callable[[], T]) -> T:
    with translated(what):
        return fn()

"""The Elasticsearch client and the translation of its failures into transient vs terminal errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, Elasticsearch

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

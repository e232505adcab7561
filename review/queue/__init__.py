"""The moderation queue in Elasticsearch: index template and alias, the sink the stream worker feeds, and the
reads and first-wins claims of the review page."""

from review.queue.decisions import Claim
from review.queue.exceptions import (
    AlreadyDecided,
    ItemNotFound,
    SearchError,
    SearchRejected,
    SearchUnavailable,
)
from review.queue.queue import Item, Page, QueueFilter, QueueStore
from review.queue.sink import QueueSink, ensure_index

__all__ = [
    "AlreadyDecided",
    "Claim",
    "Item",
    "ItemNotFound",
    "Page",
    "QueueFilter",
    "QueueSink",
    "QueueStore",
    "SearchError",
    "SearchRejected",
    "SearchUnavailable",
    "ensure_index",
]

"""The queue index on the real Elasticsearch-API server (noida-db): template, sink, claims, searches."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from elasticsearch import Elasticsearch

from modpipe.contracts import DecisionOutcome
from modpipe.settings import Action, Settings, load_settings
from modpipe.stack.manager import StackInfo
from review.queue import (
    AlreadyDecided,
    Claim,
    QueueFilter,
    QueueSink,
    QueueStore,
    SearchRejected,
    SearchUnavailable,
    ensure_index,
)
from tests.support import stack_overrides
from tests.unit.review.factory import T0, make_decision, make_verdict


def drop_queue(client: Elasticsearch, settings: Settings) -> None:
    alias = settings.elasticsearch.index
    if client.indices.exists_alias(name=alias):
        for index in client.indices.get_alias(name=alias):
            client.indices.delete(index=index)
    client.options(ignore_status=404).indices.delete_index_template(name=f"{alias}-template")


@pytest.fixture
def qsettings(stack: StackInfo, unique: str) -> Settings:
    return load_settings(environ={}, overrides=stack_overrides(stack, **{"elasticsearch.index": f"q-{unique}"}))


@pytest.fixture
def es(qsettings: Settings) -> Iterator[Elasticsearch]:
    client = Elasticsearch(qsettings.elasticsearch.url, request_timeout=30)
    try:
        yield client
    finally:
        drop_queue(client, qsettings)
        client.close()


@pytest.fixture
def queue(qsettings: Settings) -> Iterator[tuple[QueueSink, QueueStore]]:
    """The index set up, a sink that waits for the refresh, and a store to read it."""
    ensure_index(qsettings)
    sink = QueueSink(qsettings, refresh=True)
    store = QueueStore(qsettings)
    try:
        yield sink, store
    finally:
        store.close()
        sink.close()


def test_init_is_idempotent_and_maps_fields_explicitly(qsettings: Settings, es: Elasticsearch) -> None:
    alias = ensure_index(qsettings)
    assert ensure_index(qsettings) == alias
    indices = es.indices.get_alias(name=alias)
    assert list(indices) == [f"{alias}-000001"]
    mapping = es.indices.get_mapping(index=alias)[f"{alias}-000001"]["mappings"]
    assert mapping["dynamic"] == "strict"
    assert mapping["properties"]["message"]["analyzer"] == "cjk"
    assert mapping["properties"]["source"]["properties"]["ip"]["type"] == "ip"
    assert mapping["properties"]["moderation"]["properties"]["status"]["type"] == "keyword"


def test_init_refuses_an_index_where_the_alias_belongs(qsettings: Settings, es: Elasticsearch) -> None:
    es.indices.create(index=qsettings.elasticsearch.index)
    try:
        with pytest.raises(SearchRejected, match="alias"):
            ensure_index(qsettings)
    finally:
        es.indices.delete(index=qsettings.elasticsearch.index)


def test_sink_indexes_review_and_block_only_and_redelivery_keeps_decisions(
    qsettings: Settings, es: Elasticsearch
) -> None:
    ensure_index(qsettings)
    sink = QueueSink(qsettings, refresh=True)
    try:
        sink.add(make_verdict("m-review"))
        sink.add(make_verdict("m-block", action=Action.BLOCK))
        sink.add(make_verdict("m-pass", action=Action.PASS))
        assert sink.flush() == 2
        assert sink.flush() == 0
        doc = es.get(index=qsettings.elasticsearch.index, id="m-review")["_source"]
        assert doc["moderation"]["status"] == "pending"
        assert doc["event"] == {
            "id": "m-review", "action": "review", "kind": "alert", "dataset": "modpipe.queue",
            "created": (T0 + timedelta(seconds=1)).isoformat(),
        }  # fmt: skip
        assert doc["user"]["id"] == "author-1"
        assert doc["source"]["ip"] == "203.0.113.7"
        assert doc["rule"]["category"] == ["C9"]
        assert doc["moderation"]["hits"][0]["matched"] == "枪支"
        assert not es.exists(index=qsettings.elasticsearch.index, id="m-pass")

        sink.apply_decision(make_decision("m-review", DecisionOutcome.OVERTURNED))
        sink.add(make_verdict("m-review"))  # the same verdict delivered again
        assert sink.flush() == 1
        doc = es.get(index=qsettings.elasticsearch.index, id="m-review")["_source"]
        assert doc["moderation"]["status"] == "overturned"
        assert doc["moderation"]["decided_by"] == "alice"
        assert es.count(index=qsettings.elasticsearch.index)["count"] == 2
    finally:
        sink.close()


def test_chinese_search_filters_and_author_history(queue: tuple[QueueSink, QueueStore], es: Elasticsearch) -> None:
    sink, store = queue
    sink.add(make_verdict("a1", "今天出售枪支，价格私聊", published_at=T0))
    sink.add(make_verdict("a2", "网络赌博平台，充值返利", flagged=("C7",), published_at=T0 + timedelta(hours=2)))
    sink.add(make_verdict("b1", "出售假证件", author="author-2", service_type="group", action=Action.BLOCK))
    sink.flush()
    ids = lambda **kw: [i.id for i in store.search(QueueFilter(**kw)).items]  # noqa: E731
    assert ids(text="枪支") == ["a1"]
    assert ids(text="枪") == ["a1"]  # one character: no cjk bigram, found through message.chars
    assert ids(category="C7") == ["a2"]
    assert ids(service_type="group") == ["b1"]
    assert ids(action="block") == ["b1"]
    assert ids(since=T0 + timedelta(hours=1)) == ["a2"]
    assert ids(until=T0 + timedelta(hours=1), author="author-1") == ["a1"]
    assert ids(sort="oldest", author="author-1") == ["a1", "a2"]
    assert [i.id for i in store.by_author("author-1", exclude="a1")] == ["a2"]
    page = store.search(QueueFilter(status="all"))
    assert page.total == 3
    assert page.counts == {"pending": 3}


def test_first_claim_wins_and_the_second_is_told(queue: tuple[QueueSink, QueueStore], es: Elasticsearch) -> None:
    sink, store = queue
    sink.add(make_verdict("c1"))
    sink.flush()
    seen_by_alice = store.get("c1")
    seen_by_bob = store.get("c1")
    store.claim(seen_by_alice, Claim("d-a", "alice", "confirmed", "", T0))
    with pytest.raises(AlreadyDecided) as told:
        store.claim(seen_by_bob, Claim("d-b", "bob", "overturned", "", T0))
    assert told.value.decided_by == "alice"
    assert told.value.outcome == "confirmed"
    assert [i.id for i in store.search(QueueFilter(status="pending")).items] == []
    assert [i.id for i in store.search(QueueFilter(status="claimed")).items] == ["c1"]
    # A claim whose publication failed is released and the item is open again.
    assert store.release(store.get("c1"), "d-a")
    store.claim(store.get("c1"), Claim("d-b", "bob", "overturned", "", T0))
    assert store.get("c1").moderation["decided_by"] == "bob"


def test_unreachable_elasticsearch_is_a_transient_error(qsettings: Settings) -> None:
    from modpipe.stack.health import free_port

    down = qsettings.model_copy(
        update={"elasticsearch": qsettings.elasticsearch.model_copy(update={"url": f"http://127.0.0.1:{free_port()}"})}
    )
    sink = QueueSink(down)
    try:
        sink.add(make_verdict("x1"))
        with pytest.raises(SearchUnavailable):
            sink.flush()
        assert len(sink) == 1  # kept for the retry
        with pytest.raises(SearchUnavailable):
            ensure_index(down)
    finally:
        sink.close()


def test_the_sink_sets_the_index_up_itself_rather_than_letting_elasticsearch_guess(
    qsettings: Settings, es: Elasticsearch
) -> None:
    sink = QueueSink(qsettings, refresh=True)
    try:
        sink.apply_decision(make_decision("early", DecisionOutcome.CONFIRMED))
    finally:
        sink.close()
    alias = qsettings.elasticsearch.index
    assert list(es.indices.get_alias(name=alias)) == [f"{alias}-000001"]
    assert es.get(index=alias, id="early")["_source"]["moderation"]["status"] == "confirmed"

"""The external contracts of the local stack, over real connections."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
import urllib3
from elasticsearch import Elasticsearch
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from minio import Minio
from minio.commonconfig import GOVERNANCE
from minio.error import S3Error
from minio.retention import Retention

from modpipe.settings import Settings
from modpipe.stack.manager import StackInfo


def test_produce_and_consume_with_a_consumer_group(stack: StackInfo, unique: str) -> None:
    topic = f"it-{unique}"
    admin = KafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
    try:
        admin.create_topics([NewTopic(topic, 3, 1)])
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")
    try:
        for i in range(30):
            producer.send(topic, key=f"k{i}".encode(), value=json.dumps({"i": i, "text": "表情😀"}).encode())
        producer.flush()
    finally:
        producer.close()
    consumer = KafkaConsumer(
        topic, bootstrap_servers=stack.kafka_bootstrap, group_id=f"g-{unique}", auto_offset_reset="earliest",
        enable_auto_commit=False, session_timeout_ms=6000, heartbeat_interval_ms=1000,
    )  # fmt: skip
    try:
        seen: list[dict[str, object]] = []
        for _ in range(60):
            for records in consumer.poll(timeout_ms=500).values():
                seen.extend(json.loads(r.value) for r in records)
            if len(seen) >= 30:
                break
        consumer.commit()
        committed = sum(consumer.committed(tp) or 0 for tp in consumer.assignment())
    finally:
        consumer.close()
    assert sorted(int(m["i"]) for m in seen) == list(range(30))  # type: ignore[call-overload]
    assert {m["text"] for m in seen} == {"表情😀"}
    assert committed == 30


def test_locked_object_can_be_read_but_not_deleted(settings: Settings, unique: str) -> None:
    http = urllib3.PoolManager()
    client = Minio(
        settings.s3.endpoint, access_key=settings.s3.access_key,
        secret_key=settings.s3.secret_key.get_secret_value(), secure=False, http_client=http,
    )  # fmt: skip
    bucket = f"lock-{unique}".replace("_", "-")[:60]
    try:
        client.make_bucket(bucket, object_lock=True)
        data = b'{"message_id": "m1"}\n'
        checksum = base64.b64encode(hashlib.sha256(data).digest()).decode()
        until = datetime.now(UTC) + timedelta(days=1)
        put = client.put_object(
            bucket, "records/a.jsonl", io.BytesIO(data), len(data),
            retention=Retention(GOVERNANCE, until), metadata={"x-amz-checksum-sha256": checksum},
        )  # fmt: skip
        response = client.get_object(bucket, "records/a.jsonl")
        try:
            assert response.read() == data
        finally:
            response.close()
            response.release_conn()
        with pytest.raises(S3Error) as denied:
            client.remove_object(bucket, "records/a.jsonl", version_id=put.version_id)
        assert denied.value.code == "AccessDenied"
        assert client.get_object_retention(bucket, "records/a.jsonl").retain_until_date is not None
    finally:
        http.clear()


def test_index_and_search_chinese_text(settings: Settings, unique: str) -> None:
    es = Elasticsearch(settings.elasticsearch.url, request_timeout=30)
    index = f"it-{unique}"
    try:
        es.indices.create(index=index, mappings={"properties": {"message": {"type": "text", "analyzer": "cjk"}}})
        es.index(index=index, id="m1", document={"message": "今天天气很好，适合出门"}, refresh=True)
        es.index(index=index, id="m2", document={"message": "股市行情分析"}, refresh=True)
        hits = es.search(index=index, query={"match": {"message": "天气"}})["hits"]["hits"]
        assert [h["_id"] for h in hits] == ["m1"]
    finally:
        es.indices.delete(index=index, ignore_unavailable=True)
        es.close()

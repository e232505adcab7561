"""`modpipe simulate`: publish a realistic, reproducible mix of messages so a run can be checked end to end.

Texts come from the dev split of the classifier's corpus (texts the default model never trained on), so the demo
shows detection of messages the model has not seen: violations of each shipped category, lawful look-alikes and
ordinary chatter.
A share of messages is malformed on purpose, one kind of fault at a time, and every message is counted by what it
is, so the counts printed here can be matched against verdicts and dead letters.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta, timezone
from typing import Any

from kafka import KafkaProducer

from modpipe.clock import Clock, SystemClock
from modpipe.settings import Settings

CST = timezone(timedelta(hours=8))
MALFORMED = (
    "not_json", "not_utf8", "missing_field", "bad_timestamp", "unknown_service_type", "wrong_type", "text_too_long",
)  # fmt: skip
_TOPICS = {"post": "posts", "comment": "comments", "group_message": "group_messages"}
_SERVICES = (("bbs", "post"), ("bbs", "comment"), ("comment", "comment"), ("group", "group_message"),
             ("public_account", "post"), ("public_account", "comment"))  # fmt: skip


@dataclass
class SimulatedMessage:
    topic_key: str  # a field name of settings.kafka.topics
    key: bytes
    value: bytes
    label: str  # "benign", a category code, or "malformed:<fault>"
    service_type: str
    kind: str


@dataclass
class SimulationReport:
    sent: int = 0
    by_label: Counter[str] = field(default_factory=Counter)
    by_service: Counter[str] = field(default_factory=Counter)
    by_kind: Counter[str] = field(default_factory=Counter)
    replies: int = 0
    seconds: float = 0.0
    reports: int = 0  # honest user reports (L7)
    campaign_reports: int = 0  # reports of the campaign against one lawful post

    @property
    def malformed(self) -> int:
        return sum(n for label, n in self.by_label.items() if label.startswith("malformed:"))

    @property
    def valid(self) -> int:
        return self.sent - self.malformed


def load_dev_texts() -> dict[str, list[str]]:
    """The corpus dev split by label: each category code, and `benign` for lawful messages of both kinds."""
    from classifiers.corpus import load_corpus

    by_label: dict[str, list[str]] = {}
    for row in load_corpus():
        if row.split == "dev":
            for label in sorted(row.labels) or ["benign"]:
                by_label.setdefault(label, []).append(row.text)
    return by_label


class MessageFactory:
    def __init__(
        self,
        seed: int,
        clock: Clock,
        max_text_chars: int,
        malformed_share: float = 0.03,
        flagged_share: float = 0.2,
        corpus: dict[str, list[str]] | None = None,
        run: str = "",
    ) -> None:
        self.rng = random.Random(seed)
        self.clock = clock
        self.max_text_chars = max_text_chars
        self.malformed_share = malformed_share
        self.flagged_share = flagged_share
        self.corpus = corpus if corpus is not None else load_dev_texts()
        self.categories = sorted(code for code in self.corpus if code != "benign")
        self.prefix = f"sim-{run or seed}"
        self.recent: list[str] = []

    def messages(self, count: int) -> Iterator[SimulatedMessage]:
        for i in range(count):
            yield self.one(i)

    def one(self, i: int) -> SimulatedMessage:
        rng = self.rng
        service, kind = rng.choice(_SERVICES)
        label, text = self._text()
        message_id = f"{self.prefix}-{i:08d}"
        body: dict[str, Any] = {
            "message_id": message_id,
            "service_type": service,
            "kind": kind,
            "text": text,
            "published_at": self.clock.now().astimezone(CST).isoformat(timespec="milliseconds"),
            "author_id": f"user-{rng.randint(1, 400):04d}",
            "source_ip": self._ip(),
            "platform": rng.choice(("forum.example", "news.example", "chat.example")),
            "sim_sent_at": time.time(),
        }
        if kind == "comment" and self.recent:
            body["parent_id"] = rng.choice(self.recent)
        if service == "group":
            body["group_id"] = f"group-{rng.randint(1, 30):03d}"
        if service == "public_account":
            body["account_id"] = f"account-{rng.randint(1, 20):03d}"
        if rng.random() < 0.05:
            body["attachments"] = [f"https://cdn.example/img/{message_id}.jpg"]
        self.recent = [*self.recent[-49:], message_id]
        value = json.dumps(body, ensure_ascii=False).encode()
        if rng.random() < self.malformed_share:
            fault = rng.choice(MALFORMED)
            value = self._break(body, fault)
            label = f"malformed:{fault}"
        return SimulatedMessage(_TOPICS[kind], message_id.encode(), value, label, service, kind)

    def _text(self) -> tuple[str, str]:
        rng = self.rng
        if self.categories and rng.random() < self.flagged_share:
            code = rng.choice(self.categories)
            return code, rng.choice(self.corpus[code])
        return "benign", rng.choice(self.corpus["benign"])

    def _ip(self) -> str:
        if self.rng.random() < 0.1:
            return f"2001:db8::{self.rng.randint(1, 0xFFFF):x}"
        return f"203.0.113.{self.rng.randint(1, 254)}"

    def _break(self, body: dict[str, Any], fault: str) -> bytes:
        broken = dict(body)
        if fault == "not_json":
            return json.dumps(broken, ensure_ascii=False).encode()[:-7]
        if fault == "not_utf8":
            return json.dumps(broken, ensure_ascii=False).encode().replace(b'"text"', b'"te\xffxt"', 1)
        if fault == "missing_field":
            del broken[self.rng.choice(("author_id", "text", "published_at", "source_ip"))]
        elif fault == "bad_timestamp":
            broken["published_at"] = self.rng.choice(("2026-11-23 08:00", "yesterday", "2026-11-23T08:00:00"))
        elif fault == "unknown_service_type":
            broken["service_type"] = "microblog"
        elif fault == "wrong_type":
            broken["text"] = 12345
        elif fault == "text_too_long":
            broken["text"] = "长" * (self.max_text_chars + 1)
        return json.dumps(broken, ensure_ascii=False).encode()


def simulate(
    settings: Settings,
    rate: float,
    count: int,
    seed: int = 1,
    run: str = "",
    clock: Clock | None = None,
    malformed_share: float = 0.03,
    report_share: float = 0.0,
    campaign: bool = False,
) -> SimulationReport:
    """Publish count messages at about rate per second (0 = as fast as possible); waits for every ack. Then, with
    `report_share`, honest users' reports of about that share of the violating messages, and with `campaign` a
    lawful post and a campaign of reports from fresh accounts against it (pipeline.simulate_reports)."""
    from pipeline.simulate_reports import Reported, campaign_post, campaign_reports, honest_reports

    factory = MessageFactory(seed, clock or SystemClock(), settings.message.max_text_chars, malformed_share, run=run)
    topics = settings.kafka.topics
    report = SimulationReport()
    producer = KafkaProducer(
        bootstrap_servers=settings.kafka.servers,
        client_id=f"{settings.kafka.client_id}-simulate",
        acks="all",
        linger_ms=5,
        batch_size=1_048_576,
        max_request_size=8_388_608,
        request_timeout_ms=settings.kafka.request_timeout_ms,
    )
    started = time.monotonic()
    published: list[Reported] = []
    try:
        for i, msg in enumerate(factory.messages(count)):
            if rate > 0:
                wait = started + i / rate - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            producer.send(getattr(topics, msg.topic_key).name, key=msg.key, value=msg.value)
            report.sent += 1
            report.by_label[msg.label] += 1
            report.by_service[msg.service_type] += 1
            report.by_kind[msg.kind] += 1
            if not msg.label.startswith("malformed:"):
                platform = json.loads(msg.value).get("platform", "")
                published.append(Reported(msg.key.decode(), msg.label, msg.service_type, platform))
        reports = honest_reports(published, report_share, factory.rng, factory.clock, factory.prefix)
        if campaign:
            key, value, target = campaign_post(factory.prefix, factory.clock)
            producer.send(topics.posts.name, key=key, value=value)
            report.sent += 1
            report.by_label["benign"] += 1
            report.by_service["public_account"] += 1
            report.by_kind["post"] += 1
            against = campaign_reports(target, factory.clock, factory.prefix)
            report.campaign_reports = len(against)
            reports += against
        report.reports = len(reports) - report.campaign_reports
        for key, value in reports:
            producer.send(topics.reports.name, key=key, value=value)
        producer.flush()
    finally:
        producer.close()
    report.seconds = time.monotonic() - started
    return report

"""Typed, frozen settings. Each section mirrors a block of config/modpipe.yaml."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal, get_args
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator, model_validator

from modpipe.settings.base import Frozen, NonEmpty, Port, ZoneName, seconds
from modpipe.settings.datasets import DatasetSpec
from modpipe.settings.measures import MeasuresSettings
from modpipe.settings.reports import ReportSettings
from modpipe.settings.review import ReviewSettings
from modpipe.settings.s3 import Role, S3Settings


class TopicSpec(Frozen):
    name: NonEmpty
    partitions: Annotated[int, Field(ge=1, le=1024)]


class Topics(Frozen):
    posts: TopicSpec
    comments: TopicSpec
    group_messages: TopicSpec
    verdicts: TopicSpec
    takedowns: TopicSpec
    decisions: TopicSpec
    dead_letters: TopicSpec
    # User reports (L7) and the feedback to reporters; defaults, so a modpipe.yaml made before them still loads.
    reports: TopicSpec = TopicSpec(name="reports", partitions=4)
    report_outcomes: TopicSpec = TopicSpec(name="moderation.report-outcomes", partitions=4)
    # Graded measures (issue 14): the commands for the platform (keyed subject:measure id) and the measures
    # agent's own events, keyed by subject so that one subject's state has one writer.
    measures: TopicSpec = TopicSpec(name="moderation.measures", partitions=4)
    measure_events: TopicSpec = TopicSpec(name="moderation.measure-events", partitions=4)
    # Each account's credit level spans (信用等级) after every change, keyed by subject: for the moderation agent's
    # stricter thresholds and for the platform to serve users by level.
    credit_levels: TopicSpec = TopicSpec(name="moderation.credit-levels", partitions=4)

    def inputs(self) -> tuple[TopicSpec, ...]:
        """The platforms' message topics the moderation agent reads (reports have an agent of their own)."""
        return (self.posts, self.comments, self.group_messages)

    def all(self) -> tuple[TopicSpec, ...]:
        return (
            *self.inputs(),
            self.verdicts,
            self.takedowns,
            self.decisions,
            self.dead_letters,
            self.reports,
            self.report_outcomes,
            self.measures,
            self.measure_events,
            self.credit_levels,
        )


class KafkaSettings(Frozen):
    bootstrap: Annotated[
        str,
        Field(
            pattern=r"^[^\s,:]+:\d{1,5}(,[^\s,:]+:\d{1,5})*$",
            description="host:port of a broker, comma-separated for several (e.g. 127.0.0.1:9092)",
        ),
    ]
    client_id: NonEmpty
    session_timeout_ms: Annotated[int, Field(ge=1000, le=300_000)]
    request_timeout_ms: Annotated[int, Field(ge=1000, le=300_000)]
    fetch_max_wait_ms: Annotated[int, Field(ge=1, le=10_000)]
    max_input_bytes: Annotated[
        int, Field(ge=1024, le=100_000_000, description="the largest record the input topics accept, in bytes")
    ]
    replication_factor: Annotated[int, Field(ge=1, le=15)]
    topics: Topics

    @property
    def servers(self) -> list[str]:
        return self.bootstrap.split(",")


class ElasticsearchSettings(Frozen):
    url: Annotated[
        str,
        Field(pattern=r"^https?://[^\s/]+(:\d{1,5})?/?$", description="http(s)://host:port of Elasticsearch"),
    ]
    username: str
    password: SecretStr
    index: Annotated[
        str, Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", description="a lower-case index name (a-z 0-9 . _ -)")
    ]
    request_timeout_s: Annotated[float, Field(gt=0, le=600)]


class MessageSettings(Frozen):
    max_text_chars: Annotated[int, Field(ge=1, le=10_000_000)]
    max_message_bytes: Annotated[int, Field(ge=64, le=100_000_000)]
    # The window around modpipe's receipt time in which a message's published_at is believed.
    max_age_days: Annotated[int, Field(ge=1, le=3650)] = 30
    max_future_s: Annotated[int, Field(ge=0, le=604_800)] = 86_400
    # At most 128: a verdict nests its message a level deeper, and pydantic's JSON parser (used by the queue and
    # review agents) gives up near 200 levels; a message accepted at intake must parse in every agent after it.
    max_depth: Annotated[int, Field(ge=2, le=128)] = 32


class ClassifierSettings(Frozen):
    model_dir: str
    # Filled by the loader: the config folder's lexicons/ when it has one; left empty, the shipped lexicons.
    lexicon_dir: str = ""
    extra_lexicons: tuple[Path, ...]
    datasets_dir: str
    default_training: tuple[NonEmpty, ...]
    target_precision: Annotated[float, Field(gt=0, lt=1)]
    corpus_weight: Annotated[float, Field(gt=0, le=10)] = 2.0
    reload_interval_s: Annotated[
        float, Field(gt=0, description="seconds > 0 between checks for a changed lexicon or model (e.g. 30)")
    ] = 30.0

    @field_validator("lexicon_dir")
    @classmethod
    def _lexicon_dir_exists(cls, value: str) -> str:
        if value and not Path(value).is_dir():
            raise ValueError(f"an existing folder of lexicon files, or empty for the shipped ones; not found: {value}")
        return value

    @field_validator("extra_lexicons")
    @classmethod
    def _folders_exist(cls, value: tuple[Path, ...]) -> tuple[Path, ...]:
        missing = [str(p) for p in value if not p.is_dir()]
        if missing:
            raise ValueError(f"an existing folder of lexicon files for each entry; not found: {missing}")
        return value


# The one list of agent names: the CLI, the settings and the worker's registry (pipeline.agents) all read it.
AgentName = Literal["moderation", "decisions", "records", "queue", "reports", "measures"]
AGENT_NAMES: tuple[AgentName, ...] = get_args(AgentName)


class WorkerSettings(Frozen):
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$", description="a worker name of A-Z a-z 0-9 _ . -")]
    web_host: NonEmpty
    web_port: Port
    batch_size: Annotated[int, Field(ge=1, le=100_000)]
    batch_timeout_s: Annotated[float, Field(gt=0, le=60)]
    processes: Annotated[int, Field(ge=0, le=64, description="0 (classify in the worker process) or a process count")]
    max_in_flight_batches: Annotated[int, Field(ge=1, le=64)]
    # Batches a concurrent agent takes beyond one per classifying process while the earlier ones are still being
    # classified; meanwhile new messages wait in faust's buffers and join the next, larger batch.
    batches_ahead: Annotated[
        int, Field(ge=0, le=64, description="a count >= 0 of batches taken ahead of the classifying processes")
    ] = 3
    agents: tuple[AgentName, ...]
    # The per-event levers of issue 13, each a setting so that the benchmark can compare before and after.
    drain: Literal["batch", "message"]
    event_loop: Literal["uvloop", "asyncio"]
    take: Literal["noack", "events"]
    commit: Literal["background", "inline"] = "background"
    # Where the moderation agent's outputs get their partition (murmur2 of the key): in the classifying process,
    # grouped by partition (classifier), or on the worker's event loop as the records are sent (loop).
    partition: Literal["classifier", "loop"] = "loop"
    log_repeat_interval_s: Annotated[float, seconds(86_400, "a repeating log line stays quiet between summaries")] = (
        30.0
    )
    health_check_interval_s: Annotated[float, seconds(300, "between the worker's broker checks (e.g. 2)")] = 2.0
    health_grace_s: Annotated[float, seconds(3600, "without a broker answer before /healthz is unhealthy")] = 6.0

    @model_validator(mode="after")
    def _grace_covers_a_check(self) -> WorkerSettings:
        if self.health_grace_s <= self.health_check_interval_s:
            raise ValueError(
                f"worker.health_grace_s ({self.health_grace_s}) must be longer than worker.health_check_interval_s "
                f"({self.health_check_interval_s}): one slow check must not turn a worker unhealthy"
            )
        return self


class RecordsSettings(Frozen):
    batch_max_records: Annotated[int, Field(ge=1)]
    batch_max_bytes: Annotated[int, Field(ge=1024)]
    batch_max_age_s: Annotated[float, Field(gt=0)]
    sweep_interval_s: Annotated[float, Field(gt=0)]
    # The operator's Ed25519 signing key for the records checkpoints (PEM, PKCS#8; `modpipe audit keygen`). Only
    # the path is a setting: the key itself is read when a checkpoint is signed and never printed.
    checkpoint_key_file: Path | None = None
    checkpoint_interval_s: Annotated[float, Field(gt=0)] = 3600.0
    # Who the CLI's accesses to the records are logged as (`--actor` overrides; unset: the OS user). L8 asks who
    # read what: give each auditor or operator account its own value.
    actor: NonEmpty | None = None
    # The zone whose calendar days `modpipe report --date` counts (regulators count Beijing days).
    report_timezone: ZoneName = "Asia/Shanghai"

    @property
    def report_zone(self) -> ZoneInfo:
        return ZoneInfo(self.report_timezone)


class QueueSettings(Frozen):
    """The moderation queue: due times, a page's snapshot, the reconciler of what the search server lost."""

    review_due_s: Annotated[int, seconds(30 * 86_400, "to decide a review item")] = 3600
    block_due_s: Annotated[int, seconds(30 * 86_400, "to confirm a machine block")] = 86_400
    pit_keep_alive_s: Annotated[
        int, Field(ge=10, le=3600, description="seconds (10 to 3600) a paging snapshot lives")
    ] = 300
    reconcile_interval_s: Annotated[float, seconds(86_400, "between two reconciler runs (e.g. 60)")] = 60.0
    reconcile_window_h: Annotated[
        float, Field(gt=0, le=24 * 31, description="hours > 0 of records the reconciler checks (e.g. 6)")
    ] = 6.0


class StackSettings(Frozen):
    home: Path
    broker_storage: Literal["s3", "memory"]
    kafka_port: Port
    s3_port: Port
    elasticsearch_port: Port
    start_timeout_s: Annotated[float, Field(gt=0, le=600)]
    # S3 storage only: record batches every group committed past are deleted once this old (the broker itself
    # never deletes, and its fetches list every batch of a partition: docs/performance.md, "The long run").
    broker_retention_s: Annotated[float, seconds(365 * 86_400, "a batch all groups committed past is kept")] = 86_400
    broker_housekeeping_interval_s: Annotated[float, seconds(3600, "between the broker housekeeper's passes")] = 300
    # Topics never pruned (fnmatch patterns), whatever groups commit: they are replayed from the start outside any
    # group (the moderation worker's blacklist and credit levels, pipeline.gatefeed).
    broker_keep_topics: tuple[NonEmpty, ...] = ("*measures", "*credit-levels")


class Thresholds(Frozen):
    review: Annotated[float, Field(ge=0, le=1)]
    block: Annotated[float, Field(ge=0, le=1)]

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.block < self.review:
            raise ValueError(f"block threshold ({self.block}) at or above the review threshold ({self.review})")
        return self


class Action(StrEnum):
    PASS = "pass"  # noqa: S105 - an action name, not a password
    REVIEW = "review"
    BLOCK = "block"


class Category(Frozen):
    code: Annotated[str, Field(pattern=r"^C[1-9][0-9]*$")]
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    name_zh: NonEmpty
    name_en: NonEmpty
    legal_ref: NonEmpty
    thresholds: Thresholds
    action: Action
    sub_labels: tuple[str, ...] = ()
    # Dev precision at which training places this category's review threshold (default classifier.target_precision).
    target_precision: Annotated[float, Field(gt=0, lt=1)] | None = None
    # Stricter or laxer thresholds for one service type (a group chat reaches fewer people than a forum post).
    service_thresholds: dict[str, Thresholds] = Field(default_factory=dict)

    def thresholds_for(self, service_type: str | None) -> Thresholds:
        return self.thresholds if service_type is None else self.service_thresholds.get(service_type, self.thresholds)


class Retention(Frozen):
    days: Annotated[int, Field(gt=0, le=36500)] | None = None
    months: Annotated[int, Field(gt=0, le=1200)] | None = None
    min_days: Annotated[int, Field(ge=0, le=36500)] = 0

    @model_validator(mode="after")
    def _one_unit(self) -> Retention:
        if (self.days is None) == (self.months is None):
            raise ValueError("exactly one of `days` or `months`")
        return self


class ServiceType(Frozen):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    name_en: NonEmpty
    name_zh: NonEmpty
    retention: Retention
    legal_basis: NonEmpty


class Settings(Frozen):
    kafka: KafkaSettings
    s3: S3Settings
    elasticsearch: ElasticsearchSettings
    message: MessageSettings
    classifier: ClassifierSettings
    worker: WorkerSettings
    records: RecordsSettings
    review: ReviewSettings
    queue: QueueSettings = QueueSettings()
    stack: StackSettings
    categories: dict[str, Category]
    services: dict[str, ServiceType]
    datasets: dict[str, DatasetSpec]
    measures: MeasuresSettings
    reports: ReportSettings

    def acting_as(self, role: Role) -> Settings:
        """The settings a program acting as `role` runs with: every S3 client it builds uses that role's keys."""
        return self.model_copy(update={"s3": self.s3.acting_as(role)})

    @model_validator(mode="after")
    def _keys_match(self) -> Settings:
        for key, ds in self.datasets.items():
            if key != ds.name:
                raise ValueError(f"dataset key {key!r} equal to its name {ds.name!r}")
        unknown = [n for n in self.classifier.default_training if n != "corpus" and n not in self.datasets]
        if unknown:
            raise ValueError(f"classifier.default_training: `corpus` or names of datasets.yaml; unknown: {unknown}")
        not_trainable = [
            n for n in self.classifier.default_training if n in self.datasets and self.datasets[n].use != "train"
        ]
        if not_trainable:
            raise ValueError(
                f"classifier.default_training: sets with `use: train`; these are for eval: {not_trainable}"
            )
        for key, cat in self.categories.items():
            if key != cat.code:
                raise ValueError(f"category key {key!r} equal to its code {cat.code!r}")
        for key, svc in self.services.items():
            if key != svc.name:
                raise ValueError(f"service key {key!r} equal to its name {svc.name!r}")
        for code, cat in self.categories.items():
            unknown_services = sorted(set(cat.service_thresholds) - set(self.services))
            if unknown_services:
                raise ValueError(
                    f"categories.{code}.service_thresholds: service types of services.yaml; got {unknown_services}"
                )
        unknown_codes = sorted(set(self.measures.weights) - set(self.categories))
        if unknown_codes:
            raise ValueError(f"measures.weights: category codes of categories.yaml; got {unknown_codes}")
        for code, weight in sorted(self.measures.weights.items()):
            unknown_subs = sorted(set(weight.sub_labels) - set(self.categories[code].sub_labels))
            if unknown_subs:
                known = list(self.categories[code].sub_labels)
                setting = f"measures.weights.{code}.sub_labels"
                raise ValueError(f"{setting}: sub-labels of {code} {known}; got {unknown_subs}")
        return self

    def is_report_reason(self, key: str) -> bool:
        """Whether `key` names a report reason: `other`, a category code, or `code.sub_label` of that category."""
        if key == "other":
            return True
        code, dot, sub = key.partition(".")
        category = self.categories.get(code)
        return category is not None and (not dot or sub in category.sub_labels)

    def category(self, code: str) -> Category:
        return self.categories[code]

    def service(self, name: str) -> ServiceType:
        return self.services[name]

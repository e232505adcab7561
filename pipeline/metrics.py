"""Prometheus metrics of one worker, in a registry of its own (several apps can live in one test process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.messages_in = Counter("modpipe_messages_in_total", "Input messages consumed", ["topic"], registry=r)
        # Messages whose outputs the broker acknowledged: their offsets may be committed. Behind messages_in by the
        # batches in flight; a gap that keeps growing means the broker is not acknowledging.
        self.messages_done = Counter(
            "modpipe_messages_done_total", "Messages whose outputs were acknowledged", ["agent"], registry=r
        )
        self.verdicts = Counter("modpipe_verdicts_total", "Verdicts published", ["action"], registry=r)
        self.flagged = Counter(
            "modpipe_verdict_categories_total", "Verdicts flagged per category", ["category"], registry=r
        )
        self.dead_letters = Counter("modpipe_dead_letters_total", "Dead letters published", ["reason"], registry=r)
        self.commands = Counter("modpipe_commands_total", "Takedown and restore commands", ["command"], registry=r)
        self.records = Counter("modpipe_records_stored_total", "Records stored in object storage", registry=r)
        self.queued = Counter("modpipe_queue_indexed_total", "Verdicts indexed into the moderation queue", registry=r)
        self.reconciled = Counter(
            "modpipe_queue_reconciled_total",
            "Queue documents the reconciler repaired from the records",
            ["kind"],
            registry=r,
        )
        self.reconcile_failures = Counter(
            "modpipe_queue_reconcile_failures_total", "Failed reconciler runs", registry=r
        )
        self.reconcile_last_success = Gauge(
            "modpipe_queue_reconcile_last_success_timestamp", "When the reconciler last finished a run", registry=r
        )
        self.decisions = Counter("modpipe_decisions_total", "Moderator decisions applied", ["outcome"], registry=r)
        self.batch_seconds = Histogram(
            "modpipe_batch_seconds",
            "Time to process one batch, outputs acknowledged",
            ["agent"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.batch_size = Histogram(
            "modpipe_batch_size", "Messages per batch", ["agent"], buckets=(1, 10, 50, 100, 250, 500, 1000), registry=r
        )
        # Per agent: two agents (records, queue) read the same topics, each in its own consumer group.
        self.position = Gauge(
            "modpipe_consumer_position",
            "Next offset the agent takes into a batch, per partition",
            ["agent", "topic", "partition"],
            registry=r,
        )
        self.lag = Gauge(
            "modpipe_consumer_lag",
            "Messages in the partition after the agent's position (pipeline.lag)",
            ["agent", "topic", "partition"],
            registry=r,
        )
        self.reports_in = Counter(
            "modpipe_reports_total", "User reports taken in, by new | duplicate | conflict", ["added"], registry=r
        )
        self.report_outcomes = Counter(
            "modpipe_report_outcomes_total", "Report outcomes published (re-published ones included)", ["status"],
            registry=r,
        )  # fmt: skip
        self.reports_overdue = Gauge(
            "modpipe_reports_overdue", "Open user reports past their due time, as reports and as items", ["unit"],
            registry=r,
        )  # fmt: skip
        self.retries = Counter("modpipe_transient_retries_total", "Transient failures retried", ["agent"], registry=r)
        self.sweep_failures = Counter(
            "modpipe_sweep_failures_total", "Retention sweeps that failed (the next run tries again)", registry=r
        )
        self.sweep_last_success = Gauge(
            "modpipe_sweep_last_success_timestamp_seconds", "When the last retention sweep finished", registry=r
        )

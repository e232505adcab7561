"""The QA queue's figures as the queue worker's Prometheus metrics: the draws it made, and every
`review.qa_sample.metrics_interval_s` the estimates from the moderators' answers (review.queue.qa), per category."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

import faust
from prometheus_client import CollectorRegistry, Counter, Gauge

from pipeline.context import WorkerContext
from review.queue.qa import Stratum
from review.queue.qa_store import QaSink, QaStore

log = logging.getLogger("modpipe.worker")
MEASURES = {"block": "precision", "pass": "miss_rate"}


class QaMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.drawn = Counter(
            "modpipe_qa_sampled_total", "Machine verdicts drawn into the QA queue", ["action", "category"], registry=r
        )
        self.samples = Gauge(
            "modpipe_qa_samples", "QA items of the estimate window, by state (sampled | answered | wrong)",
            ["action", "category", "state"], registry=r,
        )  # fmt: skip
        self.estimate = Gauge(
            "modpipe_qa_estimate",
            "The tagger's production precision (blocks) and miss rate (passes) from QA answers, with the 95% Wilson "
            "interval (bound: point | low | high); absent while a category has no answer",
            ["measure", "category", "bound"], registry=r,
        )  # fmt: skip
        self.failures = Counter("modpipe_qa_metrics_failures_total", "Failed refreshes of the QA estimates", registry=r)
        self.last_success = Gauge(
            "modpipe_qa_metrics_last_success_timestamp", "When the QA estimates were last refreshed", registry=r
        )

    def set(self, strata: list[Stratum]) -> None:
        # A stratum that left the window must not keep its old figure: start from an empty set each time.
        self.samples.clear()
        self.estimate.clear()
        for s in strata:
            for state, count in (("sampled", s.sampled), ("answered", s.answered), ("wrong", s.wrong)):
                self.samples.labels(s.action, s.category, state).set(count)
            est = s.estimate
            measure = MEASURES.get(s.action)
            if measure is None or est.point is None or est.low is None or est.high is None:
                continue
            for bound, value in (("point", est.point), ("low", est.low), ("high", est.high)):
                self.estimate.labels(measure, s.category, bound).set(value)


def qa_sink(ctx: WorkerContext, metrics: QaMetrics) -> QaSink:
    return QaSink(ctx.settings, drawn=lambda action, category: metrics.drawn.labels(action, category).inc())


def qa_timer(app: faust.App, ctx: WorkerContext, metrics: QaMetrics) -> None:
    """Refresh the estimates on a thread of their own, so a slow search never holds up the queue agent."""
    store = QaStore(ctx.settings)
    thread = ThreadPoolExecutor(1, thread_name_prefix="modpipe-qa")
    ctx.closers.append(store.close)
    ctx.closers.append(lambda: thread.shutdown(wait=True))

    @app.timer(ctx.settings.review.qa_sample.metrics_interval_s)  # type: ignore[untyped-decorator]
    async def qa_estimates() -> None:
        await refresh(ctx, thread, store, metrics)


async def refresh(ctx: WorkerContext, thread: ThreadPoolExecutor, store: QaStore, metrics: QaMetrics) -> None:
    try:
        strata = await asyncio.get_running_loop().run_in_executor(thread, store.strata, ctx.clock.now())
    except Exception:
        metrics.failures.inc()
        log.exception("QA estimates: refresh failed; the next interval tries again")
    else:
        metrics.set(strata)
        metrics.last_success.set(ctx.clock.now().timestamp())

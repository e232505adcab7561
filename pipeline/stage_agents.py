"""The agents of the stages added after the message flow: user reports (L7) and graded measures (L6). Same frame as
the others (pipeline.agents): a batch in, outputs out, offsets committed after the outputs are acknowledged."""

from __future__ import annotations

import asyncio
import logging

import faust

from modpipe.contracts import DeadLetterReason
from modpipe.contracts.intake import RawMessage
from pipeline.agents import batch_agent, dead_letter_bytes, retry_until_done
from pipeline.context import WorkerContext
from pipeline.moderation import Outgoing
from pipeline.publish import BatchPublisher

log = logging.getLogger("modpipe.worker")


def reports_agent(app: faust.App, ctx: WorkerContext) -> None:
    from pipeline.report_store import ReportStore
    from pipeline.reports import ReportProcessor
    from retention.store import Store
    from review.queue.reported import ReportedItems

    settings = ctx.settings
    topics = settings.kafka.topics
    store, queue, records = ReportStore(settings), ReportedItems(settings), Store(settings)
    ctx.closers.extend((store.close, queue.close, records.close))
    processor = ReportProcessor(settings, ctx.clock, store, queue, records)

    async def handle(batch: list[RawMessage]) -> list[Outgoing]:
        events, letters = processor.parse(batch)
        result = await retry_until_done(app, ctx, "reports", lambda: processor.process(events))
        outgoing = [dead_letter_bytes(ctx, raw, reason, detail) for raw, reason, detail in letters + result.letters]
        outgoing.extend(result.published)
        for added, n in result.added.items():
            ctx.metrics.reports_in.labels(added).inc(n)
        for outcome in result.outcomes:
            ctx.metrics.report_outcomes.labels(outcome.status.value).inc()
        return outgoing

    sources = [topics.reports.name, topics.verdicts.name, topics.decisions.name]
    worker = settings.worker
    batch_agent(app, ctx, "reports", sources, worker.batch_size, worker.batch_timeout_s, handle)

    @app.timer(settings.reports.overdue_interval_s)  # type: ignore[untyped-decorator]
    async def count_overdue() -> None:
        try:
            overdue = await ctx.blocking(store.overdue, ctx.clock.now())
        except Exception:  # a failed count leaves the last one shown; the next interval tries again
            log.exception("reports: overdue count failed")
            return
        ctx.metrics.reports_overdue.labels("reports").set(overdue.reports)
        ctx.metrics.reports_overdue.labels("items").set(overdue.items)


def measures_agent(app: faust.App, ctx: WorkerContext) -> None:
    from pipeline.measures_store import MeasuresStore
    from pipeline.measures_worker import Applied, Applier, Router, command_bytes
    from review.queue.queue import QueueStore

    settings = ctx.settings
    topics = settings.kafka.topics
    queue = QueueStore(settings)
    store = MeasuresStore(settings, ctx.clock)
    ctx.closers.extend([queue.close, store.close])
    router = Router(settings, lambda message_id: item.source if (item := queue.find(message_id)) else None)
    applier = Applier(settings, store)
    publisher = BatchPublisher(lambda: app.producer._ensure_producer())  # type: ignore[attr-defined]  # noqa: PLW0108
    worker = settings.worker

    async def route(batch: list[RawMessage]) -> list[Outgoing]:
        routed: list[Outgoing] = await retry_until_done(app, ctx, "measures", lambda: router.route(batch))
        return routed

    def refuse(raw: RawMessage, detail: str) -> Outgoing:
        return dead_letter_bytes(ctx, raw, DeadLetterReason.BAD_VALUE.value, detail)

    async def apply(batch: list[RawMessage]) -> list[Outgoing]:
        applied: Applied = await retry_until_done(app, ctx, "measures", lambda: applier.apply(batch, refuse))
        # The commands are acknowledged before the states that issued them are stored: none is ever lost.
        await asyncio.gather(*await publisher.send(command_bytes(settings, applied)))
        await retry_until_done(app, ctx, "measures", lambda: applier.save(applied))
        refused: list[Outgoing] = applied.refused
        return refused

    sources = [topics.verdicts.name, topics.decisions.name]
    batch_agent(app, ctx, "measures", sources, worker.batch_size, worker.batch_timeout_s, route)
    batch_agent(app, ctx, "measures-apply", [topics.measure_events.name], worker.batch_size,
                worker.batch_timeout_s, apply)  # fmt: skip
    loaded = False

    @app.timer(settings.measures.tick_interval_s)  # type: ignore[untyped-decorator]
    async def tick() -> None:
        nonlocal loaded
        if not loaded:  # after a restart, the subjects with measures to end are in the store
            await retry_until_done(app, ctx, "measures", applier.load_due)
            loaded = True
        ticks = applier.ticks(ctx.clock.now())
        if ticks:
            await asyncio.gather(*await publisher.send(ticks))

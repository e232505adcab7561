"""The faust agents. Each one: take a batch, do the work off the event loop, publish or store, await the
broker's or the store's acknowledgement, and only then let faust ack (and later commit) the batch's offsets.
A crash anywhere before that re-delivers the batch; every key and object name is derived from the input, so the
re-delivery overwrites instead of duplicating.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import faust
from faust.types import EventT
from pydantic import ValidationError

from modpipe.contracts import DeadLetterReason, Decision
from modpipe.contracts.commands import command_for
from modpipe.contracts.intake import RawMessage, Sink, dead_letter
from modpipe.errors import TransientError
from pipeline.context import WorkerContext
from pipeline.gatefeed import GateFeed
from pipeline.moderation import Outgoing, Routed
from pipeline.moderator import Moderator
from pipeline.publish import BatchPublisher, partition_counts
from pipeline.release import InOrderRelease

if TYPE_CHECKING:
    from pipeline.reconcile import Reconciler
    from retention.checkpoint_keys import SigningKey

log = logging.getLogger("modpipe.worker")
# Agents take `stream: Any`: faust's StreamT protocol does not declare take_events, which Stream has.
_MAX_BACKOFF_S = 30.0


def raw_messages(events: Sequence[EventT[Any]]) -> list[RawMessage]:
    # A null value (tombstone) is kept as empty bytes: it fails validation and is dead-lettered, not dropped.
    return [
        RawMessage(e.message.topic, e.message.partition, e.message.offset, e.message.key, e.message.value or b"")
        for e in events
    ]


async def retry_until_done(app: faust.App, ctx: WorkerContext, agent: str, work: Callable[[], Any]) -> Any:
    """Run blocking work until it succeeds. A store that is down is waited out with back-off (the partition stalls,
    and the metrics and logs say so) rather than a record being skipped. A terminal failure (a bucket without object
    lock, a refused write) crashes the worker without committing: an operator must fix it, and a restart re-reads
    the batch."""
    delay = 0.5
    while True:
        try:
            return await ctx.blocking(work)
        except TransientError:
            ctx.metrics.retries.labels(agent).inc()
            log.exception("%s: store unavailable, retrying in %.1fs", agent, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, _MAX_BACKOFF_S)
        except Exception as exc:
            log.critical("%s: terminal store failure, stopping the worker: %r", agent, exc)
            await app.crash(exc)
            raise


def dead_letter_bytes(ctx: WorkerContext, raw: RawMessage, reason: str, detail: str) -> Outgoing:
    letter = dead_letter(raw, reason, detail, "decode", ctx.clock)
    ctx.metrics.dead_letters.labels(reason).inc()
    return (ctx.settings.kafka.topics.dead_letters.name, raw.key, letter.model_dump_json().encode())


def batch_agent(
    app: faust.App,
    ctx: WorkerContext,
    name: str,
    topic_names: Sequence[str],
    size: int,
    within: float,
    handle: Callable[[list[RawMessage]], Awaitable[list[Outgoing] | Routed]],
    *,
    concurrent: bool = False,
) -> None:
    """Register an agent that hands each batch to `handle` and publishes what it returns.

    The broker's acknowledgement of a batch's outputs is awaited in the background while the next batch is taken
    (up to worker.max_in_flight_batches at once); with `concurrent`, so is `handle` itself, for a `handle` that
    shares no state between calls, for one batch per classifying process and worker.batches_ahead more. Outputs
    are published in batch order. Each message holds a reference that is released only after its own batch's and
    every earlier batch's outputs are acknowledged (pipeline.release), and faust commits an offset only once the
    message is released. A failure crashes the worker with the batch unreleased, so a restart re-reads it.
    """
    source = app.topic(*topic_names, key_serializer="raw", value_serializer="raw")
    # Late-bound: reading app.producer here would build the producer before the worker configures it.
    publisher = BatchPublisher(lambda: app.producer._ensure_producer())  # type: ignore[attr-defined]  # noqa: PLW0108
    limit = ctx.settings.worker.max_in_flight_batches
    # Batches taken and not yet handled (with `concurrent`): one per classifying process, and a few more.
    ahead = max(1, ctx.settings.worker.processes) + ctx.settings.worker.batches_ahead

    @app.agent(source, name=name)
    async def run(stream: Any) -> None:
        async def release(items: Sequence[tuple[EventT[Any], float]]) -> None:
            for event, _ in items:
                await stream.ack(event)
            ctx.metrics.messages_done.labels(name).inc(len(items))
            ctx.metrics.batch_seconds.labels(name).observe(time.perf_counter() - items[0][1])

        async def failed(exc: BaseException) -> None:
            # Left to faust, the agent would restart and go on with later messages while this batch's offsets,
            # never released, held every commit back. Stop instead; a restart re-reads the batch.
            log.critical("%s: a batch failed, stopping the worker without committing it: %r", name, exc)
            await app.crash(exc)

        async def work(
            batch: list[RawMessage],
            turn: asyncio.Future[None] | None,
            sent: asyncio.Future[None],
            handled: asyncio.Future[None],
        ) -> list[asyncio.Future[Any]]:
            try:
                try:
                    outgoing = await handle(batch)
                finally:
                    handled.set_result(None)
                if turn is not None:
                    await turn  # publish in batch order: a restore must not overtake the takedown before it
                return await publisher.send(outgoing)
            finally:
                if not sent.done():
                    sent.set_result(None)

        releases = InOrderRelease(release, failed)
        turn: asyncio.Future[None] | None = None
        handling: set[asyncio.Future[None]] = set()
        # noack_take leaves every ack to release(): one per event. take_events acks each event itself when the
        # next batch is asked for, so each message holds one more reference, for release() to drop.
        noack = ctx.settings.worker.take == "noack"
        batches = stream.noack_take(size, within=within) if noack else stream.take_events(size, within=within)
        try:
            async for events in batches:
                started = time.perf_counter()
                if not noack:
                    for event in events:
                        event.message.incref()  # released in order, after the broker acknowledged the outputs
                batch = raw_messages(events)
                sent, handled = asyncio.get_running_loop().create_future(), asyncio.get_running_loop().create_future()
                acks = asyncio.ensure_future(work(batch, turn, sent, handled))
                turn = sent
                handling.add(handled)
                handled.add_done_callback(handling.discard)
                releases.add([(event, started) for event in events], acks)
                if not concurrent:
                    await asyncio.wait([acks])
                    if acks.cancelled() or acks.exception() is not None:
                        return  # the release stage reports it and stops the worker
                if releases.failed:
                    return
                ctx.lag.taken(name, batch)
                ctx.metrics.batch_size.labels(name).observe(len(batch))
                while len(releases.pending) >= limit:
                    await asyncio.wait(releases.pending, return_when=asyncio.FIRST_COMPLETED)
                # The next batch is taken once a classifying process is free for it: a batch taken while they
                # are all busy would be a small one queued behind them, its per-batch cost paid for few messages.
                while len(handling) >= ahead and not releases.failed:
                    await asyncio.wait(handling, return_when=asyncio.FIRST_COMPLETED)
        finally:
            # On the way out, let what is already sent be acknowledged, so the final commit includes it.
            if releases.pending:
                await asyncio.wait(releases.pending, timeout=ctx.settings.kafka.request_timeout_ms / 1000)


def moderation_agent(app: faust.App, ctx: WorkerContext) -> None:
    settings = ctx.settings
    topics = settings.kafka.topics
    moderator = Moderator(settings, ctx.clock, settings.worker.processes, ctx.executor)
    ctx.closers.append(moderator.close)
    feed = GateFeed(settings, f"{settings.kafka.client_id}-{ctx.worker_id}-gate") if settings.measures.gate else None
    if feed is not None:

        @app.task  # type: ignore[untyped-decorator]
        async def follow_measures() -> None:
            # A broker blip must not freeze the view: read the topic again (folding it again is idempotent).
            while True:
                try:
                    await feed.run()
                except Exception:
                    log.exception("moderation: following the measures topic failed; again in 2 s")
                    await asyncio.sleep(2)

    outputs = [topics.verdicts.name, topics.takedowns.name, topics.dead_letters.name]
    route_in_child = settings.worker.partition == "classifier"

    async def handle(batch: list[RawMessage]) -> list[Outgoing] | Routed:
        metrics = ctx.metrics
        for topic, n in Counter(raw.topic for raw in batch).items():
            metrics.messages_in.labels(topic).inc(n)
        if feed is not None:
            await feed.ready.wait()  # no message judged before every bar already issued is known
        gate, version = (feed.gate(), feed.view.version) if feed is not None else (None, 0)
        partitions = None
        if route_in_child:
            partitions = await partition_counts(app.producer._ensure_producer(), outputs)  # type: ignore[attr-defined]
        out = await moderator.process(batch, gate, version, partitions)
        for counts, metric in (
            (out.actions, metrics.verdicts),
            (out.flagged, metrics.flagged),
            (out.commands, metrics.commands),
            (out.dead_letters, metrics.dead_letters),
        ):
            for label, n in counts.items():
                metric.labels(label).inc(n)
        return out.routed if out.routed is not None else out.outgoing

    inputs = [t.name for t in topics.inputs()]
    worker = settings.worker
    # handle() shares no state between batches: the next one goes to the classifying process while this one runs.
    batch_agent(app, ctx, "moderation", inputs, worker.batch_size, worker.batch_timeout_s, handle, concurrent=True)


def decisions_agent(app: faust.App, ctx: WorkerContext) -> None:
    topics = ctx.settings.kafka.topics

    async def handle(batch: list[RawMessage]) -> list[Outgoing]:
        outgoing: list[Outgoing] = []
        for raw in batch:
            try:
                decision = Decision.model_validate_json(raw.value)
            except ValidationError as exc:
                outgoing.append(dead_letter_bytes(ctx, raw, DeadLetterReason.BAD_VALUE.value, str(exc)[:2000]))
                continue
            ctx.metrics.decisions.labels(decision.outcome.value).inc()
            command = command_for(decision, ctx.clock)
            if command is not None:
                value = command.model_dump_json().encode()
                outgoing.append((topics.takedowns.name, command.message_id.encode(), value))
                ctx.metrics.commands.labels(command.command.value).inc()
        return outgoing

    worker = ctx.settings.worker
    batch_agent(app, ctx, "decisions", [topics.decisions.name], worker.batch_size, worker.batch_timeout_s, handle)


def sink_agent(
    app: faust.App,
    ctx: WorkerContext,
    name: str,
    sources: Sequence[str],
    sink: Sink,
    stored: Callable[[int], None],
    size: int,
    within: float,
) -> None:
    """An agent that hands each message to a sink, dead-letters what the sink refuses, and flushes the batch
    (retrying while the store is down) before its offsets may be committed."""
    ctx.closers.append(sink.close)

    async def handle(batch: list[RawMessage]) -> list[Outgoing]:
        outgoing: list[Outgoing] = []
        for raw in batch:
            refused = sink.add(raw)
            if refused is not None:
                outgoing.append(dead_letter_bytes(ctx, raw, refused.reason, refused.detail))
        stored(await retry_until_done(app, ctx, name, sink.flush))
        return outgoing

    batch_agent(app, ctx, name, sources, size, within, handle)


def records_agent(app: faust.App, ctx: WorkerContext) -> None:
    from pipeline.reports import is_outcome, report_check
    from retention import RecordSink
    from retention.intake import RecordsIntake

    settings = ctx.settings
    topics = settings.kafka.topics
    # User reports and their outcomes are records too (L7), kept like the service's logs.
    others = {topics.reports.name: report_check(settings), topics.report_outcomes.name: is_outcome}
    records = RecordSink(settings, clock=ctx.clock, worker_id=ctx.worker_id)
    sink = RecordsIntake(records, topics.decisions.name, others=others, dead_letters_topic=topics.dead_letters.name)
    # One take batch becomes one flush: bounded by count (size) and age (within); the sink splits by bytes.
    limits = settings.records
    # dead letters are records too (retention.dead_letters): what no agent could take is still kept
    sources = [
        topics.verdicts.name, topics.decisions.name, topics.reports.name, topics.report_outcomes.name,
        topics.dead_letters.name,
    ]  # fmt: skip
    sink_agent(app, ctx, "records", sources, sink, ctx.metrics.records.inc, limits.batch_max_records,
               limits.batch_max_age_s)  # fmt: skip

    # The sweep lists and deletes whole hours of objects: on its own thread, so storing records never waits for it.
    sweeper = ThreadPoolExecutor(1, thread_name_prefix="modpipe-sweep")
    ctx.closers.append(lambda: sweeper.shutdown(wait=True))

    @app.timer(settings.records.sweep_interval_s)  # type: ignore[untyped-decorator]
    async def sweep() -> None:
        await run_sweep(ctx, sweeper)

    if settings.records.checkpoint_key_file is not None:
        from retention.checkpoint_keys import load_signing_key

        key = load_signing_key(settings)  # a wrong key file stops the worker now, naming the setting

        # On the sweep's thread: one checkpoint writer per worker, never in the middle of a sweep.
        @app.timer(settings.records.checkpoint_interval_s)  # type: ignore[untyped-decorator]
        async def checkpoint() -> None:
            await run_checkpoint(ctx, sweeper, key)


async def run_sweep(ctx: WorkerContext, sweeper: ThreadPoolExecutor) -> None:
    """One retention sweep; a failure is counted and logged, and the next interval tries again."""
    import retention

    try:
        await asyncio.get_running_loop().run_in_executor(
            sweeper, lambda: retention.sweep(ctx.settings, ctx.clock, dry_run=False)
        )
    except Exception:
        ctx.metrics.sweep_failures.inc()
        log.exception("retention sweep failed; the next run will try again")
    else:
        ctx.metrics.sweep_last_success.set(ctx.clock.now().timestamp())


async def run_checkpoint(ctx: WorkerContext, executor: ThreadPoolExecutor, key: SigningKey) -> None:
    """One signed checkpoint of the record store; a failure is logged and the next interval tries again."""
    from retention.checkpoint import write_checkpoint
    from retention.store import Store

    def write() -> None:
        with Store(ctx.settings) as store:
            doc = write_checkpoint(ctx.settings, store, ctx.clock, key)
        log.info("checkpoint %s written: %s manifest versions, root %s", doc["seq"], doc["tree_size"], doc["root"])

    try:
        await asyncio.get_running_loop().run_in_executor(executor, write)
    except Exception:
        log.exception("records checkpoint failed; the next run will try again")


def queue_agent(app: faust.App, ctx: WorkerContext) -> None:
    from pipeline.qa_metrics import QaMetrics, qa_sink, qa_timer
    from review.queue import QueueSink
    from review.queue.intake import QueueIntake

    settings = ctx.settings
    topics = settings.kafka.topics
    qa = QaMetrics(ctx.metrics.registry)
    sink = QueueIntake(QueueSink(settings), topics.decisions.name, qa_sink(ctx, qa))
    qa_timer(app, ctx, qa)
    sources = [topics.verdicts.name, topics.decisions.name]
    worker = settings.worker
    sink_agent(app, ctx, "queue", sources, sink, ctx.metrics.queued.inc, worker.batch_size, worker.batch_timeout_s)

    from pipeline.reconcile import Reconciler

    reconciler = Reconciler(settings, ctx.clock)
    # Its own thread: a slow pass over hours of records never holds up the queue agent's flushes.
    thread = ThreadPoolExecutor(1, thread_name_prefix="modpipe-reconcile")
    ctx.closers.append(reconciler.close)  # closers run in reverse: the thread finishes its pass first
    ctx.closers.append(lambda: thread.shutdown(wait=True))

    @app.timer(settings.queue.reconcile_interval_s)  # type: ignore[untyped-decorator]
    async def reconcile() -> None:
        await run_reconcile(ctx, thread, reconciler)


async def run_reconcile(ctx: WorkerContext, thread: ThreadPoolExecutor, reconciler: Reconciler) -> None:
    """One reconciler pass; a failure (the search server or the records store down) is counted and logged, and the
    next interval tries again."""
    try:
        outcome = await asyncio.get_running_loop().run_in_executor(thread, reconciler.run_once)
    except Exception:
        ctx.metrics.reconcile_failures.inc()
        log.exception("queue reconciler failed; the next run will try again")
    else:
        ctx.metrics.reconciled.labels("reindexed").inc(len(outcome.reindexed))
        ctx.metrics.reconciled.labels("reapplied").inc(len(outcome.reapplied))
        ctx.metrics.reconcile_last_success.set(ctx.clock.now().timestamp())

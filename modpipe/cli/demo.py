"""The main job on the local stack: set everything up, start the workers, stream demo traffic, show it live.

Set-up steps run as the same `modpipe` commands an operator (or docker-compose's setup service) runs, and the
workers are separate processes, as in production: the demo exercises the real thing end to end.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from kafka import KafkaConsumer
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from rich.live import Live
from rich.table import Table

from modpipe.settings import Settings, mask_urls
from modpipe.stack.environment import modpipe_environ, worker_command
from modpipe.stack.health import free_port
from modpipe.stack.manager import LocalStack
from pipeline.simulate import SimulationReport, simulate

console = Console(soft_wrap=True)
WORKERS = (("moderation", "moderation,decisions"), ("records", "records"), ("queue", "queue"))


@dataclass
class WorkerProcess:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    def metrics(self) -> dict[str, dict[str, float]]:
        """Sum each metric's samples by their most telling label (or the empty label)."""
        url = f"http://127.0.0.1:{self.port}/metrics"
        with urllib.request.urlopen(url, timeout=2) as resp:
            text = resp.read().decode()
        found: dict[str, dict[str, float]] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    label = next(iter(sample.labels.values()), "")
                    by_label = found.setdefault(sample.name, {})
                    by_label[label] = by_label.get(label, 0.0) + sample.value
        return found

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False


def _modpipe(config_dir: Path | None, *args: str) -> list[str]:
    base = [sys.executable, "-m", "modpipe"]
    if config_dir is not None:
        base += ["--config-dir", str(config_dir)]
    return [*base, *args]


def _step(title: str, argv: Sequence[str]) -> None:
    console.print(f"[bold]→ {title}[/]")
    result = subprocess.run(argv, check=False, capture_output=True, text=True)
    output = (result.stdout + result.stderr).strip()
    if output:
        console.print("  " + output.replace("\n", "\n  "), highlight=False, markup=False)
    if result.returncode != 0:
        raise SystemExit(f"step failed: {' '.join(argv[2:])} (exit {result.returncode})")


def run_demo(settings: Settings, config_dir: Path | None, count: int, rate: float, stop_stack: bool) -> None:
    started = time.monotonic()
    stack = LocalStack.from_settings(settings)
    console.print("[bold]→ local stack[/]")
    stack.up(lambda msg: console.print(f"  {msg}", highlight=False))
    _step("topics", _modpipe(config_dir, "topics", "ensure"))
    _step("records bucket", _modpipe(config_dir, "storage", "init"))
    _step("moderation queue index", _modpipe(config_dir, "search", "init"))
    console.print("[bold]→ classifier model[/] (trained on first run from the corpus and the public sets, ~2 min)")
    from classifiers.loading import load_tagger

    t0 = time.monotonic()
    tagger = load_tagger(settings)
    console.print(f"  model {tagger.model_version}, lexicons {tagger.lexicon_version} ({time.monotonic() - t0:.1f}s)")
    del tagger
    logs = Path(settings.stack.home) / "logs"
    with ExitStack() as stack_of_workers:
        workers = [_start_worker(config_dir, name, agents, logs) for name, agents in WORKERS]
        for w in workers:
            stack_of_workers.callback(_stop_worker, w)
        _wait_healthy(workers)
        run = time.strftime("%Y%m%d%H%M%S")
        pace = f"at {rate:.0f}/s" if rate > 0 else "as fast as possible"
        console.print(f"[bold]→ demo stream[/]: {count} messages {pace} (run {run})")
        watcher = RunWatcher(settings, run)
        try:
            report = _stream_and_watch(
                lambda: simulate(settings, rate, count, seed=int(run), run=run), watcher, workers, count, rate
            )
        finally:
            watcher.close()
    _where_next(settings, report, time.monotonic() - started)
    if stop_stack:
        stack.down(lambda msg: console.print(f"  {msg}"))


def _start_worker(config_dir: Path | None, name: str, agents: str, logs: Path) -> WorkerProcess:
    logs.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = logs / f"worker-{name}.log"
    argv = worker_command(agents, port, f"demo-{name}", config_dir)
    # The demo shows records landing within seconds; production batches for longer (records.batch_max_age_s). The
    # operator's own settings pass through to the workers.
    env = modpipe_environ(isolated=False, defaults={"records.batch_max_age_s": 2})
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    console.print(f"  worker {name} ({agents}) pid {proc.pid}, metrics http://127.0.0.1:{port}/metrics, log {log}")
    return WorkerProcess(name, port, proc, log)


def _stop_worker(worker: WorkerProcess) -> None:
    worker.proc.terminate()
    try:
        worker.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        worker.proc.kill()
        worker.proc.wait()


def _wait_healthy(workers: Sequence[WorkerProcess], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    for w in workers:
        while not w.healthy():
            if w.proc.poll() is not None:
                raise SystemExit(f"worker {w.name} exited with {w.proc.returncode}; see {w.log}")
            if time.monotonic() > deadline:
                raise SystemExit(f"worker {w.name} did not become healthy; see {w.log}")
            time.sleep(0.3)


class RunWatcher:
    """Counts this run's outcomes on the output topics, by message-id prefix: exact even when the topics hold
    earlier runs, and independent of the workers' own counters."""

    def __init__(self, settings: Settings, run: str) -> None:
        topics = settings.kafka.topics
        self.prefix = f"sim-{run}-".encode()
        self.names = {
            topics.verdicts.name: "verdict",
            topics.takedowns.name: "takedown",
            topics.dead_letters.name: "dead",
        }
        # A committing group of its own: a later demo starts where this one stopped instead of re-reading history.
        self.consumer = KafkaConsumer(
            *self.names, bootstrap_servers=settings.kafka.servers, group_id="modpipe-demo-watch",
            auto_offset_reset="earliest", session_timeout_ms=settings.kafka.session_timeout_ms,
            heartbeat_interval_ms=1000, fetch_max_wait_ms=100,
        )  # fmt: skip
        self.verdicts: dict[bytes, tuple[str, tuple[str, ...]]] = {}  # key -> (action, flagged)
        self.takedowns: set[bytes] = set()
        self.dead: dict[bytes, str] = {}

    def poll(self) -> None:
        for records in self.consumer.poll(timeout_ms=200, max_records=10000).values():
            for r in records:
                if r.key is None or not r.key.startswith(self.prefix):
                    continue
                kind = self.names[r.topic]
                if kind == "verdict":
                    value = json.loads(r.value)
                    self.verdicts[r.key] = (value["action"], tuple(value["flagged"]))
                elif kind == "takedown":
                    self.takedowns.add(r.key)
                else:
                    self.dead[r.key] = json.loads(r.value)["reason"]
        self.consumer.commit()

    def close(self) -> None:
        self.consumer.close()


def time_limit_s(count: int, rate: float) -> float:
    """How long the demo waits for its stream to be moderated, stored and queued before it gives up."""
    # As fast as possible (rate 0), the workers set the pace: allow for slow ones (100 msg/s; README measures
    # thousands).
    return 60 + 5 * count / (rate if rate > 0 else 100)


def _stream_and_watch(
    publish: Callable[[], SimulationReport],
    watcher: RunWatcher,
    workers: Sequence[WorkerProcess],
    count: int,
    rate: float,
) -> SimulationReport:
    """Publish in a thread while showing the live summary; a failed publish stops the summary and is raised here."""
    base = _totals(workers)
    limit = time_limit_s(count, rate)
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="demo-simulate") as pool:
        producer = pool.submit(publish)
        with Live(console=console, refresh_per_second=4) as live:
            while True:
                watcher.poll()
                now = _totals(workers)
                stored = now.get("records_stored", 0) - base.get("records_stored", 0)
                queued = now.get("queue_indexed", 0) - base.get("queue_indexed", 0)
                live.update(_summary_table(watcher, stored, queued, time.monotonic() - t0, count))
                if producer.done() and producer.exception() is not None:
                    break
                flagged = sum(1 for action, _ in watcher.verdicts.values() if action != "pass")
                done = len(watcher.verdicts) + len(watcher.dead) >= count
                stored_all = stored >= len(watcher.verdicts) and queued >= flagged
                if (done and stored_all and producer.done()) or time.monotonic() - t0 > limit:
                    break
        # The report, or the exception that stopped the publishing thread.
        return producer.result()


def _totals(workers: Sequence[WorkerProcess]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for w in workers:
        try:
            metrics = w.metrics()
        except OSError:
            continue
        for name, by_label in metrics.items():
            short = name.removeprefix("modpipe_").removesuffix("_total")
            for label, value in by_label.items():
                totals[short] = totals.get(short, 0.0) + value
                totals[f"{short}:{label}"] = totals.get(f"{short}:{label}", 0.0) + value
    return totals


def _summary_table(watcher: RunWatcher, stored: float, queued: float, elapsed: float, count: int) -> Table:
    table = Table(title=f"modpipe demo — {elapsed:.0f}s", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    done = len(watcher.verdicts) + len(watcher.dead)
    table.add_row("messages moderated", f"{done} / {count} ({done / max(elapsed, 1e-9):.0f}/s)")
    actions = Counter(action for action, _ in watcher.verdicts.values())
    for action in ("pass", "review", "block"):
        table.add_row(f"verdict {action}", str(actions[action]))
    categories: Counter[str] = Counter()
    for _, flagged in watcher.verdicts.values():
        categories.update(flagged)
    table.add_row("flagged by category", ", ".join(f"{c}={n}" for c, n in sorted(categories.items())) or "-")
    table.add_row("takedown commands", str(len(watcher.takedowns)))
    reasons = Counter(watcher.dead.values())
    table.add_row("dead letters", f"{len(watcher.dead)} " + " ".join(f"{r}={n}" for r, n in sorted(reasons.items())))
    table.add_row("records stored (S3)", f"{stored:.0f}")
    table.add_row("queued for review (ES)", f"{queued:.0f}")
    return table


def _where_next(settings: Settings, report: SimulationReport, elapsed: float) -> None:
    console.print(
        f"\n[bold green]done[/] in {elapsed:.0f}s: "
        f"sent {report.sent} ({report.valid} valid, {report.malformed} malformed)"
    )
    es = mask_urls(settings.elasticsearch.url)
    console.print("[bold]Where to look next[/]")
    for line in (
        f"moderation queue:  modpipe review serve  → http://{settings.review.host}:{settings.review.port}/",
        f"queue in the Elasticsearch API: {es}/{settings.elasticsearch.index}/_search?q=moderation.status:pending",
        "records of today:  modpipe audit export --from <today>T00:00:00+08:00 --to <now> --out ./export",
        "retention:         modpipe retention sweep --dry-run",
        f"worker logs:       {Path(settings.stack.home) / 'logs'}",
        "more traffic:      modpipe simulate --rate 200 --count 2000   (with `modpipe worker` running)",
        "stop the servers:  modpipe stack down",
    ):
        console.print(f"  {line}", highlight=False)

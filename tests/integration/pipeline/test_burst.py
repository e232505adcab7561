"""Issue 13, point 8: a 10x burst for 60 s while a worker runs is absorbed. The consumer lag the worker exports
grows during the burst and drains back to zero afterwards, and every message still gets exactly one outcome: none
lost, none doubled (no crash, no rebalance: not even an identical re-delivery)."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest

from pipeline.simulate import SimulationReport, simulate
from tests.fixtures.workers import PipelineEnv, Worker
from tests.integration.pipeline.test_workers import assert_each_message_once

BASE_RATE = 250.0  # msg/s: well below one worker's rate on this 2-core machine (about 1,500-5,000 msg/s)
BURST_FACTOR = 10  # 2,500 msg/s: at or above one worker's rate, so a backlog forms
# The burst lasts 60 s (150,000 messages; 461-884 s of test time measured). In the suite it lasts 15 s
# (37,500), which still builds a backlog of tens of thousands: MODPIPE_TEST_BURST_S=60 runs the full one.
BURST_S_DEFAULT = 15.0
CALM_S = 10.0


def lag_of(worker: Worker, agent: str = "moderation") -> int | None:
    """The sum of `modpipe_consumer_lag` over the agent's input partitions; None before any partition shows."""
    prefix = f'modpipe_consumer_lag{{agent="{agent}"'
    lags = [int(float(line.rsplit(" ", 1)[-1])) for line in worker.metrics().splitlines() if line.startswith(prefix)]
    return sum(lags) if lags else None


@dataclass
class Timeline:
    """(seconds since the start, phase, lag) every second, sampled from the worker's /metrics page."""

    started: float = field(default_factory=time.monotonic)
    samples: list[tuple[float, str, int]] = field(default_factory=list)

    def peak(self, phase: str) -> int:
        return max((lag for _, p, lag in self.samples if p == phase), default=0)


@pytest.mark.slow
# The session's stack and default model are set up inside the first test's time: 15 min measured on a loaded machine.
@pytest.mark.timeout(1800)
def test_a_ten_fold_burst_is_absorbed_and_the_lag_drains(pipeline_env: PipelineEnv) -> None:
    env = pipeline_env
    burst_s = float(os.environ.get("MODPIPE_TEST_BURST_S", BURST_S_DEFAULT))
    # The shipped batch size, not the small one of the other pipeline tests: this is about the worker's real rate.
    env.overrides.pop("worker.batch_size")
    worker = env.start_worker("moderation,decisions", "burst")
    worker.wait_assigned()

    phase = ["calm-before"]
    reports: list[tuple[SimulationReport, str]] = []

    def publish() -> None:
        for name, rate, seconds, seed in (
            ("calm-before", BASE_RATE, CALM_S, 61),
            ("burst", BASE_RATE * BURST_FACTOR, burst_s, 62),
            ("calm-after", BASE_RATE, CALM_S, 63),
        ):
            phase[0] = name
            reports.append((simulate(env.settings, rate=rate, count=int(rate * seconds), seed=seed, run=name), name))
        phase[0] = "drain"

    publisher = threading.Thread(target=publish, name="burst-publisher")
    timeline = Timeline()
    publisher.start()
    try:
        while publisher.is_alive():
            lag = lag_of(worker)
            if lag is not None:
                timeline.samples.append((time.monotonic() - timeline.started, phase[0], lag))
            time.sleep(1.0)
    finally:
        publisher.join()
    published = sum(r.sent for r, _ in reports)

    # The burst is over; the backlog drains at the worker's own rate, down to nothing.
    deadline = time.monotonic() + 300
    while (lag := lag_of(worker)) != 0:
        assert time.monotonic() < deadline, f"lag still {lag} 300 s after the burst:\n{worker.tail()}"
        timeline.samples.append((time.monotonic() - timeline.started, "drain", lag or 0))
        time.sleep(1.0)
    drained_at = time.monotonic() - timeline.started
    env.watcher.wait(published, timeout_s=120)

    peaks = {name: timeline.peak(name) for name in ("calm-before", "burst", "calm-after", "drain")}
    # On a loaded machine the publisher falls short of the burst rate and the burst lasts longer: say so.
    achieved = {name: round(r.sent / r.seconds) for r, name in reports if r.seconds > 0}
    print(f"published {published}; rates reached per phase {achieved} msg/s")
    print(f"peak lag per phase {peaks}; lag back to 0 at {drained_at:.0f}s")
    print("lag every 5 s:", [(round(t), p, lag) for t, p, lag in timeline.samples[::5]])
    # A backlog formed during the burst, far above anything the calm rate leaves queued between two batches...
    assert peaks["burst"] > 10 * max(peaks["calm-before"], 50), peaks
    # ...and the exported lag never counted more than was published (the local broker's low end offsets, or a
    # miscount, would show as a lag that does not match the traffic).
    assert max(lag for _, _, lag in timeline.samples) <= published

    counts = assert_each_message_once(env, reports)
    assert counts["verdicts"] == counts["distinct"], "a message was moderated twice"
    takedowns = Counter(key for key, _ in env.read_all("takedowns", idle_s=1.5))
    assert [k for k, n in takedowns.items() if n > 1] == [], "a takedown was sent twice"
    # Final: the lag stayed at zero with everything done, per partition, not only in sum.
    final = [line for line in worker.metrics().splitlines() if line.startswith('modpipe_consumer_lag{agent="mod')]
    assert final, "no lag exported"
    assert all(float(line.rsplit(" ", 1)[-1]) == 0 for line in final), final
    worker.stop()
    assert worker.proc.returncode == 0, worker.tail()

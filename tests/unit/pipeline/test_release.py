"""Batches are released for commit in the order taken, each after its own and every earlier batch's acks."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any


async def done(acks: list[asyncio.Future[None]]) -> list[asyncio.Future[None]]:
    return acks


class Recorder:
    def __init__(self) -> None:
        self.released: list[Any] = []
        self.failures: list[BaseException] = []

    async def release(self, items: Sequence[Any]) -> None:
        self.released.extend(items)

    async def failed(self, exc: BaseException) -> None:
        self.failures.append(exc)


def test_a_batch_acknowledged_first_waits_for_the_earlier_one() -> None:
    from pipeline.release import InOrderRelease

    async def run() -> list[Any]:
        rec = Recorder()
        releases = InOrderRelease(rec.release, rec.failed)
        loop = asyncio.get_running_loop()
        a, b = loop.create_future(), loop.create_future()
        releases.add(["a1", "a2"], done([a]))
        second = releases.add(["b1"], done([b]))
        b.set_result(None)
        await asyncio.sleep(0.01)
        assert rec.released == []  # b's outputs are in, a's are not: nothing may be committed yet
        a.set_result(None)
        assert await second
        return rec.released

    assert asyncio.run(run()) == ["a1", "a2", "b1"]


def test_nothing_after_a_failed_batch_is_released() -> None:
    from pipeline.release import InOrderRelease

    async def run() -> Recorder:
        rec = Recorder()
        releases = InOrderRelease(rec.release, rec.failed)
        loop = asyncio.get_running_loop()
        a, b, c = loop.create_future(), loop.create_future(), loop.create_future()
        releases.add(["a"], done([a]))
        releases.add(["b"], done([b]))
        last = releases.add(["c"], done([c]))
        a.set_result(None)
        b.set_exception(RuntimeError("NOT_ENOUGH_REPLICAS"))
        c.set_result(None)
        assert not await last
        assert releases.failed
        return rec

    rec = asyncio.run(run())
    assert rec.released == ["a"]
    assert [str(e) for e in rec.failures] == ["NOT_ENOUGH_REPLICAS"]


def test_a_batch_whose_work_failed_is_not_released_nor_anything_after_it() -> None:
    from pipeline.release import InOrderRelease

    async def broken() -> list[asyncio.Future[None]]:
        raise ValueError("classifier process died twice")

    async def run() -> Recorder:
        rec = Recorder()
        releases = InOrderRelease(rec.release, rec.failed)
        releases.add(["a"], broken())
        assert not await releases.add(["b"], done([]))
        return rec

    rec = asyncio.run(run())
    assert rec.released == []
    assert len(rec.failures) == 1

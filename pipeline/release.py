"""Releasing batches to faust for commit: in the order they were taken, and never past one that failed.

A batch's outputs may be acknowledged before an earlier batch's (a retried produce request, a slower partition
leader). faust commits the highest offset acknowledged without always seeing a hole below it: with no committed
offset yet (a new group, or during every rebalance, when faust forgets the revoked partitions' offsets) or a hole
of one message, it commits past messages whose outputs were never acknowledged. So a batch is released only once
its own outputs and every earlier batch's are acknowledged, and after one failure nothing more is released.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any


class InOrderRelease:
    def __init__(
        self,
        release: Callable[[Sequence[Any]], Awaitable[None]],
        on_failure: Callable[[BaseException], Awaitable[None]],
    ) -> None:
        self._release = release
        self._on_failure = on_failure
        self._last: asyncio.Task[bool] | None = None
        self.failed = False
        self.pending: set[asyncio.Task[bool]] = set()

    def add(self, items: Sequence[Any], acks: Awaitable[Sequence[asyncio.Future[Any]]]) -> asyncio.Task[bool]:
        """Release `items` once `acks` (the publishing, then what it returns) and every earlier batch are done;
        the task tells whether they were released."""
        task = asyncio.create_task(self._settle(items, acks, self._last))
        self._last = task
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)
        return task

    async def _settle(
        self, items: Sequence[Any], acks: Awaitable[Sequence[asyncio.Future[Any]]], before: asyncio.Task[bool] | None
    ) -> bool:
        try:
            await asyncio.gather(*await acks)
        except Exception as exc:  # noqa: BLE001 - whatever failed or was refused, nothing from here on is released
            self.failed = True
            await self._on_failure(exc)
            return False
        if before is not None and not await before:
            return False
        if self.failed:
            return False
        await self._release(items)
        return True

"""A brake on password guessing by back-off, not lockout: after a few failures a key must wait before its next try,
the wait doubling with each failure up to a cap, and forgotten after a quiet period.

Keys are (client, account) and client. There is deliberately no key for an account alone: a stranger who types a
colleague's name from elsewhere would otherwise make the colleague wait. Every attempt counts as a failure from the
moment it starts (a success clears its pair), so 40 parallel guesses cannot all slip past the check before the first
one is judged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from modpipe.clock import Clock


@dataclass
class _Record:
    count: int
    last: datetime


@dataclass
class BackOff:
    clock: Clock
    free: int
    base_s: float = 1.0
    cap_s: float = 300.0
    forget_s: float = 900.0
    _records: dict[str, _Record] = field(default_factory=dict)
    _max_keys: int = 100_000

    def wait_s(self, key: str) -> float:
        """Seconds before `key` may try again (0 = now)."""
        record = self._records.get(key)
        if record is None:
            return 0.0
        since = (self.clock.now() - record.last).total_seconds()
        if since >= self.forget_s:
            del self._records[key]
            return 0.0
        if record.count < self.free:
            return 0.0
        delay = min(self.base_s * 2.0 ** (record.count - self.free), self.cap_s)
        return max(0.0, delay - since)

    def count(self, key: str) -> None:
        if len(self._records) >= self._max_keys:
            self._sweep()
        record = self._records.get(key)
        if record is None:
            self._records[key] = _Record(1, self.clock.now())
        else:
            record.count += 1
            record.last = self.clock.now()

    def clear(self, key: str) -> None:
        self._records.pop(key, None)

    def _sweep(self) -> None:
        horizon = self.clock.now() - timedelta(seconds=self.forget_s)
        for key in [k for k, r in self._records.items() if r.last <= horizon]:
            del self._records[key]


@dataclass
class LoginBrake:
    """Three free tries per (client, account), twenty per client (an office behind one NAT mistypes too)."""

    clock: Clock
    pair: BackOff = field(init=False)
    client: BackOff = field(init=False)

    def __post_init__(self) -> None:
        self.pair = BackOff(self.clock, free=3)
        self.client = BackOff(self.clock, free=20, cap_s=60.0)

    def begin(self, client: str, account: str) -> float:
        """0 and the attempt counted, or the seconds the client must wait (nothing counted)."""
        pair = f"{client}\x00{account}"
        wait = max(self.pair.wait_s(pair), self.client.wait_s(client))
        if wait > 0:
            return wait
        self.pair.count(pair)
        self.client.count(client)
        return 0.0

    def succeeded(self, client: str, account: str) -> None:
        # The client key is left to decay: signing in to one's own account must not reset guesses at others'.
        self.pair.clear(f"{client}\x00{account}")

"""Signed-in sessions (in memory: a restart signs everyone out) with an absolute expiry and a CSRF token each."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from modpipe.clock import Clock


@dataclass(frozen=True)
class Session:
    token: str
    user: str
    csrf: str
    expires_at: datetime


@dataclass
class Sessions:
    clock: Clock
    ttl_s: int
    _by_token: dict[str, Session] = field(default_factory=dict)

    def create(self, user: str) -> Session:
        self._sweep()
        session = Session(secrets.token_urlsafe(32), user, secrets.token_urlsafe(32), self._expiry())
        self._by_token[session.token] = session
        return session

    def _expiry(self) -> datetime:
        return self.clock.now() + timedelta(seconds=self.ttl_s)

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        session = self._by_token.get(token)
        if session is None:
            return None
        if self.clock.now() >= session.expires_at:
            del self._by_token[token]
            return None
        return session

    def end(self, token: str | None) -> None:
        if token:
            self._by_token.pop(token, None)

    def _sweep(self) -> None:
        now = self.clock.now()
        for token in [t for t, s in self._by_token.items() if now >= s.expires_at]:
            del self._by_token[token]


def same_token(given: str | None, expected: str) -> bool:
    return bool(given) and hmac.compare_digest(str(given), expected)

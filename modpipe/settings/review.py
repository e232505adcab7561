"""The review desk's settings: where it listens, its sessions and claims, its language and time zone, violation
tags, the context it reads around an item and the quality sample it draws."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from modpipe.settings.base import Frozen, NonEmpty, Port, ZoneName
from modpipe.settings.qa import QaSampling

# The languages the review desk has a catalogue for (review/desk/locale; en is the source).
REVIEW_LANGUAGES = ("zh-CN", "en")


class ReviewSettings(Frozen):
    host: NonEmpty
    port: Port
    session_ttl_s: Annotated[int, Field(ge=60)]
    users_file: str
    # The people's audit trail (JSONL); empty = audit.jsonl beside the users file.
    audit_file: str = ""
    # Proxies (IPs or CIDRs) whose X-Forwarded-For / X-Forwarded-Proto are believed; nobody else's are.
    trusted_proxies: tuple[str, ...] = ()
    # How long a moderator's claim on an open item lasts without renewal (the item page renews it while open).
    claim_ttl_s: Annotated[int, Field(ge=30, le=3600, description="seconds (30 to 3600) a claim on an item lasts")] = (
        300
    )
    # The desk's language (its catalogue in review/desk/locale) and the one zone every time on it is shown in.
    language: str = "zh-CN"
    time_zone: ZoneName = "Asia/Shanghai"

    qa_sample: QaSampling = QaSampling()  # the QA queue's draw of machine verdicts (review.queue.qa)
    # Free violation tags a decision may carry besides its categories' sub-labels (issue 16).
    tags: tuple[str, ...] = ()
    # How far before an item the records are searched for the post it replies to when that is not queued.
    context_lookback_h: Annotated[
        float, Field(gt=0, le=24 * 31, description="hours > 0 searched back for a reply's parent (e.g. 24)")
    ] = 24.0

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in REVIEW_LANGUAGES:
            raise ValueError(f"one of {', '.join(REVIEW_LANGUAGES)} (the review desk's catalogues)")
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [tag for tag in value if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", tag)]
        if bad:
            raise ValueError(f"tags of lower-case letters, digits and _ (a letter first, up to 40); not {bad}")
        if len(set(value)) != len(value):
            raise ValueError(f"each tag once; {sorted(t for t in set(value) if value.count(t) > 1)} repeat")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"IP addresses or CIDR networks (e.g. 10.0.0.5, 10.0.0.0/24); not one: {entry!r}"
                ) from None
        return value

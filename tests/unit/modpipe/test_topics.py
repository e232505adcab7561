"""Output topics are sized for the largest record the worker may have to write to them."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from modpipe.clock import FixedClock
from modpipe.contracts.intake import RawMessage, dead_letter
from modpipe.settings import load_settings
from modpipe.topics import output_limits


def test_a_dead_letter_of_the_largest_input_fits_its_topic() -> None:
    settings = load_settings(environ={}, overrides={"kafka.max_input_bytes": 200_000})
    topics = settings.kafka.topics
    raw = RawMessage(topics.posts.name, 3, 12345678, os.urandom(255), os.urandom(200_000))
    letter = dead_letter(raw, "too_large", "200000 bytes > 1048576", "validate", FixedClock(datetime.now(UTC)))
    size = len(letter.model_dump_json().encode())
    limits = output_limits(settings)
    assert size > 200_000 * 4 // 3  # the input travels whole, base64-encoded
    assert size <= limits[topics.dead_letters.name]


def test_the_verdict_topic_takes_the_largest_valid_input_and_more() -> None:
    settings = load_settings(environ={}, overrides={"message.max_message_bytes": 500_000})
    assert output_limits(settings)[settings.kafka.topics.verdicts.name] >= 500_000 + 100_000

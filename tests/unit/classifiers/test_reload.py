"""Hot reload of the tagger from real lexicon files and a real model folder (copies of the session's trained model)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from classifiers.model import ARRAYS
from classifiers.reload import Reloader
from modpipe.clock import FixedClock, SystemClock
from modpipe.contracts.intake import RawMessage
from modpipe.settings import Settings, load_settings
from pipeline.moderation import ModerationProcessor
from pipeline.moderator import Moderator

AT = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
INTERVAL = timedelta(seconds=30)
NEW_TERM = "蓝莓山楂糕"
TEXT = f"今天又买了{NEW_TERM}"


@pytest.fixture(scope="module")
def shared_model(default_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One read-only copy for the tests that do not change the model."""
    folder = tmp_path_factory.mktemp("reload-model") / "model"
    shutil.copytree(default_model_dir, folder)
    return folder


def make_settings(model: Path, lexicons: Path, interval_s: float = 30) -> Settings:
    overrides: dict[str, object] = {
        "classifier.model_dir": str(model),
        "classifier.extra_lexicons": [str(lexicons)],
        "classifier.reload_interval_s": interval_s,
    }
    return load_settings(environ={}, overrides=overrides)


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    # A later mtime even on a file system whose clock is coarse: the fingerprint must see the edit.
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


@pytest.fixture
def lexdir(tmp_path: Path) -> Path:
    folder = tmp_path / "lexicons"
    folder.mkdir()
    (folder / "C8.ops.txt").write_text("# the operator's own terms\n", encoding="utf-8")
    return folder


def new_term_hits(reloader: Reloader) -> bool:
    return any(h.term == NEW_TERM for h in reloader.current().classify(TEXT).hits)


def test_no_change_keeps_the_same_tagger(shared_model: Path, lexdir: Path) -> None:
    reloader = Reloader(make_settings(shared_model, lexdir), FixedClock(AT))
    first = reloader.current()
    assert not reloader.maybe_reload(AT + INTERVAL)
    assert not reloader.maybe_reload(AT + 5 * INTERVAL)
    assert reloader.current() is first


def test_a_new_lexicon_term_is_picked_up(shared_model: Path, lexdir: Path) -> None:
    reloader = Reloader(make_settings(shared_model, lexdir), FixedClock(AT))
    old = reloader.current()
    assert not new_term_hits(reloader)
    write(lexdir / "C8.ops.txt", f"{NEW_TERM}||block\n")
    assert reloader.maybe_reload(AT + INTERVAL)
    new = reloader.current()
    assert new is not old
    assert new.lexicon_version != old.lexicon_version
    assert new.model_version == old.model_version
    assert new_term_hits(reloader)
    assert new.classify(TEXT).action.value == "block"


def test_a_broken_lexicon_is_refused_once_and_the_old_tagger_kept(
    shared_model: Path, lexdir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    reloader = Reloader(make_settings(shared_model, lexdir), FixedClock(AT))
    old = reloader.current()
    write(lexdir / "C8.ops.txt", f"{NEW_TERM}|insult|sometimes\n")
    with caplog.at_level(logging.WARNING, logger="classifiers.reload"):
        assert not reloader.maybe_reload(AT + INTERVAL)
        assert not reloader.maybe_reload(AT + 2 * INTERVAL)  # the same bad files: not logged again
        assert not reloader.maybe_reload(AT + 3 * INTERVAL)
    assert reloader.current() is old
    refused = [r for r in caplog.records if r.name == "classifiers.reload"]
    assert len(refused) == 1
    line = refused[0].getMessage()
    for part in ("refused", "LexiconError", "C8.ops.txt:1", "sometimes"):
        assert part in line
    assert refused[0].__dict__["classifier_reload"]["kept_lexicon_version"] == old.lexicon_version
    # Fixed, it loads.
    write(lexdir / "C8.ops.txt", f"{NEW_TERM}|insult|block\n")
    assert reloader.maybe_reload(AT + 4 * INTERVAL)
    assert new_term_hits(reloader)


def test_a_replaced_model_folder_gives_a_new_model_version(default_model_dir: Path, tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(default_model_dir, model)
    lexdir = tmp_path / "lexicons"
    lexdir.mkdir()
    reloader = Reloader(make_settings(model, lexdir), FixedClock(AT))
    old = reloader.current()
    # A retrained model arrives as a new folder moved into place: here a copy with one intercept changed.
    staged = tmp_path / "model.new"
    shutil.copytree(model, staged)
    with np.load(staged / ARRAYS) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["intercept"] = arrays["intercept"] + np.float32(0.5)
    with (staged / ARRAYS).open("wb") as fh:
        np.savez(fh, allow_pickle=False, **arrays)
    model.rename(tmp_path / "model.old")
    staged.rename(model)
    assert reloader.maybe_reload(AT + INTERVAL)
    new = reloader.current()
    assert new.model_version != old.model_version
    assert new.lexicon_version == old.lexicon_version
    # A model folder that is emptied is refused, never trained in its place.
    shutil.rmtree(tmp_path / "model.old")
    (model / ARRAYS).unlink()
    assert not reloader.maybe_reload(AT + 2 * INTERVAL)
    assert reloader.current() is new


def test_the_interval_is_respected(shared_model: Path, lexdir: Path) -> None:
    clock = FixedClock(AT)
    reloader = Reloader(make_settings(shared_model, lexdir, interval_s=30), clock)
    old = reloader.current()
    write(lexdir / "C8.ops.txt", f"{NEW_TERM}||block\n")
    clock.advance(timedelta(seconds=29))
    assert not reloader.maybe_reload()  # the injected clock: 29 s since start
    assert not reloader.maybe_reload(AT + timedelta(seconds=29.9))
    assert reloader.current() is old
    clock.advance(timedelta(seconds=1))
    assert reloader.maybe_reload()
    assert reloader.current() is not old
    with pytest.raises(ValueError, match="timezone-aware"):
        reloader.maybe_reload(datetime(2026, 11, 23, 9, 0))  # naive: refused


def message(offset: int, at: datetime = AT) -> RawMessage:
    value = {
        "message_id": f"m-{offset}",
        "service_type": "bbs",
        "kind": "post",
        "text": TEXT,
        "published_at": at.isoformat(),
        "author_id": "a-1",
        "source_ip": "203.0.113.7",
    }
    return RawMessage("posts", 0, offset, None, json.dumps(value, ensure_ascii=False).encode())


def test_verdicts_after_a_swap_carry_the_new_versions_in_the_worker_thread(shared_model: Path, lexdir: Path) -> None:
    settings = make_settings(shared_model, lexdir)
    clock = FixedClock(AT)
    thread = ThreadPoolExecutor(1)
    moderator = Moderator(settings, clock, 0, thread)
    try:
        before = asyncio.run(moderator.process([message(0)]))
        write(lexdir / "C8.ops.txt", f"{NEW_TERM}||block\n")
        clock.advance(INTERVAL)
        after = asyncio.run(moderator.process([message(1)]))
    finally:
        moderator.close()
        thread.shutdown()
    verdict_before, verdict_after = (verdicts(enc.outgoing, settings) for enc in (before, after))
    assert verdict_before["lexicon_version"] != verdict_after["lexicon_version"]
    assert verdict_before["action"] != "block"
    assert verdict_after["action"] == "block"


def test_a_classifying_child_process_reloads_before_a_batch(shared_model: Path, lexdir: Path) -> None:
    # A child has its own copy of the clock, so the system clock and a short interval make it due at once.
    settings = make_settings(shared_model, lexdir, interval_s=0.001)
    thread = ThreadPoolExecutor(1)
    moderator = Moderator(settings, SystemClock(), 1, thread)
    now = SystemClock().now()  # intake refuses a published_at far from the receipt time
    try:
        before = asyncio.run(moderator.process([message(0, now)]))
        write(lexdir / "C8.ops.txt", f"{NEW_TERM}||block\n")
        after = asyncio.run(moderator.process([message(1, now)]))
    finally:
        moderator.close()
        thread.shutdown()
    verdict_before, verdict_after = (verdicts(enc.outgoing, settings) for enc in (before, after))
    assert verdict_before["lexicon_version"] != verdict_after["lexicon_version"]
    assert verdict_after["action"] == "block"


def test_the_processor_reads_its_clock_once_per_batch_with_a_reloader(shared_model: Path, lexdir: Path) -> None:
    settings = make_settings(shared_model, lexdir)
    reloader = Reloader(settings, FixedClock(AT))
    reads = 0

    class Counting:
        def now(self) -> datetime:
            nonlocal reads
            reads += 1
            return AT + INTERVAL

    out = ModerationProcessor(settings, reloader.current(), Counting(), reloader).process([message(0)])
    assert reads == 1
    assert len(out.verdicts) == 1


def verdicts(outgoing: list[tuple[str, bytes | None, bytes]], settings: Settings) -> dict[str, object]:
    found = [json.loads(v) for topic, _, v in outgoing if topic == settings.kafka.topics.verdicts.name]
    assert len(found) == 1
    verdict: dict[str, object] = found[0]
    return verdict

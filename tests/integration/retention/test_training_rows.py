"""`modpipe decisions export`: moderators' decisions read back from the real S3 records as training rows, and its
flag errors through the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from classifiers.data import Example, load_examples
from modpipe.cli.common import State
from modpipe.cli.main import app
from modpipe.clock import FixedClock
from modpipe.contracts.verdict import DecisionOutcome
from modpipe.settings import Action, Settings
from modpipe.stack.manager import StackInfo
from retention import RecordSink
from retention.store import Store
from retention.training_rows import export_rows
from tests.integration.retention.factory import decision, verdict
from tests.support import REPO, modpipe_environ, stack_overrides

HOUR = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
T1 = HOUR - timedelta(hours=10)
T2 = T1 + timedelta(hours=2)
CONFIRMED, OVERTURNED = DecisionOutcome.CONFIRMED, DecisionOutcome.OVERTURNED


@pytest.fixture(scope="module")
def decisions(records_settings: Settings) -> dict[str, dict[str, Any]]:
    """Verdicts (one a day before the window, in another service) and decisions in and around the window; returns
    the decisions that should win, by message id."""
    topics = records_settings.kafka.topics
    c6, c93 = ("C6",), ("C9", "C3")
    conf = verdict("m-conf", "bbs", T1 - timedelta(days=1), action=Action.REVIEW, flagged=("C7",), offset=1)
    conf["sub_labels"] = {"C7": "gambling"}
    over = verdict("m-over", "group", T1 - timedelta(hours=3), action=Action.BLOCK, flagged=("C6",), offset=2)
    twice = verdict("m-twice", "bbs", T1 - timedelta(minutes=30), action=Action.REVIEW, flagged=("C9", "C3"),
                    offset=3)  # fmt: skip
    twice["sub_labels"] = {"C3": "x-sub", "C9": "fraud"}
    outside = verdict("m-outside", "bbs", T1 - timedelta(hours=2), action=Action.REVIEW, flagged=("C6",), offset=4)
    won = {
        "m-conf": decision("m-conf", "bbs", T1 + timedelta(minutes=5), CONFIRMED, Action.REVIEW, categories=("C7",)),
        "m-over": decision("m-over", "group", T1 + timedelta(minutes=20), OVERTURNED, Action.BLOCK, categories=c6),
        # decided twice, in two hours of the window: the later (confirmed) one wins
        "m-twice": decision("m-twice", "bbs", T1 + timedelta(minutes=70), CONFIRMED, Action.REVIEW, categories=c93),
    }
    earlier = decision("m-twice", "bbs", T1 + timedelta(minutes=10), OVERTURNED, Action.REVIEW, categories=("C3",))
    before = decision("m-outside", "bbs", T1 - timedelta(minutes=1), CONFIRMED, Action.REVIEW, categories=("C6",))
    after = decision("m-conf", "bbs", T2, OVERTURNED, Action.REVIEW, categories=("C7",))  # at --to: excluded
    with RecordSink(records_settings, clock=FixedClock(HOUR), worker_id="w-t") as sink:
        for i, v in enumerate((conf, over, twice, outside)):
            sink.add(v, topic=topics.verdicts.name, partition=0, offset=10 + i)
        for i, d in enumerate((before, won["m-conf"], earlier, won["m-over"], won["m-twice"], after)):
            sink.add(d, topic=topics.decisions.name, partition=0, offset=20 + i)
        sink.flush()
    return won


def expected_rows(won: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    def row(message_id: str, text_labels: list[str], sub: str | None, service: str) -> dict[str, Any]:
        d = won[message_id]
        return {"text": f"内容 {message_id}", "labels": text_labels, "sub_label": sub, "message_id": message_id,
                "decision": d["outcome"], "decided_by": "mod-7", "decided_at": d["decided_at"],
                "service_type": service}  # fmt: skip

    return [
        row("m-conf", ["C7"], "gambling", "bbs"),
        row("m-over", [], None, "group"),
        row("m-twice", ["C3", "C9"], "x-sub", "bbs"),
    ]


def test_export_rows_exactly(
    decisions: dict[str, dict[str, Any]], records_settings: Settings, store: Store, tmp_path: Path
) -> None:
    out = tmp_path / "rows.jsonl"
    summary = export_rows(records_settings, store, T1, T2, out)
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert lines == expected_rows(decisions)
    assert (summary.rows, summary.confirmed, summary.overturned, summary.decisions) == (3, 2, 1, 4)
    assert not summary.skipped
    assert load_examples(out) == [
        Example("内容 m-conf", frozenset({"C7"}), "gambling"),
        Example("内容 m-over", frozenset()),
        Example("内容 m-twice", frozenset({"C3", "C9"}), "x-sub"),
    ]
    with pytest.raises(FileExistsError):
        export_rows(records_settings, store, T1, T2, out)


def test_cli_writes_summary_and_refuses_overwrite(
    decisions: dict[str, dict[str, Any]], records_settings: Settings, stack: StackInfo, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(
        State, "overrides", {**stack_overrides(stack), "s3.records_bucket": records_settings.s3.records_bucket}
    )
    out = tmp_path / "cli.jsonl"
    args = ["decisions", "export", "--from", T1.isoformat(), "--to", T2.isoformat(), "--out", str(out)]
    runner = CliRunner()
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    assert f"wrote 3 rows (2 confirmed, 1 overturned) from 4 decisions in [{T1.isoformat()}, {T2.isoformat()})" in (
        done.output
    )
    assert "+00:00" in done.output
    assert [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] == expected_rows(decisions)
    again = runner.invoke(app, args)
    assert again.exit_code == 2
    assert "--force" in again.output
    out.write_text("old\n", encoding="utf-8")
    forced = runner.invoke(app, [*args, "--force"])
    assert forced.exit_code == 0, forced.output
    assert len(load_examples(out)) == 3


def modpipe(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    clean = modpipe_environ({"stack.home": home}) | {"COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "modpipe", *args], cwd=REPO, env=clean, check=False,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


@pytest.mark.parametrize(
    ("start", "end", "named", "expected"),
    [
        ("yesterday", "2026-11-23T10:00:00+00:00", "--from", "RFC 3339"),
        ("2026-11-23T08:00:00", "2026-11-23T10:00:00+00:00", "--from", "offset"),  # no offset
        ("2026-11-23T08:00:00+00:00", "10:00", "--to", "RFC 3339"),
        ("2026-11-23T10:00:00+08:00", "2026-11-23T02:00:00+00:00", "--to", "after --from"),  # equal instants
    ],
)
def test_flag_errors_exit_2(start: str, end: str, named: str, expected: str, tmp_path: Path) -> None:
    done = modpipe("decisions", "export", "--from", start, "--to", end, "--out", str(tmp_path / "o.jsonl"),
                   home=tmp_path)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert named in done.stderr
    assert expected in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "o.jsonl").exists()


def test_existing_out_exits_2_without_force(tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    out.write_text("keep\n", encoding="utf-8")
    done = modpipe("decisions", "export", "--from", "2026-11-23T08:00:00+00:00", "--to", "2026-11-23T10:00:00+00:00",
                   "--out", str(out), home=tmp_path)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "--out" in done.stderr
    assert "--force" in done.stderr
    assert out.read_text(encoding="utf-8") == "keep\n"

"""The one builder of a local stack's settings and of a `modpipe` child's environment (modpipe.stack.environment),
shared by the tests, the benchmarks and the demo."""

from __future__ import annotations

import sys
from pathlib import Path

from modpipe.settings import load_settings
from modpipe.stack.environment import env_name, modpipe_environ, stack_overrides, topic_overrides, worker_command
from modpipe.stack.manager import Credentials, StackInfo
from tests.support import REPO

INFO = StackInfo(
    home=Path("/tmp/some-stack"),
    kafka_bootstrap="127.0.0.1:19092",
    s3_endpoint="127.0.0.1:18333",
    elasticsearch_url="http://127.0.0.1:19200",
    credentials=Credentials("ak-1", "sk-1"),
)


def test_stack_overrides_point_every_client_at_the_stack() -> None:
    s = load_settings(REPO / "config", environ={}, overrides=stack_overrides(INFO, **{"worker.batch_size": 7}))
    assert s.kafka.bootstrap == "127.0.0.1:19092"
    assert (s.s3.endpoint, s.s3.access_key, s.s3.secret_key.get_secret_value()) == ("127.0.0.1:18333", "ak-1", "sk-1")
    assert s.s3.lock_mode == "GOVERNANCE"
    assert s.elasticsearch.url == "http://127.0.0.1:19200"
    assert s.worker.batch_size == 7


def test_topic_overrides_rename_every_topic() -> None:
    overrides = topic_overrides("run-{topic}-x", partitions=1)
    s = load_settings(REPO / "config", environ={}, overrides=overrides)
    names = {t.name for t in s.kafka.topics.all()}
    assert names == {f"run-{k}-x" for k in ("posts", "comments", "group-messages", "verdicts", "takedowns",
                                            "decisions", "dead-letters", "reports", "report-outcomes", "measures",
                                            "measure-events", "credit-levels")}  # fmt: skip
    assert {t.partitions for t in s.kafka.topics.all()} == {1}
    assert "kafka.topics.posts.partitions" not in topic_overrides("{topic}")


def test_isolated_environment_keeps_only_the_overrides() -> None:
    base = {"PATH": "/bin", "MODPIPE__KAFKA__BOOTSTRAP": "elsewhere:1", "MODPIPE_CONFIG_DIR": "/x", "AWS_REGION": "r"}
    env = modpipe_environ({"kafka.bootstrap": "127.0.0.1:19092", "worker.batch_size": 64}, base=base)
    assert env == {"PATH": "/bin", "MODPIPE__KAFKA__BOOTSTRAP": "127.0.0.1:19092", "MODPIPE__WORKER__BATCH_SIZE": "64"}
    assert load_settings(REPO / "config", environ=env).worker.batch_size == 64


def test_the_demo_environment_keeps_the_operators_settings() -> None:
    defaults = {"records.batch_max_age_s": 2}
    mine = {"MODPIPE_CONFIG_DIR": "/etc/modpipe", "MODPIPE__RECORDS__BATCH_MAX_AGE_S": "30"}
    assert modpipe_environ(base=mine, isolated=False, defaults=defaults) == mine
    assert modpipe_environ(base={}, isolated=False, defaults=defaults) == {"MODPIPE__RECORDS__BATCH_MAX_AGE_S": "2"}


def test_env_name_is_what_the_loader_reads() -> None:
    assert env_name("kafka.topics.posts.name") == "MODPIPE__KAFKA__TOPICS__POSTS__NAME"
    env = {env_name("kafka.topics.posts.name"): "p-1"}
    assert load_settings(REPO / "config", environ=env).kafka.topics.posts.name == "p-1"


def test_worker_command_runs_this_interpreter(tmp_path: Path) -> None:
    assert worker_command("queue,decisions", 7001, "w-1") == [
        sys.executable, "-m", "modpipe", "worker", "--agents", "queue,decisions", "--web-port", "7001",
        "--worker-id", "w-1",
    ]  # fmt: skip
    assert worker_command("records", 7002, "w-2", tmp_path)[3:5] == ["--config-dir", str(tmp_path)]

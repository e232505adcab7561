"""Settings and environments of the programs that run against a local stack: the tests, the benchmarks and the demo
build their workers' settings and `modpipe` subprocess environments here, so each of them starts a worker the same
way and a change (a new topic, a new client setting) is made once."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from modpipe.settings.loader import ENV_PREFIX
from modpipe.settings.models import Topics
from modpipe.stack.manager import StackInfo

# What a developer's environment may hold that would point a child process elsewhere: modpipe's own settings and
# config folder, and the AWS variables the S3 client falls back on.
_OWN_PREFIXES = ("MODPIPE", "AWS_")


def workspace_datasets_dir() -> Path:
    """The public data sets beside the source tree (../shared/datasets), where ./dev, the tests and the benchmarks
    find them."""
    return Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


def stack_overrides(info: StackInfo, **extra: Any) -> dict[str, Any]:
    """Settings overrides that point every client at this stack, then `extra` (dotted names as keys).

    The lock mode is GOVERNANCE so the tests and benchmarks can delete what they wrote; production uses COMPLIANCE.
    """
    return {
        "stack.home": str(info.home),
        "kafka.bootstrap": info.kafka_bootstrap,
        "s3.endpoint": info.s3_endpoint,
        "s3.access_key": info.credentials.access_key,
        "s3.secret_key": info.credentials.secret_key,
        "s3.lock_mode": "GOVERNANCE",
        "elasticsearch.url": info.elasticsearch_url,
        "classifier.datasets_dir": str(workspace_datasets_dir()),
        **extra,
    }


def topic_overrides(template: str, partitions: int | None = None) -> dict[str, Any]:
    """Every topic of the settings renamed after `template`, in which `{topic}` stands for the topic's key with
    dashes (e.g. "bench-run1-{topic}"): a run of its own sees exactly the traffic it made."""
    overrides: dict[str, Any] = {}
    for key in Topics.model_fields:
        overrides[f"kafka.topics.{key}.name"] = template.format(topic=key.replace("_", "-"))
        if partitions is not None:
            overrides[f"kafka.topics.{key}.partitions"] = partitions
    return overrides


def env_name(dotted: str) -> str:
    """The environment variable of a setting: kafka.bootstrap -> MODPIPE__KAFKA__BOOTSTRAP."""
    return ENV_PREFIX + dotted.replace(".", "__").upper()


def worker_command(agents: str, web_port: int, worker_id: str, config_dir: Path | None = None) -> list[str]:
    """The argv of a `modpipe worker` child running `agents` (comma-separated), in this interpreter."""
    folder = [] if config_dir is None else ["--config-dir", str(config_dir)]
    return [sys.executable, "-m", "modpipe", *folder, "worker", "--agents", agents, "--web-port", str(web_port),
            "--worker-id", worker_id]  # fmt: skip


def modpipe_environ(
    overrides: Mapping[str, Any] | None = None,
    *,
    base: Mapping[str, str] | None = None,
    isolated: bool = True,
    defaults: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """The environment of a `modpipe` child process: `base` (os.environ when None) with the overrides as
    MODPIPE__ variables.

    isolated: drop base's own MODPIPE and AWS_ variables first, so the child sees only the overrides (tests and
    benchmarks are reproducible whatever the developer exported); the demo keeps them (the operator's settings).
    defaults: settings that apply only where base sets nothing, so an operator's own value wins.
    """
    source = os.environ if base is None else base
    env = {k: v for k, v in source.items() if not (isolated and k.startswith(_OWN_PREFIXES))}
    for dotted, value in (defaults or {}).items():
        env.setdefault(env_name(dotted), str(value))
    env.update({env_name(dotted): str(value) for dotted, value in (overrides or {}).items()})
    return env

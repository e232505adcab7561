"""Settings: defaults, every kind of environment override, and a clear SettingsError for every bad value."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from modpipe.settings import Settings, SettingsError, load_settings
from modpipe.settings.loader import default_config_dir
from tests.support import REPO

CONFIG = REPO / "config"


def load(**env: str) -> Settings:
    return load_settings(CONFIG, environ=env)


def problem_of(env: dict[str, str], config_dir: Path = CONFIG) -> str:
    with pytest.raises(SettingsError) as info:
        load_settings(config_dir, environ=env)
    return str(info.value)


# -- defaults --------------------------------------------------------------------------------------------------


@pytest.mark.obligation("L3", "L4", "L5")
def test_defaults_load() -> None:
    s = load()
    assert s.kafka.bootstrap == "127.0.0.1:9092"  # `local` resolved against the stack ports
    assert s.s3.endpoint == "127.0.0.1:8333"
    assert s.elasticsearch.url == "http://127.0.0.1:9200"
    assert sorted(s.categories) == [f"C{i}" for i in range(1, 10)]
    assert set(s.services) >= {"bbs", "comment", "group", "public_account"}
    assert s.services["bbs"].retention.days == 60
    assert s.services["group"].retention.months == 6
    assert s.kafka.topics.group_messages.name == "group-messages"
    assert s.s3.lock_mode == "COMPLIANCE"


def test_default_config_dir_is_the_source_tree() -> None:
    assert default_config_dir({}) == CONFIG
    assert default_config_dir({"MODPIPE_CONFIG_DIR": "/elsewhere"}) == Path("/elsewhere")


# -- overrides -------------------------------------------------------------------------------------------------


def test_nested_env_override() -> None:
    s = load(MODPIPE__KAFKA__BOOTSTRAP="broker-a:9093,broker-b:9094", MODPIPE__WORKER__WEB_PORT="7001")
    assert s.kafka.servers == ["broker-a:9093", "broker-b:9094"]
    assert s.worker.web_port == 7001
    s = load(MODPIPE__KAFKA__TOPICS__POSTS__PARTITIONS="8", MODPIPE__STACK__KAFKA_PORT="19092")
    assert s.kafka.topics.posts.partitions == 8
    assert s.kafka.bootstrap == "127.0.0.1:19092"


def test_env_key_case_does_not_matter() -> None:
    assert load(MODPIPE__kafka__client_id="other").kafka.client_id == "other"


@pytest.mark.parametrize("raw", ["moderation,records", " moderation , records ", '["moderation", "records"]'])
def test_list_values_comma_separated_or_json(raw: str) -> None:
    assert load(MODPIPE__WORKER__AGENTS=raw).worker.agents == ("moderation", "records")


def test_list_of_paths(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    s = load(MODPIPE__CLASSIFIER__EXTRA_LEXICONS=f"{a},{b}")
    assert s.classifier.extra_lexicons == (a, b)


def test_category_override() -> None:
    s = load(MODPIPE__CATEGORIES__C8__THRESHOLDS__BLOCK="0.95", MODPIPE__CATEGORIES__C8__ACTION="review")
    assert s.categories["C8"].thresholds.block == 0.95
    assert s.categories["C8"].action == "review"
    # Category codes are matched whatever case the variable uses.
    assert load(MODPIPE__CATEGORIES__c8__THRESHOLDS__BLOCK="0.97").categories["C8"].thresholds.block == 0.97


def test_service_override_and_new_service() -> None:
    s = load(
        MODPIPE__SERVICES__BBS__RETENTION__DAYS="90",
        MODPIPE__SERVICES__LIVE__NAME_EN="Live chat",
        MODPIPE__SERVICES__LIVE__NAME_ZH="直播",
        MODPIPE__SERVICES__LIVE__RETENTION='{"months": 6, "min_days": 180}',
        MODPIPE__SERVICES__LIVE__LEGAL_BASIS="Group rules Art. 13",
    )
    assert s.services["bbs"].retention.days == 90
    assert s.services["live"].retention.months == 6
    assert s.services["live"].name == "live"


def test_overrides_beat_env() -> None:
    s = load_settings(CONFIG, environ={"MODPIPE__KAFKA__CLIENT_ID": "env"}, overrides={"kafka.client_id": "arg"})
    assert s.kafka.client_id == "arg"


def test_environ_argument_replaces_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODPIPE__KAFKA__BOOTSTRAP", "")
    monkeypatch.setenv("MODPIPE__NOT_A_SECTION__X", "1")
    assert load_settings(CONFIG, environ={}).kafka.bootstrap == "127.0.0.1:9092"
    with pytest.raises(SettingsError):
        load_settings(CONFIG)  # and without it, os.environ is read at call time


# -- bad values --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "setting", "given", "expected"),
    [
        ({"MODPIPE__KAFKA__BOOTSTRAP": ""}, "kafka.bootstrap", "''", "host:port"),
        ({"MODPIPE__KAFKA__BOOTSTRAP": "no-port"}, "kafka.bootstrap", "'no-port'", "host:port"),
        ({"MODPIPE__SERVICES__BBS__RETENTION__DAYS": "-1"}, "services.bbs.retention.days", "'-1'", "greater than 0"),
        ({"MODPIPE__CATEGORIES__C8__THRESHOLDS__BLOCK": "0.2"}, "categories.C8.thresholds", "", "block threshold"),
        ({"MODPIPE__CATEGORIES__C8__THRESHOLDS__REVIEW": "2"}, "categories.C8.thresholds.review", "'2'", "1"),
        ({"MODPIPE__KAFKA__BOGUS": "1"}, "kafka.bogus", "'1'", "no such setting"),
        ({"MODPIPE__NOSECTION__KEY": "1"}, "nosection", "", "no such setting"),
        ({"MODPIPE__S3__LOCK_MODE": "LOOSE"}, "s3.lock_mode", "'LOOSE'", "COMPLIANCE"),
        ({"MODPIPE__STACK__KAFKA_PORT": "70000"}, "stack.kafka_port", "'70000'", "65535"),
        ({"MODPIPE__STACK__S3_PORT": "0"}, "stack.s3_port", "'0'", "greater than or equal to 1"),
        ({"MODPIPE__WORKER__WEB_PORT": "http"}, "worker.web_port", "'http'", "integer"),
        ({"MODPIPE__WORKER__AGENTS": "moderation,nonsense"}, "worker.agents", "nonsense", "moderation"),
        ({"MODPIPE__S3__RECORDS_BUCKET": "Bad_Bucket"}, "s3.records_bucket", "'Bad_Bucket'", "bucket name"),
        ({"MODPIPE__STACK__BROKER_STORAGE": "disk"}, "stack.broker_storage", "'disk'", "memory"),
        ({"MODPIPE__STACK__BROKER_RETENTION_S": "0"}, "stack.broker_retention_s", "'0'", "greater than 0"),
        ({"MODPIPE__STACK__BROKER_HOUSEKEEPING_INTERVAL_S": "7200"}, "stack.broker_housekeeping_interval_s", "", "36"),
        ({"MODPIPE__WORKER__BATCHES_AHEAD": "-1"}, "worker.batches_ahead", "'-1'", "greater than or equal to 0"),
    ],
)
def test_bad_value_names_setting_value_and_expectation(
    env: dict[str, str], setting: str, given: str, expected: str
) -> None:
    message = problem_of(env)
    assert f"setting {setting}" in message
    assert given in message
    assert expected in message
    var = next(iter(env))
    assert var in message, "the problem says which environment variable gave the value"


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(CONFIG, environ={"MODPIPE__KAFKA__BOOTSTRAP": "", "MODPIPE__S3__LOCK_MODE": "x"})
    assert {p.setting for p in info.value.problems} == {"kafka.bootstrap", "s3.lock_mode"}


def test_secret_values_are_not_echoed_in_errors() -> None:
    message = problem_of({"MODPIPE__S3__SECRET_KEY": '["hunter2-secret"]'})
    assert "s3.secret_key" in message
    assert "hunter2" not in message


def test_missing_config_dir(tmp_path: Path) -> None:
    message = problem_of({}, tmp_path / "nowhere")
    assert "config_dir" in message
    assert "nowhere" in message
    assert "modpipe.yaml" in message


def copy_config(tmp_path: Path) -> Path:
    folder = tmp_path / "config"
    shutil.copytree(CONFIG, folder, ignore=shutil.ignore_patterns("lexicons", "kibana"))
    return folder


def test_malformed_yaml(tmp_path: Path) -> None:
    folder = copy_config(tmp_path)
    (folder / "services.yaml").write_text("bbs: {retention: [unclosed\n", encoding="utf-8")
    message = problem_of({}, folder)
    assert "services.yaml" in message
    assert "readable YAML" in message


def test_yaml_that_is_not_a_mapping(tmp_path: Path) -> None:
    folder = copy_config(tmp_path)
    (folder / "categories.yaml").write_text("- C1\n- C2\n", encoding="utf-8")
    message = problem_of({}, folder)
    assert "categories.yaml" in message
    assert "mapping" in message


def test_missing_required_file_setting(tmp_path: Path) -> None:
    folder = copy_config(tmp_path)
    text = (folder / "modpipe.yaml").read_text(encoding="utf-8").replace("  client_id: modpipe\n", "")
    (folder / "modpipe.yaml").write_text(text, encoding="utf-8")
    message = problem_of({}, folder)
    assert "kafka.client_id" in message
    assert "<missing>" in message


# -- frozen and secret -------------------------------------------------------------------------------------------


def test_settings_are_frozen() -> None:
    s = load()
    with pytest.raises(ValidationError):
        s.kafka.bootstrap = "elsewhere:1"
    with pytest.raises(ValidationError):
        s.categories["C8"].thresholds.block = 0.1


def test_secrets_are_secret_str() -> None:
    s = load(MODPIPE__S3__SECRET_KEY="s3-very-secret", MODPIPE__ELASTICSEARCH__PASSWORD="es-very-secret")
    assert isinstance(s.s3.secret_key, SecretStr)
    assert isinstance(s.elasticsearch.password, SecretStr)
    assert s.s3.secret_key.get_secret_value() == "s3-very-secret"
    assert "s3-very-secret" not in repr(s)
    assert "es-very-secret" not in str(s)


def test_credentials_come_from_the_stack_home(tmp_path: Path) -> None:
    (tmp_path / "credentials.json").write_text('{"access_key": "ak", "secret_key": "sk"}', encoding="utf-8")
    s = load(MODPIPE__STACK__HOME=str(tmp_path))
    assert s.s3.access_key == "ak"
    assert s.s3.secret_key.get_secret_value() == "sk"


def test_review_tags_are_validated_on_load() -> None:
    assert "repeat_offender" in load().review.tags
    problem = problem_of({"MODPIPE__REVIEW__TAGS": '["ok_tag", "Bad Tag"]'})
    assert "review.tags" in problem
    assert "Bad Tag" in problem
    assert "review.tags" in problem_of({"MODPIPE__REVIEW__TAGS": '["twice", "twice"]'})

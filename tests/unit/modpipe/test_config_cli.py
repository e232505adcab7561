"""`modpipe config show | check` as a user runs them: a subprocess with a controlled environment."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from modpipe.stack.health import free_port
from tests.support import run_python


def modpipe(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return run_python("-m", "modpipe", *args, home=home, NO_COLOR="1", **env)


def test_config_show_masks_secrets(tmp_path: Path) -> None:
    (tmp_path / "credentials.json").write_text(
        json.dumps({"access_key": "stack-access", "secret_key": "stack-secret-from-file"}), encoding="utf-8"
    )
    done = modpipe("config", "show", "--format", "json", home=tmp_path, MODPIPE__ELASTICSEARCH__PASSWORD="es-pw-xyz")
    assert done.returncode == 0, done.stderr
    assert "stack-secret-from-file" not in done.stdout + done.stderr
    assert "es-pw-xyz" not in done.stdout + done.stderr
    shown = json.loads(done.stdout)
    assert shown["s3"]["secret_key"] == "***"
    assert shown["elasticsearch"]["password"] == "***"
    assert shown["s3"]["access_key"] == "stack-access"
    assert shown["stack"]["home"] == str(tmp_path)


def test_config_show_yaml_masks_secrets(tmp_path: Path) -> None:
    done = modpipe("config", "show", home=tmp_path, MODPIPE__S3__SECRET_KEY="yaml-secret-abc")
    assert done.returncode == 0, done.stderr
    assert "yaml-secret-abc" not in done.stdout + done.stderr
    assert "secret_key: '***'" in done.stdout
    assert "bootstrap: 127.0.0.1:9092" in done.stdout


def test_config_check_ok(tmp_path: Path) -> None:
    done = modpipe("config", "check", home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "configuration ok" in done.stdout


def test_config_check_exits_2_naming_the_setting(tmp_path: Path) -> None:
    done = modpipe("config", "check", home=tmp_path, MODPIPE__KAFKA__BOOTSTRAP="")
    assert done.returncode == 2
    assert "kafka.bootstrap" in done.stderr
    assert "MODPIPE__KAFKA__BOOTSTRAP" in done.stderr
    assert "host:port" in done.stderr
    assert "Traceback" not in done.stderr


def test_negative_retention_exits_2(tmp_path: Path) -> None:
    done = modpipe("config", "check", home=tmp_path, MODPIPE__SERVICES__BBS__RETENTION__DAYS="-1")
    assert done.returncode == 2
    assert "services.bbs.retention.days" in done.stderr
    assert "-1" in done.stderr


def test_other_commands_exit_2_on_bad_setting(tmp_path: Path) -> None:
    for args in (("config", "show"), ("stack", "status")):
        done = modpipe(*args, home=tmp_path, MODPIPE__S3__LOCK_MODE="LOOSE")
        assert done.returncode == 2, args
        assert "s3.lock_mode" in done.stderr


def test_config_dir_option(tmp_path: Path) -> None:
    done = modpipe("--config-dir", str(tmp_path / "missing"), "config", "check", home=tmp_path)
    assert done.returncode == 2
    assert "config_dir" in done.stderr


ES_WITH_PASSWORD = "http://elastic:url-pw-42@127.0.0.1:1"


def test_config_show_masks_the_userinfo_of_urls(tmp_path: Path) -> None:
    for fmt in ("json", "yaml"):
        done = modpipe("config", "show", "--format", fmt, home=tmp_path, MODPIPE__ELASTICSEARCH__URL=ES_WITH_PASSWORD)
        assert done.returncode == 0, done.stderr
        assert "url-pw-42" not in done.stdout + done.stderr, fmt
        assert "elastic:" not in done.stdout, fmt
        assert "http://***@127.0.0.1:1" in done.stdout, fmt


def test_a_bad_url_setting_is_named_with_its_userinfo_masked(tmp_path: Path) -> None:
    done = modpipe("config", "check", home=tmp_path, MODPIPE__ELASTICSEARCH__URL=ES_WITH_PASSWORD + "/a path")
    assert done.returncode == 2
    assert "elasticsearch.url" in done.stderr
    assert "url-pw-42" not in done.stdout + done.stderr
    assert "'http://***@127.0.0.1:1/a path'" in done.stderr


def test_unreachable_elasticsearch_error_masks_the_userinfo(tmp_path: Path) -> None:
    url = f"http://elastic:url-pw-42@127.0.0.1:{free_port()}"
    done = modpipe("search", "init", home=tmp_path, MODPIPE__ELASTICSEARCH__URL=url)
    assert done.returncode == 1
    assert "unreachable" in done.stderr
    assert "elasticsearch.url" in done.stderr
    assert "url-pw-42" not in done.stdout + done.stderr
    assert "http://***@127.0.0.1:" in done.stderr

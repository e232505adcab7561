"""Resolve settings: config files, then MODPIPE__SECTION__KEY environment variables, then explicit overrides.

The environment is read only when `load_settings` is called, never at import time, so tests and tools can build
settings from any mapping they like.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from modpipe.settings.errors import SettingsError, SettingsProblem
from modpipe.settings.models import Settings
from modpipe.settings.redact import mask_urls

ENV_PREFIX = "MODPIPE__"
CONFIG_DIR_ENV = "MODPIPE_CONFIG_DIR"
# libyaml's loader when PyYAML was built with it: the same documents, read ~10x faster than the pure-Python one
# (every command reads the four files on start-up).
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_FILES = {
    "modpipe.yaml": None, "categories.yaml": "categories", "services.yaml": "services", "datasets.yaml": "datasets",
    "measures.yaml": "measures", "reports.yaml": "reports",
}  # fmt: skip
# Files added after a config folder may have been written: when a folder lacks one, the shipped file is read, so
# an operator's older folder keeps loading.
_OPTIONAL_FILES = frozenset({"measures.yaml", "reports.yaml"})


def default_config_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get(CONFIG_DIR_ENV):
        return Path(env[CONFIG_DIR_ENV])
    return shipped_config_dir()


def shipped_config_dir() -> Path:
    """The config files that come with modpipe: the source tree's, or the copy inside the wheel."""
    source_tree = Path(__file__).resolve().parents[2] / "config"
    if (source_tree / "modpipe.yaml").is_file():
        return source_tree
    return Path(__file__).resolve().parents[1] / "_default_config"


def load_settings(
    config_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build the effective settings or raise SettingsError naming every bad value."""
    env = dict(os.environ if environ is None else environ)
    folder = config_dir or default_config_dir(env)
    data, origin = _read_files(folder)
    for name, raw in sorted(env.items()):
        if name.startswith(ENV_PREFIX):
            path = _env_path(name)
            _set(data, path, _parse_env_value(raw, _get(data, path)))
            origin[".".join(path)] = f"env {name}"
    for dotted, value in (overrides or {}).items():
        path = tuple(dotted.split("."))
        _set(data, path, value)
        origin[dotted] = "override"
    _fill_keyed_entries(data)
    _resolve_local(data)
    _fill_credentials(data)
    _fill_identities(data)
    _fill_lexicon_dir(data, folder)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise SettingsError([_problem(err, origin) for err in exc.errors()]) from None
    # Checked here rather than in a model validator, whose error would name no setting.
    unknown = [
        SettingsProblem(setting, repr(key), _REASON_EXPECTED, _source(setting.split(".", 3), origin))
        for key, setting in sorted(settings.reports.reason_keys().items())
        if not settings.is_report_reason(key)
    ]
    unknown += [
        SettingsProblem(f"review.qa_sample.categories.{code}", repr(code), "a category code of categories.yaml",
                        _source(["review", "qa_sample", "categories", code], origin))
        for code in sorted(set(settings.review.qa_sample.categories) - set(settings.categories))
    ]  # fmt: skip
    if unknown:
        raise SettingsError(unknown)
    return settings


_REASON_EXPECTED = "`other`, a category code of categories.yaml, or code.sub_label with a sub-label of that category"


def _read_files(folder: Path) -> tuple[dict[str, Any], dict[str, str]]:
    if not (folder / "modpipe.yaml").is_file():
        raise SettingsError([SettingsProblem("config_dir", str(folder), "a folder holding modpipe.yaml", "")])
    data: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for filename, section in _FILES.items():
        path = folder / filename
        if filename in _OPTIONAL_FILES and not path.exists():
            path = shipped_config_dir() / filename
        try:
            loaded = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER) or {}  # noqa: S506 - a safe loader
        except (OSError, yaml.YAMLError) as exc:
            raise SettingsError([SettingsProblem(filename, str(path), "a readable YAML file", str(exc))]) from None
        if not isinstance(loaded, dict):
            raise SettingsError([SettingsProblem(filename, type(loaded).__name__, "a YAML mapping", str(path))])
        if section is None:
            data.update(loaded)
        else:
            data[section] = loaded
        origin[section or ""] = str(path)
    return data, origin


def _env_path(name: str) -> tuple[str, ...]:
    # Category codes are upper case (C8); every other key is lower case.
    parts = [p.lower() for p in name[len(ENV_PREFIX) :].split("__")]
    code_at = {
        "categories": 1, "measures": 2 if parts[1:2] == ["weights"] else -1,
        "review": 3 if parts[1:3] == ["qa_sample", "categories"] else -1,
    }.get(parts[0], -1)  # fmt: skip
    return tuple(p.upper() if i == code_at else p for i, p in enumerate(parts))


def _parse_env_value(raw: str, current: Any) -> Any:
    text = raw.strip()
    if text[:1] in "[{":
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return raw
    if isinstance(current, list):
        return [item.strip() for item in text.split(",") if item.strip()]
    return raw


def _get(data: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = data
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def _set(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = data
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[path[-1]] = value


def _fill_keyed_entries(data: dict[str, Any]) -> None:
    for section, field in (("categories", "code"), ("services", "name"), ("datasets", "name")):
        entries = data.get(section)
        if isinstance(entries, dict):
            for key, entry in entries.items():
                if isinstance(entry, dict):
                    entry.setdefault(field, key)


def _resolve_local(data: dict[str, Any]) -> None:
    stack = data.get("stack")
    if not isinstance(stack, dict):
        return
    local = {
        ("kafka", "bootstrap"): "127.0.0.1:{kafka_port}",
        ("s3", "endpoint"): "127.0.0.1:{s3_port}",
        ("elasticsearch", "url"): "http://127.0.0.1:{elasticsearch_port}",
    }
    for (section, key), template in local.items():
        node = data.get(section)
        if isinstance(node, dict) and node.get(key) == "local":
            try:
                node[key] = template.format(**stack)
            except (KeyError, ValueError):
                continue


def _fill_credentials(data: dict[str, Any]) -> None:
    """Empty S3 credentials fall back to the ones the local stack generated on its first start."""
    s3 = data.get("s3")
    stack = data.get("stack")
    if not isinstance(s3, dict) or not isinstance(stack, dict) or (s3.get("access_key") and s3.get("secret_key")):
        return
    creds_file = Path(str(stack.get("home", ".modpipe"))) / "credentials.json"
    try:
        creds = json.loads(creds_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    s3.setdefault("access_key", "")
    s3["access_key"] = s3["access_key"] or creds.get("access_key", "")
    s3["secret_key"] = s3.get("secret_key") or creds.get("secret_key", "")


def _fill_identities(data: dict[str, Any]) -> None:
    """Unset role keys (s3.identities) come from the local stack's identities.json, but only when the admin keys
    are that stack's own: a stray stack folder never hands its keys to a server it did not make."""
    s3, stack = data.get("s3"), data.get("stack")
    if not isinstance(s3, dict) or not isinstance(stack, dict):
        return
    home = Path(str(stack.get("home", ".modpipe")))
    try:
        admin = json.loads((home / "credentials.json").read_text(encoding="utf-8"))
        roles = json.loads((home / "identities.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if not isinstance(admin, dict) or not isinstance(roles, dict):
        return
    if (s3.get("access_key"), s3.get("secret_key")) != (admin.get("access_key"), admin.get("secret_key")):
        return
    identities = s3.setdefault("identities", {})
    if not isinstance(identities, dict):
        return
    for role, keys in roles.items():
        own = identities.setdefault(role, {})
        if isinstance(own, dict) and isinstance(keys, dict) and not own.get("access_key"):
            own["access_key"] = keys.get("access_key", "")
            own["secret_key"] = keys.get("secret_key", "")


def _fill_lexicon_dir(data: dict[str, Any], folder: Path) -> None:
    """Lexicons follow the config folder (--config-dir, MODPIPE_CONFIG_DIR) when it holds a lexicons/ folder."""
    classifier = data.get("classifier")
    if isinstance(classifier, dict) and not classifier.get("lexicon_dir") and (folder / "lexicons").is_dir():
        classifier["lexicon_dir"] = str(folder / "lexicons")


def _problem(err: Mapping[str, Any], origin: Mapping[str, str]) -> SettingsProblem:
    loc = [str(part) for part in err["loc"]]
    setting = ".".join(loc)
    source = _source(loc, origin)
    given = err.get("input")
    shown = "<missing>" if err["type"] == "missing" else ("***" if _is_secret(setting) else repr(given))
    if err["type"] == "extra_forbidden":
        expected = "no such setting (misspelt key?)"
    elif err["type"] == "string_pattern_mismatch":
        expected = _description(loc) or err["msg"]
    else:
        expected = str(err["msg"]).removeprefix("Value error, ")
    # A URL setting may carry a password (http://user:password@host); the message names it, never shows it.
    return SettingsProblem(setting, mask_urls(shown), mask_urls(expected), source)


def _source(loc: list[str], origin: Mapping[str, str]) -> str:
    # Credit the env vars or overrides at or below the failing setting; else the nearest one above, or its file.
    setting = ".".join(loc)
    below = [src for key, src in origin.items() if key.startswith(setting + ".") or key == setting]
    if below:
        return ", ".join(below)
    for i in range(len(loc) - 1, -1, -1):
        if ".".join(loc[:i]) in origin:
            return origin[".".join(loc[:i])]
    return ""


def _description(loc: list[str]) -> str | None:
    model: Any = Settings
    field = None
    for part in loc:
        fields = getattr(model, "model_fields", None)
        if not fields or part not in fields:
            return None
        field = fields[part]
        model = field.annotation
    return field.description if field else None


def _is_secret(setting: str) -> bool:
    return setting.endswith(("secret_key", "password"))

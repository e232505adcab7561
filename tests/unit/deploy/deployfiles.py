"""Read the deployment files the way Docker Compose and the Docker builder read them, for the deploy tests."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[3]
COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
ENV_EXAMPLE = REPO / ".env.example"
DOCKER_DIR = REPO / "docker"
MODPIPE_ENTRYPOINT = "/opt/modpipe/docker/entrypoint.sh"
SETUP_SCRIPT = "/opt/modpipe/docker/setup.sh"
WORKERS = ("moderation", "records", "queue")

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, ${NAME:+alt}; $$ is a literal $.
_VAR = re.compile(
    r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)"
)


def compose_text() -> str:
    return COMPOSE.read_text(encoding="utf-8")


@cache
def compose() -> dict[str, Any]:
    data = yaml.safe_load(compose_text())
    assert isinstance(data, dict)
    return data


def services() -> dict[str, dict[str, Any]]:
    found = compose()["services"]
    assert isinstance(found, dict)
    return found


def variables(text: str) -> set[str]:
    """Names interpolated from the environment (ignoring $$-escaped ones that the container's shell expands)."""
    names = set()
    for match in _VAR.finditer(text):
        if match.group(0) == "$$":
            continue
        names.add(match.group(1) or match.group(4))
    return names


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """Compose's interpolation, applied to every string of a loaded document; raises KeyError for `:?` misses."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        op, arg = match.group(2), match.group(3) or ""
        current = env.get(name)
        empty = current is None or (current == "" and op is not None and op.startswith(":"))
        if op in {":-", "-"}:
            return arg if empty else str(current)
        if op in {":?", "?"}:
            if empty:
                raise KeyError(f"{name}: {arg}")
            return str(current)
        if op in {":+", "+"}:
            return "" if empty else arg
        return current or ""

    return _VAR.sub(one, value)


def env_example() -> dict[str, str]:
    values = {}
    for raw in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        assert sep, f".env.example: not NAME=value: {raw!r}"
        values[name.strip()] = value.strip()
    return values


@cache
def compose_schema() -> dict[str, Any]:
    """The Compose Specification's JSON schema as shipped in the installed check-jsonschema distribution.

    Read as a data file, not imported: the package's CLI module needs a newer click than the project pins.
    """
    dist = metadata.distribution("check-jsonschema")
    path = Path(str(dist.locate_file("check_jsonschema/builtin_schemas/vendor/compose-spec.json")))
    schema = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(schema, dict)
    return schema


def lock_version(package: str) -> str:
    text = (REPO / "uv.lock").read_text(encoding="utf-8")
    match = re.search(rf'^name = "{re.escape(package)}"\nversion = "([^"]+)"', text, re.MULTILINE)
    assert match, f"{package} not in uv.lock"
    return match.group(1)


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    joined: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        joined.append(pending + line)
        pending = ""
    result = []
    for line in joined:
        word, _, rest = line.partition(" ")
        result.append((word.upper(), rest.strip()))
    return result


def modpipe_invocations() -> list[tuple[str, list[str]]]:
    """Every `modpipe ...` argv that the deployment runs, with where it comes from."""
    found: list[tuple[str, list[str]]] = []
    for name, svc in services().items():
        entry = svc.get("entrypoint")
        command = svc.get("command")
        uses_modpipe_entry = entry is None and str(svc.get("image", "")).startswith("modpipe:")
        if (uses_modpipe_entry or entry == [MODPIPE_ENTRYPOINT]) and command:
            argv = command if isinstance(command, list) else shlex.split(command)
            found.append((f"docker-compose.yml service {name}", [str(a) for a in argv]))
    for script in sorted(DOCKER_DIR.glob("*.sh")):
        for number, raw in enumerate(script.read_text(encoding="utf-8").splitlines(), start=1):
            for argv in _shell_modpipe_calls(raw.partition("#")[0]):
                found.append((f"{script.relative_to(REPO)}:{number}", argv))
    for instruction, args in dockerfile_instructions():
        if instruction == "RUN":
            found.extend(("Dockerfile RUN", argv) for argv in _shell_modpipe_calls(args))
    return found


def _shell_modpipe_calls(script: str) -> list[list[str]]:
    """The argv of each `modpipe` (or `.../bin/modpipe`) command in a simple shell command list."""
    calls: list[list[str]] = []
    lexer = shlex.shlex(script, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    command: list[str] = []
    for word in [*lexer, ";"]:
        if word in {";", "&&", "||", "|", "&"}:
            while command and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", command[0]):
                command.pop(0)
            if command and (command[0] == "modpipe" or command[0].endswith("/bin/modpipe")):
                calls.append(command[1:])
            command = []
        else:
            command.append(word)
    return calls

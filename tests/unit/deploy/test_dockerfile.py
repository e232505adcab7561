"""The image: built only from what the project pins, non-root, with a curl-free healthcheck and the default model."""

from __future__ import annotations

import os
import re
import shlex

from tests.unit.deploy.deployfiles import DOCKER_DIR, REPO, dockerfile_instructions


def instructions(name: str) -> list[str]:
    return [args for word, args in dockerfile_instructions() if word == name]


def args_defaults() -> dict[str, str]:
    found = {}
    for arg in instructions("ARG"):
        name, sep, value = arg.partition("=")
        if sep:
            found[name] = value
    return found


def test_base_image_is_a_pinned_slim_python_311() -> None:
    base = args_defaults()["PYTHON_IMAGE"]
    assert re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+(@sha256:[0-9a-f]{64})?", base), base
    stages: set[str] = set()
    for args in instructions("FROM"):
        words = args.split()
        assert words[0] in {"${PYTHON_IMAGE}", *stages}, f"FROM {args}: not the pinned base"
        if len(words) == 3 and words[1].upper() == "AS":
            stages.add(words[2])


def test_uv_is_the_version_the_dev_script_uses() -> None:
    dev = (REPO / "dev").read_text(encoding="utf-8")
    pinned = re.search(r'^UV_VERSION="([^"]+)"', dev, re.MULTILINE)
    assert pinned
    assert args_defaults()["UV_VERSION"] == pinned.group(1)
    installs = [run for run in instructions("RUN") if "pip install" in run]
    assert installs == ['python -m pip install "uv==${UV_VERSION}"']


def test_packages_come_from_the_lock_only() -> None:
    runs = instructions("RUN")
    syncs = [run for run in runs if "uv sync" in run]
    assert syncs, "no uv sync"
    for run in syncs:
        words = shlex.split(run)
        assert "--locked" in words, run
        assert "--no-dev" in words, run
        assert not {"--all-extras", "--extra", "--upgrade", "-U"} & set(words), run
    for run in runs:
        assert not re.search(r"\b(apt-get|apk|curl|wget|uv pip|uv add|npm)\b", run), f"unpinned download: {run}"


def test_build_backend_is_pinned() -> None:
    env = " ".join(instructions("ENV"))
    assert "UV_BUILD_CONSTRAINT=/src/docker/build-constraints.txt" in env
    pins = [
        line.strip()
        for line in (DOCKER_DIR / "build-constraints.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert pins
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*", p) for p in pins), pins
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    backend = re.search(r'requires = \["hatchling>=([0-9.]+)"\]', pyproject)
    assert backend
    hatchling = next(p for p in pins if p.startswith("hatchling=="))
    assert version(hatchling.split("==")[1]) >= version(backend.group(1))


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def test_runs_as_a_non_root_user() -> None:
    sequence = [word for word, _ in dockerfile_instructions() if word in {"FROM", "USER"}]
    assert sequence[-1] == "USER", "the final stage must end on a USER"
    user = instructions("USER")[-1].split(":")[0]
    assert user not in {"root", "0"}


def test_healthcheck_needs_no_curl() -> None:
    (check,) = instructions("HEALTHCHECK")
    assert "curl" not in check
    assert "wget" not in check
    assert '"python", "/opt/modpipe/docker/healthcheck.py"' in check


def test_default_model_is_built_into_the_image_and_configured() -> None:
    train = next(run for run in instructions("RUN") if "modpipe train" in run)
    words = shlex.split(train)
    out = words[words.index("--out") + 1]
    datasets = next(w for w in words if w.startswith("MODPIPE__CLASSIFIER__DATASETS_DIR=")).split("=", 1)[1]
    copied = [c.split() for c in instructions("COPY") if c.split()[-1] == datasets]
    assert copied, f"no COPY into {datasets}"
    assert (REPO / copied[0][0]).is_dir(), copied
    assert f"MODPIPE__CLASSIFIER__MODEL_DIR={out}" in " ".join(instructions("ENV"))


def test_copied_files_exist_and_are_not_docker_ignored() -> None:
    ignored = {
        line.strip()
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    for args in instructions("COPY"):
        words = args.split()
        if any(w.startswith("--from=") for w in words):
            continue
        for source in words[:-1]:
            assert (REPO / source).exists(), source
            assert source.split("/")[0] not in ignored, f"{source} is in .dockerignore"


def test_scripts_are_executable_and_the_entrypoint_runs_modpipe() -> None:
    (entry,) = instructions("ENTRYPOINT")
    assert entry == '["/opt/modpipe/docker/entrypoint.sh"]'
    for script in DOCKER_DIR.glob("*.sh"):
        assert os.access(script, os.X_OK), f"{script.name} is not executable"
        assert script.read_text(encoding="utf-8").startswith("#!/bin/sh\n"), script.name
    assert 'exec modpipe "$@"' in (DOCKER_DIR / "entrypoint.sh").read_text(encoding="utf-8")

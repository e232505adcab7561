"""Start, identify and stop the server processes, each in its own session, with a PID file."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path


def spawn(argv: Sequence[str], env: Mapping[str, str], log: Path, pidfile: Path, cwd: Path) -> int:
    log.parent.mkdir(parents=True, exist_ok=True)
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=cwd,
            # A session of its own: `down` can signal the server and every child it forked, and a Ctrl-C in the
            # terminal that ran `stack up` does not reach it.
            start_new_session=True,
        )
    pidfile.write_text(f"{proc.pid}\n", encoding="ascii")
    # The Popen object is dropped on purpose: the server outlives this process. Forget it without a
    # ResourceWarning, since `down` (maybe from another process) reaps it by PID.
    proc.returncode = 0
    return proc.pid


def read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


def is_ours(pid: int, home: Path, binary: Path) -> bool:
    """True when pid is alive, runs binary and works in home: PIDs get reused, so a PID file alone proves nothing."""
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
        cwd = os.readlink(f"/proc/{pid}/cwd")
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    zombie = stat.rsplit(")", 1)[-1].split()[0] == "Z"
    return not zombie and Path(exe) == binary.resolve() and Path(cwd) == home.resolve()


def stop(pid: int, home: Path, binary: Path, timeout_s: float = 15.0) -> bool:
    """SIGTERM the process group, wait, then SIGKILL. Returns False when there was nothing of ours to stop."""
    if not is_ours(pid, home, binary):
        _reap(pid)
        return False
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        _reap(pid)
        if not is_ours(pid, home, binary):
            return True
        time.sleep(0.1)
    _signal_group(pid, signal.SIGKILL)
    for _ in range(50):
        _reap(pid)
        if not is_ours(pid, home, binary):
            break
        time.sleep(0.1)
    return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, sig)


def _reap(pid: int) -> None:
    # Only our own children can be reaped; for anything else waitpid raises and the init process reaps it.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)

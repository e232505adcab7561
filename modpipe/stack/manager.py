"""`modpipe stack up | status | down`: the three real servers of design.md section 6 under one folder.

Layout of the folder (default .modpipe/):
    credentials.json   S3 admin credentials generated on the first `up` (mode 0600)
    identities.json    the pipeline, compliance and auditor S3 keys (mode 0600); s3-identities.json: weed's copy
    security.toml      weed's JWT keys for its filer and volume ports (mode 0600)
    stack.json         the ports in use, so status/down and the pipeline find the servers
    run/<server>.pid   one PID file per server (and the broker's housekeeper: modpipe.stack.housekeeping)
    logs/<server>.log  each server's output
    s3/ es/            the servers' data (the broker keeps its data on the local S3 server by default)
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import urllib3
from minio import Minio

from modpipe.settings import Settings
from modpipe.stack import binaries, health, process, s3access
from modpipe.stack.errors import PortTaken, StackError
from modpipe.stack.s3access import Credentials

SERVERS = ("s3", "elasticsearch", "kafka", "housekeeper")  # started in this order, stopped in reverse
# How a server's log says that its port was taken before it could bind it (Go's and Rust's wordings).
_BIND_FAILURES = ("address already in use", "addrinuse")
BROKER_BUCKET = "modpipe-broker"
# Topics the broker's housekeeper never prunes (fnmatch patterns; stack.broker_keep_topics): the moderation worker
# replays the measures and credit levels from the start outside any group (pipeline.gatefeed). Any prefix, so that
# the benches' and tests' renamed topics are kept too.
KEEP_TOPICS = ("*measures", "*credit-levels")
_WEED_INTERNAL = (
    "master.port", "master.port.grpc", "filer.port", "filer.port.grpc", "volume.port", "volume.port.grpc",
    "s3.port.grpc", "metricsPort", "admin.port", "admin.port.grpc", "s3.port.lance", "s3.port.iceberg",
)  # fmt: skip


@dataclass
class Ports:
    kafka: int
    s3: int
    elasticsearch: int
    weed: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ServerStatus:
    name: str
    address: str
    pid: int | None
    running: bool
    healthy: bool
    detail: str


@dataclass(frozen=True)
class StackInfo:
    home: Path
    kafka_bootstrap: str
    s3_endpoint: str
    elasticsearch_url: str
    credentials: Credentials  # the admin identity: creates buckets; the broker uses it
    identities: dict[str, Credentials] = field(default_factory=dict)  # pipeline, compliance, auditor


class LocalStack:
    def __init__(
        self,
        home: Path,
        kafka_port: int,
        s3_port: int,
        elasticsearch_port: int,
        broker_storage: str = "s3",
        start_timeout_s: float = 60.0,
        region: str = "us-east-1",
        broker_retention_s: float = 86_400.0,
        housekeeping_interval_s: float = 300.0,
        keep_topics: tuple[str, ...] = KEEP_TOPICS,
    ) -> None:
        self.home = home.resolve()
        self.ports = Ports(kafka_port, s3_port, elasticsearch_port)
        saved = self._load_ports()
        if saved is not None:
            # A running stack keeps the ports it started with; a stopped one takes the configured public ports.
            running = any(self._running(name) for name in SERVERS)
            self.ports = saved if running else Ports(kafka_port, s3_port, elasticsearch_port, saved.weed)
        self.broker_storage = broker_storage
        self.start_timeout_s = start_timeout_s
        self.region = region
        self.broker_retention_s = broker_retention_s
        self.housekeeping_interval_s = housekeeping_interval_s
        self.keep_topics = keep_topics

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalStack:
        st = settings.stack
        return cls(
            st.home, st.kafka_port, st.s3_port, st.elasticsearch_port, st.broker_storage, st.start_timeout_s,
            settings.s3.region, st.broker_retention_s, st.broker_housekeeping_interval_s, st.broker_keep_topics,
        )  # fmt: skip

    # -- public commands ------------------------------------------------------------------------------------

    def up(self, say: Callable[[str], None] = lambda _msg: None) -> StackInfo:
        s3access.owner_only(self.home)
        creds = self.credentials()
        s3access.write_s3_config(self.home, creds, s3access.identities(self.home))
        s3access.ensure_security(self.home)
        started = time.monotonic()
        self._ensure_weed_ports()
        self._save_ports()
        # Every port is checked before anything starts, so a taken one leaves no half-started stack behind.
        for name in ("s3", "elasticsearch", "kafka"):
            if not self._running(name):
                self._check_port(name)
        for name in ("s3", "elasticsearch"):
            self._start_if_needed(name, creds, say)
        self._wait("s3", creds)
        if self.broker_storage == "s3":
            self._ensure_broker_bucket(creds)
        self._start_if_needed("kafka", creds, say)
        for name in ("elasticsearch", "kafka"):
            self._wait(name, creds)
        if self.broker_storage == "s3":
            self._start_if_needed("housekeeper", creds, say)
        say(f"stack ready in {time.monotonic() - started:.1f}s")
        return self.info()

    def status(self) -> list[ServerStatus]:
        creds = self._read_credentials()
        result = []
        for name in self._servers():
            pid = process.read_pid(self._pidfile(name))
            running = pid is not None and process.is_ours(pid, self.home, self._binary(name))
            problem = self._probe(name, creds) if running else "not running"
            result.append(ServerStatus(name, self._address(name), pid, running, problem is None, problem or "ok"))
        return result

    def down(self, say: Callable[[str], None] = lambda _msg: None) -> list[str]:
        stopped = []
        for name in reversed(SERVERS):  # the housekeeper and the broker first: they write into the S3 server
            pidfile = self._pidfile(name)
            pid = process.read_pid(pidfile)
            if pid is not None and process.stop(pid, self.home, self._binary(name)):
                stopped.append(name)
                say(f"stopped {name} (pid {pid})")
            pidfile.unlink(missing_ok=True)
        return stopped

    def info(self) -> StackInfo:
        return StackInfo(
            home=self.home,
            kafka_bootstrap=f"127.0.0.1:{self.ports.kafka}",
            s3_endpoint=f"127.0.0.1:{self.ports.s3}",
            elasticsearch_url=f"http://127.0.0.1:{self.ports.elasticsearch}",
            credentials=self.credentials(),
            identities=s3access.identities(self.home),
        )

    def credentials(self) -> Credentials:
        existing = self._read_credentials()
        if existing:
            return existing
        self.home.mkdir(parents=True, exist_ok=True)
        creds = Credentials(f"modpipe-{secrets.token_hex(4)}", secrets.token_urlsafe(30))
        path = self.home / "credentials.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(asdict(creds), out)
        return creds

    # -- internals -------------------------------------------------------------------------------------------

    def _read_credentials(self) -> Credentials | None:
        try:
            data = json.loads((self.home / "credentials.json").read_text(encoding="utf-8"))
            return Credentials(data["access_key"], data["secret_key"])
        except (OSError, ValueError, KeyError):
            return None

    def _pidfile(self, name: str) -> Path:
        return self.home / "run" / f"{name}.pid"

    def _servers(self) -> tuple[str, ...]:
        # Memory storage forgets everything on a restart and has no objects to list: no housekeeper.
        return SERVERS if self.broker_storage == "s3" else SERVERS[:-1]

    def _binary(self, name: str) -> Path:
        if name == "housekeeper":
            return Path(sys.executable)  # the virtualenv's own: resolved, it would be the bare interpreter
        return {"s3": binaries.weed, "elasticsearch": binaries.noida_db, "kafka": binaries.tansu}[name]()

    def _address(self, name: str) -> str:
        return {
            "s3": f"http://127.0.0.1:{self.ports.s3}",
            "elasticsearch": f"http://127.0.0.1:{self.ports.elasticsearch}",
            "kafka": f"127.0.0.1:{self.ports.kafka}",
            "housekeeper": f"s3://{BROKER_BUCKET}/",
        }[name]

    def _probe(self, name: str, creds: Credentials | None) -> str | None:
        if name == "housekeeper":
            return None  # running is all it does; its log says what each pass deleted
        if name == "kafka":
            return health.kafka_answers("127.0.0.1", self.ports.kafka)
        if name == "elasticsearch":
            return health.elasticsearch_answers(self._address(name))
        if creds is None:
            return "no credentials.json"
        return health.s3_answers(f"127.0.0.1:{self.ports.s3}", creds.access_key, creds.secret_key)

    def _argv(self, name: str) -> list[str]:
        binary = str(self._binary(name))
        if name == "s3":
            internal = [f"-{flag}={port}" for flag, port in self.ports.weed.items()]
            return [
                binary, "mini", f"-dir={self.home / 's3'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                f"-s3.port={self.ports.s3}", "-master.telemetry=false", "-webdav=false", "-admin.ui=false",
                f"-s3.config={self.home / s3access.S3_CONFIG_FILE}", *internal,
            ]  # fmt: skip
        if name == "elasticsearch":
            return [
                binary, "start", "--only", "elasticsearch", "--host", "127.0.0.1",
                "--elasticsearch-port", str(self.ports.elasticsearch), "--data-dir", str(self.home / "es"),
            ]  # fmt: skip
        if name == "housekeeper":
            return [
                binary, "-m", "modpipe.stack.housekeeping", "--bucket", BROKER_BUCKET,
                "--retention-s", str(self.broker_retention_s), "--interval-s", str(self.housekeeping_interval_s),
                *(arg for pattern in self.keep_topics for arg in ("--keep", pattern)),
            ]  # fmt: skip
        listener = f"tcp://127.0.0.1:{self.ports.kafka}"
        storage = f"s3://{BROKER_BUCKET}/" if self.broker_storage == "s3" else "memory://tansu/"
        return [
            binary, "broker", "--listener-url", listener, "--advertised-listener-url", listener,
            "--storage-engine", storage,
        ]  # fmt: skip

    def _env(self, creds: Credentials) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MODPIPE"))}
        env.update(
            AWS_ACCESS_KEY_ID=creds.access_key,
            AWS_SECRET_ACCESS_KEY=creds.secret_key,
            AWS_ENDPOINT=f"http://127.0.0.1:{self.ports.s3}",
            AWS_ALLOW_HTTP="true",
            AWS_DEFAULT_REGION=self.region,
        )
        return env

    def _start_if_needed(self, name: str, creds: Credentials, say: Callable[[str], None]) -> None:
        pid = process.read_pid(self._pidfile(name))
        if pid is not None and process.is_ours(pid, self.home, self._binary(name)):
            say(f"{name} already running (pid {pid}) at {self._address(name)}")
            return
        env = self._env(creds)
        if name == "housekeeper":
            # This very copy of modpipe, not whichever one the interpreter would find from the stack's folder.
            env["PYTHONPATH"] = os.pathsep.join(
                filter(None, (str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH")))
            )
        else:
            self._check_port(name)
            s3access.owner_only(self.home / name.replace("elasticsearch", "es"))
        new_pid = process.spawn(self._argv(name), env, self._log(name), self._pidfile(name), self.home)
        say(f"started {name} (pid {new_pid}) at {self._address(name)}")

    def _check_port(self, name: str) -> None:
        port = {"s3": self.ports.s3, "elasticsearch": self.ports.elasticsearch, "kafka": self.ports.kafka}[name]
        if not health.port_is_free(port):
            raise PortTaken(
                f"port {port} for {name} is taken by another program; choose another with "
                f"MODPIPE__STACK__{'S3' if name == 's3' else name.upper()}_PORT"
            )

    def _log(self, name: str) -> Path:
        return self.home / "logs" / f"{name}.log"

    def _wait(self, name: str, creds: Credentials) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        problem: str | None = "not probed"
        while time.monotonic() < deadline:
            problem = self._probe(name, creds)
            if problem is None:
                return
            pid = process.read_pid(self._pidfile(name))
            if pid is None or not process.is_ours(pid, self.home, self._binary(name)):
                tail = self._tail(name)
                lost = PortTaken if any(words in tail.lower() for words in _BIND_FAILURES) else StackError
                raise lost(f"{name} exited during start-up; its log says:\n{tail}")
            time.sleep(0.2)
        raise StackError(
            f"{name} did not answer within {self.start_timeout_s:.0f}s ({problem}); log:\n{self._tail(name)}"
        )

    def _tail(self, name: str, lines: int = 15) -> str:
        try:
            return "\n".join(self._log(name).read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _ensure_broker_bucket(self, creds: Credentials) -> None:
        http = urllib3.PoolManager(timeout=urllib3.Timeout(total=10), retries=urllib3.Retry(3, backoff_factor=0.3))
        try:
            client = Minio(
                f"127.0.0.1:{self.ports.s3}", access_key=creds.access_key, secret_key=creds.secret_key,
                secure=False, http_client=http,
            )  # fmt: skip
            if not client.bucket_exists(BROKER_BUCKET):
                client.make_bucket(BROKER_BUCKET)
        finally:
            http.clear()

    def _ensure_weed_ports(self) -> None:
        taken = {self.ports.kafka, self.ports.s3, self.ports.elasticsearch}
        s3_running = self._running("s3")
        missing = []
        for flag in _WEED_INTERNAL:
            port = self.ports.weed.get(flag)
            if port is None or (not s3_running and not health.port_is_free(port)) or port in taken:
                missing.append(flag)
            else:
                taken.add(port)
        # All at once: ports taken one by one could repeat (modpipe.net.free_ports).
        for flag, port in zip(missing, health.free_ports(len(missing), frozenset(taken)), strict=True):
            self.ports.weed[flag] = port

    def _running(self, name: str) -> bool:
        pid = process.read_pid(self._pidfile(name))
        return pid is not None and process.is_ours(pid, self.home, self._binary(name))

    def _load_ports(self) -> Ports | None:
        try:
            data = json.loads((self.home / "stack.json").read_text(encoding="utf-8"))
            return Ports(**data["ports"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _save_ports(self) -> None:
        (self.home / "stack.json").write_text(json.dumps({"ports": asdict(self.ports)}, indent=2), encoding="utf-8")


def start_on_free_ports(
    home: Path,
    broker_storage: str = "s3",
    start_timeout_s: float = 60.0,
    attempts: int = 3,
    say: Callable[[str], None] = lambda _msg: None,
    broker_retention_s: float = 86_400.0,
    housekeeping_interval_s: float = 300.0,
) -> tuple[LocalStack, StackInfo]:
    """A fresh stack in `home` on ports free when it starts (benchmarks, tests): all of them chosen together, and
    the start tried again on other ports when another program took one of them first."""
    for attempt in range(1, attempts + 1):
        kafka, s3, search = health.free_ports(3)
        stack = LocalStack(
            home, kafka, s3, search, broker_storage=broker_storage, start_timeout_s=start_timeout_s,
            broker_retention_s=broker_retention_s, housekeeping_interval_s=housekeeping_interval_s,
        )  # fmt: skip
        if attempt > 1:
            stack.ports.weed.clear()  # the failed attempt's internal ports are as suspect as its public ones
        try:
            return stack, stack.up(say)
        except PortTaken as exc:
            stack.down()
            if attempt == attempts:
                raise
            say(f"a port was taken during the start, trying other ports: {exc}")
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

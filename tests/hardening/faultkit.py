"""Helpers for the fault-injection tests: throwaway Redis servers, real Celery workers, fault points, JUnit reports.

Everything a test breaks here is a process the test started itself (a Redis on a free port, a worker), never
the shared PostgreSQL or Redis. Locally a missing prerequisite skips with the reason; under CI=true it fails.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from tests.conftest import require_marker

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = os.environ.get("QUALITYGOV_REDIS_SERVER", "redis-server")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def skip_or_fail(reason: str) -> None:
    if in_ci():
        pytest.fail(f"This test must run in CI: {reason}")
    pytest.skip(reason)


def require_postgres(why: str) -> None:
    if connection.vendor != "postgresql":
        skip_or_fail(f"{why} needs PostgreSQL (DATABASE_URL=postgres://...)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, *, timeout: float, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class ThrowawayRedis:
    """A redis-server of our own on a free port (no persistence), which the test may kill and start again."""

    def __init__(self, port: int | None = None):
        if not shutil.which(REDIS_SERVER):
            skip_or_fail(f"{REDIS_SERVER} is not installed (apt-get install redis-server)")
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> ThrowawayRedis:
        import redis

        self.proc = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)

        def up():
            try:
                return client.ping()
            except redis.exceptions.ConnectionError:
                if self.proc.poll() is not None:
                    raise AssertionError(
                        f"redis-server on port {self.port} exited with {self.proc.returncode}"
                    ) from None
                return False

        wait_until(up, timeout=15, what=f"redis-server on port {self.port}")
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def client(self, db: int = 0):
        import redis

        return redis.Redis(port=self.port, db=db, socket_connect_timeout=1)


def database_url() -> str:
    """The URL of the database the tests run on (the test database), for worker subprocesses."""
    s = connection.settings_dict
    auth = s["USER"] or ""
    if s.get("PASSWORD"):
        auth += f":{s['PASSWORD']}"
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


# The worker runs the project's Celery app with a short visibility timeout, so that a message whose worker died
# without acknowledging it is handed out again within seconds (production keeps 2 hours, see settings).
_WORKER_MAIN = """
import sys
from qualitygov.celery import app
app.conf.broker_transport_options = {
    "visibility_timeout": float(sys.argv[1]), "unacked_restore_interval": 1, "unacked_restore_throttle": 1,
}
app.worker_main(sys.argv[2:])
"""


class Worker:
    """A real `celery worker` subprocess (solo pool) on the test database and the given broker."""

    def __init__(self, *, broker: str, queue: str, log: Path, env: dict | None = None, visibility: float = 3):
        require_marker("worker", "starts a real Celery worker")
        self.log_path = log
        environment = {
            **os.environ,
            "DJANGO_ENV": "test",
            "DATABASE_URL": database_url(),
            "REDIS_URL": broker,
            "PYTHONPATH": str(ROOT),
            **(env or {}),
        }
        self._log = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _WORKER_MAIN,
                str(visibility),
                "worker",
                "--pool=solo",
                "-Q",
                queue,
                "-l",
                "info",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"{queue}@%h",
            ],
            cwd=ROOT,
            env=environment,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, no acknowledgement, the database connection just drops."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._log.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self._log.closed:
            self._log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def junit_report(*, suite: str, passed: int, failed: int, skipped: int = 0) -> bytes:
    """A JUnit document with the given numbers of passing, failing and skipped tests (distinct names)."""
    cases = [f'<testcase classname="{suite}" name="test_pass_{i}" time="0.01"/>' for i in range(passed)]
    cases += [
        f'<testcase classname="{suite}" name="test_fail_{i}" time="0.02"><failure message="boom {i}">'
        f"assert {i} == -1</failure></testcase>"
        for i in range(failed)
    ]
    cases += [
        f'<testcase classname="{suite}" name="test_skip_{i}"><skipped/></testcase>' for i in range(skipped)
    ]
    total = passed + failed + skipped
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><testsuites><testsuite name="{suite}" tests="{total}">'
        + "".join(cases)
        + "</testsuite></testsuites>"
    ).encode()

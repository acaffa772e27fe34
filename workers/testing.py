"""Real Celery workers for integration tests: subprocesses against the test database.

Used by the root conftest. A worker starts in a couple of seconds, writes its log to a
file shown when a test fails, and is stopped with its whole process group.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis
from celery import current_app

from workers import queues

ROOT = Path(__file__).resolve().parent.parent
RUNNING: list[CeleryWorkerProcess] = []


class CeleryWorkerProcess:
    """A worker of the main app (`config`) by default; see `llm()` for the LLM worker."""

    @classmethod
    def llm(cls, *, env: dict[str, str], concurrency: int = 4, **kwargs) -> CeleryWorkerProcess:
        """The LLM worker: the `workers.llm_worker` app on the `llm` queue, with threads."""
        kwargs.setdefault("name", f"llm-{uuid.uuid4().hex[:8]}")
        return cls(
            env=env,
            queues_csv=queues.LLM,
            concurrency=concurrency,
            app="workers.llm_worker",
            pool="threads",
            **kwargs,
        )

    def __init__(
        self,
        *,
        env: dict[str, str],
        queues_csv: str = ",".join(queues.ALL),
        concurrency: int = 2,
        name: str | None = None,
        extra_args: list[str] | None = None,
        app: str = "config",
        pool: str = "prefork",
    ):
        self.env = env
        self.app = app
        self.pool = pool
        self.queues_csv = queues_csv
        self.concurrency = concurrency
        self.name = name or f"test-{uuid.uuid4().hex[:8]}"
        self.extra_args = extra_args or []
        self.log_path = Path(tempfile.gettempdir()) / f"gazer-{self.name}.log"
        self.process: subprocess.Popen | None = None

    @property
    def hostname(self) -> str:
        return f"{self.name}@gazer-test"

    def start(self, *, timeout: float = 30.0) -> CeleryWorkerProcess:
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            self.app,
            "worker",
            "-Q",
            self.queues_csv,
            "-P",
            self.pool,
            "-c",
            str(self.concurrency),
            "-n",
            self.hostname,
            "-l",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            *self.extra_args,
        ]
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **self.env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        RUNNING.append(self)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"celery worker exited early:\n{self.log_tail()}")
                if " ready." in self.log_path.read_text(errors="replace") and self.answers_ping():
                    return self
                time.sleep(0.1)
        except BaseException:
            self.stop()  # a worker that failed to start must not outlive the test
            raise
        self.stop()
        raise RuntimeError(f"celery worker not ready in {timeout}s:\n{self.log_tail()}")

    def answers_ping(self) -> bool:
        """True once the worker's remote-control channel answers (after "ready")."""
        app = current_app
        # A fresh connection per attempt: a reply consumer from a ping sent before the
        # worker subscribed must not swallow later answers.
        with app.connection_for_write() as connection:
            replies = app.control.ping(
                destination=[self.hostname], timeout=0.5, connection=connection
            )
        return any(self.hostname in reply for reply in replies or [])

    def kill(self) -> None:
        """SIGKILL the whole process group (parent and pool children) at once."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self._forget()

    def stop(self, *, timeout: float = 15.0) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._forget()

    def _forget(self) -> None:
        if self in RUNNING:
            RUNNING.remove(self)
        if getattr(self, "_log", None):
            self._log.close()

    def log_tail(self, lines: int = 80) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


def wait_until(predicate, *, timeout: float = 30.0, interval: float = 0.1, message: str = ""):
    """Poll `predicate` until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message or f"condition not met within {timeout}s")
        time.sleep(interval)


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A redis-server of a test's (or a benchmark's) own on a free loopback port, so the
    shared one is never touched; without persistence, so a restart loses every message,
    as a Redis restarted without its data would."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="gazer-redis-")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def answers(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                *("--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir),
                *("--save", "", "--appendonly", "no"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self.answers, timeout=15, message="redis-server did not start")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def restart(self, *, down_seconds: float) -> None:
        self.stop()
        time.sleep(down_seconds)  # the outage itself, not a wait for a condition
        self.start()


def celery_broker_use(url: str) -> None:
    """This process's Celery app sends to `url` from now on.

    Its pools are looked up again (kombu keeps one per broker URL, so switching back
    finds the earlier one, still open).
    """
    app = current_app
    app.conf.broker_url = url
    app.conf.result_backend = url
    app._pool = None
    app.amqp._producer_pool = None

"""The real services a test can start for itself: a redis-server of its own, and Celery worker processes on the
PostgreSQL test database, that it can stop, kill with SIGKILL and start again.

Used by tests/notifications/test_celery_worker.py (the `worker` fixture) and tests/faults/ (`CeleryWorker`).
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from email import message_from_string
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from tests.conftest import require

PROJECT = Path(__file__).resolve().parents[1]
# The worker's PostgreSQL connections carry this name (pg_stat_activity.application_name), so a test can find them.
WORKER_APPLICATION_NAME = "test-celery-worker"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class RedisServer:
    def __init__(self, port):
        self.port, self.process = port, None
        self.url = f"redis://127.0.0.1:{port}/0"

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for(self.answers, what="redis-server to answer")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        wait_for(lambda: not self.answers(), what="redis-server to stop")

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@pytest.fixture
def redis_server():
    if not shutil.which("redis-server"):
        require("redis", "needs redis-server (apt-get install redis-server) to start a broker of its own")
    server = RedisServer(free_port())
    server.start()
    yield server
    if server.process.poll() is None:
        server.process.terminate()
        server.process.wait(timeout=10)


def forget_connections(app):
    """Drop the connection and producer pools, so the next publish connects to the broker configured now."""
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def broker(url):
    """Publish from this process through `url`, as production does, instead of running tasks in-process."""
    from mentoring.celery import app

    saved = app.conf.broker_url, app.conf.task_always_eager
    app.conf.broker_url, app.conf.task_always_eager = url, False
    forget_connections(app)
    try:
        yield app
    finally:
        app.conf.broker_url, app.conf.task_always_eager = saved
        forget_connections(app)


def sent_messages(folder: Path) -> list[str]:
    texts = [path.read_text() for path in sorted(folder.glob("*.log"))] if folder.exists() else []
    return [chunk for text in texts for chunk in text.split("-" * 79) if "Subject:" in chunk]


def sent_emails(folder: Path) -> list[tuple[tuple[str, ...], str]]:
    """Each email the file backend wrote, as (recipients, subject), headers decoded."""
    emails = []
    for chunk in sent_messages(folder):
        message = message_from_string(chunk.lstrip("\r\n"))
        header = lambda name: str(make_header(decode_header(message[name])))  # noqa: E731
        emails.append((tuple(sorted(address.strip() for address in header("To").split(","))), header("Subject")))
    return emails


class CeleryWorker:
    """`celery worker --pool=solo` on the test database, through `broker_url`, sending email to files in `mail`.

    `start()` starts it (again), `kill()` sends SIGKILL (nothing is cleaned up: unacknowledged messages stay in
    Redis, an open transaction is left for PostgreSQL to roll back), `stop()` is the warm shutdown."""

    def __init__(self, *, broker_url: str, folder: Path, mail: Path, settings_module: str = "mentoring.settings",
                 env: dict | None = None):
        self.broker_url, self.folder, self.mail = broker_url, folder, mail
        self.settings_module, self.extra_env = settings_module, env or {}
        self.process, self.starts, self.log_path = None, 0, None
        self.mail.mkdir(parents=True, exist_ok=True)

    def env(self) -> dict:
        db = connection.settings_dict
        return {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
                            f"?application_name={WORKER_APPLICATION_NAME}",
            "REDIS_URL": self.broker_url,
            "EMAIL_FILE_PATH": str(self.mail),
            "MEDIA_ROOT": str(django_settings.MEDIA_ROOT),  # the test's own folder (tests/conftest.py)
            "DJANGO_SETTINGS_MODULE": self.settings_module,
            **self.extra_env,
        }

    def start(self):
        self.starts += 1
        self.log_path = self.folder / ("worker.log" if self.starts == 1 else f"worker-{self.starts}.log")
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "mentoring", "worker", "--pool=solo", "-l", "info",
                 "--without-gossip", "--without-mingle", "--without-heartbeat"],
                cwd=PROJECT, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
            )
        wait_for(lambda: "ready." in self.log() or self.process.poll() is not None,
                 timeout=60, what="the Celery worker to start")
        assert self.process.poll() is None, self.log()
        return self

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path and self.log_path.exists() else ""

    def kill(self):
        """SIGKILL, as the kernel's OOM killer or a lost machine would: no warm shutdown, no cleanup."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self):
        if self.alive:
            self.process.terminate()
            self.process.wait(timeout=20)


def _require_postgres_for_the_worker():
    if connection.vendor != "postgresql":
        require("postgres", "the worker shares the test database, which needs PostgreSQL")


@pytest.fixture
def worker(redis_server, tmp_path, settings):
    """A started worker, publishing to it from this process; yields the folder its emails are written to."""
    _require_postgres_for_the_worker()
    settings.OUTBOX_SWEEP_GRACE_SECONDS = 0
    process = CeleryWorker(broker_url=redis_server.url, folder=tmp_path, mail=tmp_path / "mail").start()
    with broker(redis_server.url):
        yield process.mail
    process.stop()


@pytest.fixture
def celery_workers(redis_server, tmp_path, settings):
    """Make workers (not started) on this test's broker; this process publishes to it. Every one is stopped after.

    `celery_workers()` is one with the project's settings; `celery_workers(settings_module=...)` one with others.
    Emails any of them sends are written to `tmp_path / "mail"`; they leave new emails to their own worker for no
    time before the sweeper may send them (OUTBOX_SWEEP_GRACE_SECONDS=0), here and in the worker."""
    _require_postgres_for_the_worker()
    settings.OUTBOX_SWEEP_GRACE_SECONDS = 0
    made = []

    def make(*, settings_module="mentoring.settings"):
        made.append(CeleryWorker(broker_url=redis_server.url, folder=tmp_path / f"worker-{len(made) + 1}",
                                 mail=tmp_path / "mail", settings_module=settings_module,
                                 env={"OUTBOX_SWEEP_GRACE_SECONDS": "0"}))
        made[-1].folder.mkdir()
        return made[-1]

    with broker(redis_server.url):
        yield make
    for process in made:
        process.stop()

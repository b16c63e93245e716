"""The outbox with the real parts: a Redis server and a Celery worker started by the test, on PostgreSQL."""

import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from notifications.models import OutboxEmail
from notifications.tasks import send_outbox_email, sweep_outbox
from sessions_app.services import WrapUp, appointment_wrap_up
from tests.conftest import require
from tests.factories import AppointmentFactory, FundingArrangementFactory

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.celery_worker,
              pytest.mark.django_db(transaction=True)]

PROJECT = Path(__file__).resolve().parents[2]


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


@pytest.fixture
def worker(redis_server, tmp_path, settings):
    if connection.vendor != "postgresql":
        require("postgres", "the worker shares the test database, which needs PostgreSQL")
    settings.OUTBOX_SWEEP_GRACE_SECONDS = 0
    db = connection.settings_dict
    mail = tmp_path / "mail"
    mail.mkdir()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": redis_server.url,
        "EMAIL_FILE_PATH": str(mail),
        "DJANGO_SETTINGS_MODULE": "mentoring.settings",
    }
    log = (tmp_path / "worker.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "mentoring", "worker", "--pool=solo", "-l", "info",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    wait_for(lambda: "ready." in (tmp_path / "worker.log").read_text() or process.poll() is not None,
             timeout=60, what="the Celery worker to start")
    assert process.poll() is None, (tmp_path / "worker.log").read_text()
    with broker(redis_server.url):
        yield mail
    process.terminate()
    process.wait(timeout=20)
    log.close()


@pytest.fixture
def started(mentor, mentee):
    start = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    return AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start, ends_at=start + timedelta(hours=1))


def wrap_up(appointment, user, mentee):
    return appointment_wrap_up(
        appointment_id=appointment.pk, acting_user=user,
        answers=WrapUp(outcome="attended", funding_arrangement=FundingArrangementFactory(mentee=mentee),
                       session_notes="Notes", actual_minutes=60),
    )


def test_a_wrap_up_sends_its_attendance_email_through_redis_and_a_worker(worker, mentor, mentee, started):
    wrap_up(started, mentor.user, mentee)
    wait_for(lambda: sent_messages(worker), what="the attendance email")
    (message,) = sent_messages(worker)
    assert f"Subject: {started.reference}: your session on" in message and f"To: {mentee.email}" in message
    assert OutboxEmail.objects.get(appointment=started).status == OutboxEmail.Status.SENT


def test_the_send_task_queued_twice_sends_once(worker, mentor, mentee, started):
    wrap_up(started, mentor.user, mentee)
    wait_for(lambda: sent_messages(worker), what="the attendance email")
    email = OutboxEmail.objects.get(appointment=started)
    send_outbox_email.delay(email.pk)
    send_outbox_email.delay(email.pk)
    sweep_outbox.delay()
    time.sleep(3)
    assert len(sent_messages(worker)) == 1


def test_broker_down_during_a_wrap_up_the_sweeper_delivers_once_it_is_back(
        worker, redis_server, mentor, mentee, started):
    redis_server.stop()
    began = time.monotonic()
    appointment = wrap_up(started, mentor.user, mentee)
    assert time.monotonic() - began < 10  # the mentor is not kept waiting on a dead broker
    assert appointment.status == "completed"
    email = OutboxEmail.objects.get(appointment=started)
    assert email.status == OutboxEmail.Status.PENDING
    time.sleep(2)
    assert sent_messages(worker) == []

    redis_server.start()
    sweep_outbox.delay()  # what beat does every minute
    wait_for(lambda: sent_messages(worker), timeout=60, what="the swept email")
    assert len(sent_messages(worker)) == 1
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.SENT

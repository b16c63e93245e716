"""The Celery app against a real Redis broker (REDIS_URL). Skipped without one, unless REQUIRE_REDIS=1."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require

ROOT = Path(__file__).resolve().parent.parent

_ROUND_TRIP = """
import json, sys, uuid
import environ
environ.Env.read_env = staticmethod(lambda *args, **kwargs: None)  # ignore any .env in the project
import django
django.setup()
from mentoring.celery import app

result = {"broker_url": app.conf.broker_url, "eager": app.conf.task_always_eager}
queue_name = f"test-redis-{uuid.uuid4().hex}"
with app.connection_for_write() as connection:
    connection.ensure_connection(max_retries=1)
    queue = connection.SimpleQueue(queue_name)
    try:
        queue.put({"reference": "SA-000042"})
        message = queue.get(timeout=5)
        message.ack()
        result["received"] = message.payload
    finally:
        queue.queue.delete()
        queue.close()
print(json.dumps(result))
"""


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except (redis.RedisError, OSError, ValueError):
        return False


@pytest.mark.redis
def test_celery_app_round_trips_a_message_through_redis():
    url = os.environ.get("REDIS_URL", "")
    if not url:
        require("redis", "needs Redis: set REDIS_URL=redis://127.0.0.1:6379/0")
    if not _redis_answers(url):
        require("redis", f"needs Redis: nothing answers PING at REDIS_URL={url}")

    proc = subprocess.run(
        [sys.executable, "-c", _ROUND_TRIP],
        env={"PATH": os.environ.get("PATH", ""), "DJANGO_SETTINGS_MODULE": "mentoring.settings", "REDIS_URL": url},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, f"the Celery app could not use the broker at {url}:\n{proc.stderr}"
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["broker_url"] == url
    assert result["eager"] is False, "with REDIS_URL set, tasks must be queued, not run in-process"
    assert result["received"] == {"reference": "SA-000042"}

"""Where a log-in is kept: in the database and, with Redis, read from Redis (Django's cached_db engine,
mentoring/sessions.py), so that a logged-in page loads its session without a query."""

import os
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import require
from tests.factories import PASSWORD
from tests.services import free_port

REDIS_CACHE = "django.core.cache.backends.redis.RedisCache"


def sessions_in(settings, location: str, prefix: str) -> None:
    """The session settings as mentoring/settings.py makes them with REDIS_URL, on `location` under `prefix`."""
    settings.CACHES = {**settings.CACHES, "sessions": {
        "BACKEND": REDIS_CACHE, "LOCATION": location, "KEY_PREFIX": prefix,
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}}
    settings.SESSION_CACHE_ALIAS = "sessions"
    settings.SESSION_ENGINE = "mentoring.sessions"


@pytest.fixture
def redis_sessions(settings):
    """Sessions read from the Redis at REDIS_URL, under a key prefix of the test's own, removed afterwards."""
    url = os.environ.get("REDIS_URL")
    if not url:
        require("redis", "needs Redis: set REDIS_URL=redis://127.0.0.1:6379/0")
    import redis

    prefix = f"test-sessions-{uuid.uuid4().hex}"
    sessions_in(settings, url, prefix)
    client = redis.Redis.from_url(url)
    yield lambda: list(client.scan_iter(f"{prefix}:*"))
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)


def log_in(client, user):
    response = client.post("/accounts/login/", {"username": user.email, "password": PASSWORD})
    assert (response.status_code, response["Location"]) == (302, "/")


def session_queries(captured) -> list[str]:
    return [query["sql"] for query in captured if "django_session" in query["sql"]]


@pytest.mark.redis
def test_with_redis_a_logged_in_page_reads_its_session_without_a_query(redis_sessions, client, mentor):
    log_in(client, mentor.user)
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/")
    assert response.status_code == 200 and response.context["user"] == mentor.user
    assert session_queries(captured) == []
    assert len(redis_sessions()) == 1


@pytest.mark.redis
def test_with_redis_emptied_a_log_in_carries_on_from_the_database(redis_sessions, client, mentor):
    import redis

    log_in(client, mentor.user)
    kept = redis_sessions()
    assert len(kept) == 1
    redis.Redis.from_url(os.environ["REDIS_URL"]).delete(*kept)
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/").status_code == 200
    assert len(session_queries(captured)) == 1
    with CaptureQueriesContext(connection) as captured:  # and Redis has it again
        assert client.get("/").status_code == 200
    assert session_queries(captured) == []


@pytest.mark.redis
def test_with_redis_a_session_logged_out_is_gone(redis_sessions, client, mentor):
    log_in(client, mentor.user)
    cookie = client.cookies["sessionid"].value
    client.post("/accounts/logout/")
    assert redis_sessions() == []
    client.cookies["sessionid"] = cookie
    response = client.get("/")
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/")


def test_with_redis_unreachable_log_in_pages_and_log_out_still_work(settings, client, mentor, past_appointment):
    sessions_in(settings, f"redis://127.0.0.1:{free_port()}/0", "unreachable")
    log_in(client, mentor.user)
    assert past_appointment.reference in client.get("/").content.decode()
    assert client.get(past_appointment.get_absolute_url()).status_code == 200
    response = client.post("/accounts/logout/")
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/")
    assert client.get("/").status_code == 302

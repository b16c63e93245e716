"""What the fault tests share: locks held from another PostgreSQL session, the worker's backends as PostgreSQL
sees them, what Redis holds, and the figures each test prints."""

from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
import redis
from django.db import connection

from tests.services import WORKER_APPLICATION_NAME, wait_for

REDELIVERING_SETTINGS = "tests.faults.worker_settings"  # a Redis visibility timeout of 5 s instead of an hour


def dsn() -> dict:
    db = connection.settings_dict
    return {"host": db["HOST"] or "127.0.0.1", "port": db["PORT"] or 5432, "user": db["USER"], "dbname": db["NAME"],
            **({"password": db["PASSWORD"]} if db.get("PASSWORD") else {})}


@contextmanager
def held(sql: str, params=()):
    """Hold the lock `sql` takes, from a transaction of another session, until the block ends (rolled back).

    This is how the tests stop the worker at a known point in the middle of a job, as any other transaction
    holding that lock would: the worker's statement waits, with its own transaction open, until it is killed."""
    other = psycopg.connect(**dsn())
    try:
        other.execute(sql, params)
        yield other
    finally:
        other.rollback()
        other.close()


@dataclass
class Backend:
    pid: int
    state: str
    wait_event_type: str | None
    has_written: bool
    query: str


def worker_backends() -> list[Backend]:
    """The worker processes' PostgreSQL sessions (including those of a killed worker that PostgreSQL still runs)."""
    with psycopg.connect(**dsn(), autocommit=True) as other:
        rows = other.execute(
            """SELECT pid, state, wait_event_type, backend_xid IS NOT NULL, query FROM pg_stat_activity
               WHERE datname = %s AND application_name = %s""",
            [connection.settings_dict["NAME"], WORKER_APPLICATION_NAME],
        ).fetchall()
    return [Backend(*row) for row in rows]


def wait_for_worker_waiting(*fragments: str, timeout=40.0) -> Backend:
    """Wait until a worker's statement containing every fragment waits on a lock; returns that backend."""
    found = []

    def waiting():
        found[:] = [b for b in worker_backends()
                    if b.wait_event_type == "Lock" and all(fragment in b.query for fragment in fragments)]
        return bool(found)

    wait_for(waiting, timeout=timeout, what=f"the worker to wait on a lock in {fragments}")
    return found[0]


def wait_until_gone(pid: int, timeout=20.0):
    wait_for(lambda: pid not in {b.pid for b in worker_backends()}, timeout=timeout,
             what=f"PostgreSQL to end the killed worker's backend {pid}")


def terminate_worker_backends():
    if connection.vendor != "postgresql":
        return
    with psycopg.connect(**dsn(), autocommit=True) as other:
        other.execute(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
            [connection.settings_dict["NAME"], WORKER_APPLICATION_NAME],
        )


def broker_state(url: str) -> dict:
    """Messages waiting in Celery's queue, and messages a worker took and has not acknowledged (kombu's Redis
    transport keeps those in the `unacked` hash until the ack, or until the visibility timeout hands them out again)."""
    client = redis.Redis.from_url(url)
    try:
        return {"queued": client.llen("celery"), "unacked": client.hlen("unacked")}
    finally:
        client.close()


def differences(expected, actual) -> tuple[int, int]:
    """(lost, extra): items expected but missing, and items present beyond what was expected (duplicates too)."""
    expected, actual = Counter(expected), Counter(actual)
    return sum((expected - actual).values()), sum((actual - expected).values())


def figures(title: str, **numbers):
    """One line a reader can find in `pytest -s` output: `[faults] title: name value, ...`."""
    print(f"\n[faults] {title}: " + ", ".join(f"{name.replace('_', ' ')} {value}" for name, value in numbers.items()))

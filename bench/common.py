"""Shared by the benchmarks: Django set-up on a throwaway PostgreSQL database, bulk seeding, timing."""

import os
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
BENCH_DB = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mentoring_bench")
BENCH_REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
STATIC_ROOT = "/tmp/mentoring-bench-static"


def production_env(**extra: str) -> dict:
    """The settings' environment as in production (DEBUG off: cached templates, no query log, static files from a
    manifest collected into STATIC_ROOT), over plain HTTP on loopback; `extra` adds or overrides variables."""
    return {"DEBUG": "false", "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-secret-key-not-for-production"),
            "ALLOWED_HOSTS": "127.0.0.1,testserver", "SECURE_COOKIES": "false", "STATIC_ROOT": STATIC_ROOT, **extra}


def empty_bench_redis() -> None:
    """Empty the benchmarks' Redis database (BENCH_REDIS): no tasks or sessions left from a run."""
    import redis

    redis.Redis.from_url(BENCH_REDIS).flushdb()


def setup_django(database_url: str = BENCH_DB):
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mentoring.settings")
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("SECRET_KEY", "bench-secret-key-not-for-production")
    sys.path.insert(0, str(PROJECT))
    import django

    django.setup()
    from mentoring.celery import app

    app.conf.task_always_eager = True


def reset_database():
    """Drop and re-create the bench database, then migrate it."""
    import psycopg
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    name = settings.DATABASES["default"]["NAME"]
    connections.close_all()
    with psycopg.connect(host=settings.DATABASES["default"]["HOST"], port=settings.DATABASES["default"]["PORT"] or 5432,
                         user=settings.DATABASES["default"]["USER"], dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    call_command("migrate", verbosity=0)


@contextmanager
def timed(label: str, results: dict):
    started = time.perf_counter()
    yield
    results[label] = time.perf_counter() - started


def percentile(values, p):
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values):
    return statistics.median(values)


def table(rows, headers):
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    out = [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(row) for row in rows]
    return "\n".join(out)

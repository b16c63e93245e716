"""Benchmark 6: what a logged-in request pays before its own work, by session engine and authentication backend.

The probe (bench/probe_urls.py, `/bench/roles`) loads the session, the user and what every page's navigation asks
of their roles, and nothing else. It is requested through Django's test client in process (`DEBUG` off, PostgreSQL
at BENCH_DATABASE_URL, dropped and re-created; Redis at BENCH_REDIS_URL, flushed), in four set-ups taken in turn
so that the machine's drift touches each alike: sessions in the database (`db`, the embedded default) or in the
database and Redis (`cached_db`, with Redis), and the user's roles from Django's `ModelBackend` (two queries of
their own) or from the user's query (`sessions_app.backends.UserWithPermissionsBackend`). `/healthz` is the floor.

    .venv/bin/python -m bench.logged_in [--repeats 2000]
"""

import argparse
import os

from bench.common import BENCH_REDIS, empty_bench_redis, median, percentile, production_env, setup_django, table

AXES = "mentoring.middleware.AxesLockoutBackend"
SET_UPS = [
    ("db", "django.contrib.sessions.backends.db", "django.contrib.auth.backends.ModelBackend"),
    ("db", "django.contrib.sessions.backends.db", "sessions_app.backends.UserWithPermissionsBackend"),
    ("cached_db", "mentoring.sessions", "django.contrib.auth.backends.ModelBackend"),
    ("cached_db", "mentoring.sessions", "sessions_app.backends.UserWithPermissionsBackend"),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=2000)
    args = parser.parse_args()
    os.environ.update(production_env(REDIS_URL=BENCH_REDIS, LOG_LEVEL="WARNING"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.probe_settings"
    empty_bench_redis()
    setup_django()
    import time

    from django.contrib.auth.models import Group
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    from bench.common import reset_database
    from sessions_app.models import User

    reset_database()
    people = {}
    for role in ("Mentor", "Senior Leadership", "Finance"):
        people[role] = User.objects.create_user(f"{role.lower().replace(' ', '-')}@bench.example", "bench-password-7",
                                                full_name=f"Bench {role}")
        people[role].groups.add(Group.objects.get(name=role))

    rows = []
    for role, user in people.items():
        clients = []
        for label, engine, backend in SET_UPS:
            set_up = override_settings(SESSION_ENGINE=engine, AUTHENTICATION_BACKENDS=[AXES, backend])
            with set_up:
                client = Client()
                client.force_login(user)
                client.get("/bench/roles")  # the session now in Redis too, for cached_db
                with CaptureQueriesContext(connection) as captured:
                    answer = client.get("/bench/roles").content
            clients.append((label, backend.rsplit(".", 1)[1], set_up, client, len(captured), answer, []))
        assert len({answer for *_, answer, _ in clients}) == 1, "the set-ups disagree on the roles"
        floor = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            clients[0][3].get("/healthz")
            floor.append((time.perf_counter() - started) * 1000)
            for label, backend, set_up, client, queries, answer, times in clients:
                with set_up:
                    started = time.perf_counter()
                    client.get("/bench/roles")
                    times.append((time.perf_counter() - started) * 1000)
        rows.append((role, "(trivial view, /healthz)", "", 0, f"{median(floor):.2f}", f"{percentile(floor, 95):.2f}"))
        for label, backend, set_up, client, queries, answer, times in clients:
            rows.append((role, label, backend, queries, f"{median(times):.2f}", f"{percentile(times, 95):.2f}"))
    print(table(rows, ["user", "sessions", "roles from", "queries", "median ms", "p95 ms"]))


if __name__ == "__main__":
    main()

"""Benchmark 5: the password check at log-in, Django's Argon2 hasher (argon2-cffi) against PBKDF2.

For each hasher, with Django's own parameters (Argon2id: 2 passes over 100 MiB, 8 lanes; PBKDF2-SHA256: 1,000,000
iterations):

- one check at a time: wall and CPU milliseconds per check (CPU counts every thread: Argon2's lanes run in parallel);
- a crowd: `--logins` log-ins arriving at once, checked by `--workers` threads (gunicorn's sync workers, one check
  each at a time): how long each waited for its answer, p50 / p95 / last;
- with `--through-django`, the same crowd through Django's test client, each thread its own client and database
  connection, posting the log-in form (axes, the session, `last_login` and all) on PostgreSQL (BENCH_DATABASE_URL,
  dropped and re-created).

    .venv/bin/python -m bench.password_hashing [--hasher argon2 pbkdf2_sha256] [--checks 20] [--logins 100]
                                               [--workers 4] [--through-django]
"""

import argparse
import os
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from bench.common import BENCH_REDIS, PROJECT, percentile, table

PASSWORD = "bench-password-7"
HASHERS = {
    "argon2": "django.contrib.auth.hashers.Argon2PasswordHasher",
    "pbkdf2_sha256": "django.contrib.auth.hashers.PBKDF2PasswordHasher",
}


def one_at_a_time(encoded, checks):
    from django.contrib.auth.hashers import check_password

    walls, cpus = [], []
    for _ in range(checks):
        started, cpu = time.perf_counter(), time.process_time()
        assert check_password(PASSWORD, encoded)
        walls.append((time.perf_counter() - started) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return statistics.median(walls), percentile(walls, 95), statistics.median(cpus)


def crowd(work, logins, workers):
    """`logins` calls of `work(i)` submitted at once to `workers` threads: seconds each waited for its answer."""
    waited = [0.0] * logins
    started = time.perf_counter()

    def run(i):
        work(i)
        waited[i] = time.perf_counter() - started

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(run, range(logins)))
    return statistics.median(waited), percentile(waited, 95), max(waited)


def through_django(hasher, encoded, logins, workers):
    """The crowd posting the log-in form through Django's test client, as `logins` different mentors."""
    from django.contrib.auth.models import Group
    from django.db import connections
    from django.test import Client
    from django.test.utils import override_settings

    from bench.common import reset_database
    from sessions_app.models import User

    reset_database()
    users = User.objects.bulk_create([User(email=f"login{i}@bench.example", full_name=f"Login Mentor {i}",
                                           password=encoded) for i in range(logins)])
    Group.objects.get(name="Mentor").user_set.add(*users)
    local = threading.local()
    failures = []

    def log_in(i):
        if not hasattr(local, "client"):
            local.client = Client()
        local.client.cookies.clear()
        response = local.client.post("/accounts/login/", {"username": f"login{i}@bench.example", "password": PASSWORD})
        if response.status_code != 302:
            failures.append(response.status_code)
        connections.close_all()  # this thread's connection: the pool's threads end with the crowd

    others = [path for name, path in HASHERS.items() if name != hasher]
    with override_settings(PASSWORD_HASHERS=[HASHERS[hasher], *others]):  # checked with its own hasher: no upgrade
        figures = crowd(log_in, logins, workers)
    if failures:
        raise SystemExit(f"{len(failures)} log-ins failed: {failures[:5]}")
    return figures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hasher", nargs="+", choices=list(HASHERS), default=list(HASHERS))
    parser.add_argument("--checks", type=int, default=20, help="checks one at a time, per hasher")
    parser.add_argument("--logins", type=int, default=100, help="log-ins arriving at once (0: none)")
    parser.add_argument("--workers", type=int, default=4, help="threads checking them, as gunicorn's workers")
    parser.add_argument("--through-django", action="store_true",
                        help="the crowd through Django's test client on PostgreSQL (BENCH_DATABASE_URL)")
    args = parser.parse_args()
    if args.through_django:
        from bench.common import production_env, setup_django

        # As in production: DEBUG off, sessions in Redis and the database.
        for name, value in production_env(REDIS_URL=BENCH_REDIS, LOG_LEVEL="WARNING").items():
            os.environ.setdefault(name, value)
        setup_django()
    else:  # the project's settings, on its embedded default: nothing here touches the database
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mentoring.settings")
        sys.path.insert(0, str(PROJECT))
        import django

        django.setup()
    from django.contrib.auth.hashers import check_password, make_password

    rows = []
    for hasher in args.hasher:
        encoded = make_password(PASSWORD, hasher=hasher)
        row = [hasher, *(f"{x:.0f}" for x in one_at_a_time(encoded, args.checks))]
        if args.logins:
            row += [f"{x:.1f}" for x in crowd(lambda i: check_password(PASSWORD, encoded), args.logins, args.workers)]
        if args.through_django:
            row += [f"{x:.1f}" for x in through_django(hasher, encoded, args.logins, args.workers)]
        rows.append(row)
    headers = ["hasher", "check: median ms", "p95 ms", "CPU ms"]
    if args.logins:
        headers += [f"{args.logins} at once, {args.workers} threads: p50 s", "p95 s", "last s"]
    if args.through_django:
        headers += ["through Django: p50 s", "p95 s", "last s"]
    print(f"{os.cpu_count()} cores")
    print(table(rows, headers))


if __name__ == "__main__":
    main()

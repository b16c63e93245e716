"""Benchmark 3: pages with 1,000 and with 1,000,000 appointments in PostgreSQL.

Per page: queries, median and p95 server time (Django's test client, in process); the same for three probes
(bench/probe_urls.py) that show what a logged-in page pays before its own work (the session; the session and the
user; those and the user's roles, which every page's navigation shows). Then requests per second under gunicorn
(2 workers) driven by wrk on loopback, for the pages, the probes and the trivial /healthz view in the same server:
with Redis as in production (sessions in `cached_db`), then without it (sessions in the database).

    .venv/bin/python -m bench.pages [--large 1000000] [--repeats 40]
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta

from bench.common import BENCH_DB, BENCH_REDIS, PROJECT, empty_bench_redis, median, percentile, production_env, setup_django, table


PROBES = (("probe: the session, nothing else", "/bench/session"),
          ("probe: the session and the user (login_required)", "/bench/logged-in"),
          ("probe: the session, the user and their roles", "/bench/roles"))


def measure(client, method, url, data=None, repeats=40):
    """Queries of one request, then the median and p95 of `repeats` more, in ms."""
    from django.db import connection

    call = getattr(client, method)
    queries = []
    with connection.execute_wrapper(lambda execute, sql, params, many, context: queries.append(sql) or execute(sql, params, many, context)):
        response = call(url, data) if data is not None else call(url)
    assert response.status_code in (200, 302), (url, response.status_code)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call(url, data) if data is not None else call(url)
        times.append((time.perf_counter() - started) * 1000)
    return len(queries), median(times), percentile(times, 95)


def wizard_steps(client, appointment, arrangement_id, repeats):
    """Each step of the wrap-up wizard: the first page, then Next on each step, up to the review."""
    prefix = f"wrap_up_{appointment.reference}-current_step"
    url = f"/appointments/{appointment.reference}/wrap-up/"
    steps = [("wizard: what happened", "get", url, None),
             ("wizard: funding type", "post", url, {prefix: "outcome", "outcome-outcome": "attended"}),
             ("wizard: session notes", "post", url, {prefix: "funding", "funding-funding": str(arrangement_id)}),
             ("wizard: review", "post", url, {prefix: "notes", "notes-session_notes": "Notes",
                                              "notes-actual_minutes": "60"})]
    results = []
    for name, method, path, data in steps:
        results.append((name, *measure(client, method, path, data, repeats)))
    return results


def page_rows(size, repeats):
    from django.test import Client
    from django.utils import timezone

    from sessions_app.models import FundingArrangement, Mentor, ServiceAppointment, User

    mentor = Mentor.objects.select_related("user").order_by("pk").first()
    leader = User.objects.get(email="leader@bench.example")
    started = (ServiceAppointment.objects.filter(mentor=mentor, status="scheduled", starts_at__lte=timezone.now())
               .order_by("-starts_at").first())
    if started is None:
        arrangement = FundingArrangement.objects.first()
        from sessions_app.services import appointment_book
        start = timezone.now() - timedelta(hours=3)
        started = appointment_book(mentor=mentor, mentee=arrangement.mentee, starts_at=start,
                                   ends_at=start + timedelta(hours=1), acting_user=None)
    arrangement_id = FundingArrangement.objects.filter(mentee_id=started.mentee_id).values_list("pk", flat=True).first()
    rows = []
    for who, user in (("mentor", mentor.user), ("leadership", leader)):
        client = Client()
        client.force_login(user)
        for name, url in (*PROBES, ("homepage", "/"), ("calendar", "/calendar/"), ("dashboard", "/dashboard/"),
                          ("SA page", started.get_absolute_url())):
            rows.append((size, who, name, *measure(client, "get", url, repeats=repeats)))
    client = Client()
    client.force_login(mentor.user)
    for name, queries, med, p95 in wizard_steps(client, started, arrangement_id, repeats):
        rows.append((size, "mentor", name, queries, med, p95))
    return rows, (mentor, started.get_absolute_url())


def seed_history(count, mentors, arrangements):
    from bench.seed import LONDON, seed_appointments

    now = datetime.now(LONDON).replace(minute=0, second=0, microsecond=0)
    past = int(count * 0.97)
    seed_appointments(count=past, start=now - timedelta(days=5 * 365), days=5 * 365 - 1, mentors=mentors,
                      arrangements=arrangements, completed_share=0.995, seed=count)
    seed_appointments(count=count - past, start=now + timedelta(days=1), days=120, mentors=mentors,
                      arrangements=arrangements, completed_share=0.0, seed=count + 1)
    from django.db import connection
    with connection.cursor() as cursor:  # as autovacuum would after a bulk load: index-only scans need it
        cursor.execute("VACUUM ANALYZE")


def _logged_in_cookie(user) -> str:
    """The cookies a browser holds after logging in and seeing one page: the session and the CSRF token. The
    session is in the database (and in Redis, which each server run below starts empty)."""
    from django.conf import settings
    from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
    from django.test import Client
    from django.utils.crypto import get_random_string

    client = Client()
    client.force_login(user)
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    return f"sessionid={session_key}; csrftoken={get_random_string(CSRF_SECRET_LENGTH, CSRF_ALLOWED_CHARS)}"


def _wrk(url, cookie, seconds):
    out = subprocess.run(["wrk", "-t2", "-c8", f"-d{seconds}s", "-H", f"Cookie: {cookie}", url],
                         capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, int(non_2xx.group(1)) if non_2xx else 0


def throughput(mentor_user, appointment_url, seconds=15):
    """Requests per second under gunicorn (2 workers) for the mentor's pages, the probes and the trivial view in
    the same server: with Redis as in production (sessions in cached_db), then without Redis (in the database)."""
    if not shutil.which("wrk"):
        return None, "wrk not installed (apt-get install wrk)"
    cookie = _logged_in_cookie(mentor_user)
    pages = (("mentor homepage", "/"), ("mentor calendar", "/calendar/"), ("mentor dashboard", "/dashboard/"),
             ("SA page", appointment_url))
    results = {}
    for label, redis_url in (("Redis: sessions cached_db", BENCH_REDIS), ("no Redis: sessions in the database", "")):
        empty_bench_redis()
        env = {**os.environ, **production_env(), "DATABASE_URL": BENCH_DB, "REDIS_URL": redis_url,
               "DJANGO_SETTINGS_MODULE": "bench.probe_settings"}
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "mentoring.wsgi:application", "--workers", "2",
             "--bind", "127.0.0.1:8799", "--log-level", "warning"], cwd=PROJECT, env=env)
        time.sleep(4)
        try:
            for name, path in (("trivial view", "/healthz"), *PROBES, *pages):
                results[(label, name)] = _wrk(f"http://127.0.0.1:8799{path}", cookie, seconds)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=20)
    return results, None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--reuse", action="store_true",
                        help="measure the database a previous run seeded (its large size only) instead of re-seeding")
    parser.add_argument("--seconds", type=int, default=15, help="how long wrk drives each page")
    args = parser.parse_args()
    os.environ.update(production_env(REDIS_URL=BENCH_REDIS))  # as in production: sessions in cached_db
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.probe_settings"  # the project with the probes
    empty_bench_redis()
    setup_django()
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    from django.contrib.auth.models import Group

    from bench.common import reset_database
    from bench.seed import seed_people
    from sessions_app.models import ServiceAppointment, User

    if args.reuse and ServiceAppointment.objects.count() >= args.large:
        rows, (mentor, appointment_url) = page_rows(args.large, args.repeats)
        report(rows, mentor, appointment_url, args.seconds)
        return
    reset_database()
    mentors, _, arrangements = seed_people(mentors=800, mentees=5000, funders=150)
    leader = User.objects.create_user("leader@bench.example", "bench-password", full_name="Lee Leader")
    leader.groups.add(Group.objects.get(name="Senior Leadership"))
    seed_history(args.small, mentors, arrangements)
    rows, _ = page_rows(args.small, args.repeats)
    started = time.perf_counter()
    seed_history(args.large - args.small, mentors, arrangements)
    print(f"seeded {args.large:,} appointments in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    large_rows, (mentor, appointment_url) = page_rows(args.large, args.repeats)
    report(rows + large_rows, mentor, appointment_url, args.seconds)


def report(rows, mentor, appointment_url, seconds):
    print(table([(f"{size:,}", who, name, q, f"{med:.1f}", f"{p95:.1f}") for size, who, name, q, med, p95 in rows],
                ["appointments", "user", "page", "queries", "median ms", "p95 ms"]))
    results, problem = throughput(mentor.user, appointment_url, seconds)
    if problem:
        print(f"throughput: skipped: {problem}")
    else:
        print(table([(label, name, f"{rps:.0f}", f"{rps / results[(label, 'trivial view')][0]:.2f}", errors)
                     for (label, name), (rps, errors) in results.items()],
                    ["gunicorn, 2 workers, wrk -c8", "page", "requests/s", "of trivial", "non-2xx"]))
    print("budgets: at most 10 queries, the same at both sizes; p95 under 50 ms")


if __name__ == "__main__":
    main()

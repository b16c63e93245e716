"""The calendar's two paths at 1,000,000 appointments: PostgreSQL's one LATERAL query against the ORM's window ranking.

`sessions_app.selectors._first_of_each_day` reads each day's first sessions and counts per day, by raw SQL on
PostgreSQL and by the ORM elsewhere. This times both on the same PostgreSQL database (seeded as bench.pages seeds
it: five years back, four months ahead, 800 mentors, 5,000 mentees), for this month's calendar of a mentor, of
Senior Leadership (every mentor's sessions) and of Senior Leadership filtered to one mentor: the selector alone
and the whole page (Django's test client, DEBUG off, Redis sessions as in production), taken in turn.

    .venv/bin/python -m bench.calendar_paths [--appointments 1000000] [--repeats 40] [--reuse]
"""

import argparse
import os
import sys
import time

from bench.common import BENCH_REDIS, empty_bench_redis, median, percentile, production_env, setup_django, table


def timed(call, repeats):
    call()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appointments", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--reuse", action="store_true", help="use the database the last run seeded (bench.pages too)")
    args = parser.parse_args()
    os.environ.update(production_env(REDIS_URL=BENCH_REDIS))
    empty_bench_redis()
    setup_django()
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from bench.common import reset_database
    from bench.pages import seed_history
    from bench.seed import seed_people
    from sessions_app import selectors
    from sessions_app.models import Mentor, ServiceAppointment, User

    call_command("collectstatic", interactive=False, verbosity=0)
    reusable = args.reuse and User.objects.filter(email="leader@bench.example").exists()
    if not reusable:
        started = time.perf_counter()
        reset_database()
        mentors, _, arrangements = seed_people(mentors=800, mentees=5000, funders=150)
        leader = User.objects.create_user("leader@bench.example", "bench-password", full_name="Lee Leader")
        leader.groups.add(Group.objects.get(name="Senior Leadership"))
        seed_history(args.appointments, mentors, arrangements)
        print(f"seeded {args.appointments:,} appointments in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    leader = User.objects.get(email="leader@bench.example")
    mentor = Mentor.objects.select_related("user").order_by("pk").first()
    today = timezone.localdate()
    paths = {"SQL (LATERAL)": selectors._first_of_each_day_in_sql, "ORM (window)": selectors._first_of_each_day_by_orm}
    original = selectors._first_of_each_day
    cases = (("mentor", mentor.user, None, "/calendar/"),
             ("Senior Leadership, everyone", leader, None, "/calendar/"),
             ("Senior Leadership, one mentor", leader, mentor.pk, f"/calendar/?mentor={mentor.pk}"))
    rows = []
    in_month = {}
    try:
        for who, user, mentor_id, url in cases:
            client = Client()
            client.force_login(user)
            measured = {}
            for label, path in paths.items():
                selectors._first_of_each_day = path
                with CaptureQueriesContext(connection) as queries:
                    grid = selectors.calendar_month(user, today.year, today.month, mentor_id=mentor_id)
                in_month[who] = grid.total
                measured[label] = {"queries": len(queries), "selector": [], "page": []}
            for _ in range(args.repeats // 10):  # the two paths in turn, ten at a time, so drift hits both alike
                for label, path in paths.items():
                    selectors._first_of_each_day = path
                    measured[label]["selector"] += timed(
                        lambda: selectors.calendar_month(user, today.year, today.month, mentor_id=mentor_id), 10)
                    measured[label]["page"] += timed(lambda: client.get(url), 10)
            for label, m in measured.items():
                rows.append([who, f"{in_month[who]:,}", label, m["queries"],
                             f"{median(m['selector']):.1f}", f"{percentile(m['selector'], 95):.1f}",
                             f"{median(m['page']):.1f}", f"{percentile(m['page'], 95):.1f}"])
    finally:
        selectors._first_of_each_day = original
    total = ServiceAppointment.objects.count()
    print(f"{total:,} appointments; this month's calendar ({today:%B %Y}); {args.repeats} of each, in turn")
    print(table(rows, ["calendar", "sessions in the month", "path", "queries (selector)", "selector median ms",
                       "selector p95 ms", "page median ms", "page p95 ms"]))
    print("budget: every page p95 <= 50 ms")


if __name__ == "__main__":
    main()

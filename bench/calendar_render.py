"""Rendering a busy month's calendar: Senior Leadership's calendar with 18,000 sessions in the month (800 mentors,
5,000 mentees; the grid's days outside the month as busy), each day showing its first 6 sessions and "N more",
and a mentor filter of 800.

Times the whole page through Django's test client (DEBUG off: every request renders) and, apart, the template
alone given the same context (the selector's work done once), to see what the template engine costs: the page the
project serves (Jinja2, jinja2/sessions_app/calendar.html) against the same page written as Django templates
(bench/django_templates/, a day and an entry as includes where the Jinja2 page has macros). The two must render the
same HTML, or the run stops.

    .venv/bin/python -m bench.calendar_render [--repeats 100] [--reuse]
"""

import argparse
import os
import re
import time
from datetime import datetime
from pathlib import Path

from bench.common import BENCH_DB, median, percentile, production_env, setup_django, table

MONTH = (2026, 11)
SESSIONS = 18_000
DJANGO_TEMPLATES = Path(__file__).resolve().parent / "django_templates"


def comparable(html: str) -> str:
    """The HTML with its CSRF token (masked afresh on every render) and runs of white space made equal."""
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', 'name="csrfmiddlewaretoken"', html)
    return re.sub(r"\s+", " ", html)


def timings(call, repeats):
    call()  # warm: templates compiled and cached, connection open
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return median(times), percentile(times, 95)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--reuse", action="store_true", help="use the database the last run seeded")
    args = parser.parse_args()
    os.environ.pop("REDIS_URL", None)
    os.environ.update(production_env(STATIC_ROOT="/tmp/mentoring-bench-calendar-static"))
    setup_django(os.environ.get("BENCH_DATABASE_URL", BENCH_DB))
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)

    from django.contrib.auth.models import Group
    from django.template.loader import get_template
    from django.template.backends.django import DjangoTemplates
    from django.test import Client, RequestFactory

    from bench.common import reset_database
    from bench.seed import LONDON, seed_appointments, seed_people
    from sessions_app import selectors
    from sessions_app.models import User

    year, month = MONTH
    if not (args.reuse and User.objects.filter(email="leader@bench.example").exists()):
        reset_database()
        mentors, _, arrangements = seed_people(mentors=800, mentees=5000, funders=150)
        leader = User.objects.create_user("leader@bench.example", "bench-password", full_name="Lee Leader")
        leader.groups.add(Group.objects.get(name="Senior Leadership"))
        # The grid's 42 days (Monday 26 October to Sunday 6 December), as busy as the month's.
        seed_appointments(count=SESSIONS * 42 // 30, start=datetime(2026, 10, 26, tzinfo=LONDON), days=42, mentors=mentors,
                          arrangements=arrangements, completed_share=0.5)
    leader = User.objects.get(email="leader@bench.example")
    url = f"/calendar/{year}/{month}/"

    client = Client()
    client.force_login(leader)
    html = client.get(url).content.decode()
    shown = html.count('class="calendar__item ')
    page = timings(lambda: client.get(url), args.repeats)

    request = RequestFactory().get(url)
    request.user = leader
    grid = selectors.calendar_month(leader, year, month)
    context = {"grid": grid, "mentor_id": None, "feed_url": None,
               "mentors": selectors.mentors_for_filter(leader)}
    served_template = get_template("sessions_app/calendar.html")  # the Jinja2 engine's
    jinja2 = timings(lambda: served_template.render(dict(context), request), args.repeats)
    django_engine = DjangoTemplates({"NAME": "bench-django", "DIRS": [DJANGO_TEMPLATES], "APP_DIRS": False,
                                     "OPTIONS": {"context_processors": [
                                         "django.template.context_processors.request",
                                         "django.contrib.auth.context_processors.auth",
                                         "django.contrib.messages.context_processors.messages",
                                         "sessions_app.context_processors.roles",
                                     ]}})
    django_template = django_engine.get_template("calendar.html")
    served = served_template.render(dict(context), request)
    if comparable(django_template.render(dict(context), request)) != comparable(served):
        raise SystemExit("bench/django_templates/ no longer renders the page the project serves: update it")
    django = timings(lambda: django_template.render(dict(context), request), args.repeats)

    print(f"Senior Leadership's calendar, {grid.total:,} sessions in the month, {shown} shown, "
          f"{len(context['mentors'])} mentors in the filter; {args.repeats} renders each")
    print(table([("whole page (test client, Jinja2)", f"{page[0]:.1f}", f"{page[1]:.1f}"),
                 ("template alone, Jinja2 (served)", f"{jinja2[0]:.1f}", f"{jinja2[1]:.1f}"),
                 ("template alone, Django templates", f"{django[0]:.1f}", f"{django[1]:.1f}")],
                ["", "median ms", "p95 ms"]))


if __name__ == "__main__":
    main()

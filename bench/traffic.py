"""Real traffic: many logged-in mentors and Senior Leadership at once, a mix of pages and wrap-ups, through gunicorn.

Gunicorn (2 sync workers, production settings: DEBUG off, sessions in `cached_db` with Redis, tasks queued to Redis)
on PostgreSQL with `--appointments` Service Appointments (as bench.pages seeds them: five years back, four months
ahead, 800 mentors, 5,000 mentees). Each simulated person holds their own log-in and, after each answer, thinks for
a while (exponential, mean `--think-ms`) before the next request. In turn, each for `--seconds`:

1. the trivial view (`/healthz`), every person requesting it;
2. the logged-in floor (`/bench/floor`, bench/probe_urls.py): the session and the user loaded as on every page, 25
   rows from one indexed query, rendered by a template;
3. the mix, reads only: mentors open their homepage, calendar, dashboard and their own SA pages; Senior Leadership
   their homepage, calendar, dashboard and any SA page;
4. the same mix with wrap-ups: a share of the requests (`--writes`, 3 % by default) are wrap-ups submitted, each
   after the wizard's real steps (open, what happened, funding, notes: 4 more requests, counted in the mix).

Then every page alone, one request at a time (what a page costs rendered, without queueing), and the month-end
rush: `--rush` mentors each take a session through the wizard's first steps, then all submit at once; every one
must be wrapped up exactly once (one event, one attendance email per recipient), none lost, none an error.

    .venv/bin/python -m bench.traffic [--appointments 50000] [--users 200] [--leaders 10] [--seconds 20]
    .venv/bin/python -m bench.traffic --reuse   # on the database the last run (or bench.pages, bench.calendar_paths) seeded

Needs PostgreSQL (BENCH_DATABASE_URL: dropped and re-created unless --reuse) and Redis (BENCH_REDIS_URL: flushed).
"""

import argparse
import http.client
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import defaultdict
from datetime import timedelta

from bench.common import BENCH_DB, BENCH_REDIS, PROJECT, empty_bench_redis, percentile, production_env, setup_django, table

PORT = 8797
PASSWORD = "bench-password"
TO_WRAP_UP_EACH = 12  # sessions started and not wrapped up, per simulated mentor
TO_WRAP_UP_LOCATION = "Bench room"  # marks them, so that a later run (--reuse) removes those left over
MENTOR_PAGES = (("homepage", 30), ("calendar", 20), ("dashboard", 20), ("SA page", 30))


# ---------------------------------------------------------------- the simulated people (in client processes)

class Browser:
    """One person's browser: their cookies; a new connection when gunicorn's sync worker closes one."""

    def __init__(self, cookies: dict):
        self.cookies = dict(cookies)
        self.conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)

    def request(self, method, path, fields=None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()), "Host": "127.0.0.1"}
        body = None
        if fields is not None:
            body = urllib.parse.urlencode({"csrfmiddlewaretoken": self.cookies["csrftoken"], **fields})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as problem:
            self.conn.close()
            return None, None, time.perf_counter() - started, repr(problem)
        elapsed = time.perf_counter() - started
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
        return response.status, response.getheader("Location"), elapsed, None


def wizard_steps(reference: str, arrangement_id: int):
    """The wrap-up wizard's requests for one session, as a browser sends them: (label, method, fields, expected)."""
    step = f"wrap_up_{reference}-current_step"
    return [
        ("wizard step", "GET", None, 200),
        ("wizard step", "POST", {step: "outcome", "outcome-outcome": "attended"}, 200),
        ("wizard step", "POST", {step: "funding", "funding-funding": str(arrangement_id)}, 200),
        ("wizard step", "POST", {step: "notes", "notes-session_notes": "Covered the plan.",
                                 "notes-actual_minutes": "55"}, 200),
        ("wrap-up submitted", "POST", {step: "review", "review-admin_details": ""}, 302),
    ]


def person(spec, phase, deadline, think_s, wrap_up_share, results, rng):
    """One person's requests until the deadline: (label, seconds, ok) appended to results."""
    browser = Browser(spec["cookies"])
    to_wrap_up = list(spec["to_wrap_up"])
    pages = spec["pages"]
    names, weights = zip(*MENTOR_PAGES)
    time.sleep(rng.random() * think_s)  # not all at once
    while time.perf_counter() < deadline:
        if phase == "trivial":
            steps = [("trivial view", "GET", "/healthz", None, 200)]
        elif phase == "floor":
            steps = [("logged-in floor", "GET", "/bench/floor", None, 200)]
        elif phase == "mix" and to_wrap_up and rng.random() < wrap_up_share:
            reference, arrangement_id = to_wrap_up.pop()
            url = f"/appointments/{reference}/wrap-up/"
            steps = [(label, method, url, fields, expected)
                     for label, method, fields, expected in wizard_steps(reference, arrangement_id)]
        else:
            page = rng.choices(names, weights)[0]
            path = pages[page] if page != "SA page" else rng.choice(pages["SA page"])
            steps = [(page, "GET", path, None, 200)]
        for label, method, path, fields, expected in steps:
            status, location, elapsed, problem = browser.request(method, path, fields)
            ok = status == expected and (expected != 302 or location == path.rsplit("wrap-up/", 1)[0])
            results.append((label, elapsed, ok, problem or (None if ok else f"{method} {path}: {status} {location}")))
            if not ok:
                break
        time.sleep(rng.expovariate(1 / think_s) if think_s else 0)


def client_process(specs, phase, seconds, think_s, wrap_up_share, seed):
    """Runs in a process of its own: a thread per person; returns when it started (time.monotonic, the same clock
    in every process) and every request's (label, seconds, ok, problem)."""
    started = time.monotonic()
    results, deadline = [], time.perf_counter() + seconds
    threads = [threading.Thread(target=person, args=(spec, phase, deadline, think_s, wrap_up_share, results,
                                                     random.Random(seed * 100_000 + i)))
               for i, spec in enumerate(specs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return started, time.monotonic(), results


def drive(specs, phase, seconds, think_s, wrap_up_share, processes):
    """Every person at once, split over `processes` client processes; (results, seconds from the first process
    starting to the last request answered)."""
    chunks = [specs[i::processes] for i in range(processes)]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        parts = pool.starmap(client_process, [(chunk, phase, seconds, think_s, wrap_up_share, n)
                                              for n, chunk in enumerate(chunks)])
    elapsed = max(ended for _, ended, _ in parts) - min(started for started, _, _ in parts)
    return [row for _, _, part in parts for row in part], elapsed


# ---------------------------------------------------------------- the world

def seed(appointments: int, rush: int, users: int):
    from bench.common import reset_database
    from bench.pages import seed_history
    from bench.seed import seed_people

    reset_database()
    mentors, _, arrangements = seed_people(mentors=800, mentees=5000, funders=150)
    seed_history(appointments, mentors, arrangements)
    add_people_and_sessions(rush, users)


def add_people_and_sessions(rush: int, users: int):
    """On a world seeded by bench.seed (here, or by bench.pages or bench.calendar_paths): the mentors in the Mentor
    group, fifty Senior Leadership, and sessions to wrap up for the simulated mentors and the rush's."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group

    from sessions_app.models import FundingArrangement, Mentor, User

    mentors = list(Mentor.objects.order_by("pk"))
    group = Group.objects.get(name="Mentor")
    group.user_set.through.objects.bulk_create(
        [group.user_set.through(user_id=m.user_id, group_id=group.pk) for m in mentors], ignore_conflicts=True)
    leaders = Group.objects.get(name="Senior Leadership")
    password = make_password(PASSWORD)
    for i in range(50):
        user, _ = User.objects.get_or_create(email=f"leader{i}@bench.example",
                                             defaults={"full_name": f"Leader {i:02d}", "password": password})
        user.groups.add(leaders)
    seed_to_wrap_up(mentors[: users + rush], list(FundingArrangement.objects.order_by("pk")))


def seed_to_wrap_up(mentors, arrangements):
    """Sessions that started in the last days and are not wrapped up yet: TO_WRAP_UP_EACH per mentor, each with a
    mentee whose funding is valid. Those an earlier run left are removed first, so that every run's homepages hold
    the same number (runs on one database compare)."""
    from django.db import connection
    from django.utils import timezone

    from invoicing.bulk import insert_rows
    from sessions_app.models import ServiceAppointment
    from sessions_app.services import sequence_allocate

    ServiceAppointment.objects.filter(location=TO_WRAP_UP_LOCATION,
                                      status=ServiceAppointment.Status.SCHEDULED).delete()
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    first = sequence_allocate(name="service_appointment", count=len(mentors) * TO_WRAP_UP_EACH)
    rng, rows = random.Random(7), []
    for m, mentor in enumerate(mentors):
        for i in range(TO_WRAP_UP_EACH):
            start = now - timedelta(hours=2 + 3 * i)
            arrangement = arrangements[rng.randrange(len(arrangements))]
            rows.append((f"SA-{first + m * TO_WRAP_UP_EACH + i:06d}", mentor.pk, arrangement.mentee_id, start,
                         start + timedelta(hours=1), TO_WRAP_UP_LOCATION))
    insert_rows(ServiceAppointment, ["reference", "mentor_id", "mentee_id", "starts_at", "ends_at", "location"], rows)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def logged_in_cookies(user) -> dict:
    """What a browser holds after logging in (a session in the database and Redis) and seeing a form: the session
    and the CSRF cookie. Made in process: 260 Argon2 log-ins would take a minute of CPU before the run."""
    from django.conf import settings
    from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
    from django.test import Client
    from django.utils.crypto import get_random_string

    client = Client()
    client.force_login(user)
    return {"sessionid": client.cookies[settings.SESSION_COOKIE_NAME].value,
            "csrftoken": get_random_string(CSRF_SECRET_LENGTH, CSRF_ALLOWED_CHARS)}


def people(users: int, leaders: int, rush: int):
    """(the simulated people, the rush's mentors): each with cookies, their pages, their sessions to wrap up."""
    from django.utils import timezone

    from sessions_app.models import FundingArrangement, Mentor, ServiceAppointment, User

    now = timezone.now()
    mentors = list(Mentor.objects.select_related("user").order_by("pk")[: users + rush])
    arrangement_of = dict(FundingArrangement.objects.order_by("mentee_id", "pk").values_list("mentee_id", "pk")
                          .distinct())
    any_sa = list(ServiceAppointment.objects.order_by("?").values_list("reference", flat=True)[:500])

    def spec(user, mentor):
        own = mentor.appointments.order_by("-starts_at") if mentor else None
        pages = {"homepage": "/", "calendar": "/calendar/", "dashboard": "/dashboard/",
                 "SA page": [f"/appointments/{r}/" for r in (own.values_list("reference", flat=True)[:40]
                                                            if mentor else any_sa)]}
        to_wrap_up = [] if mentor is None else [
            (reference, arrangement_of[mentee_id]) for reference, mentee_id in
            own.filter(status=ServiceAppointment.Status.SCHEDULED, starts_at__lte=now,
                       starts_at__gte=now - timedelta(days=3)).values_list("reference", "mentee_id")]
        return {"cookies": logged_in_cookies(user), "pages": pages, "to_wrap_up": to_wrap_up}

    crowd = [spec(m.user, m) for m in mentors[:users]]
    crowd += [spec(u, None) for u in User.objects.filter(email__startswith="leader").order_by("pk")[:leaders]]
    return crowd, [spec(m.user, m) for m in mentors[users: users + rush]]


# ---------------------------------------------------------------- measuring

def summary(label, results, elapsed, floor_rps=None):
    times = [seconds for _, seconds, _, _ in results]
    errors = sum(not ok for _, _, ok, _ in results)
    rps = len(results) / elapsed
    return [label, f"{len(results):,}", f"{rps:.0f}", f"{rps / floor_rps:.2f}" if floor_rps else "",
            *(f"{percentile(times, p) * 1000:.0f}" for p in (50, 95, 99)), errors]


def by_label(results):
    grouped = defaultdict(list)
    for label, seconds, ok, _ in results:
        grouped[label].append(seconds)
    return grouped


def pages_alone(crowd, repeats):
    """Each page one request at a time (nothing else running): what it costs rendered, with the HTTP round trip."""
    mentor = next(spec for spec in crowd if spec["to_wrap_up"])
    leader = next(spec for spec in crowd if not spec["to_wrap_up"])
    rows = []
    for who, spec in (("mentor", mentor), ("Senior Leadership", leader)):
        browser = Browser(spec["cookies"])
        for page in ("logged-in floor", "homepage", "calendar", "dashboard", "SA page"):
            path = {"logged-in floor": "/bench/floor", "SA page": spec["pages"]["SA page"][0]}.get(page)
            path = path or spec["pages"][page]
            browser.request("GET", path)
            times, bad = [], 0
            for _ in range(repeats):
                status, _, elapsed, _ = browser.request("GET", path)
                times.append(elapsed)
                bad += status != 200
            p95 = percentile(times, 95) * 1000
            rows.append([who, page, f"{percentile(times, 50) * 1000:.1f}", f"{p95:.1f}", bad,
                         "" if page == "logged-in floor" else "met" if p95 <= 50 else "NOT met"])
    return rows


def month_end_rush(rushers):
    """Every rush mentor takes one session to the wizard's last step; then all submit at the same moment."""
    from notifications.models import OutboxEmail
    from sessions_app.models import AppointmentEvent, ServiceAppointment

    plan = []
    for spec in rushers:
        reference, arrangement_id = spec["to_wrap_up"][0]
        browser = Browser(spec["cookies"])
        steps = wizard_steps(reference, arrangement_id)
        for label, method, fields, expected in steps[:-1]:
            status, _, _, problem = browser.request(method, f"/appointments/{reference}/wrap-up/", fields)
            assert status == expected, (reference, fields, status, problem)
        plan.append((browser, reference, steps[-1]))
    barrier = threading.Barrier(len(plan))
    outcomes = []

    def submit(browser, reference, step):
        _, method, fields, _ = step
        browser.conn.close()
        barrier.wait()
        status, location, elapsed, problem = browser.request(method, f"/appointments/{reference}/wrap-up/", fields)
        outcomes.append((reference, status == 302 and location == f"/appointments/{reference}/", elapsed, problem))

    started = time.perf_counter()
    threads = [threading.Thread(target=submit, args=entry) for entry in plan]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    references = [reference for _, reference, _ in plan]
    completed = ServiceAppointment.objects.filter(reference__in=references, status="completed").count()
    events = list(AppointmentEvent.objects.filter(appointment__reference__in=references, kind="wrapped_up")
                  .values_list("appointment__reference", flat=True))
    emails = list(OutboxEmail.objects.filter(appointment__reference__in=references,
                                             kind__in=["attendance_mentee", "attendance_funder"])
                  .values_list("appointment__reference", "kind"))
    errors = sum(not ok for _, ok, _, _ in outcomes)
    lost = len(references) - completed
    duplicated = (len(events) - len(set(events))) + (len(emails) - len(set(emails)))
    with_email = len({reference for reference, _ in emails})
    times = [seconds for _, _, seconds, _ in outcomes]
    return [len(plan), f"{elapsed:.1f}", f"{percentile(times, 50) * 1000:.0f}", f"{percentile(times, 95) * 1000:.0f}",
            errors, lost, duplicated, f"{len(set(events))} / {with_email}"], [p for *_, p in outcomes if p][:5]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appointments", type=int, default=50_000)
    parser.add_argument("--users", type=int, default=200, help="simulated mentors")
    parser.add_argument("--leaders", type=int, default=10, help="simulated Senior Leadership")
    parser.add_argument("--rush", type=int, default=100, help="mentors submitting their wrap-ups at once")
    parser.add_argument("--seconds", type=int, default=20, help="how long each kind of traffic runs")
    parser.add_argument("--think-ms", type=float, default=100, help="mean think time between a person's requests")
    parser.add_argument("--writes", type=float, default=0.03, help="share of requests that are wrap-ups submitted")
    parser.add_argument("--processes", type=int, default=3, help="client processes the people are spread over")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--repeats", type=int, default=40, help="requests per page, alone")
    parser.add_argument("--reuse", action="store_true", help="measure the database the last run seeded")
    args = parser.parse_args()

    os.environ.update(production_env(REDIS_URL=BENCH_REDIS))  # as in production: sessions in cached_db
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.probe_settings"
    empty_bench_redis()
    setup_django()
    from django.core.management import call_command
    from django.db import connections

    from sessions_app.models import ServiceAppointment, User

    call_command("collectstatic", interactive=False, verbosity=0)
    if not (args.reuse and ServiceAppointment.objects.exists()):
        started = time.perf_counter()
        seed(args.appointments, args.rush, args.users)
        print(f"seeded in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    else:  # the world is there (this benchmark's, bench.pages' or bench.calendar_paths'): people and sessions to wrap up
        add_people_and_sessions(args.rush, args.users)
    total = ServiceAppointment.objects.count()
    crowd, rushers = people(args.users, args.leaders, args.rush)
    connections.close_all()

    env = {**os.environ, "DATABASE_URL": BENCH_DB, "REDIS_URL": BENCH_REDIS}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "mentoring.wsgi:application", "--workers", str(args.workers),
         "--bind", f"127.0.0.1:{PORT}", "--log-level", "warning", "--timeout", "120"], cwd=PROJECT, env=env)
    time.sleep(5)
    think = args.think_ms / 1000
    share = args.writes / (1 - 4 * args.writes)  # a wrap-up is 5 requests, one of them the submit
    try:
        results = {}
        for label, phase, writes in (("trivial view (/healthz)", "trivial", 0), ("logged-in floor", "floor", 0),
                                     ("mix, reads only", "mix", 0),
                                     (f"mix, {args.writes:.0%} wrap-ups submitted", "mix", share)):
            results[label] = drive(crowd, phase, args.seconds, think, writes, args.processes)
        alone = pages_alone(crowd, args.repeats)
        rush, rush_problems = month_end_rush(rushers)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)

    print(f"\n{total:,} appointments; {len(crowd)} people ({args.users} mentors, {args.leaders} Senior Leadership), "
          f"think time {args.think_ms:.0f} ms (mean); gunicorn {args.workers} sync workers; {args.seconds} s each")
    floor_rps = len(results["logged-in floor"][0]) / results["logged-in floor"][1]
    print(table([summary(label, rows, elapsed, floor_rps) for label, (rows, elapsed) in results.items()],
                ["traffic", "requests", "requests/s", "of logged-in floor", "p50 ms", "p95 ms", "p99 ms", "errors"]))
    mixed_label = f"mix, {args.writes:.0%} wrap-ups submitted"
    mixed, mixed_elapsed = results[mixed_label]
    submitted = sum(label == "wrap-up submitted" for label, *_ in mixed)
    print(f"in the mix with wrap-ups: {submitted} wrap-ups submitted ({submitted / len(mixed):.1%} of the requests, "
          f"{sum(label in ('wizard step', 'wrap-up submitted') for label, *_ in mixed) / len(mixed):.1%} in wizards)")
    print(table([[label, len(times), *(f"{percentile(times, p) * 1000:.0f}" for p in (50, 95, 99))]
                 for label, times in sorted(by_label(mixed).items())],
                ["in the mix with wrap-ups", "requests", "p50 ms", "p95 ms", "p99 ms"]))
    print(table(alone, ["each page alone", "page", "p50 ms", "p95 ms", "errors", "p95 <= 50 ms"]))
    print(table([rush], ["month-end rush: mentors", "seconds", "p50 ms", "p95 ms", "errors", "lost", "duplicated",
                         "wrapped up / with attendance email"]))
    for problem in rush_problems + [p for rows, _ in results.values() for *_, p in rows if p][:10]:
        print("problem:", problem)
    ratio = (len(mixed) / mixed_elapsed) / floor_rps
    print(f"budgets: every page p95 <= 50 ms alone: {'met' if all(r[-1] != 'NOT met' for r in alone) else 'NOT met'}; "
          f"mix with wrap-ups >= 0.5 x the logged-in floor: {ratio:.2f} x, {'met' if ratio >= 0.5 else 'NOT met'}; "
          f"rush with 0 errors, 0 lost, 0 duplicated: "
          f"{'met' if rush[4] == rush[5] == rush[6] == 0 else 'NOT met'}")


if __name__ == "__main__":
    main()

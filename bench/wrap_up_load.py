"""Benchmark 4: 50 mentors wrapping up different sessions at once for 60 s through gunicorn.

Each simulated mentor logs in, then goes through the wizard (open, what happened, funding type, session notes,
submit) for one session after another. Prints wrap-ups and requests per second, p95 latency and errors.

    .venv/bin/python -m bench.wrap_up_load [--mentors 50] [--seconds 60] [--workers 4] [--redis]

With --redis the server runs as production does with Redis (BENCH_REDIS_URL, flushed): sessions in Redis and the
database (`cached_db`), and tasks queued for Celery workers (none run here) instead of run in process.
"""

import argparse
import http.client
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from datetime import timedelta

from bench.common import BENCH_DB, BENCH_REDIS, PROJECT, empty_bench_redis, percentile, production_env, setup_django, table

PORT = 8798
PASSWORD = "bench-password"


class Browser:
    """A tiny HTTP client with cookies: enough to log in and post Django forms."""

    def __init__(self):
        self.conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
        self.cookies = {}

    def request(self, method, path, fields=None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
                   "Referer": f"http://127.0.0.1:{PORT}{path}"}
        body = None
        if fields is not None:
            fields = {"csrfmiddlewaretoken": self.cookies.get("csrftoken", ""), **fields}
            body = urllib.parse.urlencode(fields)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        text = response.read().decode()
        elapsed = time.perf_counter() - started
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return response.status, response.getheader("Location"), text, elapsed


def mentor_loop(email, references, arrangement_ids, deadline, stats, lock):
    browser = Browser()
    browser.request("GET", "/accounts/login/")
    status, location, _, _ = browser.request("POST", "/accounts/login/", {"username": email, "password": PASSWORD})
    if status != 302:
        with lock:
            stats["errors"].append(f"{email}: login {status}")
        return
    for reference, arrangement_id in zip(references, arrangement_ids):
        if time.perf_counter() > deadline:
            return
        url = f"/appointments/{reference}/wrap-up/"
        step = f"wrap_up_{reference}-current_step"
        steps = [
            ("GET", None, 200),
            ("POST", {step: "outcome", "outcome-outcome": "attended"}, 200),
            ("POST", {step: "funding", "funding-funding": str(arrangement_id)}, 200),
            ("POST", {step: "notes", "notes-session_notes": "Covered the plan.", "notes-actual_minutes": "55"}, 200),
            ("POST", {step: "review", "review-admin_details": ""}, 302),
        ]
        for method, fields, expected in steps:
            status, location, text, elapsed = browser.request(method, url, fields)
            with lock:
                stats["latencies"].append(elapsed)
                if status != expected or (expected == 302 and location != f"/appointments/{reference}/"):
                    stats["errors"].append(f"{reference} {method} {fields and list(fields)[0]}: {status}")
        with lock:
            stats["wrap_ups"] += 1


def seed(mentors, per_mentor):
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from bench.common import reset_database
    from invoicing.bulk import insert_rows
    from sessions_app.models import FundingArrangement, Funder, Mentee, Mentor, ServiceAppointment, User
    from sessions_app.services import sequence_allocate

    reset_database()
    group = Group.objects.get(name="Mentor")
    password = make_password(PASSWORD)
    funder = Funder.objects.create(name="Bench Funder")
    plan = []
    now = timezone.now().replace(microsecond=0)
    first = sequence_allocate(name="service_appointment", count=mentors * per_mentor)
    rows = []
    for m in range(mentors):
        user = User.objects.create(email=f"load{m}@bench.example", full_name=f"Load Mentor {m}", password=password)
        user.groups.add(group)
        mentor = Mentor.objects.create(user=user, hourly_pay_rate=30, calendar_token=f"load-{m}")
        mentee = Mentee.objects.create(full_name=f"Load Mentee {m}", email=f"loadmentee{m}@bench.example")
        arrangement = FundingArrangement.objects.create(mentee=mentee, kind="funded", funder=funder, reference=f"PO-{m}",
                                                        hourly_rate=55, valid_from=(now - timedelta(days=400)).date())
        references = []
        for i in range(per_mentor):
            start = now - timedelta(days=per_mentor - i, hours=1)
            reference = f"SA-{first + m * per_mentor + i:06d}"
            references.append(reference)
            rows.append((reference, mentor.pk, mentee.pk, start, start + timedelta(hours=1), "Room 1"))
        plan.append((user.email, references, [arrangement.pk] * per_mentor))
    insert_rows(ServiceAppointment, ["reference", "mentor_id", "mentee_id", "starts_at", "ends_at", "location"], rows)
    return plan


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mentors", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--per-mentor", type=int, default=300)
    parser.add_argument("--redis", action="store_true", help="Redis as in production: sessions (cached_db) and the Celery broker")
    args = parser.parse_args()
    setup_django()
    plan = seed(args.mentors, args.per_mentor)
    env = {**os.environ, "DATABASE_URL": BENCH_DB,
           **production_env(SECURE_SSL_REDIRECT="false", CSRF_TRUSTED_ORIGINS=f"http://127.0.0.1:{PORT}")}
    if args.redis:
        empty_bench_redis()
        env["REDIS_URL"] = BENCH_REDIS
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=PROJECT, env=env, check=True)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "mentoring.wsgi:application", "--workers", str(args.workers),
         "--bind", f"127.0.0.1:{PORT}", "--log-level", "warning", "--timeout", "120"], cwd=PROJECT, env=env)
    time.sleep(5)
    stats = {"latencies": [], "errors": [], "wrap_ups": 0}
    lock = threading.Lock()
    try:
        started = time.perf_counter()
        deadline = started + args.seconds
        threads = [threading.Thread(target=mentor_loop, args=(*entry, deadline, stats, lock)) for entry in plan]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    from sessions_app.models import AppointmentEvent, ServiceAppointment
    recorded = ServiceAppointment.objects.filter(status="completed").count()
    events = AppointmentEvent.objects.filter(kind="wrapped_up").count()
    latencies = stats["latencies"]
    print(table([[args.mentors, args.workers, f"{elapsed:.0f}", stats["wrap_ups"], recorded, events,
                  f"{stats['wrap_ups'] / elapsed:.1f}", f"{len(latencies) / elapsed:.0f}",
                  f"{percentile(latencies, 50) * 1000:.0f}", f"{percentile(latencies, 95) * 1000:.0f}",
                  len(stats["errors"])]],
                ["mentors", "gunicorn workers", "seconds", "wrap-ups", "completed in db", "wrap-up events",
                 "wrap-ups/s", "requests/s", "p50 ms", "p95 ms", "errors"]))
    for error in stats["errors"][:10]:
        print("error:", error)


if __name__ == "__main__":
    main()

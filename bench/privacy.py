"""Benchmark: personal data. One mentee with thousands of sessions (with notes, and a version of each in the audit
trail) among many others': the subject access export (time, size, queries), "Erase this person" (time, queries,
most of it the sweep of every text column for mentions) and the retention job over the same sessions two years on.

    .venv/bin/python -m bench.privacy [--sessions 5000] [--others 50000]

Needs PostgreSQL (BENCH_DATABASE_URL: the database is dropped and made again).
"""

import argparse
import time
from datetime import timedelta

from bench.common import setup_django


def seed(sessions: int, others: int):
    from django.utils import timezone
    from simple_history.utils import bulk_create_with_history

    from sessions_app.models import Mentee, ServiceAppointment
    from tests.factories import MentorFactory

    mentor = MentorFactory(user__full_name="Ann Mentor", user__email="ann@example.com")
    mentee = Mentee.objects.create(full_name="Mo Mentee", email="mo@example.org", phone="07700 900123")
    crowd = Mentee.objects.bulk_create([Mentee(full_name=f"Mentee {n}", email=f"m{n}@example.org") for n in range(200)])
    start = timezone.now() - timedelta(days=3 * 365)

    def session(n, who):
        begins = start + timedelta(minutes=37 * n)
        return ServiceAppointment(
            reference=f"SA-{n + 1:06d}", mentor=mentor, mentee=who, starts_at=begins,
            ends_at=begins + timedelta(hours=1), status="completed", outcome="attended",
            wrapped_up_at=begins + timedelta(hours=2), wrapped_up_by=mentor.user,
            session_notes=f"Session {n}: Mo Mentee worked on the essay plan and reading list.")

    rows = [session(n, mentee) for n in range(sessions)]
    rows += [session(sessions + n, crowd[n % len(crowd)]) for n in range(others)]
    bulk_create_with_history(rows, ServiceAppointment, batch_size=5000)
    return mentee, mentor


def timed(label, function):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        result = function()
        seconds = time.perf_counter() - started
    print(f"{label:45} {seconds:8.2f} s {len(captured):6d} queries")
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=5000)
    parser.add_argument("--others", type=int, default=50000)
    args = parser.parse_args()
    setup_django()
    from bench.common import reset_database

    reset_database()
    from django.utils import timezone

    from privacy.services import person_erase, personal_data_export, retention_apply
    from tests.factories import UserFactory

    mentee, mentor = seed(args.sessions, args.others)
    finance = UserFactory(full_name="Fay Finance", email="fay@example.com")
    print(f"{args.sessions} sessions of one mentee among {args.sessions + args.others}, each with a version")

    def export():
        _, chunks = personal_data_export(kind="mentee", person=mentee, acting_user=finance)
        return sum(len(chunk) for chunk in chunks)

    size = timed("subject access export (ZIP streamed)", export)
    print(f"{'':45} {size / 1e6:8.2f} MB")
    report = timed("retention job (the mentee's notes are 2 years old)", lambda: retention_apply())
    print(f"{'':45} {report}")
    timed("retention job again (nothing to do)", lambda: retention_apply())
    later = timezone.now() + timedelta(days=4 * 365)
    report = timed("retention job four years on (everyone's)", lambda: retention_apply(now=later))
    print(f"{'':45} {report}")
    timed("erase the mentee", lambda: person_erase(kind="mentee", person_id=mentee.pk, acting_user=finance,
                                                   reason="Request DP-1"))


if __name__ == "__main__":
    main()

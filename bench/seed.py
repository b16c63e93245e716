"""Bulk seeding for the benchmarks: people, funding, and Service Appointments by the hundred thousand."""

import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
BATCH = 10_000


def seed_people(*, mentors: int, mentees: int, funders: int, seed: int = 1):
    from django.contrib.auth.hashers import make_password

    from sessions_app.models import Funder, FundingArrangement, Mentee, Mentor, User

    rng = random.Random(seed)
    password = make_password("bench-password")
    users = User.objects.bulk_create(
        [User(email=f"mentor{i}@bench.example", full_name=f"Mentor {i:04d}", password=password) for i in range(mentors)],
        batch_size=BATCH,
    )
    mentor_rows = Mentor.objects.bulk_create(
        [Mentor(user=user, hourly_pay_rate=Decimal(rng.choice(["28.00", "30.00", "32.50"])), calendar_token=f"bench-{user.pk}")
         for user in users], batch_size=BATCH)
    funder_rows = Funder.objects.bulk_create(
        [Funder(name=f"Funder {i:03d}", billing_email=f"ap{i}@funder.example", billing_address="1 Street\nTown",
                single_monthly_invoice=(i % 5 == 0)) for i in range(funders)], batch_size=BATCH)
    mentee_rows = Mentee.objects.bulk_create(
        [Mentee(full_name=f"Mentee {i:05d}", email=f"mentee{i}@bench.example") for i in range(mentees)], batch_size=BATCH)
    arrangements = []
    for i, mentee in enumerate(mentee_rows):
        if i % 10 == 0:
            arrangements.append(FundingArrangement(mentee=mentee, kind="self_funded", hourly_rate=Decimal("40.00"),
                                                   valid_from=date(2015, 1, 1)))
        else:
            arrangements.append(FundingArrangement(
                mentee=mentee, kind="funded", funder=funder_rows[i % len(funder_rows)], reference=f"PO-{i:05d}",
                hourly_rate=Decimal(rng.choice(["52.50", "55.00", "57.75"])), valid_from=date(2015, 1, 1)))
    FundingArrangement.objects.bulk_create(arrangements, batch_size=BATCH)
    return mentor_rows, mentee_rows, arrangements


def seed_appointments(*, count: int, start: datetime, days: int, mentors, arrangements, completed_share: float = 1.0,
                      seed: int = 2, progress=None):
    """`count` sessions spread over `days` days from `start`; `completed_share` of them wrapped up (Attended
    mostly, some Did not attend / Late-notice cancellation / Cancelled), the rest Scheduled."""
    from sessions_app.models import ServiceAppointment
    from sessions_app.services import sequence_allocate


    rng = random.Random(seed)
    start = start.astimezone(ZoneInfo("UTC"))  # real hours: wall-clock arithmetic breaks at the clock change
    first = sequence_allocate(name="service_appointment", count=count)
    outcomes = ["attended"] * 85 + ["did_not_attend"] * 6 + ["late_cancellation"] * 5 + ["cancelled"] * 4
    from invoicing.bulk import insert_rows

    fields = ["reference", "mentor_id", "mentee_id", "starts_at", "ends_at", "mode", "location", "status", "outcome",
              "funding_arrangement_id", "session_notes", "actual_minutes", "admin_details", "wrapped_up_by_id",
              "wrapped_up_at", "cancellation_note"]
    rows = []
    for i in range(count):
        day = start + timedelta(days=rng.randrange(days), hours=rng.randrange(8, 19), minutes=rng.choice((0, 30)))
        mentor = mentors[rng.randrange(len(mentors))]
        arrangement = arrangements[rng.randrange(len(arrangements))]
        booked = rng.choice((45, 60, 60, 90))
        row = [f"SA-{first + i:06d}", mentor.pk, arrangement.mentee_id, day, day + timedelta(minutes=booked),
               "in_person", "Room 1", "scheduled", "", None, "", None, "", None, None, ""]
        if rng.random() < completed_share:
            outcome = rng.choice(outcomes)
            row[7:12] = ["completed", outcome, None if outcome == "cancelled" else arrangement.pk, "Notes",
                         booked - rng.choice((0, 0, 5, 10)) if outcome == "attended" else None]
            row[13:15] = [mentor.user_id, day + timedelta(hours=2)]
        rows.append(tuple(row))
        if len(rows) == BATCH * 5:
            insert_rows(ServiceAppointment, fields, rows)
            rows = []
            if progress:
                progress(i + 1, count)
    insert_rows(ServiceAppointment, fields, rows)

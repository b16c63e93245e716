"""Two people booking the same slot at the same moment, on PostgreSQL: one gets it, the other is told it clashes."""

import threading
from datetime import time, timedelta
from unittest import mock

import pytest
from django.db import connection
from django.utils import timezone

from sessions_app import scheduling
from sessions_app.models import MentorAssignment, ServiceAppointment
from sessions_app.scheduling import SessionClash
from sessions_app.services import session_book
from tests.factories import MenteeFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_bookings_of_the_same_mentors_slot_at_once_one_wins_the_other_hears_of_the_clash(mentor, leader):
    first_mentee, second_mentee = MenteeFactory(full_name="Mo Mentee"), MenteeFactory(full_name="Pat Pupil")
    MentorAssignment.objects.create(mentor=mentor, mentee=first_mentee)
    day = timezone.localdate() + timedelta(days=7)
    # Each booking waits (up to 2 s) for the other after reading the mentor's sessions and before writing its own:
    # without the lock on the mentor both would read "no clash" and both would book.
    barrier = threading.Barrier(2, timeout=2)
    real_clashes_for = scheduling.clashes_for

    def clashes_then_wait(**kwargs):
        found = real_clashes_for(**kwargs)
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass
        return found

    results = {}

    def attempt(user, mentee):
        try:
            results[user.full_name] = session_book(acting_user=user, mentor=mentor, mentee=mentee, day=day,
                                                   start_time=time(16, 0), booked_minutes=60, mode="phone")
        except SessionClash as problem:
            results[user.full_name] = problem
        finally:
            connection.close()

    with mock.patch("sessions_app.services.booking.clashes_for", clashes_then_wait):
        threads = [threading.Thread(target=attempt, args=args)
                   for args in ((mentor.user, first_mentee), (leader, second_mentee))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    booked = [result for result in results.values() if isinstance(result, ServiceAppointment)]
    refused = [result for result in results.values() if isinstance(result, SessionClash)]
    assert len(booked) == 1 and len(refused) == 1, results
    assert str(refused[0]).startswith(f"This clashes with another session: Ann Mentor already has "
                                      f"{booked[0].reference} (")
    assert ServiceAppointment.objects.filter(mentor=mentor).count() == 1
    assert connection.vendor == "postgresql"

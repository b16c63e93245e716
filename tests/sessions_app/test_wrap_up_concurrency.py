import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from sessions_app.exceptions import AppointmentAlreadyWrappedUp
from sessions_app.models import AppointmentEvent, ServiceAppointment
from sessions_app.services import WrapUp, appointment_wrap_up
from tests.factories import AppointmentFactory, FundingArrangementFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_people_submitting_at_once_exactly_one_succeeds(mentor, leader, mentee):
    start = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    funding = FundingArrangementFactory(mentee=mentee)
    outcomes = []
    for _ in range(5):  # several rounds: the race must go the same way every time
        appointment = AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start, ends_at=start + timedelta(hours=1))
        barrier = threading.Barrier(2)
        results = {}

        def submit(user):
            try:
                barrier.wait()
                results[user.full_name] = appointment_wrap_up(
                    appointment_id=appointment.pk, acting_user=user,
                    answers=WrapUp(outcome="attended", funding_arrangement=funding, session_notes="n", actual_minutes=60),
                )
            except AppointmentAlreadyWrappedUp as problem:
                results[user.full_name] = problem
            finally:
                connection.close()

        threads = [threading.Thread(target=submit, args=(user,)) for user in (mentor.user, leader)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        winners = [name for name, result in results.items() if isinstance(result, ServiceAppointment)]
        losers = [result for result in results.values() if isinstance(result, AppointmentAlreadyWrappedUp)]
        assert len(winners) == 1 and len(losers) == 1
        assert str(losers[0]).startswith(f"{appointment.reference} was already wrapped up by {winners[0]} on ")
        assert AppointmentEvent.objects.filter(appointment=appointment, kind="wrapped_up").count() == 1
        outcomes.append(winners[0])
    assert connection.vendor == "postgresql"

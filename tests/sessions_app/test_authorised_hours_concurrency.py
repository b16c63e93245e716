"""Two wrap-ups at once on an arrangement's last authorised hour: the arrangement's row is locked by each in turn,
so the second counts the first's hour and goes to Finance. On PostgreSQL, with two threads and two connections.

To make the race happen every time, each wrap-up waits (up to two seconds) after counting the hours used, for the
other to have counted too: unserialised, both would count one hour used and both be completed. (Today the
appointment's own `SELECT ... FOR UPDATE` joins the mentee, whose row PostgreSQL then locks too, which already
serialises two wrap-ups of one mentee; the arrangement's lock is what the count relies on, whatever that join
becomes.)"""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from invoicing.models import FinanceTicket
from sessions_app.allowance import hours_left
from sessions_app.models import ServiceAppointment
from sessions_app.services import WrapUp, appointment_wrap_up
from tests.factories import AppointmentFactory, FundingArrangementFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
Status = ServiceAppointment.Status


def test_two_wrap_ups_at_once_on_the_last_authorised_hour_one_goes_to_finance(mentor, leader, mentee, monkeypatch):
    from sessions_app.services import wrap_up

    counting = wrap_up.used_hours
    start = timezone.now().replace(microsecond=0) - timedelta(days=1)
    for round_number in range(3):  # several rounds: the race must go the same way every time
        arrangement = FundingArrangementFactory(mentee=mentee, hours_allowance=Decimal("2"))
        done = AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start - timedelta(days=1),
                                  ends_at=start - timedelta(days=1) + timedelta(hours=1))
        appointment_wrap_up(appointment_id=done.pk, acting_user=mentor.user,
                            answers=WrapUp(outcome="attended", funding_arrangement=arrangement, session_notes="n"))
        assert hours_left(arrangement) == Decimal("1.00")  # one hour left
        sessions = [AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start + timedelta(hours=2 * n),
                                       ends_at=start + timedelta(hours=2 * n + 1)) for n in range(2)]
        barrier, both_counted = threading.Barrier(2), threading.Barrier(2)
        results, errors = {}, []

        def count_then_wait(*args, **kwargs):
            used = counting(*args, **kwargs)
            try:
                both_counted.wait(timeout=2)
            except threading.BrokenBarrierError:
                pass  # the other is waiting for the lock this one holds
            return used

        monkeypatch.setattr(wrap_up, "used_hours", count_then_wait)

        def submit(user, appointment):
            try:
                barrier.wait()
                results[appointment.pk] = appointment_wrap_up(
                    appointment_id=appointment.pk, acting_user=user,
                    answers=WrapUp(outcome="attended", funding_arrangement=arrangement, session_notes="n"),
                ).status
            except Exception as problem:  # noqa: BLE001 (reported below)
                errors.append(problem)
            finally:
                connection.close()

        threads = [threading.Thread(target=submit, args=(user, appointment))
                   for user, appointment in zip((mentor.user, leader), sessions)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        monkeypatch.setattr(wrap_up, "used_hours", counting)
        assert errors == []
        assert sorted(results.values()) == [Status.AWAITING_FINANCE, Status.COMPLETED], round_number
        assert hours_left(arrangement) == Decimal("0.00")
        with_finance = next(pk for pk, status in results.items() if status == Status.AWAITING_FINANCE)
        assert FinanceTicket.objects.get(appointment_id=with_finance).kind == "over_authorised_hours"
    assert connection.vendor == "postgresql"

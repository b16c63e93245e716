"""The outbox with the real parts: a Redis server and a Celery worker started by the test, on PostgreSQL."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import OutboxEmail
from notifications.tasks import send_outbox_email, sweep_outbox
from sessions_app.services import WrapUp, appointment_wrap_up
from tests.factories import AppointmentFactory, FundingArrangementFactory
from tests.services import broker, redis_server, sent_messages, wait_for, worker  # noqa: F401 (re-exported)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.celery_worker,
              pytest.mark.django_db(transaction=True)]


@pytest.fixture
def started(mentor, mentee):
    start = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    return AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start, ends_at=start + timedelta(hours=1))


def wrap_up(appointment, user, mentee):
    return appointment_wrap_up(
        appointment_id=appointment.pk, acting_user=user,
        answers=WrapUp(outcome="attended", funding_arrangement=FundingArrangementFactory(mentee=mentee),
                       session_notes="Notes", actual_minutes=60),
    )


def test_a_wrap_up_sends_its_attendance_email_through_redis_and_a_worker(worker, mentor, mentee, started):
    wrap_up(started, mentor.user, mentee)
    wait_for(lambda: sent_messages(worker), what="the attendance email")
    (message,) = sent_messages(worker)
    assert f"Subject: {started.reference}: your session on" in message and f"To: {mentee.email}" in message
    assert OutboxEmail.objects.get(appointment=started).status == OutboxEmail.Status.SENT


def test_the_send_task_queued_twice_sends_once(worker, mentor, mentee, started):
    wrap_up(started, mentor.user, mentee)
    wait_for(lambda: sent_messages(worker), what="the attendance email")
    email = OutboxEmail.objects.get(appointment=started)
    send_outbox_email.delay(email.pk)
    send_outbox_email.delay(email.pk)
    sweep_outbox.delay()
    time.sleep(3)
    assert len(sent_messages(worker)) == 1


def test_broker_down_during_a_wrap_up_the_sweeper_delivers_once_it_is_back(
        worker, redis_server, mentor, mentee, started):
    redis_server.stop()
    began = time.monotonic()
    appointment = wrap_up(started, mentor.user, mentee)
    assert time.monotonic() - began < 10  # the mentor is not kept waiting on a dead broker
    assert appointment.status == "completed"
    email = OutboxEmail.objects.get(appointment=started)
    assert email.status == OutboxEmail.Status.PENDING
    time.sleep(2)
    assert sent_messages(worker) == []

    redis_server.start()
    sweep_outbox.delay()  # what beat does every minute
    wait_for(lambda: sent_messages(worker), timeout=60, what="the swept email")
    assert len(sent_messages(worker)) == 1
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.SENT

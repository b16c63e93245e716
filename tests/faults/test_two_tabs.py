"""The same wrap-up submitted twice by the same mentor: from two tabs of one browser (one log-in session) and from two
browsers (two log-ins), at the same moment and one after the other. One wraps it up; the other is told it already
was; one event, one outbox row, one email.

Two month-end runs at once, and two different people submitting at once, are tests/invoicing/
test_month_end_concurrency.py and tests/sessions_app/test_wrap_up_concurrency.py."""

import threading
import time
from datetime import timedelta
from http.cookies import SimpleCookie

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone

from notifications.models import OutboxEmail
from sessions_app.models import AppointmentEvent
from tests.factories import AppointmentFactory, FundingArrangementFactory
from tests.faults.support import figures
from tests.sessions_app.wizard import WrapUpDriver
from tests.services import sent_emails, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.celery_worker,
              pytest.mark.django_db(transaction=True)]

LOCKING_THE_APPOINTMENT = ('FROM "sessions_app_serviceappointment"', "FOR UPDATE")


def browsers(mentor, mode: str) -> tuple[Client, Client]:
    first = Client()
    first.force_login(mentor.user)
    second = Client()
    if mode == "two tabs":  # one browser: both tabs send the same session cookie
        second.cookies = SimpleCookie({settings.SESSION_COOKIE_NAME: first.cookies[settings.SESSION_COOKIE_NAME].value})
    else:  # two browsers, each logged in
        second.force_login(mentor.user)
    return first, second


def at_review(client, appointment, funding) -> WrapUpDriver:
    wizard = WrapUpDriver(client, appointment)
    wizard.start()
    wizard.post("outcome", outcome="attended")
    wizard.post("funding", funding=str(funding.pk))
    response = wizard.post("notes", session_notes="Worked on essay planning.", actual_minutes=60)
    assert wizard.current_step(response) == "review"
    return wizard


def submit_together(wizards) -> list:
    """Both submits get past every check and reach the service's lock on the appointment before either goes on."""
    barrier = threading.Barrier(len(wizards), timeout=20)
    responses = [None] * len(wizards)

    def submit(index, wizard):
        waited = []

        def wait_at_the_lock(execute, sql, params, many, context):
            # Only at the service's first lock: the one that wins goes on to lock the row again (the funder's emails).
            if not waited and all(fragment in sql for fragment in LOCKING_THE_APPOINTMENT):
                waited.append(True)
                barrier.wait()
            return execute(sql, params, many, context)

        try:
            with connection.execute_wrapper(wait_at_the_lock):
                responses[index] = wizard.post("review", admin_details="")
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(i, w)) for i, w in enumerate(wizards)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses


def messages_seen(client, response) -> str:
    assert response.status_code == 302, response
    return client.get(response.url).content.decode()


@pytest.mark.parametrize("mode", ["two tabs", "two browsers"])
def test_the_same_wrap_up_submitted_twice_by_the_same_mentor_records_it_once(worker, mentor, mentee, mode):
    start = timezone.now().replace(microsecond=0) - timedelta(hours=3)
    funding = FundingArrangementFactory(mentee=mentee)
    tried = wrapped = told = 0
    for timing in ("at the same moment", "one after the other"):
        appointment = AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start,
                                         ends_at=start + timedelta(hours=1))
        first, second = browsers(mentor, mode)
        wizards = [at_review(first, appointment, funding), at_review(second, appointment, funding)]
        if timing == "at the same moment":
            responses = submit_together(wizards)
        else:
            responses = [wizard.post("review", admin_details="") for wizard in wizards]
        tried += 2
        pages = [messages_seen(client, response) for client, response in zip((first, second), responses)]
        success = f"{appointment.reference} is wrapped up. The session record is complete."
        already = f"{appointment.reference} was already wrapped up by Ann Mentor on "
        wrapped += sum(success in page for page in pages)
        told += sum(already in page for page in pages)
        assert sorted(success in page for page in pages) == [False, True], timing
        assert sorted(already in page for page in pages) == [False, True], timing
        assert appointment.events.filter(kind=AppointmentEvent.Kind.WRAPPED_UP).count() == 1, timing
        assert OutboxEmail.objects.filter(appointment=appointment).count() == 1, timing

    wait_for(lambda: len(sent_emails(worker)) >= 2, what="the attendance emails")
    time.sleep(1)
    sent = sent_emails(worker)
    figures(f"one wrap-up submitted twice, {mode}", submits_tried=tried, wrapped_up=wrapped,
            told_already_wrapped_up=told, failed=tried - wrapped - told,
            events=AppointmentEvent.objects.filter(kind=AppointmentEvent.Kind.WRAPPED_UP).count(),
            outbox_rows=OutboxEmail.objects.count(), emails_sent=len(sent), sent_twice=len(sent) - len(set(sent)))
    assert (wrapped, told) == (2, 2)
    assert len(sent) == 2 and len(set(sent)) == 2

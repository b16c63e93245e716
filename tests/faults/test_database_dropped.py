"""The database connection dropped in the middle of a request that writes: the wrap-up wizard's final submit and the
cancel confirmation. The user gets the project's error page, nothing is half-written, and submitting again works."""

import time
from contextlib import contextmanager
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from invoicing.models import FinanceTicket
from notifications.models import OutboxEmail
from sessions_app.models import AppointmentEvent, CancellationReason, ServiceAppointment
from tests.factories import AppointmentFactory, FundingArrangementFactory
from tests.faults.support import dsn, figures
from tests.sessions_app.test_cancel import CancelDriver
from tests.sessions_app.wizard import WrapUpDriver
from tests.services import sent_emails, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.celery_worker,
              pytest.mark.django_db(transaction=True)]

APPOINTMENT_UPDATE = 'UPDATE "sessions_app_serviceappointment"'


@contextmanager
def connection_dropped_after(statement: str):
    """PostgreSQL ends this process's connection (pg_terminate_backend, from another session) right after the first
    statement starting with `statement` has run: the rest of that transaction never reaches the database."""
    dropped = []

    def drop_after(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not dropped and sql.startswith(statement):
            pid = context["connection"].connection.info.backend_pid
            with psycopg.connect(**dsn(), autocommit=True) as other:
                assert other.execute("SELECT pg_terminate_backend(%s, 10000)", [pid]).fetchone()[0]
            dropped.append(sql.split(" SET ")[0])
        return result

    with connection.execute_wrapper(drop_after):
        yield dropped


@pytest.fixture
def browser(mentor):
    """The mentor's browser: a server error is a response (as a browser sees it), not an exception in the test."""
    client = Client(raise_request_exception=False)
    client.force_login(mentor.user)
    return client


def written_for(appointment) -> dict:
    appointment.refresh_from_db()
    return {
        "status": appointment.status,
        "events": list(appointment.events.values_list("kind", flat=True)),
        "outbox rows": OutboxEmail.objects.filter(appointment=appointment).count(),
        "tickets": FinanceTicket.objects.filter(appointment=appointment).count(),
        "audit trail rows": appointment.history.count(),
    }


def assert_clean_error_page(response):
    assert response.status_code == 500
    assert "500.html" in [template.name for template in response.templates], (
        "no jinja2/500.html: Django's bare 'Server Error (500)' page is shown")
    page = response.content.decode()
    assert "Something went wrong" in page and "Mentoring" in page


def test_connection_dropped_during_the_wrap_up_submit(worker, browser, mentor, mentee):
    start = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    appointment = AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start, ends_at=start + timedelta(hours=1))
    funding = FundingArrangementFactory(mentee=mentee)
    wizard = WrapUpDriver(browser, appointment)
    wizard.start()
    wizard.post("outcome", outcome="attended")
    wizard.post("funding", funding=str(funding.pk))
    wizard.post("notes", session_notes="Worked on essay planning.", actual_minutes=60)
    before = written_for(appointment)

    with connection_dropped_after(APPOINTMENT_UPDATE) as dropped:
        response = wizard.post("review", admin_details="Please check the rate with the funder.")
    assert dropped == [APPOINTMENT_UPDATE]
    after = written_for(appointment)  # Django connects again
    time.sleep(2)
    emails_after_drop = len(sent_emails(worker))

    again = wizard.post("review", admin_details="Please check the rate with the funder.")  # the user submits again
    wait_for(lambda: sent_emails(worker), what="the attendance email")
    time.sleep(1)
    done = written_for(appointment)
    figures("database connection dropped during the wrap-up submit", requests_tried=2, failed_with_error_page=1,
            status_after_drop=after["status"], half_written=sum(after[k] != before[k] for k in before),
            emails_after_drop=emails_after_drop, resubmitted=again.status_code, emails_sent=len(sent_emails(worker)),
            lost=int(done["status"] != "completed"))
    assert_clean_error_page(response)
    assert after == before and after["status"] == ServiceAppointment.Status.SCHEDULED
    assert emails_after_drop == 0
    assert again.status_code == 302 and again.url == appointment.get_absolute_url()
    assert done["status"] == "completed" and done["events"].count(AppointmentEvent.Kind.WRAPPED_UP) == 1
    assert (done["outbox rows"], done["tickets"], len(sent_emails(worker))) == (1, 1, 1)


def test_connection_dropped_during_the_cancel_confirmation(worker, browser, mentor, mentee):
    start = timezone.now().replace(microsecond=0) + timedelta(days=3)
    appointment = AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start, ends_at=start + timedelta(hours=1))
    reason = CancellationReason.objects.get(label="Mentee unwell")
    wizard = CancelDriver(browser, appointment)
    browser.get(wizard.url)
    wizard.post("reason", reason=str(reason.pk), internal_note="Family matter.")
    before = written_for(appointment)

    with connection_dropped_after(APPOINTMENT_UPDATE) as dropped:
        response = wizard.post("confirm")
    assert dropped == [APPOINTMENT_UPDATE]
    after = written_for(appointment)
    time.sleep(2)
    emails_after_drop = len(sent_emails(worker))

    again = wizard.post("confirm")
    wait_for(lambda: sent_emails(worker), what="the attendance email")
    time.sleep(1)
    done = written_for(appointment)
    figures("database connection dropped during the cancel confirmation", requests_tried=2, failed_with_error_page=1,
            status_after_drop=after["status"], half_written=sum(after[k] != before[k] for k in before),
            emails_after_drop=emails_after_drop, resubmitted=again.status_code, emails_sent=len(sent_emails(worker)),
            lost=int(done["status"] != "cancelled"))
    assert_clean_error_page(response)
    assert after == before and after["status"] == ServiceAppointment.Status.SCHEDULED
    assert emails_after_drop == 0
    assert again.status_code == 302 and again.url == appointment.get_absolute_url()
    assert done["status"] == "cancelled" and done["events"].count(AppointmentEvent.Kind.CANCELLED) == 1
    assert (done["outbox rows"], len(sent_emails(worker))) == (1, 1)

from datetime import timedelta
from unittest import mock

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from notifications.models import OutboxEmail
from notifications.services import outbox_deliver, outbox_enqueue, outbox_resend, outbox_sweep
from notifications.services.outbox import MAX_ATTEMPTS
from notifications.tasks import send_outbox_email
from tests.factories import AppointmentFactory


def enqueue(key="test:1", **extra):
    return outbox_enqueue(key=key, kind=OutboxEmail.Kind.FINANCE_ALERT, to=["fin@example.com"], subject="Hello",
                          text_body="Body", html_body="<p>Body</p>", **extra)


def test_an_email_is_sent_after_commit_with_text_and_html(db, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        email = enqueue()
        assert mailoutbox == []  # nothing leaves before the transaction commits
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert (message.subject, message.to, message.body) == ("Hello", ["fin@example.com"], "Body")
    assert message.alternatives[0][0] == "<p>Body</p>"
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.SENT and email.attempts == 1 and email.sent_at


def test_the_same_key_is_queued_once(db):
    assert enqueue() is not None
    assert enqueue() is None
    assert OutboxEmail.objects.count() == 1


def test_the_database_refuses_two_emails_of_one_kind_for_one_appointment(db):
    appointment = AppointmentFactory()
    enqueue(key="a", appointment=appointment)
    with pytest.raises(IntegrityError), transaction.atomic():
        OutboxEmail.objects.create(key="b", kind=OutboxEmail.Kind.FINANCE_ALERT, appointment=appointment, to=["x@y.z"],
                                   subject="s", text_body="t")


def test_nobody_to_send_to_queues_nothing(db):
    assert outbox_enqueue(key="k", kind=OutboxEmail.Kind.FINANCE_ALERT, to=["", "  "], subject="s", text_body="t") is None
    assert not OutboxEmail.objects.exists()


def test_sending_task_run_twice_sends_once(db, mailoutbox):
    email = enqueue()
    send_outbox_email.delay(email.pk)
    send_outbox_email.delay(email.pk)
    assert len(mailoutbox) == 1


def test_a_failed_send_is_retried_with_back_off_by_the_sweeper(db, mailoutbox):
    email = enqueue()
    now = timezone.now()
    with mock.patch("django.core.mail.EmailMultiAlternatives.send", side_effect=ConnectionRefusedError("SMTP down")):
        assert outbox_deliver(email_id=email.pk, now=now) is False
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.PENDING and email.attempts == 1
    assert email.last_error == "ConnectionRefusedError: SMTP down"
    assert email.next_attempt_at == now + timedelta(minutes=1)

    assert outbox_sweep(now=now + timedelta(seconds=30)) == 0  # not due yet
    assert outbox_sweep(now=now + timedelta(minutes=1)) == 1
    assert len(mailoutbox) == 1
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.SENT and email.attempts == 2 and email.last_error == ""


def test_back_off_grows_and_gives_up_after_the_last_attempt(db):
    email = enqueue()
    now = timezone.now()
    waits = []
    with mock.patch("django.core.mail.EmailMultiAlternatives.send", side_effect=OSError("down")):
        for _ in range(MAX_ATTEMPTS):
            outbox_deliver(email_id=email.pk, now=now)
            email.refresh_from_db()
            waits.append(email.next_attempt_at - now)
    assert waits[:3] == [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15)]
    assert waits == sorted(waits)
    assert email.status == OutboxEmail.Status.FAILED and email.attempts == MAX_ATTEMPTS


def test_sweeper_leaves_a_fresh_email_to_its_worker(db, mailoutbox, settings):
    settings.OUTBOX_SWEEP_GRACE_SECONDS = 120
    enqueue()
    assert outbox_sweep() == 0
    assert outbox_sweep(now=timezone.now() + timedelta(minutes=3)) == 1
    assert outbox_sweep(now=timezone.now() + timedelta(minutes=3)) == 0
    assert len(mailoutbox) == 1


def test_resend_sends_again(db, mailoutbox, django_capture_on_commit_callbacks):
    email = enqueue()
    outbox_deliver(email_id=email.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_resend(email_ids=[email.pk]) == 1
    assert len(mailoutbox) == 2


def test_broker_down_the_change_stands_and_the_sweeper_sends_later(
        db, mailoutbox, settings, django_capture_on_commit_callbacks):
    settings.OUTBOX_SWEEP_GRACE_SECONDS = 0
    from tests.notifications.test_celery_worker import broker

    with broker("redis://127.0.0.1:1/0"):  # nothing listens there
        with django_capture_on_commit_callbacks(execute=True):
            email = enqueue()
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.PENDING and mailoutbox == []
    assert outbox_sweep() == 1
    assert len(mailoutbox) == 1


def test_finance_sees_the_outbox_and_can_resend(finance_client, mailoutbox, django_capture_on_commit_callbacks):
    email = enqueue()
    OutboxEmail.objects.filter(pk=email.pk).update(status="failed", attempts=8, last_error="SMTPServerDisconnected")
    page = finance_client.get("/admin/notifications/outboxemail/").content.decode()
    assert "Failed (gave up)" in page and "SMTPServerDisconnected" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = finance_client.post("/admin/notifications/outboxemail/",
                                       {"action": "resend", "_selected_action": [email.pk]}, follow=True)
    assert "1 email queued to send." in response.content.decode()
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.SENT


# ---- Headers: where replies go, and a Message-ID of the site's domain ----

def sent_headers(mailoutbox):
    (message,) = mailoutbox
    return message.message()


def test_replies_go_to_the_organisations_accounts_email(db, mailoutbox, settings, django_capture_on_commit_callbacks):
    from invoicing.models import OrganisationDetails

    settings.REPLY_TO_EMAIL = "office@mentoring.example"
    OrganisationDetails.objects.update_or_create(pk=1, defaults={"email": "accounts@mentoring.example"})
    with django_capture_on_commit_callbacks(execute=True):
        enqueue()
    headers = sent_headers(mailoutbox)
    assert headers["Reply-To"] == "accounts@mentoring.example"
    assert headers["From"] == "Mentoring <no-reply@mentoring.example>"


def test_without_an_accounts_email_replies_go_to_the_reply_to_setting(db, mailoutbox, settings,
                                                                      django_capture_on_commit_callbacks):
    settings.REPLY_TO_EMAIL = "office@mentoring.example"
    with django_capture_on_commit_callbacks(execute=True):
        enqueue()
    assert sent_headers(mailoutbox)["Reply-To"] == "office@mentoring.example"


def test_with_no_reply_address_anywhere_no_reply_to_header(db, mailoutbox, settings, django_capture_on_commit_callbacks):
    settings.REPLY_TO_EMAIL = ""
    with django_capture_on_commit_callbacks(execute=True):
        enqueue()
    assert sent_headers(mailoutbox)["Reply-To"] is None


def test_the_message_id_names_the_sites_domain_not_the_machine(db, mailoutbox, settings,
                                                               django_capture_on_commit_callbacks):
    settings.EMAIL_DOMAIN = "mentoring.example.org"
    with django_capture_on_commit_callbacks(execute=True):
        enqueue()
    message_id = sent_headers(mailoutbox)["Message-ID"]
    assert message_id.startswith("<") and message_id.endswith("@mentoring.example.org>")


def test_a_row_with_a_line_break_in_its_subject_is_sent_on_one_line_not_stuck(db, mailoutbox,
                                                                              django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        email = outbox_enqueue(key="k", kind=OutboxEmail.Kind.FINANCE_ALERT, to=["fin@example.com"],
                               subject="Finance ticket: Which\r\nfunding\napplies?", text_body="Body")
    email.refresh_from_db()
    assert (email.status, email.last_error) == (OutboxEmail.Status.SENT, "")
    (message,) = mailoutbox
    assert message.message()["Subject"] == "Finance ticket: Which funding applies?"

"""The audit trail: every change to Service Appointments, funding arrangements, invoices, payment statements and
credit notes leaves a historical row saying who made it, when, and (against the version before) what changed,
whether it came from the site, a service run by a task, the month-end job or Finance's own edits in the admin.
Finance reads it on each record's History page in the admin, and cannot revert anything from there."""

import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.utils.formats import localize
from django.urls import reverse
from django.utils import timezone

from invoicing.models import CreditNote, Invoice, PaymentStatement
from invoicing.services import invoice_credit, invoices_issue, month_end_generate, statements_issue
from sessions_app.models import CancellationReason, ServiceAppointment
from sessions_app.services import WrapUp, appointment_cancel, appointment_wrap_up
from tests.factories import AppointmentFactory, FundingArrangementFactory
from tests.invoicing.helpers import act_and_confirm

Status, Outcome = ServiceAppointment.Status, ServiceAppointment.Outcome


class Clock:
    """The moments around an action, to check the history row says when it happened."""

    def __enter__(self):
        self.before = timezone.now()
        return self

    def __exit__(self, *exc):
        self.after = timezone.now()

    def saw(self, moment) -> bool:
        return self.before <= moment <= self.after


def latest_change(obj):
    """The newest historical row of `obj`, and what it changed against the one before: {field: (old, new)}."""
    record = obj.history.latest()
    previous = record.prev_record
    assert previous is not None, "the change should have a version before it to compare with"
    return record, {change.field: (change.old, change.new) for change in record.diff_against(previous).changes}


def history_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_history", args=[obj.pk])


def version_url(obj, record) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_simple_history", args=[obj.pk, record.pk])


def act(client, model_name: str, action: str, objects):
    return act_and_confirm(client, reverse(f"admin:invoicing_{model_name}_changelist"), action,
                           [obj.pk for obj in objects])


@pytest.fixture
def no_pdfs():
    with mock.patch("invoicing.services.documents._after_issue"):
        yield


@pytest.fixture
def arrangement(mentee):
    return FundingArrangementFactory(mentee=mentee, funder__name="Student Finance England", reference="SFE-42",
                                     hourly_rate=Decimal("55.00"))


@pytest.fixture
def october(db, mentor, mentee, arrangement, no_pdfs):
    """A session of Ann Mentor's in October 2026, wrapped up, and the month-end job's draft invoice and statement."""
    start = timezone.make_aware(datetime.combine(date(2026, 10, 5), time(10)))
    appointment = AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start, ends_at=start + timedelta(hours=1))
    appointment_wrap_up(appointment_id=appointment.pk, acting_user=mentor.user,
                        answers=WrapUp(outcome=Outcome.ATTENDED, funding_arrangement=arrangement, session_notes="Ok"))
    month_end_generate(year=2026, month=10)
    return Invoice.objects.get(), PaymentStatement.objects.get()


# --------------------------------------------------------------------------- Service Appointments


def test_booking_starts_the_history_of_a_session(finance_user, mentor, mentee):
    from sessions_app.services import appointment_book

    start = timezone.now().replace(microsecond=0) + timedelta(days=2)
    appointment = appointment_book(mentor=mentor, mentee=mentee, starts_at=start, ends_at=start + timedelta(hours=1),
                                   acting_user=finance_user)
    (record,) = appointment.history.all()
    assert (record.history_type, record.history_user, record.reference) == ("+", finance_user, appointment.reference)


def test_a_wrap_up_records_who_wrapped_up_when_and_what_it_changed(leader, mentor, past_appointment, arrangement):
    with Clock() as clock:
        appointment_wrap_up(
            appointment_id=past_appointment.pk, acting_user=leader,
            answers=WrapUp(outcome=Outcome.ATTENDED, funding_arrangement=arrangement, session_notes="Good session.",
                           actual_minutes=50),
        )
    past_appointment.refresh_from_db()
    record, changes = latest_change(past_appointment)
    assert record.history_type == "~" and record.history_user == leader
    assert clock.saw(record.history_date)
    assert changes == {
        "status": (Status.SCHEDULED, Status.COMPLETED),
        "outcome": ("", Outcome.ATTENDED),
        "funding_arrangement": (None, arrangement.pk),
        "session_notes": ("", "Good session."),
        "actual_minutes": (None, 50),
        "wrapped_up_by": (None, leader.pk),
        "wrapped_up_at": (None, past_appointment.wrapped_up_at),
    }


def test_a_cancellation_records_who_cancelled_when_and_what_it_changed(mentor, future_appointment):
    reason = CancellationReason.objects.get(label="Mentee unwell")
    with Clock() as clock:
        appointment_cancel(appointment_id=future_appointment.pk, acting_user=mentor.user, reason=reason,
                           internal_note="Phoned in sick.")
    future_appointment.refresh_from_db()
    record, changes = latest_change(future_appointment)
    assert record.history_user == mentor.user and clock.saw(record.history_date)
    assert changes == {
        "status": (Status.SCHEDULED, Status.CANCELLED),
        "cancellation_reason": (None, reason.pk),
        "cancellation_note": ("", "Phoned in sick."),
        "cancelled_by": (None, mentor.user.pk),
        "cancelled_at": (None, future_appointment.cancelled_at),
        "notice_hours": (None, future_appointment.notice_hours),
    }


def test_finance_moving_a_session_in_the_admin_is_recorded_as_finance(finance_client, finance_user,
                                                                      future_appointment):
    start = timezone.localtime(future_appointment.starts_at) + timedelta(hours=2)
    end = start + timedelta(minutes=90)
    with Clock() as clock:
        response = finance_client.post(
            reverse("admin:sessions_app_serviceappointment_change", args=[future_appointment.pk]),
            {"starts_at_0": f"{start:%Y-%m-%d}", "starts_at_1": f"{start:%H:%M:%S}",
             "ends_at_0": f"{end:%Y-%m-%d}", "ends_at_1": f"{end:%H:%M:%S}",
             "mode": "online", "location": "https://meet.example.org/ann",
             "events-TOTAL_FORMS": "0", "events-INITIAL_FORMS": "0", "_save": "Save"},
        )
    assert response.status_code == 302
    record, changes = latest_change(future_appointment)
    assert record.history_user == finance_user and clock.saw(record.history_date)
    assert changes == {
        "starts_at": (future_appointment.starts_at, start),
        "ends_at": (future_appointment.ends_at, end),
        "mode": ("in_person", "online"),
        "location": ("Room 2, The Library", "https://meet.example.org/ann"),
    }


# --------------------------------------------------------------------------- funding arrangements


def test_finance_changing_funding_on_the_mentee_page_is_recorded_as_finance(finance_client, finance_user, mentee,
                                                                             arrangement):
    data = {
        "full_name": mentee.full_name, "email": mentee.email, "phone": "", "address": "",
        "funding_arrangements-TOTAL_FORMS": "1", "funding_arrangements-INITIAL_FORMS": "1",
        "funding_arrangements-MIN_NUM_FORMS": "0", "funding_arrangements-MAX_NUM_FORMS": "1000",
        "funding_arrangements-0-id": arrangement.pk, "funding_arrangements-0-mentee": mentee.pk,
        "funding_arrangements-0-kind": "funded", "funding_arrangements-0-funder": arrangement.funder_id,
        "funding_arrangements-0-reference": "SFE-43", "funding_arrangements-0-hourly_rate": "57.50",
        "funding_arrangements-0-hours_allowance": "20", "funding_arrangements-0-valid_from": "2020-01-01",
        "funding_arrangements-0-valid_until": "", "_save": "Save",
    }
    with Clock() as clock:
        response = finance_client.post(reverse("admin:sessions_app_mentee_change", args=[mentee.pk]), data)
    assert response.status_code == 302
    record, changes = latest_change(arrangement)
    assert record.history_type == "~" and record.history_user == finance_user and clock.saw(record.history_date)
    assert changes == {
        "reference": ("SFE-42", "SFE-43"),
        "hourly_rate": (Decimal("55.00"), Decimal("57.50")),
        "hours_allowance": (None, Decimal("20")),
    }


# --------------------------------------------------------------------------- invoices, statements, credit notes


def test_the_month_end_job_records_the_drafts_it_creates_and_extends(mentor, mentee, arrangement, october):
    invoice, statement = october
    for document in (invoice, statement):
        (created,) = document.history.all()
        assert (created.history_type, created.history_user, created.history_change_reason) == ("+", None,
                                                                                               "Month-end job")
        assert created.total == document.total and created.status == "draft"

    start = timezone.make_aware(datetime.combine(date(2026, 10, 20), time(10)))
    late = AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start, ends_at=start + timedelta(hours=1))
    appointment_wrap_up(appointment_id=late.pk, acting_user=mentor.user,
                        answers=WrapUp(outcome=Outcome.ATTENDED, funding_arrangement=arrangement))
    month_end_generate(year=2026, month=10)
    invoice.refresh_from_db()
    record, changes = latest_change(invoice)
    assert (record.history_type, record.history_user, record.history_change_reason) == ("~", None, "Month-end job")
    assert changes == {"net": (Decimal("55.00"), Decimal("110.00")), "vat": (Decimal("11.00"), Decimal("22.00")),
                       "total": (Decimal("66.00"), Decimal("132.00"))}

    statement.refresh_from_db()
    record, changes = latest_change(statement)
    assert (record.history_type, record.history_change_reason) == ("~", "Month-end job")
    assert changes == {"total": (statement.total / 2, statement.total)}

    month_end_generate(year=2026, month=10)  # nothing new: nothing recorded
    assert invoice.history.count() == 2 and statement.history.count() == 2


def test_issuing_and_marking_paid_in_the_admin_are_recorded_as_finance(finance_client, finance_user, october):
    invoice, _ = october
    with Clock() as issuing:
        act(finance_client, "invoice", "issue_selected", [invoice])
    invoice.refresh_from_db()
    record, changes = latest_change(invoice)
    assert (record.history_user, record.history_change_reason) == (finance_user, "Issued")
    assert issuing.saw(record.history_date)
    assert changes == {
        "number": (None, invoice.number),
        "status": ("draft", "issued"),
        "issue_date": (None, invoice.issue_date),
        "due_date": (None, invoice.due_date),
        "issued_at": (None, invoice.issued_at),
        "issued_by": (None, finance_user.pk),
        "kind": ("", "vat"),
        "tax_point_rule": ("", "continuous"),
    }

    with Clock() as paying:
        act(finance_client, "invoice", "mark_paid", [invoice])
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    record, changes = latest_change(invoice)
    assert (record.history_user, record.history_change_reason) == (finance_user, "Marked paid")
    assert paying.saw(record.history_date)
    assert changes == {"status": ("issued", "paid"), "paid_at": (None, invoice.paid_at)}


def test_marking_paid_only_what_is_issued_records_nothing_for_the_rest(finance_user, october):
    from invoicing.services import invoice_mark_paid

    invoice, _ = october
    assert invoice_mark_paid(invoice_ids=[invoice.pk], acting_user=finance_user) == 0  # still a draft
    assert invoice.history.count() == 1


def test_approving_a_statement_in_the_admin_is_recorded_as_finance(finance_client, finance_user, october):
    _, statement = october
    statements_issue(statement_ids=[statement.pk], acting_user=finance_user)
    with Clock() as clock:
        act(finance_client, "paymentstatement", "approve", [statement])
    statement.refresh_from_db()
    assert statement.status == "approved"
    record, changes = latest_change(statement)
    assert (record.history_user, record.history_change_reason) == (finance_user, "Approved for payment")
    assert clock.saw(record.history_date)
    assert changes == {"status": ("issued", "approved"), "approved_at": (None, statement.approved_at),
                       "approved_by": (None, finance_user.pk)}

    act(finance_client, "paymentstatement", "mark_paid", [statement])
    statement.refresh_from_db()
    record, changes = latest_change(statement)
    assert (record.history_user, record.history_change_reason) == (finance_user, "Marked paid")
    assert changes == {"status": ("approved", "paid"), "paid_at": (None, statement.paid_at)}
    assert [r.history_change_reason for r in statement.history.order_by("history_date", "history_id")] == [
        "Month-end job", "Issued", "Approved for payment", "Marked paid"]


def test_crediting_an_invoice_records_the_credit_note_and_the_invoice_change(finance_user, october):
    invoice, _ = october
    invoices_issue(invoice_ids=[invoice.pk], acting_user=finance_user)
    credit_note = invoice_credit(invoice_id=invoice.pk, acting_user=finance_user, reason="Wrong rate.")
    record, changes = latest_change(invoice)
    assert (record.history_user, record.history_change_reason) == (finance_user, f"Credited by {credit_note.number}")
    assert changes == {"status": ("issued", "credited")}
    (created,) = CreditNote.objects.get().history.all()
    assert (created.history_type, created.history_user, created.total) == ("+", finance_user, credit_note.total)


def test_issuing_from_a_task_without_a_user_records_no_one(october):
    invoice, _ = october
    invoices_issue(invoice_ids=[invoice.pk], acting_user=None)
    record, _ = latest_change(invoice)
    assert record.history_user is None and record.history_change_reason == "Issued"


# --------------------------------------------------------------------------- reading it in the admin


def test_finance_reads_who_changed_what_on_the_history_pages(finance_client, finance_user, mentor, october,
                                                            arrangement):
    invoice, _ = october
    act(finance_client, "invoice", "issue_selected", [invoice])
    act(finance_client, "invoice", "mark_paid", [invoice])
    invoice.refresh_from_db()

    response = finance_client.get(history_url(invoice))
    assert response.status_code == 200
    html = response.content.decode()
    assert f"View history: {invoice.number}" in html
    for text in ("Fay Finance", "Issued", "Marked paid", "Month-end job", "Created", "Changed"):
        assert text in html, text
    assert re.search(rf"<strong>Number:</strong>\s*-\s*&nbsp;&rarr;&nbsp;&nbsp;{invoice.number}", html)
    assert re.search(r"<strong>Status:</strong>\s*Issued\s*&nbsp;&rarr;&nbsp;&nbsp;Paid", html)
    paid_at = localize(timezone.localtime(invoice.paid_at))
    assert re.search(rf"<strong>Paid at:</strong>\s*-\s*&nbsp;&rarr;&nbsp;&nbsp;{re.escape(paid_at)}", html)
    assert "Revert" not in html and "revert" not in html

    session = ServiceAppointment.objects.get()
    html = finance_client.get(history_url(session)).content.decode()
    assert "Ann Mentor" in html
    assert re.search(r"<strong>Status:</strong>\s*Scheduled\s*&nbsp;&rarr;&nbsp;&nbsp;Completed", html)
    assert finance_client.get(history_url(arrangement)).status_code == 200

    # The change page links to it.
    change_page = reverse("admin:invoicing_invoice_change", args=[invoice.pk])
    assert f'href="{history_url(invoice)}"' in finance_client.get(change_page).content.decode()


@pytest.mark.parametrize("which", ["invoice", "arrangement", "session"])
def test_finance_cannot_revert_from_the_history(finance_client, finance_user, october, arrangement, which):
    invoice, _ = october
    if which == "invoice":
        invoices_issue(invoice_ids=[invoice.pk], acting_user=finance_user)
        obj = Invoice.objects.get(pk=invoice.pk)
    elif which == "arrangement":
        arrangement.reference = "SFE-99"
        arrangement.save()
        obj = arrangement
    else:
        obj = ServiceAppointment.objects.get()
    first = obj.history.earliest()
    before = type(obj).objects.filter(pk=obj.pk).values().get()
    count = obj.history.count()

    page = finance_client.get(version_url(obj, first))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="_save"' not in html and "Revert" not in html

    data = {"reference": "SFE-42", "kind": "funded", "funder": arrangement.funder_id, "hourly_rate": "55.00",
            "valid_from": "2020-01-01", "mentee": arrangement.mentee_id, "_save": "Revert"}
    assert finance_client.post(version_url(obj, first), data).status_code == 403
    assert type(obj).objects.filter(pk=obj.pk).values().get() == before
    assert obj.history.count() == count


def test_only_who_may_read_the_trail_sees_it(client, mentor, october):
    invoice, _ = october
    client.force_login(mentor.user)
    response = client.get(history_url(invoice))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_seeing_the_trail_takes_the_history_permission(client, finance_user, october):
    from django.contrib.auth.models import Permission

    from tests.factories import UserFactory

    invoice, _ = october
    clerk = UserFactory(full_name="Cal Clerk", email="cal@example.com", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_invoice"))
    client.force_login(clerk)
    assert client.get(reverse("admin:invoicing_invoice_change", args=[invoice.pk])).status_code == 200
    assert client.get(history_url(invoice)).status_code == 403


def test_finance_deleting_funding_on_the_mentee_page_is_recorded_as_finance(finance_client, finance_user, mentee,
                                                                             arrangement):
    data = {
        "full_name": mentee.full_name, "email": mentee.email, "phone": "", "address": "",
        "funding_arrangements-TOTAL_FORMS": "1", "funding_arrangements-INITIAL_FORMS": "1",
        "funding_arrangements-MIN_NUM_FORMS": "0", "funding_arrangements-MAX_NUM_FORMS": "1000",
        "funding_arrangements-0-id": arrangement.pk, "funding_arrangements-0-mentee": mentee.pk,
        "funding_arrangements-0-kind": "funded", "funding_arrangements-0-funder": arrangement.funder_id,
        "funding_arrangements-0-reference": "SFE-42", "funding_arrangements-0-hourly_rate": "55.00",
        "funding_arrangements-0-hours_allowance": "", "funding_arrangements-0-valid_from": "2020-01-01",
        "funding_arrangements-0-valid_until": "", "funding_arrangements-0-DELETE": "on", "_save": "Save",
    }
    assert finance_client.post(reverse("admin:sessions_app_mentee_change", args=[mentee.pk]), data).status_code == 302
    assert not mentee.funding_arrangements.exists()
    deleted = arrangement.history.latest()
    assert (deleted.history_type, deleted.history_user, deleted.reference) == ("-", finance_user, "SFE-42")

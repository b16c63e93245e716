"""The retention job (`apply-retention`, nightly): session notes and internal notes two years after the mentee's last
session, the personal copies on invoices, credit notes and statements (and their PDFs) six years after the end of
the financial year (5 April) they fall in, and emails' bodies after 90 days. In batches; a second run does nothing."""

from datetime import date, datetime, timedelta
from io import StringIO
from pathlib import Path
from unittest import mock

import pytest
from django.apps import apps
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from invoicing.models import (
    CreditNote,
    FinanceTicket,
    Invoice,
    InvoiceLine,
    PaymentRunItem,
    PaymentStatement,
    SessionCreditNote,
    StatementAdjustment,
)
from invoicing.services import invoices_issue, month_end_generate
from invoicing.services.pdf import pdfs_render_missing
from mentoring.schedule import PERIODIC_JOBS
from notifications.models import OutboxEmail
from privacy.services import retention_apply
from privacy.services.common import ERASED, retained_until
from sessions_app.models import MentorBankDetails, ServiceAppointment
from sessions_app.services import WrapUp, appointment_wrap_up
from tests.factories import AppointmentFactory, FundingArrangementFactory, MenteeFactory
from tests.privacy.conftest import ACCOUNT, LONDON, NAME, NOTES

Outcome = ServiceAppointment.Outcome


def at(*args):
    return datetime(*args, tzinfo=LONDON)


def snapshot() -> dict:
    return {model._meta.label: list(model._base_manager.order_by("pk").values())
            for model in apps.get_models() if model is not Session}


def test_two_years_after_the_last_session_the_notes_go_and_after_six_years_the_documents_names(
        mo, django_capture_on_commit_callbacks):
    sessions = ServiceAppointment.objects.filter(mentee=mo.mentee)
    old_invoice = Invoice.objects.get(mentee=mo.mentee, period_start=date(2019, 3, 1))
    old_pdf = Path(old_invoice.pdf.path)
    kept = Invoice.objects.get(mentee=mo.mentee, period_start=date(2026, 3, 1))

    # 91 days on (within two years of Mo's last session, 14 April 2026) the notes stay; the 2019 documents (kept
    # until 5 April 2025) do not, nor do the bodies of the emails written today.
    later = timezone.now() + timedelta(days=91)
    assert later < at(2028, 4, 14)
    with django_capture_on_commit_callbacks(execute=True):
        report = retention_apply(now=later)
    assert sessions.filter(session_notes=NOTES).count() == 4
    assert report.counts["PDFs removed"] == 2 and not old_pdf.exists()
    old_invoice.refresh_from_db()
    assert (old_invoice.bill_to_name, old_invoice.bill_to_email, old_invoice.pdf.name) == (ERASED, "", "")
    assert set(InvoiceLine.objects.filter(invoice=old_invoice).values_list("mentee_name", flat=True)) == {ERASED}
    assert (old_invoice.number, old_invoice.total) == (mo.documents["2019"]["invoices"][0].number,
                                                      mo.documents["2019"]["invoices"][0].total)
    kept.refresh_from_db()
    assert kept.bill_to_name == NAME and Path(kept.pdf.path).exists()
    # Emails written more than 90 days before and sent have no body; who and what they were about stay.
    sent = OutboxEmail.objects.filter(status=OutboxEmail.Status.SENT)
    assert sent.exists() and not sent.exclude(text_body="").exists()
    assert not sent.filter(subject="").exists()
    assert not OutboxEmail.objects.filter(status=OutboxEmail.Status.PENDING, text_body="").exists()

    # Two years after it, the notes, Admin Details, internal notes and tickets go, and their earlier versions.
    report = retention_apply(now=at(2028, 4, 15, 12))
    assert report.counts["sessions' notes"] == 5  # four wrap-ups' notes and the internal cancellation note
    assert not sessions.exclude(session_notes="").exists() and not sessions.exclude(cancellation_note="").exists()
    assert set(sessions.exclude(admin_details="").values_list("admin_details", flat=True)) == {ERASED}
    history = ServiceAppointment.history.model.objects.filter(mentee_id=mo.mentee.pk)
    assert not history.exclude(session_notes="").exists() and not history.exclude(cancellation_note="").exists()
    assert set(FinanceTicket.objects.values_list("message", flat=True)) == {ERASED}
    kept.refresh_from_db()
    assert kept.bill_to_name == NAME


def test_running_it_again_changes_nothing(mo, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = retention_apply(now=at(2028, 6, 1, 2, 30))
    assert first.total > 0
    before = snapshot()
    second = retention_apply(now=at(2028, 6, 1, 2, 30))
    assert second.total == 0 and str(second) == "nothing past its retention date"
    assert snapshot() == before
    # Nor does the job that renders missing PDFs bring back the ones removed on purpose.
    with mock.patch("invoicing.tasks.render_invoice_pdf.delay") as invoices, \
            mock.patch("invoicing.tasks.render_statement_pdf.delay") as statements:
        pdfs_render_missing()
    removed = set(Invoice.objects.exclude(pdf_removed_at=None).values_list("pk", flat=True))
    assert removed and not removed & {call.args[0] for call in invoices.call_args_list}
    assert not set(PaymentStatement.objects.exclude(pdf_removed_at=None).values_list("pk", flat=True)) & {
        call.args[0] for call in statements.call_args_list}


def test_it_works_in_batches(db, mentor):
    start = timezone.now() - timezone.timedelta(days=3 * 365)
    for n in range(5):
        appointment = AppointmentFactory(mentor=mentor, mentee=MenteeFactory(), starts_at=start + timezone.timedelta(
            days=n))
        appointment_wrap_up(appointment_id=appointment.pk, acting_user=mentor.user, now=appointment.ends_at,
                            answers=WrapUp(outcome=Outcome.ATTENDED, funding_arrangement=FundingArrangementFactory(
                                mentee=appointment.mentee), session_notes=f"Notes {n}"))
    with CaptureQueriesContext(connection) as captured:
        report = retention_apply(batch_size=2)
    assert report.counts["sessions' notes"] == 5
    updates = [q["sql"] for q in captured if q["sql"].startswith('UPDATE "sessions_app_serviceappointment"')]
    assert len(updates) == 3, "five sessions, two at a time"
    assert not ServiceAppointment.objects.exclude(session_notes="").exists()


@pytest.mark.parametrize("issued, anonymised_from", [
    (date(2020, 4, 5), date(2026, 4, 6)),  # 2019/20's last day: kept until 5 April 2026
    (date(2020, 4, 6), date(2027, 4, 6)),  # 2020/21's first day: kept a year more
])
def test_documents_are_kept_six_years_after_the_end_of_their_financial_year(db, mentor, finance_user, issued,
                                                                              anonymised_from):
    assert retained_until(issued) == date(anonymised_from.year, 4, 5)
    arrangement = FundingArrangementFactory(self_funded=True)
    start = at(2020, 3, 16, 10)
    appointment = AppointmentFactory(mentor=mentor, mentee=arrangement.mentee, starts_at=start,
                                     ends_at=start + timezone.timedelta(hours=1))
    appointment_wrap_up(appointment_id=appointment.pk, acting_user=mentor.user, now=start + timezone.timedelta(hours=2),
                        answers=WrapUp(outcome=Outcome.ATTENDED, funding_arrangement=arrangement))
    month_end_generate(year=2020, month=3, now=at(2020, 3, 31, 21))
    with mock.patch("invoicing.services.documents._after_issue"):
        (invoice,) = invoices_issue(invoice_ids=[Invoice.objects.get().pk], acting_user=finance_user, today=issued)
    day_before = anonymised_from - timezone.timedelta(days=1)
    retention_apply(now=at(day_before.year, day_before.month, day_before.day, 23, 59))
    invoice.refresh_from_db()
    assert invoice.bill_to_name == arrangement.mentee.full_name
    retention_apply(now=at(anonymised_from.year, anonymised_from.month, anonymised_from.day, 0, 1))
    invoice.refresh_from_db()
    assert invoice.bill_to_name == ERASED
    assert CreditNote.objects.count() == 0


def test_the_job_runs_nightly_and_by_hand(mo):
    assert PERIODIC_JOBS["apply-retention"]["task"] == "privacy.tasks.apply_retention"
    out = StringIO()
    call_command("run_job", "apply-retention", stdout=out)
    assert out.getvalue().startswith("apply-retention: anonymised ") and "invoice lines" in out.getvalue()
    out = StringIO()
    call_command("run_job", "apply-retention", stdout=out)
    assert out.getvalue().strip() == "apply-retention: nothing past its retention date"


def test_the_counts_are_logged(mo, caplog):
    with caplog.at_level("INFO", logger="privacy.services.retention"):
        report = retention_apply()
    assert report.counts["invoice lines"] == 1
    assert f"Retention: {report}" in caplog.text


def test_bank_details_versions_payments_and_corrections_go_when_their_time_is_up(
        mo, django_capture_on_commit_callbacks):
    """Ann's replaced account and the record of who saw it, two years on (her current details stay, with their newest
    version); a pay adjustment's description (it quotes the notes) with the other notes; the payment to her and the
    credit note for the corrected session six years after their financial year's end."""
    versions = MentorBankDetails.history.model.objects.all()
    assert versions.count() == 3
    report = retention_apply(now=at(2028, 4, 15, 12))
    assert StatementAdjustment.objects.get().description == ERASED
    assert versions.count() == 3, "recorded less than two years ago"
    report = retention_apply(now=timezone.now() + timedelta(days=2 * 366))
    assert report.counts["earlier versions of bank details"] == 2
    assert list(versions.values_list("account_number", flat=True)) == [ACCOUNT]
    assert MentorBankDetails.objects.get().account_number == ACCOUNT

    payment = PaymentRunItem.objects.get()  # paid on 9 April 2026: kept until 5 April 2033
    assert retained_until(payment.run.payment_date) == date(2033, 4, 5)
    credit_note = SessionCreditNote.objects.get()  # issued on the day of the correction
    pdf = Path(credit_note.pdf.path)
    first, last = sorted([retained_until(credit_note.issue_date), date(2033, 4, 5)])
    with django_capture_on_commit_callbacks(execute=True):
        retention_apply(now=at(first.year, 4, 5, 23, 59))
        assert SessionCreditNote.objects.get().reason != ERASED and pdf.exists()
        assert PaymentRunItem.objects.get().account_number == ACCOUNT
        retention_apply(now=at(last.year, 4, 6, 2, 30))
    credit_note.refresh_from_db()
    assert (credit_note.reason, credit_note.pdf.name) == (ERASED, "") and not pdf.exists()
    payment.refresh_from_db()
    assert (payment.account_name, payment.sort_code, payment.account_number) == (ERASED, "", "")
    assert payment.amount == mo.documents["2026"]["statements"][0].total
    assert StatementAdjustment.objects.get().mentee_name == ERASED
    assert retention_apply(now=at(last.year, 4, 6, 2, 30)).total == 0

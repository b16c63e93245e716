"""Erase this person: from the mentee's or mentor's admin list (or page), a confirmation page saying what goes and
which documents HMRC requires to be kept; then nothing of them is left in any table (history tables, emails, the
admin's log included) but the names and addresses on issued documents still within their six years, and no file
but those documents' PDFs. Who erased whom, and why, is recorded without the erased values."""

import subprocess
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import models
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from invoicing.models import (
    CreditNote,
    Invoice,
    InvoiceLine,
    PaymentRunItem,
    PaymentStatement,
    SessionCreditNote,
    StatementAdjustment,
    StatementLine,
)
from invoicing.services.documents import statement_approve
from invoicing.services.payment_runs import next_working_day_after, payment_run_cancel, payment_run_create
from notifications.models import OutboxEmail
from invoicing.services import month_end_generate
from privacy.models import Erasure
from privacy.services import ErasureRefused, person_erase
from privacy.services.common import ERASED
from privacy.services.erasure import HMRC_RETAINED
from sessions_app import roles
from sessions_app.models import Mentee, MentorAssignment, MentorBankDetails, User
from tests.factories import PASSWORD, AppointmentFactory
from tests.privacy.conftest import (
    ACCOUNT,
    CORRECTION_REASON,
    EMAIL,
    NAME,
    NOTES,
    OLD_ACCOUNT,
    REQUEST_MESSAGE,
    SORT_CODE,
)

TEXT = (models.CharField, models.TextField, models.JSONField)


def erase(client, model: str, pk: int, reason=None):
    data = {"action": "erase_person", "_selected_action": [pk], "index": 0}
    if reason is not None:
        data.update(confirm_erasure="yes", reason=reason)
    return client.post(reverse(f"admin:sessions_app_{model}_changelist"), data, follow=reason is not None)


def copies_in_tables(*values) -> list[str]:
    """Every text column of every row of every model holding one of `values` (case-insensitively), except the
    columns HMRC requires on issued documents."""
    found = []
    for model in apps.get_models(include_auto_created=True):
        retained = HMRC_RETAINED.get(model._meta.label, ())
        fields = [f.attname for f in model._meta.concrete_fields if isinstance(f, TEXT) and f.attname not in retained]
        for row in model._base_manager.values_list("pk", *fields):
            for field, value in zip(fields, row[1:]):
                text = str(value).lower()
                found += [f"{model._meta.label}.{field} (row {row[0]}): {needle}"
                          for needle in values if needle.lower() in text]
    return found


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout


def files_naming(value: str) -> set[Path]:
    return {path for path in Path(settings.MEDIA_ROOT).rglob("*") if path.is_file()
            and value.lower() in (pdf_text(path) if path.suffix == ".pdf" else path.read_text(errors="ignore")).lower()}


def test_the_confirmation_page_says_what_goes_and_what_hmrc_keeps(mo, finance_client):
    page = erase(finance_client, "mentee", mo.mentee.pk).content.decode()
    assert "Erase this mentee?" in page
    assert "Sessions (notes, Admin Details, internal notes, locations): 6" in page
    invoice_2026 = Invoice.objects.get(mentee=mo.mentee, period_start=date(2026, 3, 1))
    assert f"Invoice {invoice_2026.number}: kept until 5 April 2032" in page
    invoice_2019 = Invoice.objects.get(mentee=mo.mentee, period_start=date(2019, 3, 1))
    assert invoice_2019.number not in page  # kept until 5 April 2025: gone with the erasure
    assert "Yes, erase this person" in page
    assert "Assignments to mentors (removed): 1" in page
    session_credit_note = SessionCreditNote.objects.get()
    assert f"Credit note {session_credit_note.number}: kept until 5 April" in page
    assert not Erasure.objects.exists()
    assert Mentee.objects.get(pk=mo.mentee.pk).full_name == NAME
    page = erase(finance_client, "mentor", mo.mentor.pk).content.decode()
    assert "Bank details, with every earlier version (deleted): 1" in page
    run = mo.documents["2026"]["payment run"]
    assert f"Payment in run {run.number} (the name on the account, the last digits of its number): kept until " \
           "5 April 2033" in page


def test_erasing_a_mentee_leaves_no_copy_but_what_hmrc_requires(mo, finance_client, finance_user,
                                                                 django_capture_on_commit_callbacks):
    pdf_2019 = Path(Invoice.objects.get(mentee=mo.mentee, period_start=date(2019, 3, 1)).pdf.path)
    retained = Invoice.objects.get(mentee=mo.mentee, period_start=date(2026, 3, 1))
    credit_note = CreditNote.objects.get(invoice=retained)
    assert copies_in_tables(*mo.secrets), "the test's history should hold the mentee's data to begin with"
    assert pdf_2019.exists() and files_naming(NAME)

    with django_capture_on_commit_callbacks(execute=True):  # the files go once the erasure is committed
        response = erase(finance_client, "mentee", mo.mentee.pk, reason="Erasure request of 28 Nov 2026, ref. DP-7")
    assert f"Mentee {mo.mentee.pk} is erased" in response.content.decode()

    assert copies_in_tables(*mo.secrets) == []
    mentee = Mentee.objects.get(pk=mo.mentee.pk)
    assert (mentee.full_name, mentee.email, mentee.phone, mentee.address) == (
        f"Erased mentee {mo.mentee.pk}", "", "", "")
    # HMRC: the issued invoice of March 2026 and its credit notes (the one for the corrected session on the funder's
    # invoice too) keep the name, address and PDFs until 5 April 2032; the bill-to email goes. March 2019's (kept until 5 April 2025) lose the name and their PDFs.
    retained.refresh_from_db()
    assert (retained.bill_to_name, retained.bill_to_email) == (NAME, "")
    assert set(InvoiceLine.objects.filter(invoice=retained).values_list("mentee_name", flat=True)) == {NAME}
    session_credit_note = SessionCreditNote.objects.get()
    assert files_naming(NAME) == {Path(retained.pdf.path), Path(credit_note.pdf.path),
                                  Path(session_credit_note.pdf.path)} | {
        Path(s.pdf.path) for s in mo.documents["2026"]["statements"]} | {
        Path(i.pdf.path) for i in mo.documents["2026"]["invoices"] if NAME in pdf_text(Path(i.pdf.path))}
    old = Invoice.objects.get(mentee=mo.mentee, period_start=date(2019, 3, 1))
    assert (old.bill_to_name, old.pdf.name) == (f"Erased mentee {mo.mentee.pk}", "") and old.pdf_removed_at
    assert not pdf_2019.exists()
    assert set(StatementLine.objects.filter(statement__period_start=date(2019, 3, 1)).values_list(
        "mentee_name", flat=True)) == {f"Erased mentee {mo.mentee.pk}"}
    # Emails to them are gone, and none is waiting to be sent to them.
    assert not OutboxEmail.objects.filter(to__icontains=EMAIL).exists()
    # No mentor is assigned them any more. The credit note for their corrected session (on the funder's invoice of
    # March 2026) is a document HMRC needs: its reason stays. The adjustment to Ann's pay, on no issued statement
    # yet, loses their name and what was corrected (it quotes the notes), in every version.
    assert not MentorAssignment.objects.filter(mentee_id=mo.mentee.pk).exists()
    assert SessionCreditNote.objects.get().reason.endswith(CORRECTION_REASON)
    adjustment = StatementAdjustment.objects.get()
    versions = adjustment.history.values_list("mentee_name", "description")
    assert set(versions) | {(adjustment.mentee_name, adjustment.description)} == {
        (f"Erased mentee {mo.mentee.pk}", ERASED)}

    erasure = Erasure.objects.get()
    assert (erasure.subject_kind, erasure.subject_id, erasure.erased_by) == ("mentee", mo.mentee.pk, finance_user)
    assert erasure.reason == "Erasure request of 28 Nov 2026, ref. DP-7"
    assert erasure.counts["sessions"] == 6 and erasure.counts["emails"] >= 1


def test_the_history_tables_keep_no_earlier_version_of_the_notes(mo):
    history = mo.sessions[0].history.model.objects.filter(mentee_id=mo.mentee.pk)
    assert history.filter(session_notes=NOTES).exists()
    person_erase(kind="mentee", person_id=mo.mentee.pk, acting_user=mo.finance, reason="Request DP-8")
    assert history.exists() and not history.exclude(session_notes="").exists()
    assert not history.exclude(cancellation_note="").exists()


def test_the_reason_may_not_name_the_person_and_nothing_is_erased(mo, finance_client):
    response = erase(finance_client, "mentee", mo.mentee.pk, reason=f"{NAME} asked us on the phone")
    page = response.content.decode()
    assert "The reason must not contain the person&#x27;s name or contact details" in page
    response = erase(finance_client, "mentee", mo.mentee.pk, reason="   ")
    assert "Say why this person is erased." in response.content.decode()
    assert not Erasure.objects.exists() and Mentee.objects.get(pk=mo.mentee.pk).full_name == NAME


def test_a_person_is_erased_once(mo):
    person_erase(kind="mentee", person_id=mo.mentee.pk, acting_user=mo.finance, reason="Request DP-9")
    with pytest.raises(ErasureRefused, match="This mentee has already been erased."):
        person_erase(kind="mentee", person_id=mo.mentee.pk, acting_user=mo.finance, reason="Request DP-9")


def test_only_those_with_the_permission_may_erase(mo, finance_client):
    Group.objects.get(name=roles.FINANCE).permissions.remove(
        Permission.objects.get(content_type__app_label="privacy", codename="erase_personal_data"))
    erase(finance_client, "mentee", mo.mentee.pk, reason="Request DP-10")
    assert not Erasure.objects.exists() and Mentee.objects.get(pk=mo.mentee.pk).full_name == NAME
    page = finance_client.get(reverse("admin:sessions_app_mentee_change", args=[mo.mentee.pk])).content.decode()
    assert "Erase this person" not in page and "Export personal data" in page


def test_erasing_a_mentor_ends_their_log_in_and_leaves_only_their_issued_statements(
        mo, finance_client, django_capture_on_commit_callbacks):
    mentor_client = Client()
    mentor_client.force_login(mo.mentor.user)
    assert mentor_client.get(reverse("home")).status_code == 200
    pdf_2019 = Path(PaymentStatement.objects.get(mentor=mo.mentor, period_start=date(2019, 3, 1)).pdf.path)
    with django_capture_on_commit_callbacks(execute=True):
        erase(finance_client, "mentor", mo.mentor.pk, reason="Left in 2026; request DP-11")
    assert not pdf_2019.exists()

    assert copies_in_tables("Ann Mentor", "ann@example.com", "2 Mentor Road", REQUEST_MESSAGE, ACCOUNT, OLD_ACCOUNT,
                            SORT_CODE) == []
    assert not files_naming(ACCOUNT) and not files_naming(OLD_ACCOUNT)
    # Their bank details and every version of them are gone; the payment made to them (a record HMRC needs until
    # 5 April 2033) keeps the name on the account and the last digits only. No mentee is assigned them.
    assert not MentorBankDetails.objects.exists() and not MentorBankDetails.history.exists()
    payment = PaymentRunItem.objects.get()
    assert (payment.account_name, payment.sort_code, payment.account_number) == ("A Mentor", "****13", "****6819")
    assert payment.masked_account_number == "****6819"
    assert not MentorAssignment.objects.filter(mentor_id=mo.mentor.pk).exists()
    user = User.objects.get(pk=mo.mentor.user_id)
    assert user.full_name == f"Erased mentor {mo.mentor.pk}" and not user.is_active and not user.has_usable_password()
    assert not user.groups.exists()
    assert mentor_client.get(reverse("home")).status_code == 302  # logged out
    assert not Client().login(username="ann@example.com", password=PASSWORD)
    statement_2026 = PaymentStatement.objects.get(mentor=mo.mentor, period_start=date(2026, 3, 1))
    assert statement_2026.supplier_address == "2 Mentor Road\nYork\nYO1 1AA" and Path(statement_2026.pdf.path).exists()
    statement_2019 = PaymentStatement.objects.get(mentor=mo.mentor, period_start=date(2019, 3, 1))
    assert (statement_2019.supplier_address, statement_2019.pdf.name) == ("", "")
    # The mentee's sessions keep their notes: those are the mentee's, not the mentor's.
    mo.sessions[0].refresh_from_db()
    assert mo.sessions[0].session_notes == NOTES


def test_a_mentee_with_sessions_still_to_come_is_not_erased_until_they_are_cancelled(mo, finance_client):
    start = timezone.now().replace(microsecond=0) + timedelta(days=5)
    upcoming = AppointmentFactory(mentor=mo.mentor, mentee=mo.mentee, starts_at=start)
    page = erase(finance_client, "mentee", mo.mentee.pk).content.decode()
    assert f"has sessions still to come: {upcoming.reference}. Cancel them before erasing" in page
    assert "Yes, erase this person" not in page
    with pytest.raises(ErasureRefused, match=rf"1 session is still to come \({upcoming.reference}\): cancel it first."):
        person_erase(kind="mentee", person_id=mo.mentee.pk, acting_user=mo.finance, reason="Request DP-12")
    assert not Erasure.objects.exists()


def test_a_mentor_with_a_payment_waiting_in_a_run_is_not_erased_until_it_is_paid_or_cancelled(mo, finance_client):
    statement = mo.documents["2019"]["statements"][0]
    statement_approve(statement_ids=[statement.pk], acting_user=mo.finance)
    run = payment_run_create(statement_ids=[statement.pk], acting_user=mo.finance,
                             payment_date=next_working_day_after(timezone.localdate(), 3))
    page = erase(finance_client, "mentor", mo.mentor.pk).content.decode()
    assert f"A payment to Ann Mentor is waiting in payment run {run.number}. Mark" in page
    assert "Yes, erase this person" not in page
    with pytest.raises(ErasureRefused, match=f"waiting in payment run {run.number}: mark the run paid or cancel it"):
        person_erase(kind="mentor", person_id=mo.mentor.pk, acting_user=mo.finance, reason="Request DP-14")
    payment_run_cancel(run_id=run.pk, acting_user=mo.finance, reason="Wrong statement")
    person_erase(kind="mentor", person_id=mo.mentor.pk, acting_user=mo.finance, reason="Request DP-14")
    cancelled = PaymentRunItem.objects.get(run=run)  # never made: nothing of the account is kept
    assert (cancelled.account_name, cancelled.sort_code, cancelled.account_number) == (
        f"Erased mentor {mo.mentor.pk}", "", "")


def test_a_draft_invoice_is_no_record_hmrc_needs_so_it_loses_the_name(mo):
    from tests.privacy.conftest import _wrap_up

    self_funded = mo.mentee.funding_arrangements.get(kind="self_funded")
    session = _wrap_up(mo.mentor, mo.mentee, date(2026, 5, 5), self_funded)
    month_end_generate(year=2026, month=5, now=timezone.make_aware(datetime(2026, 5, 31, 21)))
    draft = Invoice.objects.get(mentee=mo.mentee, period_start=date(2026, 5, 1))
    assert draft.status == "draft" and draft.bill_to_name == NAME
    person_erase(kind="mentee", person_id=mo.mentee.pk, acting_user=mo.finance, reason="Request DP-13")
    draft.refresh_from_db()
    assert (draft.bill_to_name, draft.bill_to_address) == (f"Erased mentee {mo.mentee.pk}", "")
    assert InvoiceLine.objects.get(appointment=session).mentee_name == f"Erased mentee {mo.mentee.pk}"
    assert StatementLine.objects.get(appointment=session).mentee_name == f"Erased mentee {mo.mentee.pk}"

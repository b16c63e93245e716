"""Subject access export: Finance downloads, from a mentee's or mentor's admin page, a ZIP of everything held about
them (summary.html to read, personal-data.json for computers, the PDFs of documents addressed to them); each export
is recorded (who, when, whom)."""

import io
import json
import zipfile
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from privacy.models import PersonalDataExport, WithheldNote
from privacy.selectors import MENTEE_SECTIONS
from privacy.services import personal_data_export
from sessions_app import roles
from sessions_app.models import MentorAssignment
from sessions_app.services.bank_details import bank_details_save
from tests.factories import AppointmentFactory, MenteeFactory, MentorFactory
from tests.privacy.conftest import (
    ACCOUNT,
    ADMIN_DETAILS,
    CORRECTION_REASON,
    EMAIL,
    INTERNAL_NOTE,
    NAME,
    NOTES,
    OLD_ACCOUNT,
    REQUEST_MESSAGE,
    SERIES_LOCATION,
    SORT_CODE,
    TICKET_MESSAGE,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def export(client, model: str, pk: int):
    return client.post(reverse(f"admin:sessions_app_{model}_changelist"),
                       {"action": "export_personal_data", "_selected_action": [pk], "index": 0})


def unzip(response) -> zipfile.ZipFile:
    assert response.status_code == 200
    assert response.streaming, "the ZIP is streamed as it is written"
    assert response["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_finance_exports_everything_held_about_a_mentee(mo, finance_client, finance_user):
    response = export(finance_client, "mentee", mo.mentee.pk)
    assert response["Content-Disposition"].startswith(f'attachment; filename="personal-data-mentee-{mo.mentee.pk}-')
    archive = unzip(response)
    data = json.loads(archive.read("personal-data.json"))

    assert data["profile"] == [{"id": mo.mentee.pk, "full_name": NAME, "email": EMAIL, "phone": "07700 900123",
                                "address": "1 Mentee Lane\nLeeds\nLS1 1AA",
                                "created_at": data["profile"][0]["created_at"]}]
    assert [row["kind"] for row in data["funding_arrangements"]] == ["Self-funded", "Funded"]
    sessions = {row["reference"]: row for row in data["sessions"]}
    assert len(sessions) == 6
    assert sessions[mo.sessions[0].reference]["session_notes"] == NOTES
    assert sessions[mo.sessions[0].reference]["outcome"] == "Attended"
    assert sessions[mo.sessions[3].reference]["admin_details"] == ADMIN_DETAILS
    cancelled = sessions[mo.cancelled.reference]
    assert cancelled["status"] == "Cancelled" and cancelled["internal_cancellation_note"] == INTERNAL_NOTE
    assert cancelled["cancellation_reason_shared"]
    assert {row["session"] for row in data["session_history"]} == set(sessions)
    assert {row["message"] for row in data["finance_tickets"]} == {TICKET_MESSAGE, ADMIN_DETAILS}
    assert any(EMAIL in row["to"] for row in data["emails"])
    assert any(row["kind"] == "Attendance email to the mentee" for row in data["emails"])
    assert len(data["invoices"]) == 2 and {row["bill_to_name"] for row in data["invoices"]} == {NAME}
    assert {row["reference"] for row in data["invoice_lines"]} == {s.reference for s in mo.sessions[:3]}
    assert [row["invoice_number"] for row in data["credit_notes"]] == [
        mo.documents["2026"]["credit note"].invoice.number]
    assert data["session_versions"] and data["funding_versions"] and data["invoice_versions"]
    assert data["credit_note_versions"]
    assert [row["mentor_name"] for row in data["mentors"]] == ["Ann Mentor"]
    assert [(row["location"], row["mode"]) for row in data["repeat_bookings"]] == [(SERIES_LOCATION, "In person")]
    corrected = mo.sessions[2].reference
    assert [(row["session"], row["reason"].endswith(CORRECTION_REASON), row["billed_to"]) for row in data["session_credit_notes"]] == [
        (corrected, True, "Leeds University")]
    assert data["session_credit_note_versions"]
    (adjustment,) = data["session_corrections_after_payment"]
    assert adjustment["reference"] == corrected and "45 minutes" in adjustment["description"]
    assert "amount" not in adjustment, "what the mentor was paid is the mentor's data"

    # The documents addressed to them, as PDFs: their two invoices and the credit note (not the funder's invoice,
    # which names other mentees).
    pdfs = sorted(name for name in archive.namelist() if name.startswith("documents/"))
    assert len(pdfs) == 3 and all(archive.read(name).startswith(b"%PDF") for name in pdfs)

    summary = archive.read("summary.html").decode()
    assert f"Personal data held about Mentee {mo.mentee.pk}" in summary
    for text in (NOTES, INTERNAL_NOTE, TICKET_MESSAGE, "How your sessions are paid for", SERIES_LOCATION,
                 CORRECTION_REASON, "Your mentors", "Credit notes for one of your sessions"):
        assert escape(text) in summary

    (record,) = PersonalDataExport.objects.all()
    assert (record.subject_kind, record.subject_id, record.requested_by) == ("mentee", mo.mentee.pk, finance_user)
    assert timezone.now() - record.requested_at < timedelta(minutes=1)


def test_an_internal_note_finance_withholds_is_left_out_with_the_reason(mo, finance_client, finance_user):
    response = finance_client.post(reverse("admin:privacy_withheldnote_add"), {
        "session": mo.cancelled.reference.lower(), "reason": "It names another student."})
    assert response.status_code == 302
    assert WithheldNote.objects.get().withheld_by == finance_user

    archive = unzip(export(finance_client, "mentee", mo.mentee.pk))
    cancelled = next(row for row in json.loads(archive.read("personal-data.json"))["sessions"]
                     if row["reference"] == mo.cancelled.reference)
    assert cancelled["internal_cancellation_note"] == "Withheld from this export"
    assert cancelled["internal_note_withheld_because"] == "It names another student."
    for name in archive.namelist():
        assert INTERNAL_NOTE.encode() not in archive.read(name), name


def test_a_note_can_only_be_withheld_from_a_session_that_has_one(mo, finance_client):
    response = finance_client.post(reverse("admin:privacy_withheldnote_add"), {
        "session": mo.sessions[0].reference, "reason": "No reason."})
    assert response.status_code == 200
    assert f"{mo.sessions[0].reference} has no internal cancellation note to withhold." in response.content.decode()
    response = finance_client.post(reverse("admin:privacy_withheldnote_add"), {
        "session": mo.cancelled.reference, "reason": "   "})
    assert "This field is required." in response.content.decode()
    response = finance_client.post(reverse("admin:privacy_withheldnote_add"), {"session": "SA-999999", "reason": "x"})
    assert "There is no session SA-999999." in response.content.decode()
    assert not WithheldNote.objects.exists()


def test_a_mentors_export_holds_their_sessions_and_statements_but_not_the_mentees_notes(mo, finance_client):
    archive = unzip(export(finance_client, "mentor", mo.mentor.pk))
    data = json.loads(archive.read("personal-data.json"))
    assert data["profile"][0]["full_name"] == "Ann Mentor" and data["profile"][0]["email"] == "ann@example.com"
    assert data["roles"] == [{"role": roles.MENTOR}]
    assert len(data["sessions"]) == 6
    assert [row["message"] for row in data["wrap_up_requests"]] == [REQUEST_MESSAGE]
    assert [row["hourly_rate"] for row in data["pay_rates"]] == ["32.00"]
    assert len(data["log_ins"]) == 1 and data["lock_outs"][0]["failures_since_start"] == 1
    # Their own bank details in full, each change, and who saw them in full.
    assert data["bank_details"] == [{"account_name": "A Mentor", "sort_code": SORT_CODE, "account_number": ACCOUNT,
                                     "updated_at": data["bank_details"][0]["updated_at"],
                                     "updated_by_name": "Ann Mentor"}]
    assert [(row["what"], row["account_number"], row["by"]) for row in data["bank_details_versions"]] == [
        ("Entered", OLD_ACCOUNT, "Ann Mentor"), ("Changed or seen in full", ACCOUNT, "Ann Mentor"),
        ("Changed or seen in full", ACCOUNT, mo.finance.full_name)]
    assert data["bank_details_versions"][-1]["note"] == "Seen in full: checking a payment"
    assert data["mentees"][0]["mentee_number"] == mo.mentee.pk and "mentee_name" not in data["mentees"][0]
    assert [row["booked_minutes"] for row in data["repeat_bookings"]] == [60]
    assert "location" not in data["repeat_bookings"][0]
    (adjustment,) = data["statement_adjustments"]
    assert adjustment["reference"] == mo.sessions[2].reference and adjustment["reason"] == CORRECTION_REASON
    assert Decimal(adjustment["amount"]) < 0 and data["statement_adjustment_versions"]
    run = mo.documents["2026"]["payment run"]
    assert [(row["payment_run"], row["payment_run_status"], row["account_number"], row["sort_code"])
            for row in data["payments"]] == [(run.number, "Paid", ACCOUNT, SORT_CODE)]
    summary = archive.read("summary.html").decode()
    assert "Your bank details" in summary and ACCOUNT in summary and "keep it safe" in summary
    assert {row["subject"] for row in data["finance_tickets"]} == {
        "Mo's funding", f"{mo.sessions[3].reference}: information missing at wrap-up"}
    assert {row["number"] for row in data["payment_statements"]} == {
        s.number for year in ("2019", "2026") for s in mo.documents[year]["statements"]}
    assert len([name for name in archive.namelist() if name.startswith("documents/payment-statement-")]) == 2
    everything = b"".join(archive.read(name) for name in archive.namelist() if not name.startswith("documents/"))
    assert NOTES.encode() not in everything and INTERNAL_NOTE.encode() not in everything
    assert mo.mentor.calendar_token.encode() not in everything
    assert SERIES_LOCATION.encode() not in everything


def test_an_export_holds_no_one_elses_assignments_bank_details_or_payments(mo, finance_client, finance_user):
    other = MentorFactory(user__full_name="Olu Other")
    bank_details_save(mentor=other, acting_user=other.user, account_name="O Other", sort_code="202020",
                      account_number="99887766")
    MentorAssignment.objects.create(mentor=other, mentee=MenteeFactory(full_name="Pat Other"))
    mentee = json.loads(unzip(export(finance_client, "mentee", mo.mentee.pk)).read("personal-data.json"))
    mentor = json.loads(unzip(export(finance_client, "mentor", mo.mentor.pk)).read("personal-data.json"))
    assert [row["mentor_name"] for row in mentee["mentors"]] == ["Ann Mentor"]
    assert len(mentor["mentees"]) == 1 and len(mentor["bank_details"]) == 1
    assert "99887766" not in json.dumps(mentor) and "Pat Other" not in json.dumps(mentee)
    others = json.loads(unzip(export(finance_client, "mentor", other.pk)).read("personal-data.json"))
    assert others["payments"] == [] and others["statement_adjustments"] == []
    assert [row["account_number"] for row in others["bank_details"]] == ["99887766"]
    assert ACCOUNT not in json.dumps(others)


def test_the_export_costs_the_same_queries_for_thousands_of_sessions(db, mentor, finance_user):
    def queries_for(mentee):
        filename, chunks = personal_data_export(kind="mentee", person=mentee, acting_user=finance_user)
        with CaptureQueriesContext(connection) as captured:
            size = sum(len(chunk) for chunk in chunks)
        return len(captured), size

    small = MenteeFactory()
    AppointmentFactory(mentor=mentor, mentee=small)
    busy = MenteeFactory()
    start = timezone.now() - timedelta(days=3000)
    for day in range(1200):
        AppointmentFactory(mentor=mentor, mentee=busy, starts_at=start + timedelta(days=day, hours=day % 7))
    few, small_size = queries_for(small)
    many, busy_size = queries_for(busy)
    assert busy_size > 20 * small_size
    assert many == few, "each section is read in the same number of queries, however many sessions"
    assert many <= 2 * len(MENTEE_SECTIONS) + 2


def test_the_export_streams_without_reading_everything_first(db, mentor, finance_user, django_assert_max_num_queries):
    busy = MenteeFactory()
    start = timezone.now() - timedelta(days=1000)
    for day in range(300):
        AppointmentFactory(mentor=mentor, mentee=busy, starts_at=start + timedelta(days=day), location="x" * 200)
    # Two per section (the JSON, then the summary), two for the PDFs, one to record the export (and the test's
    # transaction's savepoint around it).
    with django_assert_max_num_queries(2 * len(MENTEE_SECTIONS) + 2 + 3):
        filename, chunks = personal_data_export(kind="mentee", person=busy, acting_user=finance_user)
        first = next(chunks)
        rest = list(chunks)
    assert len(rest) > 1, "the ZIP leaves in pieces as it is written"
    assert zipfile.ZipFile(io.BytesIO(first + b"".join(rest))).testzip() is None


def test_one_person_at_a_time(mo, finance_client):
    other = MenteeFactory()
    response = finance_client.post(reverse("admin:sessions_app_mentee_changelist"), {
        "action": "export_personal_data", "_selected_action": [mo.mentee.pk, other.pk], "index": 0}, follow=True)
    assert "Choose one mentee to export: it is done for one person at a time." in response.content.decode()
    assert not PersonalDataExport.objects.exists()


def test_finance_without_the_permission_cannot_export(mo, finance_client):
    Group.objects.get(name=roles.FINANCE).permissions.remove(
        Permission.objects.get(content_type__app_label="privacy", codename="export_personal_data"))
    response = export(finance_client, "mentee", mo.mentee.pk)
    assert response.status_code in (200, 302) and not getattr(response, "streaming", False)
    assert not PersonalDataExport.objects.exists()
    page = finance_client.get(reverse("admin:sessions_app_mentee_change", args=[mo.mentee.pk])).content.decode()
    assert "Export personal data" not in page and "Erase this person" in page


def test_the_mentees_page_offers_both_buttons(mo, finance_client):
    page = finance_client.get(reverse("admin:sessions_app_mentee_change", args=[mo.mentee.pk])).content.decode()
    assert "Export personal data" in page and "Erase this person…" in page
    assert "Sessions awaiting Finance" in page, "still the mentee page sessions_app shows"
    assert finance_client.get(reverse("admin:sessions_app_mentee_add")).status_code == 200
    page = finance_client.get(reverse("admin:sessions_app_mentor_change", args=[mo.mentor.pk])).content.decode()
    assert "Export personal data" in page and "Erase this person…" in page

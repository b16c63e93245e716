"""Timesheets (issue 18): a funded arrangement's sessions in a month, as a PDF for the funder's invoice email and for
Finance to download. October 2026 has the clock change (Sunday 25 October, 02:00 BST -> 01:00 GMT)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from invoicing.models import Invoice, InvoiceLine
from invoicing.services import month_end_generate
from invoicing.services.pdf import timesheet_html
from invoicing.services.timesheets import stored_timesheets, stored_timesheets_remove, timesheet_pdf
from sessions_app.models import ServiceAppointment, SessionSignOff
from sessions_app.timesheets import timesheet, timesheet_months
from tests.factories import AppointmentFactory, FundingArrangementFactory, MenteeFactory, MentorFactory
from tests.invoicing.test_pdfs import (  # noqa: F401 (fixtures)
    funder,
    issue_all,
    issued,
    march,
    media_in_tmp,
    org,
    pdf_text,
    shows,
)

LONDON = ZoneInfo("Europe/London")
Outcome, Status = ServiceAppointment.Outcome, ServiceAppointment.Status


def wrapped_up(mentor, arrangement, start, *, booked=60, actual=None, outcome=Outcome.ATTENDED,
               status=Status.COMPLETED):
    start = start.astimezone(UTC)  # so that adding minutes adds real time across the clock change
    return AppointmentFactory(
        mentor=mentor, mentee=arrangement.mentee, starts_at=start, ends_at=start + timedelta(minutes=booked),
        status=status, outcome=outcome, funding_arrangement=arrangement, actual_minutes=actual,
        wrapped_up_by=mentor.user, wrapped_up_at=start + timedelta(hours=3),
        admin_details="Over authorised hours." if status == Status.AWAITING_FINANCE else "",
    )


@pytest.fixture
def october(org, funder, mentor):
    """Mo Mentee's sessions under Student Finance England's arrangement DSA-2026-118 (20 hours) in October 2026,
    either side of the clock change, with two mentors; and sessions the timesheet must leave out."""
    mentee = MenteeFactory(full_name="Mo Mentee")
    arrangement = FundingArrangementFactory(mentee=mentee, funder=funder, reference="DSA-2026-118",
                                            hours_allowance=Decimal("20"), valid_from=date(2026, 9, 1),
                                            valid_until=date(2027, 6, 30))
    bea = MentorFactory(user__full_name="Bea Mentor")
    first = wrapped_up(mentor, arrangement, datetime(2026, 10, 20, 10, tzinfo=LONDON))  # BST
    # 01:30 BST, an hour, ending at 01:30 GMT: the hour the clocks show twice.
    second = wrapped_up(mentor, arrangement, datetime(2026, 10, 25, 1, 30, fold=0, tzinfo=LONDON))
    third = wrapped_up(bea, arrangement, datetime(2026, 10, 27, 10, tzinfo=LONDON), actual=90,  # GMT
                       status=Status.AWAITING_FINANCE)
    SessionSignOff.objects.create(appointment=first, state="confirmed", how="link",
                                  answered_at=datetime(2026, 10, 21, 23, 30, tzinfo=LONDON))
    SessionSignOff.objects.create(appointment=second, state="disputed", how="paper", recorded_by=mentor.user,
                                  reason="Signed timesheet.", answered_at=datetime(2026, 11, 2, 9, tzinfo=LONDON))
    SessionSignOff.objects.create(appointment=third, requested_at=datetime(2026, 10, 27, 14, tzinfo=LONDON))
    wrapped_up(mentor, arrangement, datetime(2026, 10, 29, 16, tzinfo=LONDON), booked=45,
               outcome=Outcome.DID_NOT_ATTEND)
    # Left out: November, still to wrap up, and another arrangement's session.
    wrapped_up(mentor, arrangement, datetime(2026, 11, 1, 0, 30, tzinfo=LONDON))
    AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=datetime(2026, 10, 30, 10, tzinfo=LONDON))
    wrapped_up(mentor, FundingArrangementFactory(funder=funder), datetime(2026, 10, 21, 10, tzinfo=LONDON))
    return arrangement


ROWS = [
    ("20 Oct 2026", "10:00–11:00", "1 h 00 min", "Attended", "Ann Mentor"),
    ("25 Oct 2026", "01:30 BST–01:30 GMT", "1 h 00 min", "Attended", "Ann Mentor"),
    ("27 Oct 2026", "10:00–11:30", "1 h 30 min", "Attended", "Bea Mentor"),
    ("29 Oct 2026", "16:00–16:45", "0 h 45 min", "Did not attend", "Ann Mentor"),
]
CONFIRMATIONS = ["Confirmed 21 Oct 2026, by email link", "Disputed 2 Nov 2026, on paper",
                 "Waiting (asked 27 Oct 2026)", "Not asked"]


def test_the_timesheet_lists_the_months_wrapped_up_sessions_in_uk_time_in_two_queries(
        october, django_assert_num_queries):
    with django_assert_num_queries(2):
        sheet = timesheet(arrangement_id=october.pk, month=date(2026, 10, 17))
        rows = [(f"{row.day:%-d %b %Y}", row.times, row.minutes, row.outcome, row.mentor, row.confirmation)
                for row in sheet.rows]
    assert rows == [(day, times, minutes, outcome, mentor, confirmation)
                    for (day, times, _, outcome, mentor), minutes, confirmation
                    in zip(ROWS, [60, 60, 90, 45], CONFIRMATIONS)]
    assert sheet.total_minutes == 255
    assert [(t.outcome, t.sessions, t.minutes) for t in sheet.by_outcome] == [
        ("Attended", 3, 210), ("Did not attend", 1, 45)]
    assert timesheet_months(october) == [date(2026, 11, 1), date(2026, 10, 1)]
    assert timesheet(arrangement_id=FundingArrangementFactory(self_funded=True).pk, month=date(2026, 10, 1)) is None


def test_the_timesheet_pdf_shows_each_session_and_the_totals(october, tmp_path):
    path = tmp_path / "timesheet.pdf"
    path.write_bytes(timesheet_pdf(timesheet(arrangement_id=october.pk, month=date(2026, 10, 1))))
    text = pdf_text(path)
    assert shows(text, "Brightpath Mentoring Ltd", "TIMESHEET")
    assert shows(text, "Month", "October 2026") and shows(text, "Reference", "DSA-2026-118")
    assert shows(text, "Student Finance England", "Mo Mentee")
    assert shows(text, "Your reference: DSA-2026-118", "Mentoring sessions in October 2026")
    assert shows(text, "Hours authorised: 20 hours", "4 sessions, 4 h 15 min")
    assert shows(text, "Date", "Session", "Time (UK)", "Duration", "Outcome", "Mentor", "Mentee's confirmation")
    for (day, times, duration, outcome, mentor), confirmation in zip(ROWS, CONFIRMATIONS):
        lines = text.splitlines()
        at = next(i for i, line in enumerate(lines) if day in line)
        start, end = times.split("–")
        assert shows(lines[at], f"{start}–{end}") or (  # the times wrap when each says BST or GMT
            shows(lines[at], f"{start}–") and shows(lines[at + 1], end)), (day, times)
        for cell in (duration, outcome, mentor):
            assert shows(lines[at], cell), (day, cell, lines[at])
        shown = lines[at].split("  ")[-1].strip()  # the last column, which wraps onto the next line when long
        rest = confirmation.removeprefix(shown).strip()
        assert confirmation.startswith(shown) and lines[at + 1].rstrip().endswith(rest), (day, lines[at:at + 2])
    assert "1 Nov" not in text and "30 Oct" not in text
    assert shows(text, "Attended (3)", "3 h 30 min")
    assert shows(text, "Did not attend (1)", "0 h 45 min")
    assert shows(text, "Total (4)", "4 h 15 min")


def test_a_month_without_sessions_says_so(october):
    html = timesheet_html(timesheet(arrangement_id=october.pk, month=date(2026, 12, 1)))
    assert "No sessions wrapped up in December 2026" in html and "Total (0)" in html


def test_the_funders_invoice_email_carries_the_timesheet_and_the_self_funded_mentees_none(
        march, finance_user, mentor, mailoutbox, django_capture_on_commit_callbacks):
    selfpay = FundingArrangementFactory(self_funded=True, mentee=MenteeFactory(full_name="Sam Selfpay",
                                                                              email="sam@example.org",
                                                                              address="1 Road\nLeeds"))
    wrapped_up(mentor, selfpay, datetime(2026, 3, 12, 10, tzinfo=LONDON))
    month_end_generate(year=2026, month=3)
    issue_all(finance_user, django_capture_on_commit_callbacks)

    (to_funder,) = [m for m in mailoutbox if m.to == ["invoices@sfe.example"]]
    invoice = Invoice.objects.get(funder__isnull=False)
    assert [name for name, _, _ in to_funder.attachments] == [f"{invoice.number}.pdf", "timesheet-2026-03-po-7781.pdf"]
    assert "The timesheet attached with it lists every session" in to_funder.body
    (_, content, mimetype) = to_funder.attachments[1]
    assert mimetype == "application/pdf"
    sheet = timesheet(arrangement_id=invoice.funding_arrangement_id, month=date(2026, 3, 1))
    assert content.startswith(b"%PDF") and len(sheet.rows) == 3

    (to_mentee,) = [m for m in mailoutbox if m.to == ["sam@example.org"]]
    assert [name for name, _, _ in to_mentee.attachments] == [Invoice.objects.get(mentee__isnull=False).number + ".pdf"]
    assert "timesheet" not in to_mentee.body


def test_finance_downloads_a_timesheet_from_the_invoice_and_the_arrangement(issued, finance_client, march):
    invoice, _ = issued
    url = reverse("timesheet-pdf", kwargs={"arrangement_id": invoice.funding_arrangement_id, "year": 2026,
                                           "month": 3})
    for page in (reverse("admin:invoicing_invoice_change", args=[invoice.pk]),
                 reverse("admin:sessions_app_fundingarrangement_change", args=[invoice.funding_arrangement_id])):
        response = finance_client.get(page)
        assert response.status_code == 200 and f'href="{url}"' in response.content.decode(), page
    response = finance_client.get(url + "?download=1")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="timesheet-2026-03-po-7781.pdf"'
    assert response.content.startswith(b"%PDF")
    arrangement = f"/{invoice.funding_arrangement_id}/"
    for bad in (url.replace("2026-3", "2026-13"), url.replace("2026-3", "0-3"), url.replace(arrangement, "/999999/"),
                url.replace(arrangement, "/99999999999999999999/"), url.replace("2026-3", "99999999999999999999-3")):
        assert finance_client.get(bad).status_code == 404


def test_the_stored_timesheet_goes_with_the_invoices_pdf_and_leaves_the_pdf(issued, django_capture_on_commit_callbacks):
    """The retention job and a person's erasure remove the copy kept to be sent (tests/privacy/test_erasure.py)."""
    invoice, _ = issued
    stored = f"invoices/2026/INV-2026-000001-a{invoice.funding_arrangement_id}-timesheet-2026-03-po-7781.pdf"
    assert stored_timesheets(InvoiceLine.objects.all()) == [stored] and default_storage.exists(stored)
    with django_capture_on_commit_callbacks(execute=True):
        assert stored_timesheets_remove(InvoiceLine.objects.filter(invoice=invoice)) == 1
    assert not default_storage.exists(stored) and default_storage.exists(invoice.pdf.name)


@pytest.fixture
def two_mentees_on_one_invoice(org, funder, mentor, finance_user, django_capture_on_commit_callbacks):
    """A funder billed once a month for everyone: Mo's (PO-7781) and Ada's (PO-9000) March sessions on one invoice,
    issued, its email sent with a timesheet for each."""
    funder.single_monthly_invoice = True
    funder.save()
    arrangements = {}
    for name, reference in (("Mo Mentee", "PO-7781"), ("Ada Mentee", "PO-9000")):
        arrangements[name] = FundingArrangementFactory(mentee=MenteeFactory(full_name=name), funder=funder,
                                                       reference=reference, hourly_rate=Decimal("55.00"))
        wrapped_up(mentor, arrangements[name], datetime(2026, 3, 10, 10, tzinfo=LONDON))
    month_end_generate(year=2026, month=3)
    (invoice,), _ = issue_all(finance_user, django_capture_on_commit_callbacks)
    return invoice, arrangements


def stored_names():
    return sorted(name for name in default_storage.listdir("invoices/2026")[1] if "timesheet" in name)


def test_erasing_a_mentee_removes_their_timesheet_and_leaves_the_other_mentees(
        two_mentees_on_one_invoice, finance_user, django_capture_on_commit_callbacks):
    from privacy.services.erasure import person_erase

    invoice, arrangements = two_mentees_on_one_invoice
    mo, ada = arrangements["Mo Mentee"], arrangements["Ada Mentee"]
    assert stored_names() == sorted([f"{invoice.number}-a{ada.pk}-timesheet-2026-03-po-9000.pdf",
                                     f"{invoice.number}-a{mo.pk}-timesheet-2026-03-po-7781.pdf"])
    with django_capture_on_commit_callbacks(execute=True):
        person_erase(kind="mentee", person_id=mo.mentee_id, acting_user=finance_user, reason="Their request.")
    assert stored_names() == [f"{invoice.number}-a{ada.pk}-timesheet-2026-03-po-9000.pdf"]
    assert default_storage.exists(invoice.pdf.name)


def test_erasing_a_mentee_removes_their_timesheet_even_after_a_correction_moved_the_session(
        two_mentees_on_one_invoice, finance_user, django_capture_on_commit_callbacks):
    """Mo's session was moved to another of Mo's arrangements after the invoice went (a correction): the timesheet
    sent under the first arrangement still names Mo, and goes with the erasure."""
    from privacy.services.erasure import person_erase

    invoice, arrangements = two_mentees_on_one_invoice
    mo, ada = arrangements["Mo Mentee"], arrangements["Ada Mentee"]
    ServiceAppointment.objects.filter(mentee=mo.mentee).update(
        funding_arrangement=FundingArrangementFactory(mentee=mo.mentee, self_funded=True))
    with django_capture_on_commit_callbacks(execute=True):
        person_erase(kind="mentee", person_id=mo.mentee_id, acting_user=finance_user, reason="Their request.")
    assert stored_names() == [f"{invoice.number}-a{ada.pk}-timesheet-2026-03-po-9000.pdf"]


def test_an_invoice_email_still_waiting_goes_without_the_erased_mentees_timesheet(
        two_mentees_on_one_invoice, finance_user, mailoutbox, django_capture_on_commit_callbacks):
    from notifications.models import OutboxEmail
    from notifications.services import outbox_deliver
    from privacy.services.erasure import person_erase

    invoice, arrangements = two_mentees_on_one_invoice
    email = OutboxEmail.objects.get(key=f"invoice:{invoice.number}")
    OutboxEmail.objects.filter(pk=email.pk).update(status=OutboxEmail.Status.PENDING)  # the mail server was down
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        person_erase(kind="mentee", person_id=arrangements["Mo Mentee"].mentee_id, acting_user=finance_user,
                     reason="Their request.")
    email.refresh_from_db()
    assert [attachment["name"] for attachment in email.attachments] == [
        f"{invoice.number}.pdf", "timesheet-2026-03-po-9000.pdf"]
    assert email.status == OutboxEmail.Status.PENDING
    assert outbox_deliver(email_id=email.pk)
    (sent,) = [message for message in mailoutbox if message.to == ["invoices@sfe.example"]]
    assert [name for name, _, _ in sent.attachments] == [f"{invoice.number}.pdf", "timesheet-2026-03-po-9000.pdf"]

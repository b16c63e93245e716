"""Finance corrects an invoiced session in the admin (a credit note for its line), and Senior Leadership correct an
outcome from the SA page, in Chromium."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from invoicing.models import Invoice, SessionCreditNote
from invoicing.services import invoices_issue, month_end_generate
from sessions_app.models import AppointmentEvent, ServiceAppointment
from sessions_app.services import WrapUp, appointment_wrap_up
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, AppointmentFactory, FundingArrangementFactory


def last_months_session(mentor, mentee, arrangement):
    first = (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=6)
    start = timezone.make_aware(timezone.datetime(first.year, first.month, first.day, 10))
    appointment = AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start, ends_at=start + timedelta(hours=1))
    return appointment_wrap_up(appointment_id=appointment.pk, acting_user=mentor.user,
                               now=start + timedelta(hours=2),
                               answers=WrapUp(outcome="attended", funding_arrangement=arrangement,
                                              session_notes="Essay plan."))


def test_finance_corrects_the_funding_of_an_invoiced_session_and_a_credit_note_credits_its_line(
        page, finance_user, mentor, mentee):
    university = FundingArrangementFactory(mentee=mentee, funder__name="University of Northbridge", reference="PO-77")
    FundingArrangementFactory(mentee=mentee, funder__name="County Council", reference="CC-1",
                              hourly_rate=Decimal("50.00"))
    session = last_months_session(mentor, mentee, university)
    start = timezone.localtime(session.starts_at)
    month_end_generate(year=start.year, month=start.month)
    (invoice,) = invoices_issue(invoice_ids=list(Invoice.objects.values_list("pk", flat=True)),
                                acting_user=finance_user)

    log_in(page, finance_user.email, PASSWORD)
    page.goto(f"/admin/sessions_app/serviceappointment/{session.pk}/change/")
    page.get_by_role("link", name="Correct this wrap-up").click()
    page.get_by_role("heading", name=f"Correct the wrap-up of {session.reference}").wait_for()
    page.get_by_label("Funded by County Council, ref. CC-1").check()
    page.get_by_label("Why").fill("The council pays for this term.")
    page.get_by_role("button", name=f"Correct the wrap-up of {session.reference}").click()

    credit_note = SessionCreditNote.objects.get()
    page.get_by_text(f"{credit_note.number} credits {session.reference} on {invoice.number}").wait_for()
    page.get_by_text("Funding: Funded by University of Northbridge, ref. PO-77 → Funded by County Council, ref. CC-1",
                     exact=False).first.wait_for()
    assert credit_note.invoice_line.appointment == session


def test_senior_leadership_correct_an_outcome_from_the_sa_page(page, leader, mentor, mentee):
    university = FundingArrangementFactory(mentee=mentee)
    session = last_months_session(mentor, mentee, university)
    log_in(page, leader.email, PASSWORD)
    page.goto(session.get_absolute_url())
    page.get_by_role("link", name="Correct outcome or notes").click()
    page.get_by_label("Did not attend").check()
    page.get_by_label("Why").fill("The mentee did not come; the mentor chose Attended by mistake.")
    page.get_by_role("button", name="Correct the wrap-up").click()
    page.get_by_text(f"The wrap-up of {session.reference} is corrected.").wait_for()
    session.refresh_from_db()
    assert session.outcome == ServiceAppointment.Outcome.DID_NOT_ATTEND
    assert session.events.filter(kind=AppointmentEvent.Kind.CORRECTED, actor=leader).exists()

"""Mo Mentee's history, made through the services as it would be in use: sessions wrapped up with notes (one sent to
Finance), one cancelled with an internal note, a ticket, the attendance emails, and two month ends (March 2019, long
past its retention period, and March 2026) with their invoices, payment statements and PDFs."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from invoicing.models import Invoice, MentorPayRate, OrganisationDetails, PaymentStatement
from invoicing.services import invoice_credit, invoices_issue, month_end_generate, statements_issue
from invoicing.services.documents import statement_approve
from invoicing.services.payment_runs import payment_run_create, payment_run_mark_paid
from invoicing.services.tickets import ticket_raise
from sessions_app.models import (
    AppointmentSeries,
    CancellationReason,
    FundingArrangement,
    MentorAssignment,
    ServiceAppointment,
)
from sessions_app.services import WrapUp, appointment_cancel, appointment_wrap_up
from sessions_app.services.bank_details import bank_details_reveal, bank_details_save
from sessions_app.services.corrections import appointment_correct
from sessions_app.services.bulk import wrap_up_request_submit
from tests.factories import PASSWORD, AppointmentFactory, FundingArrangementFactory, MenteeFactory, MentorFactory

LONDON = ZoneInfo("Europe/London")
Outcome = ServiceAppointment.Outcome

# What Mo's records say, each findable anywhere it is copied.
NAME, EMAIL, PHONE = "Mo Mentee", "mo.mentee@example.org", "07700 900123"
NOTES = "Mo planned the dissertation's second chapter"
ADMIN_DETAILS = "Mo says a new purchase order is coming"
INTERNAL_NOTE = "Mo has a hospital appointment that week"
TICKET_MESSAGE = "Is Mo funded by the university this term?"
REQUEST_MESSAGE = "Mo Mentee's session went ahead but I was off sick after it"
CORRECTION_REASON = "Mo left 15 minutes early, the mentor says"
SERIES_LOCATION = "Mo's college library, room 4"
# Ann's bank accounts: the one she replaced, and the one she is paid into.
OLD_ACCOUNT, SORT_CODE, ACCOUNT = "87654321", "601613", "31926819"


@dataclass
class History:
    mentee: object
    mentor: object
    finance: object
    sessions: list = field(default_factory=list)
    cancelled: object = None
    documents: dict = field(default_factory=dict)  # "2019"/"2026" -> {"invoice": ..., "statement": ...}

    @property
    def secrets(self) -> list[str]:
        return [NAME, EMAIL, PHONE, NOTES, ADMIN_DETAILS, INTERNAL_NOTE, TICKET_MESSAGE, SERIES_LOCATION]


def _at(day: date, hour=10):
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour), LONDON)


def _wrap_up(mentor, mentee, day, arrangement, notes=NOTES, **answers):
    start = _at(day)
    appointment = AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start, ends_at=start + timedelta(hours=1))
    return appointment_wrap_up(appointment_id=appointment.pk, acting_user=mentor.user, now=start + timedelta(hours=2),
                               answers=WrapUp(outcome=Outcome.ATTENDED, funding_arrangement=arrangement,
                                              session_notes=notes, **answers))


def _month_end(year, month, finance, today, capture):
    month_end_generate(year=year, month=month, now=_at(today, 21))
    with capture(execute=True):
        invoices = invoices_issue(invoice_ids=list(Invoice.objects.filter(status="draft").values_list("pk", flat=True)),
                                  acting_user=finance, today=today)
        statements = statements_issue(
            statement_ids=list(PaymentStatement.objects.filter(status="draft").values_list("pk", flat=True)),
            acting_user=finance, today=today)
    for document in (*invoices, *statements):
        document.refresh_from_db()
        assert document.pdf, f"{document} has no PDF"
    return {"invoices": invoices, "statements": statements}


@pytest.fixture
def mo(db, finance_user, leader, django_capture_on_commit_callbacks) -> History:
    mentee = MenteeFactory(full_name=NAME, email=EMAIL, phone=PHONE, address="1 Mentee Lane\nLeeds\nLS1 1AA")
    mentor = MentorFactory(user__full_name="Ann Mentor", user__email="ann@example.com",
                           address="2 Mentor Road\nYork\nYO1 1AA")
    self_funded = FundingArrangementFactory(mentee=mentee, self_funded=True, valid_from=date(2018, 1, 1))
    history = History(mentee=mentee, mentor=mentor, finance=finance_user)

    # March 2019: long past HMRC's six years (its year ended 5 April 2019, kept until 5 April 2025).
    history.sessions.append(_wrap_up(mentor, mentee, date(2019, 3, 4), self_funded))
    history.documents["2019"] = _month_end(2019, 3, finance_user, date(2019, 3, 31), django_capture_on_commit_callbacks)

    # March 2026: kept until 5 April 2032.
    funded = FundingArrangementFactory(mentee=mentee, valid_from=date(2026, 3, 10), funder__name="Leeds University")
    history.sessions.append(_wrap_up(mentor, mentee, date(2026, 3, 3), self_funded))
    history.sessions.append(_wrap_up(mentor, mentee, date(2026, 3, 12), funded))
    with django_capture_on_commit_callbacks(execute=True):
        history.sessions.append(_wrap_up(mentor, mentee, date(2026, 3, 17), None, admin_details=ADMIN_DETAILS))
    future = AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=_at(date(2026, 3, 27)))
    with django_capture_on_commit_callbacks(execute=True):
        history.cancelled = appointment_cancel(
            appointment_id=future.pk, acting_user=mentor.user, now=_at(date(2026, 3, 20)),
            reason=CancellationReason.objects.filter(is_active=True).first(), internal_note=INTERNAL_NOTE)
        ticket_raise(raised_by=mentor.user, subject="Mo's funding", message=TICKET_MESSAGE,
                     appointment=history.sessions[1])
    history.documents["2026"] = _month_end(2026, 3, finance_user, date(2026, 3, 31), django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        history.documents["2026"]["credit note"] = invoice_credit(
            invoice_id=Invoice.objects.get(mentee=mentee, period_start=date(2026, 3, 1)).pk, acting_user=finance_user,
            reason=f"{NAME} was charged for a session the university funds.", today=date(2026, 4, 2))
    # A session still to wrap up, which the mentor asks Senior Leadership to do (they email them about it).
    waiting = AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=_at(date(2026, 4, 14)))
    with django_capture_on_commit_callbacks(execute=True):
        wrap_up_request_submit(mentor=mentor, acting_user=mentor.user, items=[(waiting.pk, Outcome.ATTENDED)],
                               message=REQUEST_MESSAGE, now=_at(date(2026, 4, 15)))
    history.sessions.append(waiting)
    MentorPayRate.objects.create(mentor=mentor, hourly_rate="32.00", valid_from=date(2026, 4, 1))
    _assignment_series_and_pay(history, django_capture_on_commit_callbacks)
    # The mentor logs in, and later mistypes their password.
    Client().post(reverse("login"), {"username": "ann@example.com", "password": PASSWORD})
    Client().post(reverse("login"), {"username": "ann@example.com", "password": "wrong"})
    assert FundingArrangement.objects.filter(mentee=mentee).count() == 2
    return history


def _assignment_series_and_pay(history, capture):
    """Mo is assigned to Ann with a fortnightly series (long over); Finance corrects the funded session of 12 March
    after it was invoiced and paid (a credit note for its line, an adjustment on Ann's pay); Ann's bank details,
    changed once and seen in full by Finance; a payment run paying her March 2026 statement."""
    mentee, mentor, finance = history.mentee, history.mentor, history.finance
    MentorAssignment.objects.create(mentor=mentor, mentee=mentee, assigned_by=finance)
    AppointmentSeries.objects.create(mentor=mentor, mentee=mentee, interval_weeks=2, first_date=date(2026, 1, 5),
                                     count=3, start_time=time(16), booked_minutes=60, mode="in_person",
                                     location=SERIES_LOCATION, created_by=finance)
    with capture(execute=True):
        appointment_correct(appointment_id=history.sessions[2].pk, acting_user=finance, reason=CORRECTION_REASON,
                            actual_minutes=45, now=_at(date(2026, 4, 3)))
    bank_details_save(mentor=mentor, acting_user=mentor.user, account_name="A Mentor", sort_code=SORT_CODE,
                      account_number=OLD_ACCOUNT)
    details = bank_details_save(mentor=mentor, acting_user=mentor.user, account_name="A Mentor", sort_code=SORT_CODE,
                                account_number=ACCOUNT)
    bank_details_reveal(details=[details], viewer=finance, purpose="checking a payment")
    OrganisationDetails.objects.filter(pk=1).update(payer_account_name="Mentoring", payer_sort_code="400102",
                                                    payer_account_number="11223344")
    statement = history.documents["2026"]["statements"][0]
    statement_approve(statement_ids=[statement.pk], acting_user=finance)
    run = payment_run_create(statement_ids=[statement.pk], acting_user=finance, payment_date=date(2026, 4, 9),
                             today=date(2026, 4, 6))
    with capture(execute=True):
        payment_run_mark_paid(run_id=run.pk, acting_user=finance)
    history.documents["2026"]["payment run"] = run

"""Every service checks its own input and refuses with the message a user would read, whoever calls it (a view, the
admin, a task, a shell): nothing relies on a form having checked first, or on a database constraint to catch it."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.formats import date_format

from invoicing.models import CreditNote, FinanceTicket, Invoice
from invoicing.services import invoice_credit, ticket_raise, ticket_reply
from sessions_app.models import AppointmentEvent, CancellationReason, ServiceAppointment, WrapUpRequest
from sessions_app.services import (
    WrapUp,
    appointment_cancel,
    appointment_finance_complete,
    appointment_wrap_up,
    appointments_wrap_up_for_mentor,
    wrap_up_request_submit,
)
from tests.factories import AppointmentFactory, FundingArrangementFactory, MenteeFactory

Status, Outcome = ServiceAppointment.Status, ServiceAppointment.Outcome


def refusal(call) -> dict | list:
    with pytest.raises(ValidationError) as error:
        call()
    return error.value.message_dict if hasattr(error.value, "error_dict") else error.value.messages


def unchanged(appointment: ServiceAppointment, status=Status.SCHEDULED) -> bool:
    appointment.refresh_from_db()
    return appointment.status == status and not AppointmentEvent.objects.filter(
        appointment=appointment).exclude(kind=AppointmentEvent.Kind.BOOKED).exists()


@pytest.fixture
def funded(past_appointment):
    return FundingArrangementFactory(mentee=past_appointment.mentee, hourly_rate=Decimal("55.00"))


class TestWrapUp:
    def wrap_up(self, appointment, user, **answers):
        return appointment_wrap_up(appointment_id=appointment.pk, acting_user=user, answers=WrapUp(**answers))

    def test_missing_funding_without_admin_details_is_refused_with_the_reason(self, mentor, past_appointment):
        errors = refusal(lambda: self.wrap_up(past_appointment, mentor.user, outcome=Outcome.ATTENDED,
                                              session_notes="Went well.", actual_minutes=60, admin_details="  "))
        assert errors == {"admin_details": [
            "The funding type is missing: explain in Admin Details what is missing, so Finance can add it and wrap "
            "up the session."]}
        assert unchanged(past_appointment) and not FinanceTicket.objects.exists()

    @pytest.mark.parametrize("minutes, message", [
        (4, "The actual duration must be at least 5 minutes."),
        (481, "The actual duration cannot be more than 8 hours (480 minutes)."),
    ])
    def test_a_duration_out_of_bounds_is_refused(self, mentor, past_appointment, funded, minutes, message):
        errors = refusal(lambda: self.wrap_up(past_appointment, mentor.user, outcome=Outcome.ATTENDED,
                                              funding_arrangement=funded, session_notes="x", actual_minutes=minutes))
        assert errors == {"actual_minutes": [message]}
        assert unchanged(past_appointment)

    @pytest.mark.parametrize("outcome, message", [
        ("cancelled", "Only Senior Leadership or Finance can record that a session did not take place."),
        ("maybe", "Choose what happened in the session."),
    ])
    def test_an_outcome_the_mentor_may_not_record_is_refused(self, mentor, past_appointment, funded, outcome,
                                                             message):
        errors = refusal(lambda: self.wrap_up(past_appointment, mentor.user, outcome=outcome,
                                              funding_arrangement=funded, session_notes="x", actual_minutes=60))
        assert errors == {"outcome": [message]}
        assert unchanged(past_appointment)

    def test_another_mentees_funding_is_refused(self, mentor, past_appointment):
        theirs = FundingArrangementFactory(mentee=MenteeFactory(full_name="Someone Else"))
        errors = refusal(lambda: self.wrap_up(past_appointment, mentor.user, outcome=Outcome.ATTENDED,
                                              funding_arrangement=theirs, session_notes="x", actual_minutes=60))
        day = date_format(timezone.localdate(past_appointment.starts_at), "j F Y")
        assert errors == {"funding_arrangement": [f"That funding arrangement does not apply to Mo Mentee on {day}."]}
        assert unchanged(past_appointment)


def test_cancel_without_a_reason_or_a_note_is_refused(mentor, future_appointment):
    retired = CancellationReason.objects.create(label="Old reason", is_active=False)
    errors = refusal(lambda: appointment_cancel(appointment_id=future_appointment.pk, acting_user=mentor.user,
                                                reason=retired, internal_note=" \n "))
    assert errors == {
        "reason": ["Choose a cancellation reason from the list."],
        "internal_note": ["Add an internal cancellation note (it is not shared in any attendance emails)."],
    }
    assert unchanged(future_appointment)


def test_finance_completing_without_funding_or_a_reply_is_refused(mentor, finance_user, past_appointment):
    appointment_wrap_up(appointment_id=past_appointment.pk, acting_user=mentor.user,
                        answers=WrapUp(outcome=Outcome.ATTENDED, session_notes="x", actual_minutes=60,
                                       admin_details="Which funder?"))
    errors = refusal(lambda: appointment_finance_complete(appointment_id=past_appointment.pk, acting_user=finance_user,
                                                          funding_arrangement=None, reply=""))
    assert errors == {
        "funding_arrangement": ["Choose the funding arrangement that applies to this session."],
        "reply": ["Write a reply for the person who wrapped up the session."],
    }
    past_appointment.refresh_from_db()
    assert past_appointment.status == Status.AWAITING_FINANCE
    assert FinanceTicket.objects.get().status == FinanceTicket.Status.OPEN


def test_a_ticket_without_a_subject_or_message_is_refused(mentor):
    errors = refusal(lambda: ticket_raise(raised_by=mentor.user, subject=" ", message=""))
    assert errors == {"subject": ["Give the ticket a subject."], "message": ["Tell Finance what you need."]}
    assert not FinanceTicket.objects.exists()


def test_a_blank_reply_to_a_ticket_is_refused(mentor, finance_user):
    ticket = ticket_raise(raised_by=mentor.user, subject="Which funder?", message="Not sure.")
    errors = refusal(lambda: ticket_reply(ticket_id=ticket.pk, acting_user=finance_user, reply="\n"))
    assert errors == {"reply": ["Write a reply before closing the ticket."]}
    ticket.refresh_from_db()
    assert ticket.status == FinanceTicket.Status.OPEN and ticket.reply == ""


def test_crediting_without_a_reason_or_a_draft_is_refused(finance_user, mentor, funded, past_appointment):
    from invoicing.services import invoices_issue, month_end_generate

    appointment_wrap_up(appointment_id=past_appointment.pk, acting_user=mentor.user,
                        answers=WrapUp(outcome=Outcome.ATTENDED, funding_arrangement=funded, session_notes="x",
                                       actual_minutes=60))
    start = timezone.localdate(past_appointment.starts_at)
    month_end_generate(year=start.year, month=start.month)
    draft = Invoice.objects.get()
    assert refusal(lambda: invoice_credit(invoice_id=draft.pk, acting_user=finance_user, reason="Wrong PO")) == [
        "A draft invoice has not been issued, so it needs no credit note."]
    invoices_issue(invoice_ids=[draft.pk], acting_user=finance_user)
    assert refusal(lambda: invoice_credit(invoice_id=draft.pk, acting_user=finance_user, reason="  ")) == {
        "reason": ["Say why the invoice is being credited."]}
    draft.refresh_from_db()
    assert draft.status == Invoice.Status.ISSUED and not CreditNote.objects.exists()


class TestRequestsAndLists:
    def test_a_wrap_up_request_with_nothing_chosen_is_refused(self, mentor, past_appointment):
        assert refusal(lambda: wrap_up_request_submit(mentor=mentor, acting_user=mentor.user,
                                                      items=[(past_appointment.pk, "")], message="")) == [
            "Choose the status of at least one session, so Senior Leadership know what happened."]
        assert not WrapUpRequest.objects.exists()

    def test_a_wrap_up_request_for_a_session_not_started_or_not_theirs_is_refused(self, mentor, other_mentor,
                                                                                  future_appointment):
        theirs = AppointmentFactory(mentor=other_mentor, starts_at=timezone.now() - timedelta(hours=3),
                                    ends_at=timezone.now() - timedelta(hours=2))
        assert refusal(lambda: wrap_up_request_submit(
            mentor=mentor, acting_user=mentor.user, message="",
            items=[(future_appointment.pk, "attended"), (theirs.pk, "attended")])) == [
            f"{future_appointment.reference} has not started yet, so there is nothing to wrap up. If it will not "
            "take place, cancel it instead.",
            "One of the sessions you chose is not one of your sessions."]
        assert not WrapUpRequest.objects.exists()

    def test_someone_else_sending_a_mentors_request_is_refused(self, mentor, leader, past_appointment):
        with pytest.raises(PermissionDenied, match="Only the mentor can send Senior Leadership a request"):
            wrap_up_request_submit(mentor=mentor, acting_user=leader, items=[(past_appointment.pk, "attended")],
                                   message="")
        assert not WrapUpRequest.objects.exists()

    def test_a_mentor_cannot_wrap_up_from_a_mentors_list(self, mentor, past_appointment):
        with pytest.raises(PermissionDenied, match="Only Senior Leadership or Finance can wrap up sessions"):
            appointments_wrap_up_for_mentor(mentor=mentor, acting_user=mentor.user,
                                            choices=[(past_appointment.pk, "attended", "x")])
        assert unchanged(past_appointment)

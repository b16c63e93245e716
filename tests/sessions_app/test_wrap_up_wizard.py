from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone

from invoicing.models import FinanceTicket
from sessions_app.models import AppointmentEvent, ServiceAppointment
from tests.factories import AppointmentFactory, FundingArrangementFactory
from tests.sessions_app.wizard import WrapUpDriver

Status = ServiceAppointment.Status


@pytest.fixture
def funded(mentee):
    return FundingArrangementFactory(mentee=mentee, funder__name="Student Finance England", reference="SFE-42")


@pytest.fixture
def self_funded(mentee):
    return FundingArrangementFactory(mentee=mentee, self_funded=True)


def test_one_funding_option_is_chosen_already_and_the_session_completes(mentor_client, past_appointment, funded):
    wizard = WrapUpDriver(mentor_client, past_appointment)
    wizard.start()
    response = wizard.post("outcome", outcome="attended")
    assert wizard.current_step(response) == "funding"
    html = response.content.decode()
    assert "There is one funding arrangement for Mo Mentee on this date, so it is chosen already." in html
    assert response.context["form"].initial["funding"] == str(funded.pk)
    assert "Student Finance England" in html and "ref. SFE-42" in html
    assert "log a ticket with Finance" in html

    response = wizard.post("funding", funding=str(funded.pk))
    assert response.context["form"].initial["actual_minutes"] == 60
    response = wizard.post("notes", session_notes="Essay structure and referencing.", actual_minutes=50)
    review = response.content.decode()
    assert "Attended" in review and "Funded by Student Finance England, ref. SFE-42" in review and "50 minutes" in review

    response = wizard.post("review", admin_details="")
    assert response.status_code == 302 and response.url == past_appointment.get_absolute_url()
    past_appointment.refresh_from_db()
    assert past_appointment.status == Status.COMPLETED
    assert past_appointment.outcome == "attended"
    assert past_appointment.funding_arrangement == funded
    assert past_appointment.actual_minutes == 50
    assert past_appointment.session_notes == "Essay structure and referencing."
    assert past_appointment.wrapped_up_by == past_appointment.mentor.user

    page = mentor_client.get(response.url).content.decode()
    assert f"{past_appointment.reference} is wrapped up. The session record is complete." in page
    assert "Wrap Up Session" not in page.split("<main")[1].split('id="details"')[0]
    event = past_appointment.events.get(kind=AppointmentEvent.Kind.WRAPPED_UP)
    assert event.actor == past_appointment.mentor.user and event.on_behalf_of is None


def test_several_options_the_mentor_picks_the_matching_one(mentor_client, past_appointment, funded, self_funded):
    wizard = WrapUpDriver(mentor_client, past_appointment)
    wizard.start()
    response = wizard.post("outcome", outcome="attended")
    html = response.content.decode()
    assert "more than one funding arrangement on this date" in html
    assert "funding" not in response.context["form"].initial
    assert "Self-funded" in html and "Student Finance England" in html
    assert wizard.run(funding=str(self_funded.pk)).status_code == 302
    past_appointment.refresh_from_db()
    assert past_appointment.funding_arrangement == self_funded and past_appointment.status == Status.COMPLETED


def test_no_funding_says_it_is_missing_and_admin_details_are_required(mentor_client, past_appointment):
    wizard = WrapUpDriver(mentor_client, past_appointment)
    wizard.start()
    response = wizard.post("outcome", outcome="attended")
    assert "The funding information is missing." in response.content.decode()
    response = wizard.post("funding")  # Next moves on
    assert wizard.current_step(response) == "notes"
    response = wizard.post("notes", session_notes="Revision plan.", actual_minutes=60)
    assert "Missing" in response.content.decode()

    response = wizard.post("review", admin_details="")
    assert wizard.current_step(response) == "review"
    assert ("Something is missing (the funding type): explain the issue in Admin Details so Finance can sort it out."
            in response.content.decode())
    past_appointment.refresh_from_db()
    assert past_appointment.status == Status.SCHEDULED

    response = wizard.post("review", admin_details="Mentee says the university pays now; no PO yet.")
    past_appointment.refresh_from_db()
    assert past_appointment.status == Status.AWAITING_FINANCE
    assert past_appointment.funding_arrangement is None
    ticket = FinanceTicket.objects.get(appointment=past_appointment)
    assert ticket.message == "Mentee says the university pays now; no PO yet."
    assert ticket.kind == FinanceTicket.Kind.MISSING_INFORMATION and ticket.status == FinanceTicket.Status.OPEN
    page = mentor_client.get(response.url).content.decode()
    assert "is wrapped up and with Finance" in page and "Awaiting Finance" in page


def test_not_sure_among_options_goes_to_finance(mentor_client, past_appointment, funded, self_funded):
    assert WrapUpDriver(mentor_client, past_appointment).run(funding="missing", admin_details="Which one?").status_code == 302
    past_appointment.refresh_from_db()
    assert past_appointment.status == Status.AWAITING_FINANCE


def test_funding_valid_on_another_date_is_not_offered(mentor_client, mentee, mentor):
    day = timezone.localdate() - timedelta(days=2)
    start = timezone.make_aware(datetime.combine(day, time(10)))
    appointment = AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start, ends_at=start + timedelta(hours=1))
    FundingArrangementFactory(mentee=mentee, valid_from=day - timedelta(days=365), valid_until=day - timedelta(days=1))
    current = FundingArrangementFactory(mentee=mentee, valid_from=day)
    FundingArrangementFactory(mentee=mentee, valid_from=day + timedelta(days=1))
    wizard = WrapUpDriver(mentor_client, appointment)
    wizard.start()
    response = wizard.post("outcome", outcome="attended")
    assert list(response.context["form"].options) == [str(current.pk)]


def test_attended_needs_notes_and_a_duration_within_bounds(mentor_client, past_appointment, funded):
    wizard = WrapUpDriver(mentor_client, past_appointment)
    wizard.start()
    wizard.post("outcome", outcome="attended")
    wizard.post("funding", funding=str(funded.pk))
    errors = wizard.post("notes", session_notes="  ", actual_minutes=60).context["form"].errors
    assert errors["session_notes"] == ["Tell us what was covered in the session."]
    errors = wizard.post("notes", session_notes="x", actual_minutes=2).context["form"].errors
    assert errors["actual_minutes"] == ["The actual duration must be at least 5 minutes."]
    errors = wizard.post("notes", session_notes="x", actual_minutes=481).context["form"].errors
    assert errors["actual_minutes"] == ["The actual duration cannot be more than 8 hours (480 minutes)."]
    errors = wizard.post("notes", session_notes="x", actual_minutes="an hour").context["form"].errors
    assert errors["actual_minutes"] == ["Enter the actual duration as a whole number of minutes."]
    errors = wizard.post("notes", session_notes="x", actual_minutes="").context["form"].errors
    assert errors["actual_minutes"] == ["Enter how long the session actually lasted, in minutes."]


def test_did_not_attend_needs_no_notes(mentor_client, past_appointment, funded):
    assert WrapUpDriver(mentor_client, past_appointment).run(outcome="did_not_attend", funding=str(funded.pk), notes="").status_code == 302
    past_appointment.refresh_from_db()
    assert (past_appointment.status, past_appointment.outcome) == (Status.COMPLETED, "did_not_attend")
    assert past_appointment.actual_minutes is None


def test_late_notice_cancellation_can_be_chosen_in_advance(mentor_client, past_appointment, funded):
    wizard = WrapUpDriver(mentor_client, past_appointment)
    response = wizard.start(outcome="late_cancellation")
    assert response.context["form"].initial == {"outcome": "late_cancellation"}
    assert wizard.run(outcome="late_cancellation", funding=str(funded.pk), notes="").status_code == 302
    past_appointment.refresh_from_db()
    assert past_appointment.outcome == "late_cancellation" and past_appointment.status == Status.COMPLETED


def test_mentors_cannot_record_cancelled(mentor_client, past_appointment):
    wizard = WrapUpDriver(mentor_client, past_appointment)
    response = wizard.start()
    assert "cancelled" not in dict(response.context["form"].fields["outcome"].choices)
    response = wizard.post("outcome", outcome="cancelled")
    assert response.context["form"].errors["outcome"][0].startswith("Select a valid choice.")


def test_senior_leadership_records_cancelled_on_the_mentors_behalf(leader_client, leader, past_appointment, funded):
    wizard = WrapUpDriver(leader_client, past_appointment)
    wizard.start()
    response = wizard.post("outcome", outcome="cancelled")
    assert wizard.current_step(response) == "notes"  # no funding step: a session that did not happen is not billed
    wizard.post("notes", session_notes="Mentee was in hospital.")
    response = wizard.post("review", admin_details="")
    past_appointment.refresh_from_db()
    assert (past_appointment.status, past_appointment.outcome) == (Status.COMPLETED, "cancelled")
    assert past_appointment.wrapped_up_by == leader
    event = past_appointment.events.get(kind=AppointmentEvent.Kind.WRAPPED_UP)
    assert event.actor == leader and event.on_behalf_of == past_appointment.mentor.user
    page = leader_client.get(response.url).content.decode()
    assert "Lee Leader on behalf of Ann Mentor" in page
    assert "by Lee Leader on behalf of Ann Mentor" in page.split('id="history"')[1]


def test_back_keeps_answers(mentor_client, past_appointment, funded):
    wizard = WrapUpDriver(mentor_client, past_appointment)
    wizard.start()
    wizard.post("outcome", outcome="attended")
    wizard.post("funding", funding=str(funded.pk))
    response = wizard.back("notes", "funding", session_notes="Half-typed notes", actual_minutes=45)
    assert wizard.current_step(response) == "funding"
    assert response.context["form"]["funding"].value() == str(funded.pk)
    response = wizard.back("funding", "outcome", funding=str(funded.pk))
    assert response.context["form"]["outcome"].value() == "attended"
    wizard.post("outcome", outcome="attended")
    response = wizard.post("funding", funding=str(funded.pk))
    assert response.context["form"]["session_notes"].value() == "Half-typed notes"
    assert response.context["form"]["actual_minutes"].value() == "45"


def test_review_change_link_goes_back_to_that_step(mentor_client, past_appointment, funded):
    wizard = WrapUpDriver(mentor_client, past_appointment)
    wizard.start()
    wizard.post("outcome", outcome="attended")
    wizard.post("funding", funding=str(funded.pk))
    wizard.post("notes", session_notes="Notes", actual_minutes=60)
    response = wizard.back("review", "outcome", admin_details="")
    assert wizard.current_step(response) == "outcome"


def test_second_submit_never_records_twice(mentor_client, past_appointment, funded):
    wizard = WrapUpDriver(mentor_client, past_appointment)
    wizard.run(funding=str(funded.pk))
    response = wizard.post("review", admin_details="")
    assert response.status_code == 302
    page = mentor_client.get(response.url).content.decode()
    assert f"{past_appointment.reference} was already wrapped up by Ann Mentor on" in page
    assert past_appointment.events.filter(kind=AppointmentEvent.Kind.WRAPPED_UP).count() == 1


def test_someone_else_wrapped_up_meanwhile(mentor_client, client, leader, past_appointment, funded):
    from django.test import Client

    mine = WrapUpDriver(mentor_client, past_appointment)
    mine.start()
    mine.post("outcome", outcome="attended")
    mine.post("funding", funding=str(funded.pk))
    mine.post("notes", session_notes="Notes", actual_minutes=60)

    leader_browser = Client()
    leader_browser.force_login(leader)
    assert WrapUpDriver(leader_browser, past_appointment).run(funding=str(funded.pk)).status_code == 302

    response = mine.post("review", admin_details="")
    page = mentor_client.get(response.url).content.decode()
    assert f"{past_appointment.reference} was already wrapped up by Lee Leader on" in page
    past_appointment.refresh_from_db()
    assert past_appointment.wrapped_up_by == leader


def test_wrap_up_is_refused_before_the_session_starts(mentor_client, future_appointment):
    response = WrapUpDriver(mentor_client, future_appointment).start()
    assert response.status_code == 302 and response.url == future_appointment.get_absolute_url()
    page = mentor_client.get(response.url).content.decode()
    start = timezone.localtime(future_appointment.starts_at)
    assert (f"{future_appointment.reference} has not started yet. You can wrap it up from "
            f"{start:%A} {start.day} {start:%B %Y} at {start:%H:%M}.") in page
    future_appointment.refresh_from_db()
    assert future_appointment.status == Status.SCHEDULED and future_appointment.wrapped_up_by is None


def test_ticket_from_the_funding_step_returns_to_the_wizard_with_answers_kept(mentor_client, past_appointment, funded, self_funded):
    wizard = WrapUpDriver(mentor_client, past_appointment)
    wizard.start()
    response = wizard.post("outcome", outcome="attended")
    ticket_url = response.context["ticket_url"]
    form_page = mentor_client.get(ticket_url)
    assert form_page.context["form"].initial["subject"] == f"{past_appointment.reference}: which funding applies?"
    response = mentor_client.post(ticket_url, {"subject": "Which funding?", "message": "Two arrangements, which one?"})
    assert response.status_code == 302 and response.url == f"{wizard.url}?resume=1"
    ticket = FinanceTicket.objects.get()
    assert (ticket.appointment, ticket.raised_by, ticket.kind) == (past_appointment, past_appointment.mentor.user, "question")
    resumed = mentor_client.get(response.url)
    assert wizard.current_step(resumed) == "funding"
    assert "Your ticket is with Finance" in resumed.content.decode()


def test_ticket_needs_a_subject_and_a_message(mentor_client, past_appointment):
    response = mentor_client.post(f"/appointments/{past_appointment.reference}/ticket/", {"subject": "", "message": ""})
    assert response.context["form"].errors == {"subject": ["Give the ticket a subject."], "message": ["Tell Finance what you need."]}
    assert not FinanceTicket.objects.exists()


def test_ticket_ignores_a_next_address_on_another_site(mentor_client, past_appointment):
    response = mentor_client.post(f"/appointments/{past_appointment.reference}/ticket/?next=https://evil.example/",
                                  {"subject": "s", "message": "m"})
    assert response.url == past_appointment.get_absolute_url()


def test_each_step_costs_the_same_queries_however_much_history_there_is(mentor_client, mentor, mentee,
                                                                         past_appointment, funded, self_funded):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_per_step():
        wizard = WrapUpDriver(mentor_client, past_appointment)
        counts = []
        for step in (lambda: wizard.start(),
                     lambda: wizard.post("outcome", outcome="attended"),
                     lambda: wizard.post("funding", funding=str(funded.pk)),
                     lambda: wizard.post("notes", session_notes="Notes", actual_minutes=60)):
            with CaptureQueriesContext(connection) as queries:
                assert step().status_code == 200
            counts.append(len(queries))
        return counts

    few = queries_per_step()
    start = past_appointment.starts_at
    for week in range(1, 31):  # thirty more sessions with the same mentee, and their funding history
        AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start - timedelta(weeks=week),
                           ends_at=start - timedelta(weeks=week) + timedelta(hours=1))
        FundingArrangementFactory(mentee=mentee, valid_from=date(2019, 1, 1), valid_until=date(2019, 12, 31))
    many = queries_per_step()
    assert few == many and max(many) <= 10


def test_someone_acting_for_the_mentor_is_told_whom_they_wrap_up_for(leader_client, mentee):
    from tests.factories import MentorFactory

    amelia = MentorFactory(user__full_name="Amelia Hart")
    start = timezone.now().replace(microsecond=0) - timedelta(hours=3)
    appointment = AppointmentFactory(mentor=amelia, mentee=mentee, starts_at=start, ends_at=start + timedelta(hours=1))
    wizard = WrapUpDriver(leader_client, appointment)
    said = "You are wrapping up for Amelia Hart. It will be recorded as done by you on their behalf."
    assert said in wizard.start().content.decode()
    assert said in wizard.post("outcome", outcome="attended").content.decode()


def test_the_mentor_wrapping_up_their_own_session_is_not_told_they_act_for_anyone(mentor_client, past_appointment):
    assert "You are wrapping up for" not in WrapUpDriver(mentor_client, past_appointment).start().content.decode()


@pytest.mark.parametrize("client_fixture, sees_rates", [
    ("mentor_client", False), ("leader_client", False), ("finance_client", True)])
def test_only_finance_sees_a_funders_charge_rate_and_authorised_hours_in_the_funding_step(
        request, client_fixture, sees_rates, past_appointment, mentee):
    FundingArrangementFactory(mentee=mentee, funder__name="Student Finance England", reference="SFE-42",
                              hourly_rate="57.50", hours_allowance="12.00")
    wizard = WrapUpDriver(request.getfixturevalue(client_fixture), past_appointment)
    wizard.start()
    html = wizard.post("outcome", outcome="attended").content.decode()
    assert "Student Finance England" in html and "ref. SFE-42" in html
    assert ("£57.50 an hour" in html) is sees_rates
    assert ("12.00 hours authorised" in html) is sees_rates

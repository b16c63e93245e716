"""Senior Leadership correct a session's outcome or notes from its SA page (they have no admin)."""

import html

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from notifications.models import OutboxEmail
from sessions_app.models import AppointmentEvent, ServiceAppointment
from sessions_app.services import WrapUp, appointment_wrap_up
from tests.factories import FundingArrangementFactory

Outcome = ServiceAppointment.Outcome


@pytest.fixture
def wrapped_up(mentor, past_appointment):
    arrangement = FundingArrangementFactory(mentee=past_appointment.mentee)
    appointment_wrap_up(appointment_id=past_appointment.pk, acting_user=mentor.user, answers=WrapUp(
        outcome=Outcome.ATTENDED, funding_arrangement=arrangement, session_notes="Went well."))
    past_appointment.refresh_from_db()
    return past_appointment


def url(appointment):
    return reverse("appointment-correct", args=[appointment.reference])


def said(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_senior_leadership_find_it_on_the_sa_page_and_correct_the_outcome(leader_client, leader, wrapped_up):
    page = leader_client.get(wrapped_up.get_absolute_url()).content.decode()
    assert f'href="{url(wrapped_up)}">Correct outcome or notes</a>' in page
    page = leader_client.get(url(wrapped_up)).content.decode()
    assert "Wrapped up as <strong>Attended</strong> by Ann Mentor." in page
    response = leader_client.post(url(wrapped_up), {"outcome": Outcome.DID_NOT_ATTEND, "session_notes": "No show.",
                                                    "reason": "The mentor chose the wrong outcome."})
    assert response.url == wrapped_up.get_absolute_url()
    assert said(response) == [f"The wrap-up of {wrapped_up.reference} is corrected."]
    wrapped_up.refresh_from_db()
    assert (wrapped_up.outcome, wrapped_up.session_notes) == (Outcome.DID_NOT_ATTEND, "No show.")
    event = wrapped_up.events.get(kind=AppointmentEvent.Kind.CORRECTED)
    assert event.actor == leader
    page = leader_client.get(wrapped_up.get_absolute_url()).content.decode()
    assert "Outcome: Attended → Did not attend" in page and "Why: The mentor chose the wrong outcome." in page
    assert OutboxEmail.objects.filter(kind="attendance_correction", to=[wrapped_up.mentee.email]).exists()


def test_the_form_says_what_is_missing_and_changes_nothing(leader_client, wrapped_up):
    response = leader_client.post(url(wrapped_up), {"outcome": "", "session_notes": "x", "reason": ""})
    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert "Choose what happened in the session." in page
    assert "Say why the wrap-up is being corrected: it is kept in the session's history." in page
    response = leader_client.post(url(wrapped_up), {"outcome": Outcome.ATTENDED, "session_notes": "Went well.",
                                                    "reason": "Checking."})
    assert "Nothing was changed" in response.content.decode()
    assert not wrapped_up.events.filter(kind=AppointmentEvent.Kind.CORRECTED).exists()


def test_mentors_do_not_see_it_and_cannot_open_it(mentor_client, wrapped_up):
    assert "Correct outcome or notes" not in mentor_client.get(wrapped_up.get_absolute_url()).content.decode()
    assert mentor_client.get(url(wrapped_up)).status_code == 404


def test_a_session_not_wrapped_up_sends_them_back_with_why(leader_client, future_appointment):
    assert "Correct outcome or notes" not in leader_client.get(future_appointment.get_absolute_url()).content.decode()
    response = leader_client.get(url(future_appointment))
    assert response.url == future_appointment.get_absolute_url()
    assert said(response) == [f"{future_appointment.reference} is not wrapped up yet, so there is nothing to correct: "
                              "use Wrap Up Session."]

"""A late-notice cancellation asks for the reason (shared) and the internal note (never shared) on every path:
the wizard, Senior Leadership's list of a mentor's sessions, and the mentor's request to Senior Leadership."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import CancellationReason, ServiceAppointment, WrapUpRequest
from sessions_app.services import StatusChoice, WrapUp, appointment_wrap_up, appointments_wrap_up_for_mentor
from tests.factories import AppointmentFactory, FundingArrangementFactory

Status, Outcome = ServiceAppointment.Status, ServiceAppointment.Outcome
REQUEST_URL = "/wrap-up-request/"
NOTE = "Mum rang at 9, INTERNAL xyz"


def started(mentor, hours=5):
    start = timezone.now().replace(microsecond=0) - timedelta(hours=hours)
    appointment = AppointmentFactory(mentor=mentor, starts_at=start, ends_at=start + timedelta(hours=1))
    FundingArrangementFactory(mentee=appointment.mentee)
    return appointment


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def unwell():
    return CancellationReason.objects.get(label="Mentee unwell")


def list_url(mentor):
    return reverse("mentor-wrap-up", args=[mentor.pk])


class TestTheServiceAsksForBoth:
    def test_a_late_notice_cancellation_after_the_start_without_reason_or_note_is_refused(self, mentor):
        appointment = started(mentor)
        with pytest.raises(ValidationError) as refused:
            appointment_wrap_up(appointment_id=appointment.pk, acting_user=mentor.user,
                                answers=WrapUp(outcome=Outcome.LATE_CANCELLATION))
        assert {"cancellation_reason", "cancellation_note"} <= set(refused.value.message_dict)
        appointment.refresh_from_db()
        assert appointment.status == Status.SCHEDULED

    def test_senior_leaderships_batch_reports_a_row_without_them_and_leaves_it(self, mentor, leader):
        appointment = started(mentor)
        result = appointments_wrap_up_for_mentor(
            mentor=mentor, acting_user=leader, choices=[StatusChoice(appointment.pk, Outcome.LATE_CANCELLATION)])
        assert result.rows[0].summary == (
            "not changed: Choose a cancellation reason from the list. "
            "Add an internal cancellation note (it is not shared in any attendance emails).")
        appointment.refresh_from_db()
        assert appointment.status == Status.SCHEDULED


class TestSeniorLeadershipsList:
    def test_the_page_asks_for_the_reason_and_note_of_each_session(self, leader, mentor):
        appointment = started(mentor)
        html = logged_in(leader).get(list_url(mentor)).content.decode()
        assert f'<label for="id_reason_{appointment.pk}">Cancellation reason for {appointment.reference}</label>' in html
        assert f'<label for="id_internal_note_{appointment.pk}">Internal cancellation note for {appointment.reference}' in html
        assert ">Mentee unwell</option>" in html

    def test_late_notice_without_reason_or_note_is_refused_with_both_errors_and_nothing_changes(self, leader, mentor):
        appointment = started(mentor)
        response = logged_in(leader).post(list_url(mentor), {f"outcome_{appointment.pk}": Outcome.LATE_CANCELLATION,
                                                             f"internal_note_{appointment.pk}": "   "})
        assert response.status_code == 200
        form = response.context["form"]
        assert form.errors[f"reason_{appointment.pk}"] == ["Choose a cancellation reason from the list."]
        assert form.errors[f"internal_note_{appointment.pk}"] == [
            "Add an internal cancellation note (it is not shared in any attendance emails)."]
        appointment.refresh_from_db()
        assert appointment.status == Status.SCHEDULED

    def test_a_reason_that_is_not_on_the_list_is_refused(self, leader, mentor):
        appointment = started(mentor)
        response = logged_in(leader).post(list_url(mentor), {
            f"outcome_{appointment.pk}": Outcome.LATE_CANCELLATION, f"reason_{appointment.pk}": "999999",
            f"internal_note_{appointment.pk}": NOTE})
        assert response.context["form"].errors[f"reason_{appointment.pk}"] == [
            "Choose a cancellation reason from the list."]

    def test_the_reason_reaches_the_mentees_email_and_the_note_stays_inside(
        self, leader, mentor, unwell, mailoutbox, django_capture_on_commit_callbacks
    ):
        appointment = started(mentor)
        with django_capture_on_commit_callbacks(execute=True):
            response = logged_in(leader).post(list_url(mentor), {
                f"outcome_{appointment.pk}": Outcome.LATE_CANCELLATION, f"reason_{appointment.pk}": unwell.pk,
                f"internal_note_{appointment.pk}": f"  {NOTE}  "})
        assert response.status_code == 302
        appointment.refresh_from_db()
        assert (appointment.status, appointment.outcome) == (Status.COMPLETED, Outcome.LATE_CANCELLATION)
        assert (appointment.cancellation_reason, appointment.cancellation_note) == (unwell, NOTE)
        to_mentee = [m for m in mailoutbox if m.to == [appointment.mentee.email]]
        assert len(to_mentee) == 1
        assert "Reason: Mentee unwell" in to_mentee[0].body
        assert all(NOTE not in m.body and NOTE not in m.alternatives[0][0] for m in mailoutbox if m.alternatives)

    def test_a_reason_given_for_another_status_is_not_kept(self, leader, mentor, unwell):
        appointment = started(mentor)
        logged_in(leader).post(list_url(mentor), {
            f"outcome_{appointment.pk}": Outcome.ATTENDED, f"reason_{appointment.pk}": unwell.pk,
            f"internal_note_{appointment.pk}": NOTE})
        appointment.refresh_from_db()
        assert (appointment.outcome, appointment.cancellation_reason, appointment.cancellation_note) == (
            Outcome.ATTENDED, None, "")


class TestTheMentorsRequest:
    def test_late_notice_without_reason_or_note_is_refused_and_not_sent(self, mentor):
        appointment = started(mentor)
        response = logged_in(mentor.user).post(REQUEST_URL, {f"outcome_{appointment.pk}": Outcome.LATE_CANCELLATION})
        assert response.status_code == 200
        assert set(response.context["form"].errors) == {f"reason_{appointment.pk}", f"internal_note_{appointment.pk}"}
        assert not WrapUpRequest.objects.exists()

    def test_what_the_mentor_gave_is_filled_in_for_senior_leadership_and_used(
        self, mentor, leader, unwell, mailoutbox, django_capture_on_commit_callbacks
    ):
        appointment = started(mentor)
        response = logged_in(mentor.user).post(REQUEST_URL, {
            f"outcome_{appointment.pk}": Outcome.LATE_CANCELLATION, f"reason_{appointment.pk}": unwell.pk,
            f"internal_note_{appointment.pk}": NOTE, "message": "Off sick."})
        assert response.status_code == 302
        item = WrapUpRequest.objects.get().items.get()
        assert (item.cancellation_reason, item.cancellation_note) == (unwell, NOTE)

        leader_client = logged_in(leader)
        form = leader_client.get(list_url(mentor)).context["form"]
        assert form[f"outcome_{appointment.pk}"].value() == Outcome.LATE_CANCELLATION
        assert str(form[f"reason_{appointment.pk}"].value()) == str(unwell.pk)
        assert form[f"internal_note_{appointment.pk}"].value() == NOTE

        with django_capture_on_commit_callbacks(execute=True):
            leader_client.post(list_url(mentor), {
                f"outcome_{appointment.pk}": Outcome.LATE_CANCELLATION, f"reason_{appointment.pk}": unwell.pk,
                f"internal_note_{appointment.pk}": NOTE})
        appointment.refresh_from_db()
        assert (appointment.outcome, appointment.cancellation_reason) == (Outcome.LATE_CANCELLATION, unwell)
        assert "Reason: Mentee unwell" in [m for m in mailoutbox if m.to == [appointment.mentee.email]][0].body

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from sessions_app.exceptions import AppointmentAlreadyCancelled, LateNoticeCancellation
from sessions_app.models import AppointmentEvent, CancellationReason, ServiceAppointment
from sessions_app.services import appointment_cancel
from tests.factories import AppointmentFactory, FundingArrangementFactory
from tests.sessions_app.wizard import WrapUpDriver

LONDON = ZoneInfo("Europe/London")
Status = ServiceAppointment.Status
NOTE = "Mentee told me privately about a family matter."


@pytest.fixture
def reason(db):
    return CancellationReason.objects.get(label="Mentee unwell")


class CancelDriver:
    def __init__(self, client, appointment):
        self.client, self.reference = client, appointment.reference
        self.url = reverse("appointment-cancel", args=[self.reference])

    def post(self, step, **fields):
        data = {f"cancel_{self.reference}-current_step": step}
        data.update({f"{step}-{k}": v for k, v in fields.items()})
        return self.client.post(self.url, data)

    def back(self, step, **fields):
        data = {f"cancel_{self.reference}-current_step": step, "wizard_goto_step": "reason"}
        data.update({f"{step}-{k}": v for k, v in fields.items()})
        return self.client.post(self.url, data)


def test_step_one_explains_what_is_shared_and_what_is_not(mentor_client, future_appointment):
    html = mentor_client.get(reverse("appointment-cancel", args=[future_appointment.reference])).content.decode()
    assert "This will be shared in any attendance emails." in html
    assert "This will not be shared in any attendance emails." in html
    assert "Mentee unwell" in html and "Mentor unavailable" in html


def test_reason_and_note_are_required_with_clear_messages(mentor_client, future_appointment):
    wizard = CancelDriver(mentor_client, future_appointment)
    mentor_client.get(wizard.url)
    errors = wizard.post("reason", reason="", internal_note="   ").context["form"].errors
    assert errors == {
        "reason": ["Choose a cancellation reason from the list."],
        "internal_note": ["Add an internal cancellation note (it is not shared in any attendance emails)."],
    }


def test_inactive_reason_is_not_offered(mentor_client, future_appointment, reason):
    CancellationReason.objects.filter(pk=reason.pk).update(is_active=False)
    wizard = CancelDriver(mentor_client, future_appointment)
    mentor_client.get(wizard.url)
    errors = wizard.post("reason", reason=reason.pk, internal_note="x").context["form"].errors
    assert errors["reason"] == ["Choose a cancellation reason from the list."]


def test_preview_shows_the_email_with_the_reason_and_never_the_note(mentor_client, future_appointment, reason):
    wizard = CancelDriver(mentor_client, future_appointment)
    mentor_client.get(wizard.url)
    response = wizard.post("reason", reason=reason.pk, internal_note=NOTE)
    email = response.context["email"]
    assert email.subject.startswith(f"{future_appointment.reference}: your session on ")
    assert email.subject.endswith(" was cancelled")
    assert "Reason: Mentee unwell" in email.text and "Dear Mo Mentee" in email.text and "Ann Mentor" in email.text
    assert NOTE not in email.subject and NOTE not in email.text
    assert email.text in response.content.decode().replace("&#x27;", "'")


def test_confirming_cancels_and_records_who_when_and_notice(mentor_client, mentor, future_appointment, reason):
    wizard = CancelDriver(mentor_client, future_appointment)
    mentor_client.get(wizard.url)
    wizard.post("reason", reason=reason.pk, internal_note=NOTE)
    response = wizard.post("confirm")
    assert response.status_code == 302 and response.url == future_appointment.get_absolute_url()
    future_appointment.refresh_from_db()
    assert future_appointment.status == Status.CANCELLED
    assert future_appointment.cancellation_reason == reason
    assert future_appointment.cancellation_note == NOTE
    assert future_appointment.cancelled_by == mentor.user
    assert Decimal("71.9") <= future_appointment.notice_hours <= Decimal("72.0")
    event = future_appointment.events.get(kind=AppointmentEvent.Kind.CANCELLED)
    assert event.actor == mentor.user and event.description.startswith("Mentee unwell; notice given: ")
    page = mentor_client.get(response.url).content.decode()
    assert f"{future_appointment.reference} is cancelled." in page
    assert "Wrap Up Session" not in page and "Cancel Session" not in page


def test_back_keeps_answers(mentor_client, future_appointment, reason):
    wizard = CancelDriver(mentor_client, future_appointment)
    mentor_client.get(wizard.url)
    wizard.post("reason", reason=reason.pk, internal_note=NOTE)
    form = wizard.back("confirm").context["form"]
    assert form["reason"].value() == str(reason.pk) and form["internal_note"].value() == NOTE


def test_second_confirm_never_cancels_twice(mentor_client, future_appointment, reason):
    wizard = CancelDriver(mentor_client, future_appointment)
    mentor_client.get(wizard.url)
    wizard.post("reason", reason=reason.pk, internal_note=NOTE)
    wizard.post("confirm")
    response = wizard.post("confirm")
    assert response.status_code == 302
    assert f"{future_appointment.reference} was already cancelled by Ann Mentor on" in mentor_client.get(response.url).content.decode()
    assert future_appointment.events.filter(kind=AppointmentEvent.Kind.CANCELLED).count() == 1


def test_senior_leadership_cancels_on_the_mentors_behalf(leader_client, leader, future_appointment, reason):
    wizard = CancelDriver(leader_client, future_appointment)
    leader_client.get(wizard.url)
    wizard.post("reason", reason=reason.pk, internal_note=NOTE)
    wizard.post("confirm")
    event = future_appointment.events.get(kind=AppointmentEvent.Kind.CANCELLED)
    assert event.actor == leader and event.on_behalf_of == future_appointment.mentor.user


def test_a_cancelled_session_cannot_be_wrapped_up(mentor, leader, future_appointment, reason):
    appointment_cancel(appointment_id=future_appointment.pk, acting_user=mentor.user, reason=reason, internal_note="n")
    future_appointment.refresh_from_db()
    later = future_appointment.starts_at + timedelta(hours=2)
    with pytest.raises(AppointmentAlreadyCancelled, match="was already cancelled by Ann Mentor on"):
        future_appointment.ensure_can("wrap_up", by=leader, now=later)


def test_service_refuses_an_empty_note(mentor, future_appointment, reason):
    with pytest.raises(ValidationError) as error:
        appointment_cancel(appointment_id=future_appointment.pk, acting_user=mentor.user, reason=reason, internal_note=" ")
    assert error.value.message_dict == {
        "internal_note": ["Add an internal cancellation note (it is not shared in any attendance emails)."]}


def test_after_the_start_only_the_wrap_up_is_offered(mentor_client, past_appointment):
    html = mentor_client.get(past_appointment.get_absolute_url()).content.decode()
    assert "Wrap Up Session" in html and "Cancel Session" not in html
    response = mentor_client.get(reverse("appointment-cancel", args=[past_appointment.reference]), follow=True)
    assert "has already started, so it cannot be cancelled in advance" in response.content.decode()


class TestLateNotice:
    def book(self, mentor, mentee, start):
        return AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start, ends_at=start + timedelta(hours=1))

    def test_inside_the_window_cancel_leads_to_the_wrap_up_with_late_notice_chosen(self, mentor_client, mentor, mentee):
        appointment = self.book(mentor, mentee, timezone.now() + timedelta(hours=5))
        html = mentor_client.get(appointment.get_absolute_url()).content.decode()
        assert "Cancel Session" in html and "Wrap Up Session" not in html
        response = mentor_client.get(reverse("appointment-cancel", args=[appointment.reference]))
        assert response.url == reverse("appointment-wrap-up", args=[appointment.reference]) + "?outcome=late_cancellation"
        page = mentor_client.get(response.url)
        assert "so this is a late-notice cancellation: it may be billed and paid" in page.content.decode()
        form = page.context["form"]
        assert form.initial["outcome"] == "late_cancellation"
        assert [value for value, _ in form.fields["outcome"].choices] == ["late_cancellation"]

    def test_before_the_start_only_a_late_notice_cancellation_can_be_recorded(self, mentor, mentee):
        from sessions_app.services import WrapUp, appointment_wrap_up

        appointment = self.book(mentor, mentee, timezone.now() + timedelta(hours=5))
        with pytest.raises(ValidationError) as error:
            appointment_wrap_up(appointment_id=appointment.pk, acting_user=mentor.user,
                                answers=WrapUp(outcome="attended", session_notes="x", admin_details="x"))
        assert "until it starts it can only be recorded as a late-notice cancellation" in str(error.value)

    @pytest.mark.parametrize("seconds_before, late", [(24 * 3600, False), (24 * 3600 - 1, True), (1, True)])
    def test_window_edges(self, mentor, mentee, seconds_before, late):
        start = datetime(2026, 6, 10, 10, 0, tzinfo=LONDON)
        appointment = self.book(mentor, mentee, start)
        now = start - timedelta(seconds=seconds_before)
        assert appointment.is_late_notice(now) is late
        assert isinstance(appointment.blocker("cancel", by=mentor.user, now=now), LateNoticeCancellation) is late

    def test_clock_change_counts_real_hours(self, mentor, mentee):
        # Clocks go forward at 01:00 on Sunday 29 March 2026: 10:00 Saturday to 10:00 Sunday is 23 hours.
        start = datetime(2026, 3, 29, 10, 0, tzinfo=LONDON)
        appointment = self.book(mentor, mentee, start)
        same_time_day_before = datetime(2026, 3, 28, 10, 0, tzinfo=LONDON)
        assert appointment.hours_until_start(same_time_day_before) == Decimal("23.0")
        assert appointment.is_late_notice(same_time_day_before)
        assert not appointment.is_late_notice(datetime(2026, 3, 28, 9, 0, tzinfo=LONDON))
        # Clocks go back at 02:00 on Sunday 25 October 2026: that day has 25 hours.
        autumn = self.book(mentor, mentee, datetime(2026, 10, 25, 10, 0, tzinfo=LONDON))
        assert autumn.hours_until_start(datetime(2026, 10, 24, 10, 0, tzinfo=LONDON)) == Decimal("25.0")
        assert not autumn.is_late_notice(datetime(2026, 10, 24, 10, 30, tzinfo=LONDON))

    def test_window_is_a_setting(self, settings, mentor, mentee):
        settings.LATE_NOTICE_HOURS = 48
        appointment = self.book(mentor, mentee, timezone.now() + timedelta(hours=30))
        assert appointment.is_late_notice()

    def test_late_notice_cancellation_asks_for_the_reason_and_the_internal_note(self, mentor_client, mentor, mentee):
        appointment = self.book(mentor, mentee, timezone.now() + timedelta(hours=5))
        wrap_up_url = mentor_client.get(reverse("appointment-cancel", args=[appointment.reference])).url
        wizard = WrapUpDriver(mentor_client, appointment)
        mentor_client.get(wrap_up_url)
        response = wizard.post("outcome", outcome="late_cancellation")
        assert wizard.current_step(response) == "cancellation"
        html = response.content.decode()
        assert "Why was the session cancelled?" in html
        assert "This will be shared in any attendance emails." in html
        assert "This will not be shared in any attendance emails." in html
        errors = wizard.post("cancellation", reason="", internal_note="  ").context["form"].errors
        assert errors == {
            "reason": ["Choose a cancellation reason from the list."],
            "internal_note": ["Add an internal cancellation note (it is not shared in any attendance emails)."],
        }

    def test_late_notice_cancellation_keeps_the_reason_and_note_and_emails_only_the_reason(
            self, mentor_client, mentor, mentee, reason, mailoutbox, django_capture_on_commit_callbacks):
        FundingArrangementFactory(mentee=mentee, funder__sends_attendance_emails=True,
                                  funder__billing_email="pat@uni.example")
        start = timezone.now().replace(microsecond=0) + timedelta(hours=5)
        appointment = self.book(mentor, mentee, start)
        wizard = WrapUpDriver(mentor_client, appointment)
        wizard.start(outcome="late_cancellation")
        wizard.post("outcome", outcome="late_cancellation")
        response = wizard.post("cancellation", reason=reason.pk, internal_note=NOTE)
        response = wizard.post("funding", funding=response.context["form"].initial["funding"])
        response = wizard.post("notes", session_notes="")
        review = response.content.decode().replace("&#x27;", "'")
        assert "Mentee unwell" in review and NOTE in review
        with django_capture_on_commit_callbacks(execute=True):
            response = wizard.post("review", admin_details="")
        assert response.status_code == 302
        appointment.refresh_from_db()
        assert (appointment.status, appointment.outcome) == (Status.COMPLETED, "late_cancellation")
        assert appointment.cancellation_reason == reason and appointment.cancellation_note == NOTE
        assert Decimal("4.9") <= appointment.notice_hours <= Decimal("5.0")
        page = mentor_client.get(appointment.get_absolute_url()).content.decode().replace("&#x27;", "'")
        assert "Mentee unwell" in page and NOTE in page
        assert {tuple(m.to) for m in mailoutbox} == {(mentee.email,), ("pat@uni.example",)}
        for message in mailoutbox:
            assert "Reason: Mentee unwell" in message.body
            html = message.alternatives[0][0]
            assert "<strong>Reason:</strong> Mentee unwell" in html
            assert NOTE not in message.subject and NOTE not in message.body and NOTE not in html

    def test_the_service_needs_a_reason_and_note_for_a_late_notice_cancellation_before_the_start(
            self, mentor, mentee, reason):
        from sessions_app.services import WrapUp, appointment_wrap_up

        appointment = self.book(mentor, mentee, timezone.now() + timedelta(hours=5))
        with pytest.raises(ValidationError) as error:
            appointment_wrap_up(appointment_id=appointment.pk, acting_user=mentor.user,
                                answers=WrapUp(outcome="late_cancellation", admin_details="no funding"))
        assert error.value.message_dict == {
            "cancellation_reason": ["Choose a cancellation reason from the list."],
            "cancellation_note": ["Add an internal cancellation note (it is not shared in any attendance emails)."],
        }

    def test_service_refuses_a_late_cancellation(self, mentor, mentee, reason):
        appointment = self.book(mentor, mentee, timezone.now() + timedelta(hours=2))
        with pytest.raises(LateNoticeCancellation):
            appointment_cancel(appointment_id=appointment.pk, acting_user=mentor.user, reason=reason, internal_note="n")


@pytest.mark.parametrize("status, outcome", [
    ("cancelled", ""), ("completed", "attended"), ("completed", "late_cancellation"),
    ("completed", "did_not_attend"), ("completed", "cancelled"), ("awaiting_finance", "attended"),
])
def test_internal_note_admin_details_and_session_notes_never_reach_an_attendance_email(
        mentor, mentee, reason, status, outcome):
    from notifications.attendance import attendance_email

    appointment = AppointmentFactory.build(mentor=mentor, mentee=mentee, reference="SA-000777", status=status,
                                           outcome=outcome, cancellation_reason=reason, cancellation_note=NOTE,
                                           admin_details="SECRET ADMIN DETAILS", session_notes="PRIVATE SESSION NOTES")
    email = attendance_email(appointment)
    for secret in (NOTE, "SECRET ADMIN DETAILS", "PRIVATE SESSION NOTES"):
        assert secret not in email.subject and secret not in email.text and secret not in email.html
    assert "SA-000777" in email.subject and "SA-000777" in email.text and "SA-000777" in email.html


def test_cancel_flow_sends_no_email_containing_the_note(mentor_client, future_appointment, reason, mailoutbox,
                                                       django_capture_on_commit_callbacks):
    wizard = CancelDriver(mentor_client, future_appointment)
    mentor_client.get(wizard.url)
    wizard.post("reason", reason=reason.pk, internal_note=NOTE)
    with django_capture_on_commit_callbacks(execute=True):
        wizard.post("confirm")
    assert [message.to for message in mailoutbox] == [[future_appointment.mentee.email]]
    assert f"Reason: {reason.label}" in mailoutbox[0].body
    for message in mailoutbox:
        assert NOTE not in message.subject and NOTE not in message.body
        assert all(NOTE not in str(content) for content, _ in getattr(message, "alternatives", []))


def test_someone_acting_for_the_mentor_is_told_whom_they_cancel_for(leader_client, mentee, reason):
    from tests.factories import MentorFactory

    amelia = MentorFactory(user__full_name="Amelia Hart")
    appointment = AppointmentFactory(mentor=amelia, mentee=mentee)
    wizard = CancelDriver(leader_client, appointment)
    said = "You are cancelling for Amelia Hart. It will be recorded as done by you on their behalf."
    assert said in leader_client.get(wizard.url).content.decode()
    assert said in wizard.post("reason", reason=reason.pk, internal_note=NOTE).content.decode()


def test_the_mentor_cancelling_their_own_session_is_not_told_they_act_for_anyone(mentor_client, future_appointment):
    html = mentor_client.get(reverse("appointment-cancel", args=[future_appointment.reference])).content.decode()
    assert "You are cancelling for" not in html


def test_the_notice_given_is_said_in_days_and_hours(mentor_client, mentor, mentee, reason):
    start = datetime(2026, 11, 20, 15, 0, tzinfo=LONDON)
    appointment = AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start, ends_at=start + timedelta(hours=1))
    appointment_cancel(appointment_id=appointment.pk, acting_user=mentor.user, reason=reason, internal_note=NOTE,
                       now=start - timedelta(hours=74, minutes=48))
    appointment.refresh_from_db()
    assert appointment.notice_hours == Decimal("74.8")
    html = mentor_client.get(appointment.get_absolute_url()).content.decode()
    assert "<dt>Notice given</dt><dd>3 days, 3 hours</dd>" in html
    assert "74.8" not in html
    assert "Mentee unwell; notice given: 3 days, 3 hours" in html

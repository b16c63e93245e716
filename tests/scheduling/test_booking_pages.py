"""The booking, move and series pages, as a mentor, Senior Leadership and Finance use them."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from notifications.models import OutboxEmail
from sessions_app.models import CancellationReason, MentorAssignment, ServiceAppointment
from sessions_app.scheduling import Repeat
from sessions_app.services import appointment_cancel, series_book, session_book
from tests.factories import FundingArrangementFactory, MenteeFactory

LONDON = ZoneInfo("Europe/London")
pytestmark = pytest.mark.time_machine(datetime(2026, 3, 2, 9, 0, tzinfo=LONDON))


@pytest.fixture
def assigned(mentor, mentee):
    MentorAssignment.objects.create(mentor=mentor, mentee=mentee)
    return mentee


def booking(mentor, mentee, **extra):
    return {"mentor": mentor.pk, "mentee": mentee.pk, "date": "2026-03-17", "start_time": "16:00",
            "booked_minutes": "60", "mode": "in_person", "location": "Room 2", "repeat": "none", "ends": "count",
            **extra}


def text(response):
    return response.content.decode()


def test_a_mentor_sees_only_their_assigned_mentees(mentor_client, mentor, assigned):
    MenteeFactory(full_name="Someone Else")
    page = text(mentor_client.get(reverse("session-book")))
    assert "Mo Mentee" in page and "Someone Else" not in page
    assert 'type="hidden" name="mentor"' in page  # a mentor books their own sessions


def test_checking_shows_the_sessions_the_funding_and_the_clashes_before_anything_is_booked(
        mentor_client, mentor, assigned):
    FundingArrangementFactory(mentee=assigned, funder__name="Student Finance England", reference="PO-77",
                              valid_until=date(2026, 3, 31))
    taken = session_book(acting_user=mentor.user, mentor=mentor, mentee=assigned, day=date(2026, 3, 24),
                         start_time=time(16, 30), booked_minutes=30, mode="phone")
    response = mentor_client.post(reverse("session-book"), {**booking(mentor, assigned, repeat="1", count="4"),
                                                            "action": "preview"})
    page = text(response)
    assert "The 4 sessions" in page
    assert "Tuesday 7 April 2026, 16:00–17:00" in page
    assert f"<strong>clashes</strong> with {taken.reference} (Mo Mentee with Ann Mentor)" in page
    assert "Funded by Student Finance England, ref. PO-77" in page
    assert "1 of these sessions (from 7 April 2026) falls after the funding arrangement ends." in page
    assert ServiceAppointment.objects.count() == 1


def test_booking_one_session_goes_to_its_page_and_emails_both(mentor_client, mentor, assigned,
                                                             django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = mentor_client.post(reverse("session-book"), {**booking(mentor, assigned), "action": "book"},
                                      follow=True)
    appointment = ServiceAppointment.objects.get()
    assert response.redirect_chain[-1][0] == appointment.get_absolute_url()
    assert (f"{appointment.reference} is booked: Tuesday 17 March 2026, 16:00–17:00. Mo Mentee and Ann Mentor are "
            "emailed a calendar invitation.") in text(response)
    assert OutboxEmail.objects.filter(kind="booking_confirmation").count() == 2


def test_a_clash_is_shown_next_to_the_form_and_nothing_is_booked(mentor_client, mentor, assigned):
    taken = session_book(acting_user=mentor.user, mentor=mentor, mentee=assigned, day=date(2026, 3, 17),
                         start_time=time(16, 30), booked_minutes=30, mode="phone")
    page = text(mentor_client.post(reverse("session-book"), {**booking(mentor, assigned), "action": "book"}))
    assert f"This clashes with another session: Ann Mentor already has {taken.reference}" in page
    assert ServiceAppointment.objects.count() == 1


def test_senior_leadership_book_over_a_clash_from_the_page(leader_client, leader, mentor, mentee):
    session_book(acting_user=leader, mentor=mentor, mentee=mentee, day=date(2026, 3, 17), start_time=time(16, 0),
                 booked_minutes=60, mode="phone")
    response = leader_client.post(reverse("session-book"), {
        **booking(mentor, mentee), "action": "book", "clash_override_reason": "Parents' evening, both join."})
    assert response.status_code == 302
    assert ServiceAppointment.objects.filter(clash_override_reason="Parents' evening, both join.").exists()


def test_a_series_booked_from_the_page_skipping_the_clash(leader_client, leader, mentor, mentee):
    session_book(acting_user=leader, mentor=mentor, mentee=mentee, day=date(2026, 3, 31), start_time=time(16, 0),
                 booked_minutes=60, mode="phone")
    response = leader_client.post(reverse("session-book"), {
        **booking(mentor, mentee, repeat="2", ends="until", until="2026-04-28"), "skip_clashes": "on",
        "action": "book"}, follow=True)
    assert "3 sessions are booked" in text(response)
    assert ServiceAppointment.objects.filter(series__isnull=False).count() == 3


def test_the_calendar_and_a_mentee_prefill_the_form(mentor_client, mentor, assigned):
    page = text(mentor_client.get(reverse("session-book") + f"?date=2026-03-20&mentee={assigned.pk}"))
    assert 'value="2026-03-20"' in page
    assert f'<option value="{assigned.pk}" selected>Mo Mentee</option>' in page


def test_cancel_then_book_a_replacement_prefilled(mentor_client, mentor, assigned, django_capture_on_commit_callbacks):
    old = session_book(acting_user=mentor.user, mentor=mentor, mentee=assigned, day=date(2026, 3, 17),
                       start_time=time(16, 0), booked_minutes=45, mode="online", location="https://meet.example/a")
    with django_capture_on_commit_callbacks(execute=True):  # the cancellation goes at once (no wait set)
        appointment_cancel(appointment_id=old.pk, acting_user=mentor.user,
                           reason=CancellationReason.objects.first(), internal_note="Ill.", offer_rebooking=True)
    detail = mentor_client.get(old.get_absolute_url())
    assert detail.context["rebook_url"] == reverse("session-book") + f"?replaces={old.reference}"
    page = text(mentor_client.get(detail.context["rebook_url"]))
    assert f"{old.reference} is cancelled. Book a replacement?" in page
    assert 'value="45"' in page and 'value="https://meet.example/a"' in page and 'value="16:00"' in page
    with django_capture_on_commit_callbacks(execute=True):
        mentor_client.post(reverse("session-book"), {
            **booking(mentor, assigned, date="2026-03-19", booked_minutes="45", mode="online",
                      location="https://meet.example/a"), "replaces": old.reference, "action": "book"})
    new = ServiceAppointment.objects.get(status="scheduled")
    email = OutboxEmail.objects.get(kind="booking_confirmation", to=[assigned.email], appointment=new)
    assert email.subject == f"{old.reference} cancelled and rebooked: {new.reference}, Thursday 19 March 2026, 16:00–16:45"
    assert f"Replaces {old.reference}, cancelled." in new.events.get().description


def test_moving_from_the_page(mentor_client, mentor, assigned):
    appointment = session_book(acting_user=mentor.user, mentor=mentor, mentee=assigned, day=date(2026, 3, 17),
                               start_time=time(16, 0), booked_minutes=60, mode="phone")
    page = text(mentor_client.get(reverse("appointment-move", args=[appointment.reference])))
    assert 'value="2026-03-17"' in page and 'value="16:00"' in page
    response = mentor_client.post(reverse("appointment-move", args=[appointment.reference]),
                                  {"date": "2026-03-18", "start_time": "09:00", "booked_minutes": "60"}, follow=True)
    assert (f"{appointment.reference} is now Wednesday 18 March 2026, 09:00–10:00, phone. Mo Mentee is emailed "
            "what changed.") in text(response)


def test_changing_only_where_a_session_happens_from_the_move_page(mentor_client, mentor, assigned,
                                                                  django_capture_on_commit_callbacks):
    appointment = session_book(acting_user=mentor.user, mentor=mentor, mentee=assigned, day=date(2026, 3, 17),
                               start_time=time(16, 0), booked_minutes=60, mode="in_person", location="Room 2")
    url = reverse("appointment-move", args=[appointment.reference])
    refused = text(mentor_client.post(url, {"date": "2026-03-17", "start_time": "16:00", "booked_minutes": "60",
                                            "mode": "online", "location": "Room 2"}))
    assert "An online session needs its meeting link, starting https://." in refused
    with django_capture_on_commit_callbacks(execute=True):
        mentor_client.post(url, {"date": "2026-03-17", "start_time": "16:00", "booked_minutes": "60",
                                 "mode": "online", "location": "https://meet.example/x"})
    appointment.refresh_from_db()
    assert (appointment.mode, appointment.location, appointment.calendar_sequence) == (
        "online", "https://meet.example/x", 1)
    assert appointment.events.get(kind="moved").description == "Now online, https://meet.example/x (was in person, Room 2)."
    email = OutboxEmail.objects.get(kind="session_moved", to=[assigned.email])
    assert email.subject == (f"Changed: mentoring session {appointment.reference}, Tuesday 17 March 2026, "
                             "16:00–17:00, is now online")
    assert "has changed: the time is the same." in email.text_body


def test_moving_to_the_past_says_so(mentor_client, mentor, assigned):
    appointment = session_book(acting_user=mentor.user, mentor=mentor, mentee=assigned, day=date(2026, 3, 17),
                               start_time=time(16, 0), booked_minutes=60, mode="phone")
    page = text(mentor_client.post(reverse("appointment-move", args=[appointment.reference]),
                                   {"date": "2026-03-01", "start_time": "09:00", "booked_minutes": "60"}))
    assert "Sunday 1 March 2026 at 09:00 is in the past: choose a time that has not come yet." in page


def test_a_series_page_changes_and_cancels_from_one_session_on(mentor_client, mentor, assigned):
    series, booked = series_book(acting_user=mentor.user, mentor=mentor, mentee=assigned, first_day=date(2026, 3, 17),
                                 start_time=time(16, 0), booked_minutes=60, mode="phone", location="",
                                 repeat=Repeat(1, count=4))
    url = reverse("appointment-series", args=[booked[1].reference])
    response = mentor_client.post(url, {"action": "change", "change-start_time": "17:00",
                                        "change-booked_minutes": "30", "change-mode": "phone"}, follow=True)
    assert f"3 sessions changed, from {booked[1].reference} on." in text(response)
    reason = CancellationReason.objects.first()
    response = mentor_client.post(reverse("appointment-series", args=[booked[2].reference]), {
        "action": "cancel", "cancel-reason": reason.pk, "cancel-internal_note": "Exams."}, follow=True)
    assert f"2 sessions cancelled, from {booked[2].reference} on." in text(response)
    assert list(ServiceAppointment.objects.order_by("starts_at").values_list("status", flat=True)) == [
        "scheduled", "scheduled", "cancelled", "cancelled"]


def test_another_mentors_session_cannot_be_moved(client, other_mentor, mentor, assigned):
    appointment = session_book(acting_user=mentor.user, mentor=mentor, mentee=assigned, day=date(2026, 3, 17),
                               start_time=time(16, 0), booked_minutes=60, mode="phone")
    client.force_login(other_mentor.user)
    assert client.get(reverse("appointment-move", args=[appointment.reference])).status_code == 404
    assert client.post(reverse("appointment-move", args=[appointment.reference]),
                       {"date": "2026-03-18", "start_time": "09:00", "booked_minutes": "60"}).status_code == 404


def test_booking_forty_weekly_sessions_is_one_request_costing_what_two_cost(mentor_client, mentor, assigned,
                                                                           django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as two:
        response = mentor_client.post(reverse("session-book"), {
            **booking(mentor, assigned, repeat="1", count="2"), "action": "book"})
    assert response.status_code == 302
    with django_assert_max_num_queries(len(two.captured_queries)):
        response = mentor_client.post(reverse("session-book"), {
            **booking(mentor, assigned, date="2026-03-18", repeat="1", count="40"), "action": "book"})
    assert response.status_code == 302
    assert ServiceAppointment.objects.filter(series__count=40).count() == 40


def test_each_calendar_day_from_today_on_links_to_booking_on_that_day(mentor_client, mentor):
    page = text(mentor_client.get(reverse("calendar-month", args=[2026, 3])))
    assert f'href="{reverse("session-book")}?date=2026-03-20">+<span class="visually-hidden"> Book a session on 20 Mar' in page
    assert f'{reverse("session-book")}?date=2026-03-02"' in page  # today
    assert f'{reverse("session-book")}?date=2026-03-01"' not in page  # yesterday

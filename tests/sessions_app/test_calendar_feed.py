from datetime import timedelta

from icalendar import Calendar

from sessions_app.models import Mentor, ServiceAppointment, User
from tests.factories import AppointmentFactory


def feed_url(mentor):
    return f"/calendar/feed/{mentor.calendar_token}.ics"


def test_feed_lists_the_mentors_sessions_without_logging_in(client, mentor, future_appointment, past_appointment):
    response = client.get(feed_url(mentor))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    events = Calendar.from_ical(response.content).walk("VEVENT")
    assert sorted(str(e["summary"]) for e in events) == sorted(
        f"{a.reference}: session with Mo Mentee" for a in (future_appointment, past_appointment)
    )
    event = next(e for e in events if str(e["uid"]) == f"{future_appointment.reference}@mentoring")
    assert event.decoded("dtstart") == future_appointment.starts_at
    assert str(event["url"]).endswith(future_appointment.get_absolute_url())
    assert str(event["location"]) == "Room 2, The Library"


def test_feed_never_shows_another_mentors_sessions(client, mentor, other_mentor):
    theirs = AppointmentFactory(mentor=other_mentor)
    assert theirs.reference.encode() not in client.get(feed_url(mentor)).content


def test_unknown_token_is_not_found(client, mentor):
    assert client.get("/calendar/feed/not-a-real-token.ics").status_code == 404


def test_feed_stops_once_the_mentor_is_switched_off(client, mentor, future_appointment):
    Mentor.objects.filter(pk=mentor.pk).update(is_active=False)
    assert client.get(feed_url(mentor)).status_code == 404


def test_feed_stops_once_the_mentors_user_account_is_switched_off(client, mentor, future_appointment):
    assert client.get(feed_url(mentor)).status_code == 200
    User.objects.filter(pk=mentor.user_id).update(is_active=False)
    assert client.get(feed_url(mentor)).status_code == 404


def test_cancelled_session_is_marked_cancelled(client, mentor, future_appointment):
    ServiceAppointment.objects.filter(pk=future_appointment.pk).update(
        status="cancelled", cancelled_at=future_appointment.starts_at - timedelta(days=1), cancellation_reason_id=1
    )
    event = Calendar.from_ical(client.get(feed_url(mentor)).content).walk("VEVENT")[0]
    assert str(event["status"]) == "CANCELLED"


def test_new_address_stops_the_old_one(mentor_client, mentor):
    old = feed_url(mentor)
    response = mentor_client.post("/calendar/feed/new-address/", follow=True)
    assert "The old address no longer works" in response.content.decode()
    mentor.refresh_from_db()
    assert mentor_client.get(old).status_code == 404
    assert mentor_client.get(feed_url(mentor)).status_code == 200


def test_calendar_page_shows_the_mentor_their_feed_address(mentor_client, mentor):
    assert mentor.calendar_token in mentor_client.get("/calendar/").content.decode()


def test_feed_query_count_does_not_grow(client, mentor, django_assert_max_num_queries):
    for _ in range(20):
        AppointmentFactory(mentor=mentor)
    with django_assert_max_num_queries(2):
        client.get(feed_url(mentor))

"""Hostile input to the scheduling forms (Book a session, Move, This and all following): never a server error, a
message next to what is wrong, and nothing written unless every field made sense."""

from datetime import date, datetime, time
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from django.db.models import Q
from django.urls import reverse

from sessions_app.models import AppointmentSeries, MentorAssignment, ServiceAppointment
from sessions_app.scheduling import Repeat
from sessions_app.services import series_book
from tests.factories import MenteeFactory
from tests.strategies import NASTY_NUMBERS, NASTY_TEXT, examples, form_data, hostile_id, hostile_text, last, posted
from tests.test_hostile_input import browser, no_server_error, rolled_back, snapshot, text_of

LONDON = ZoneInfo("Europe/London")
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(datetime(2026, 3, 2, 9, 0, tzinfo=LONDON))]

ERROR_MARKERS = ("field__error", "message--error")

dates = st.one_of(st.sampled_from(["2026-03-17", "2026-03-01", "2026-02-30", "17/03/2026", "2026-3-17", "9999-12-31",
                                   "0000-01-01", "2026-03-29", ""]), hostile_text)
times = st.one_of(st.sampled_from(["16:00", "01:30", "24:00", "16:60", "4pm", "16:00:00", "-1:00", ""]), hostile_text)
numbers = st.one_of(st.sampled_from(["60", "15", "14", "480", "481", "0", "-60", "1e2", "60.5"] + NASTY_NUMBERS),
                    hostile_text)
choices = lambda *good: st.one_of(st.sampled_from(list(good)), st.sampled_from(NASTY_TEXT))  # noqa: E731


@pytest.fixture
def world(mentor, mentee, other_mentor):
    MentorAssignment.objects.create(mentor=mentor, mentee=mentee)
    stranger = MenteeFactory(full_name="Not Yours")
    _, booked = series_book(acting_user=mentor.user, mentor=mentor, mentee=mentee, first_day=date(2026, 3, 10),
                            start_time=time(12, 0), booked_minutes=60, mode="phone", location="",
                            repeat=Repeat(1, count=3))
    return {"mentor": mentor, "mentee": mentee, "stranger": stranger, "other": other_mentor, "booked": booked}


def page_has_an_error(response) -> bool:
    return any(marker in response.content.decode() for marker in ERROR_MARKERS)


@given(mentee=posted(st.one_of(st.sampled_from(["own", "stranger"]), hostile_id)), day=posted(dates),
       at=posted(times), minutes=posted(numbers), mode=posted(choices("in_person", "online", "phone")),
       location=posted(st.one_of(st.sampled_from(["Room 2", "https://meet.example/a", "a\nb"]), hostile_text)),
       repeat=posted(choices("none", "1", "2", "n")), interval=posted(numbers), ends=posted(choices("count", "until")),
       count=posted(numbers), until=posted(dates), replaces=posted(st.one_of(st.just("SA-000001"), hostile_text)),
       action=st.sampled_from(["book", "preview", "", "\x00"]))
@example(mentee="own", day="2026-03-17", at="16:00", minutes="60", mode="phone", location=None, repeat="none",
         interval=None, ends=None, count=None, until=None, replaces=None, action="book")
@examples(60)
def test_book_a_session_refuses_junk_with_a_message_and_writes_nothing(world, mentee, day, at, minutes, mode,
                                                                       location, repeat, interval, ends, count,
                                                                       until, replaces, action):
    ids = {"own": str(world["mentee"].pk), "stranger": str(world["stranger"].pk)}
    mentee = [ids.get(v, v) for v in mentee] if isinstance(mentee, list) else ids.get(mentee, mentee)
    with rolled_back():
        client = browser(world["mentor"].user)
        before = snapshot()
        response = no_server_error(client.post(reverse("session-book"), form_data({
            "mentor": str(world["mentor"].pk), "mentee": mentee, "date": day, "start_time": at,
            "booked_minutes": minutes, "mode": mode, "location": location, "repeat": repeat,
            "interval_weeks": interval, "ends": ends, "count": count, "until": until, "replaces": replaces,
            "action": action})), 200, 302)
        if response.status_code == 302:
            assert action == "book" and last(mentee) == ids["own"]
            assert ServiceAppointment.objects.count() > len(before["appointments"])
            return
        assert snapshot() == before
        assert "<script>alert(1)" not in response.content.decode()
        if action == "book" or page_has_an_error(response):
            # Either a message says what is wrong, or (a valid form posted without "book") the preview is shown.
            assert page_has_an_error(response) or "The session" in text_of(response) or "sessions</h2>" in text_of(
                response)
        if last(mentee) == ids["stranger"]:
            assert "Choose one of the mentees in the list." in text_of(response)


@given(day=posted(dates), at=posted(times), minutes=posted(numbers),
       reason=posted(st.one_of(st.just("Because."), hostile_text)))
@examples(40)
def test_move_refuses_junk_with_a_message_and_moves_nothing(world, day, at, minutes, reason):
    session = world["booked"][0]
    with rolled_back():
        client = browser(world["mentor"].user)
        before = snapshot()
        response = no_server_error(client.post(reverse("appointment-move", args=[session.reference]), form_data({
            "date": day, "start_time": at, "booked_minutes": minutes, "clash_override_reason": reason})), 200, 302)
        if response.status_code == 302:
            session.refresh_from_db()
            assert session.calendar_sequence == 1
            return
        assert page_has_an_error(response)
        assert snapshot() == before


@given(action=st.sampled_from(["change", "cancel", "", "other"]), at=posted(times), minutes=posted(numbers),
       mode=posted(choices("in_person", "online", "phone")), location=posted(hostile_text),
       reason=posted(st.one_of(st.just("1"), hostile_id)), note=posted(hostile_text))
@examples(40)
def test_this_and_all_following_refuses_junk_and_changes_nothing(world, action, at, minutes, mode, location, reason,
                                                                  note):
    session = world["booked"][1]
    with rolled_back():
        client = browser(world["mentor"].user)
        before = snapshot()
        response = no_server_error(client.post(reverse("appointment-series", args=[session.reference]), form_data({
            "action": action, "change-start_time": at, "change-booked_minutes": minutes, "change-mode": mode,
            "change-location": location, "cancel-reason": reason, "cancel-internal_note": note})), 200, 302)
        if response.status_code == 302:
            assert action in ("change", "cancel") and snapshot() != before
            return
        assert snapshot() == before
        if action in ("change", "cancel"):
            assert page_has_an_error(response)


@given(reference=st.one_of(hostile_text, st.sampled_from(["SA-000001x", "sa-000001", "SA-%00", "SA-0"])),
       page=st.sampled_from(["appointment-move", "appointment-series"]))
@examples(30)
def test_made_up_references_are_not_found(world, reference, page):
    if not reference or "/" in reference or reference.strip() != reference:
        return
    client = browser(world["other"].user)
    url = reverse(page, args=["SA-0"]).replace("/SA-0/", f"/{quote(reference, safe='')}/")
    no_server_error(client.get(url), 404, 302)


def test_the_booking_page_ignores_junk_in_its_query_string(world):
    client = browser(world["mentor"].user)
    for query in ("date=%00&mentee=%00&replaces=%00", "mentee=99999999999999999999", "replaces=SA-000001",
                  "date=x" * 500):
        no_server_error(client.get(reverse("session-book") + "?" + query), 200)
    assert not AppointmentSeries.objects.exclude(pk=world["booked"][0].series_id).exists()


# --------------------------------------------------------------------------- the admin's session and assignment forms

admin_dates = st.one_of(st.sampled_from(["2026-03-10", "2026-03-11", "2026-02-30", "10/03/2026", ""]), hostile_text)
admin_times = st.one_of(st.sampled_from(["12:00", "12:30:00", "13:00", "25:00", "noon", ""]), hostile_text)


def overlapping(mentor, mentee):
    """Pairs of the mentor's or the mentee's sessions, not cancelled, that overlap."""
    sessions = list(ServiceAppointment.objects.filter(Q(mentor=mentor) | Q(mentee=mentee))
                    .exclude(status=ServiceAppointment.Status.CANCELLED))
    return [(a.reference, b.reference) for a in sessions for b in sessions
            if a.pk < b.pk and a.starts_at < b.ends_at and b.starts_at < a.ends_at]


@given(which=st.sampled_from(["add", "change"]), mentor=posted(st.one_of(st.just("own"), hostile_id)),
       start_day=posted(admin_dates), start_at=posted(admin_times), end_day=posted(admin_dates),
       end_at=posted(admin_times), mode=posted(choices("in_person", "online", "phone")),
       location=posted(st.one_of(st.just("Room 2"), hostile_text)), reason=posted(hostile_text))
@example(which="add", mentor="own", start_day="2026-03-10", start_at="12:30", end_day="2026-03-10", end_at="13:30",
         mode="phone", location=None, reason=None)
@example(which="add", mentor=":", start_day=None, start_at=None, end_day=None, end_at=None, mode=None, location=None,
         reason=None)  # not an id: the autocomplete box shown again with the error once looked it up (a server error)
@example(which="add", mentor=["own", str(2**64)], start_day="2026-03-11", start_at="12:00", end_day="2026-03-11",
         end_at="13:00", mode="phone", location=None, reason=None)
@examples(25)
def test_the_admin_session_form_refuses_junk_and_clashes_with_a_message(world, finance_user, which, mentor, start_day,
                                                                         start_at, end_day, end_at, mode, location,
                                                                         reason):
    booked = world["booked"][1]
    url = (reverse("admin:sessions_app_serviceappointment_add") if which == "add" else
           reverse("admin:sessions_app_serviceappointment_change", args=[booked.pk]))
    mentor = [str(world["mentor"].pk) if v == "own" else v for v in mentor] if isinstance(mentor, list) else (
        str(world["mentor"].pk) if mentor == "own" else mentor)
    with rolled_back():
        client = browser(finance_user)
        before = snapshot()
        response = no_server_error(client.post(url, form_data({
            "mentor": mentor, "mentee": str(world["mentee"].pk), "starts_at_0": start_day, "starts_at_1": start_at,
            "ends_at_0": end_day, "ends_at_1": end_at, "mode": mode, "location": location,
            "clash_override_reason": reason, "events-TOTAL_FORMS": "0", "events-INITIAL_FORMS": "0",
            "_save": "Save"})), 200, 302)
        assert overlapping(world["mentor"], world["mentee"]) == []  # Finance never books over a clash
        if response.status_code == 200:
            assert snapshot() == before
            assert 'class="errornote"' in response.content.decode()


@given(mentor=posted(st.one_of(st.just("other"), hostile_id)), mentee=posted(st.one_of(st.just("stranger"), hostile_id)))
@examples(10)
def test_the_admin_assignment_form_refuses_junk_with_a_message(world, finance_user, mentor, mentee):
    ids = {"other": str(world["other"].pk), "stranger": str(world["stranger"].pk)}
    pick = lambda value: [ids.get(v, v) for v in value] if isinstance(value, list) else ids.get(value, value)  # noqa: E731
    with rolled_back():
        before = MentorAssignment.objects.count()
        response = no_server_error(browser(finance_user).post(
            reverse("admin:sessions_app_mentorassignment_add"),
            form_data({"mentor": pick(mentor), "mentee": pick(mentee), "_save": "Save"})), 200, 302)
        if response.status_code == 302:
            assert (last(pick(mentor)), last(pick(mentee))) == (ids["other"], ids["stranger"])
            assert MentorAssignment.objects.count() == before + 1
        else:
            assert MentorAssignment.objects.count() == before
            assert 'class="errornote"' in response.content.decode()

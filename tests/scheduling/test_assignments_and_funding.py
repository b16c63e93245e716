"""Finance assigns mentees to mentors in the admin; the booking form says which funding applies."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from sessions_app import scheduling
from sessions_app.models import MentorAssignment
from sessions_app.scheduling import BookingProblem, funding_at_booking
from sessions_app.services import session_book
from tests.factories import FundingArrangementFactory

LONDON = ZoneInfo("Europe/London")
pytestmark = pytest.mark.time_machine(datetime(2026, 3, 2, 9, 0, tzinfo=LONDON))


def test_finance_assigns_a_mentee_in_the_admin_and_then_the_mentor_can_book_them(finance_client, finance_user, mentor,
                                                                               mentee):
    with pytest.raises(BookingProblem, match="Mo Mentee is not one of your mentees"):
        session_book(acting_user=mentor.user, mentor=mentor, mentee=mentee, day=date(2026, 3, 10),
                     start_time=time(16, 0), booked_minutes=60, mode="phone")
    response = finance_client.post(reverse("admin:sessions_app_mentorassignment_add"),
                                   {"mentor": mentor.pk, "mentee": mentee.pk, "_save": "Save"})
    assert response.status_code == 302
    assignment = MentorAssignment.objects.get()
    assert assignment.assigned_by == finance_user
    session_book(acting_user=mentor.user, mentor=mentor, mentee=mentee, day=date(2026, 3, 10),
                 start_time=time(16, 0), booked_minutes=60, mode="phone")
    # The same pair twice is refused.
    again = finance_client.post(reverse("admin:sessions_app_mentorassignment_add"),
                                {"mentor": mentor.pk, "mentee": mentee.pk, "_save": "Save"})
    assert again.status_code == 200 and MentorAssignment.objects.count() == 1


def test_the_funding_that_applies_on_the_day_and_when_it_has_ended(mentee):
    arrangement = FundingArrangementFactory(mentee=mentee, funder__name="Uni", reference="PO-1",
                                            valid_from=date(2025, 9, 1), valid_until=date(2026, 2, 28))
    note = funding_at_booking(mentee, [date(2026, 3, 10)], 60)
    assert note.arrangement is None
    assert note.warnings == ["Funded by Uni, ref. PO-1 ended on 28 February 2026: no funding arrangement covers "
                             "10 March 2026. Finance will need to add one."]
    assert funding_at_booking(mentee, [date(2026, 2, 10)], 60).arrangement == arrangement


def test_no_funding_at_all_is_said_and_other_checks_can_add_warnings(mentee, monkeypatch):
    monkeypatch.setattr(scheduling, "FUNDING_WARNING_HOOKS",
                        [lambda mentee, days, minutes: [f"{len(days)} × {minutes} minutes would exceed the hours."]])
    note = funding_at_booking(mentee, [date(2026, 3, 10), date(2026, 3, 17)], 60)
    assert note.warnings == ["No funding arrangement covers 10 March 2026. Finance will need to add one.",
                             "2 × 60 minutes would exceed the hours."]


def test_the_mentees_admin_page_offers_to_book_them_a_session(finance_client, mentor, mentee):
    page = finance_client.get(reverse("admin:sessions_app_mentee_change", args=[mentee.pk])).content.decode()
    link = f'{reverse("session-book")}?mentee={mentee.pk}'
    assert f'<a href="{link}">Book a session</a>' in page
    booking_page = finance_client.get(link).content.decode()
    assert f'<option value="{mentee.pk}" selected>Mo Mentee</option>' in booking_page

"""Finance assigns mentees to mentors in the admin; the booking form says which funding applies."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from sessions_app import scheduling
from sessions_app.models import MentorAssignment, ServiceAppointment
from sessions_app.scheduling import BookingProblem, funding_at_booking
from sessions_app.services import session_book
from tests.factories import AppointmentFactory, FundingArrangementFactory

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


# --------------------------------------------------------------------------- authorised hours at booking


@pytest.fixture
def ten_hours(mentor, mentee):
    """Uni authorises 10 hours until the end of March; 1 hour is used (wrapped up) and 8.5 booked: 0.5 left."""
    arrangement = FundingArrangementFactory(mentee=mentee, funder__name="Uni", reference="PO-1",
                                            valid_from=date(2026, 1, 1), valid_until=date(2026, 3, 31),
                                            hours_allowance=Decimal("10"))
    done = datetime(2026, 2, 3, 10, 0, tzinfo=LONDON)
    AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=done, ends_at=done + timedelta(hours=1),
                       status="completed", outcome="attended", funding_arrangement=arrangement,
                       wrapped_up_by=mentor.user, wrapped_up_at=done + timedelta(hours=2))
    for day in (3, 4, 5, 6, 9, 10, 11, 12, 13):  # eight and a half hours still to come
        start = datetime(2026, 3, day, 8, 0, tzinfo=LONDON)
        AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start,
                           ends_at=start + timedelta(minutes=30 if day == 13 else 60))
    return arrangement


def test_a_booking_past_the_authorised_hours_is_warned_of_and_one_that_fits_is_not(ten_hours, mentee):
    note = funding_at_booking(mentee, [date(2026, 3, 17)], 60)
    assert note.arrangement == ten_hours
    assert note.warnings == ["Funded by Uni, ref. PO-1 has 10 hours authorised and 9.50 already used or booked. This "
                             "session adds 1.00, 0.50 over. You can still book; a session past the authorised hours "
                             "goes to Finance when it is wrapped up."]
    assert funding_at_booking(mentee, [date(2026, 3, 17)], 30).warnings == []  # 10.00 of 10: it fits


def test_a_series_counts_every_session_on_the_arrangements_dates(ten_hours, mentee):
    days = [date(2026, 3, 16), date(2026, 3, 23), date(2026, 3, 30), date(2026, 4, 6)]
    assert funding_at_booking(mentee, days, 60).warnings == [
        "1 of these sessions (from 6 April 2026) falls after the funding arrangement ends.",
        "Funded by Uni, ref. PO-1 has 10 hours authorised and 9.50 already used or booked. These 3 sessions add 3.00, "
        "2.50 over. You can still book; a session past the authorised hours goes to Finance when it is wrapped up."]


def test_the_mentor_is_warned_at_check_and_after_booking_and_can_still_book(mentor_client, mentor, mentee, ten_hours):
    MentorAssignment.objects.create(mentor=mentor, mentee=mentee)
    form = {"mentor": mentor.pk, "mentee": mentee.pk, "date": "2026-03-16", "start_time": "16:00",
            "booked_minutes": "60", "mode": "phone", "location": "", "repeat": "1", "ends": "count", "count": "2"}
    warning = ("Funded by Uni, ref. PO-1 has 10 hours authorised and 9.50 already used or booked. These 2 sessions "
               "add 2.00, 1.50 over.")
    check = mentor_client.post(reverse("session-book"), {**form, "action": "preview"}).content.decode()
    assert "Funding on that date: <strong>Funded by Uni, ref. PO-1</strong>" in check and warning in check
    booked = mentor_client.post(reverse("session-book"), {**form, "action": "book"}, follow=True)
    assert booked.redirect_chain[-1][1] == 302 and "2 sessions are booked" in booked.content.decode()
    assert warning in booked.content.decode()
    assert ServiceAppointment.objects.filter(starts_at__date__gte=date(2026, 3, 16)).count() == 2

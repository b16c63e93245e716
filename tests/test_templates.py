"""The project's pages and emails are Jinja2 templates (README, Architecture, "Templates"); what the environment in
mentoring/jinja2.py must get right: escaping where HTML is written and only there, and dates in local time through
Django's localisation."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from notifications.attendance import attendance_email
from tests.factories import AppointmentFactory, MenteeFactory

LONDON = ZoneInfo("Europe/London")
NAME = "<b>O'Neil & Sons</b>"

pytestmark = pytest.mark.time_machine(datetime(2026, 6, 10, 9, 0, tzinfo=LONDON))


@pytest.fixture
def appointment(mentor):
    # 14:00 on 12 June in London is 13:00 UTC (British Summer Time).
    start = datetime(2026, 6, 12, 14, 0, tzinfo=LONDON)
    return AppointmentFactory(mentor=mentor, mentee=MenteeFactory(full_name=NAME), starts_at=start,
                              ends_at=start + timedelta(hours=1))


def test_a_name_with_markup_shows_as_typed_on_every_page_and_is_never_markup(leader_client, appointment):
    for url in ["/", reverse("calendar-month", args=[2026, 6]), appointment.get_absolute_url()]:
        page = leader_client.get(url).content.decode()
        assert "&lt;b&gt;O&#39;Neil &amp; Sons&lt;/b&gt;" in page, url
        assert "<b>O" not in page, url


def test_session_times_are_london_times_formatted_by_django(leader_client, appointment):
    page = leader_client.get("/").content.decode()
    assert '<time datetime="2026-06-12T14:00:00+01:00">Fri 12 Jun 2026, 14:00–15:00</time>' in page
    calendar = leader_client.get(reverse("calendar-month", args=[2026, 6])).content.decode()
    assert '<span class="calendar__time">14:00</span>' in calendar
    assert '<span class="calendar__weekday">Fri </span>12<span class="calendar__monthname"> Jun</span>' in calendar
    detail = leader_client.get(appointment.get_absolute_url()).content.decode()
    assert "Friday 12 June 2026, 14:00–15:00" in detail


def test_an_email_text_body_is_not_escaped_and_its_html_body_is(appointment):
    email = attendance_email(appointment)
    assert f"Dear {NAME}," in email.text and "&amp;" not in email.text and "&lt;" not in email.text
    assert "Dear &lt;b&gt;O&#39;Neil &amp; Sons&lt;/b&gt;," in email.html and NAME not in email.html
    assert "Friday 12 June 2026 at 14:00" in email.text

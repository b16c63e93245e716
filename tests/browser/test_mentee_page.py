"""In Chromium: a mentor opens My mentees, then a mentee, books a session from there with the mentee already chosen,
and finds it on the mentee's page; the pages fit a 375-pixel phone screen."""

import os
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from sessions_app.models import MentorAssignment, ServiceAppointment
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, AppointmentFactory, FundingArrangementFactory

# SCREENSHOTS=<folder> keeps a screenshot of each page at each width there, to look at.
SCREENSHOTS = os.environ.get("SCREENSHOTS")


def seen(locator):
    locator.wait_for(state="visible")


def shot(page, name):
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


def test_a_mentor_books_a_session_from_a_mentees_page(browser, live_server, mentor, mentee):
    MentorAssignment.objects.create(mentor=mentor, mentee=mentee)
    FundingArrangementFactory(mentee=mentee, funder__name="Student Finance England", hours_allowance=Decimal("20"))
    start = timezone.now().replace(microsecond=0) - timedelta(days=7)
    before = AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start, ends_at=start + timedelta(hours=1))
    day = timezone.localdate() + timedelta(days=10)

    for width in (1280, 375):
        context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": 900})
        page = context.new_page()
        page.set_default_timeout(10_000)
        log_in(page, mentor.user.email, PASSWORD)
        page.get_by_role("link", name="My mentees").click()
        seen(page.get_by_role("heading", name="My mentees", level=1))
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shot(page, f"my-mentees-{width}")
        page.get_by_role("link", name="Mo Mentee").click()
        seen(page.get_by_role("heading", name="Mo Mentee", level=1))
        assert page.get_by_role("link", name=before.reference).is_visible()
        assert page.get_by_role("link", name=mentee.email).is_visible()
        assert page.get_by_text("Funded by Student Finance England").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shot(page, f"mentee-{width}")
        if width == 375:  # on a phone, only look: the booking was made at 1280
            context.close()
            continue

        page.get_by_role("link", name="Book a session").click()
        seen(page.get_by_label("Mentee"))
        assert page.get_by_label("Mentee").input_value() == str(mentee.pk)
        page.get_by_label("Date", exact=True).fill(day.isoformat())
        page.get_by_label("Starts at").fill("15:00")
        page.get_by_label("Phone", exact=True).check()
        page.get_by_role("button", name="Check").click()
        page.get_by_role("button", name="Book the session").click()
        seen(page.get_by_text("is booked"))
        booked = ServiceAppointment.objects.exclude(pk=before.pk).get()
        assert booked.mentee == mentee

        # Back to the mentee from the session's page: the new session is under Upcoming.
        page.get_by_role("link", name="Mo Mentee").first.click()
        upcoming = page.locator("section", has=page.get_by_role("heading", name="Upcoming sessions"))
        seen(upcoming.get_by_role("link", name=booked.reference))
        assert upcoming.get_by_text("Scheduled").is_visible()
        context.close()

from datetime import timedelta

from django.utils import timezone

from tests.browser.conftest import log_in
from tests.factories import PASSWORD, AppointmentFactory


def test_mentor_opens_a_session_from_the_homepage(page, mentor, mentee):
    start = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    appointment = AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start, ends_at=start + timedelta(hours=1))

    log_in(page, mentor.user.email, PASSWORD)
    assert page.get_by_role("heading", name="My sessions").is_visible()
    page.get_by_role("link", name=appointment.reference).first.click()

    page.wait_for_url(f"**{appointment.get_absolute_url()}")
    assert page.get_by_role("heading", level=1).inner_text().startswith(appointment.reference)
    assert page.get_by_text("Mo Mentee with Ann Mentor").is_visible()
    assert page.get_by_role("link", name="Wrap Up Session").is_visible()


def test_mentor_finds_a_session_on_the_calendar_and_the_dashboard(page, mentor, mentee):
    appointment = AppointmentFactory(mentor=mentor, mentee=mentee)
    log_in(page, mentor.user.email, PASSWORD)
    local = timezone.localtime(appointment.starts_at)

    page.get_by_role("link", name="Calendar").click()
    page.goto(f"/calendar/{local.year}/{local.month}/")
    page.get_by_role("link", name=appointment.reference).click()
    page.wait_for_url(f"**{appointment.get_absolute_url()}")

    page.goto(f"/dashboard/?month={local:%Y-%m}")
    page.get_by_role("link", name=appointment.reference).click()
    page.wait_for_url(f"**{appointment.get_absolute_url()}")
    assert page.get_by_role("link", name="Cancel Session").is_visible()


def test_calendar_is_usable_on_a_phone(browser, live_server, mentor, mentee):
    appointment = AppointmentFactory(mentor=mentor, mentee=mentee)
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    page = context.new_page()
    log_in(page, mentor.user.email, PASSWORD)
    local = timezone.localtime(appointment.starts_at)
    page.goto(f"/calendar/{local.year}/{local.month}/")
    link = page.get_by_role("link", name=appointment.reference)
    assert link.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()

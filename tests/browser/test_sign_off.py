"""The mentee follows the link in their attendance email, on a phone, and confirms the session."""

import re
from datetime import timedelta

from django.utils import timezone

from sessions_app.models import SessionSignOff
from sessions_app.services import WrapUp, appointment_wrap_up
from tests.factories import AppointmentFactory, FundingArrangementFactory


def test_the_mentee_follows_the_emails_link_on_a_phone_and_confirms(browser, live_server, settings, mentor, mentee,
                                                                     mailoutbox, tmp_path):
    settings.SITE_URL = live_server.url
    start = timezone.now().replace(second=0, microsecond=0) - timedelta(hours=3)
    session = AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start, ends_at=start + timedelta(hours=1))
    appointment_wrap_up(appointment_id=session.pk, acting_user=mentor.user, answers=WrapUp(
        outcome="attended", funding_arrangement=FundingArrangementFactory(mentee=mentee, funder__name="SFE")))
    [email] = [message for message in mailoutbox if message.to == [mentee.email]]
    link = re.search(rf"{re.escape(live_server.url)}/sign-off/\S+/", email.body).group(0)

    context = browser.new_context(viewport={"width": 375, "height": 740})  # a phone, with no log-in
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(link)
        page.get_by_role("heading", name="Please confirm your session").wait_for()
        assert page.get_by_text("Ann Mentor").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 375  # nothing wider than the phone
        page.get_by_label("Yes: this session took place as shown").check()
        page.get_by_label("Comment (optional)").fill("Thank you, very helpful.")
        page.screenshot(path=str(tmp_path / "sign-off.png"), full_page=True)
        page.get_by_role("button", name="Send my answer").click()
        page.get_by_role("heading", name="Thank you").wait_for()
        assert page.get_by_text("This session was confirmed on").is_visible()
    finally:
        context.close()
    sign_off = SessionSignOff.objects.get(appointment=session)
    assert (sign_off.state, sign_off.how, sign_off.comment) == ("confirmed", "link", "Thank you, very helpful.")

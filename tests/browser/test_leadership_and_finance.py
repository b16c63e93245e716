"""Senior Leadership wrap up a mentor's list, a mentor asks them to, and Finance completes a flagged wrap-up, in Chromium."""

from datetime import timedelta

import pytest
from django.utils import timezone

from invoicing.models import FinanceTicket
from sessions_app.models import ServiceAppointment
from sessions_app.services import WrapUp, appointment_wrap_up
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, AppointmentFactory, FundingArrangementFactory, MenteeFactory

Status = ServiceAppointment.Status


def started(mentor, mentee, hours_ago):
    start = timezone.now().replace(microsecond=0) - timedelta(hours=hours_ago)
    return AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start, ends_at=start + timedelta(hours=1))


def open_wrap_up_list_from_the_dashboard(page, mentor):
    page.get_by_role("link", name="Dashboard").click()
    page.get_by_role("heading", name="Mentors with sessions still to wrap up").wait_for()
    row = page.locator("tr", has_text=mentor.user.full_name)
    row.get_by_role("link", name="Wrap up for them").click()
    page.get_by_role("heading", name=f"Wrap up for {mentor.user.full_name}").wait_for()


def test_senior_leadership_wrap_up_two_sessions_from_the_dashboard(page, leader, mentor, mentee):
    FundingArrangementFactory(mentee=mentee, funder__name="Student Finance England", reference="SFE-42")
    one_arrangement = started(mentor, mentee, hours_ago=30)
    no_arrangement = started(mentor, MenteeFactory(full_name="Nia Nofunding"), hours_ago=5)

    log_in(page, leader.email, PASSWORD)
    open_wrap_up_list_from_the_dashboard(page, mentor)
    assert page.get_by_text("Funded by Student Finance England, ref. SFE-42").is_visible()
    assert page.get_by_text("To Finance: no funding arrangement on").is_visible()

    page.get_by_label(f"Status of {one_arrangement.reference}").select_option(label="Attended")
    page.get_by_label(f"Status of {no_arrangement.reference}").select_option(label="Did not attend")
    page.get_by_label(f"Notes for {no_arrangement.reference}").fill("Ann confirmed by phone.")
    page.get_by_role("button", name="Wrap up the chosen sessions").click()

    page.get_by_role("heading", name="Wrap-up for Ann Mentor: what happened").wait_for()
    assert page.get_by_text("2 of 2 sessions wrapped up.").is_visible()
    completed = page.locator(".results__item--completed")
    with_finance = page.locator(".results__item--with_finance")
    assert completed.inner_text() == f"{one_arrangement.reference}: Completed (Attended)"
    assert with_finance.inner_text().startswith(
        f"{no_arrangement.reference}: with Finance: funding type could not be decided (no funding arrangement on"
    )
    for appointment, status in ((one_arrangement, Status.COMPLETED), (no_arrangement, Status.AWAITING_FINANCE)):
        appointment.refresh_from_db()
        assert (appointment.status, appointment.wrapped_up_by, appointment.wrapped_up_on_behalf) == (status, leader, True)
    assert no_arrangement.session_notes == "Ann confirmed by phone."

    completed.get_by_role("link", name=one_arrangement.reference).click()
    page.get_by_text("Lee Leader on behalf of Ann Mentor").first.wait_for()


def test_a_mentor_tells_senior_leadership_and_they_find_the_status_chosen(browser, live_server, page, mentor, leader, mentee):
    asked_about = started(mentor, mentee, hours_ago=26)
    left_out = started(mentor, mentee, hours_ago=3)

    log_in(page, mentor.user.email, PASSWORD)
    page.get_by_role("link", name="Can't wrap up? Tell Senior Leadership").click()
    page.get_by_role("heading", name="Tell Senior Leadership what happened").wait_for()
    page.get_by_label(f"Status of {asked_about.reference}").select_option(label="Did not attend")
    page.get_by_label("Message for Senior Leadership (optional)").fill("On leave this week; Mo did not turn up.")
    page.get_by_role("button", name="Send to Senior Leadership").click()
    page.get_by_text("Your request is with Senior Leadership.").wait_for()
    assert page.get_by_text("Waiting for Senior Leadership since").is_visible()

    leadership = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    try:
        leader_page = leadership.new_page()
        leader_page.set_default_timeout(10_000)
        log_in(leader_page, leader.email, PASSWORD)
        leader_page.get_by_role("link", name="Dashboard").click()
        assert leader_page.locator("tr", has_text="Ann Mentor").get_by_text("Asked on").is_visible()
        open_wrap_up_list_from_the_dashboard(leader_page, mentor)

        assert leader_page.get_by_role("heading", name="Ann Mentor asked you to wrap up on").is_visible()
        assert leader_page.get_by_text("On leave this week; Mo did not turn up.").is_visible()
        asked = leader_page.get_by_label(f"Status of {asked_about.reference}")
        assert asked.input_value() == ServiceAppointment.Outcome.DID_NOT_ATTEND
        assert asked.locator("option:checked").inner_text() == "Did not attend"
        assert leader_page.get_by_label(f"Status of {left_out.reference}").input_value() == ""
        asked_row = leader_page.locator("tr", has=leader_page.get_by_role("link", name=asked_about.reference))
        assert asked_row.get_by_text("From Ann's request").is_visible()
    finally:
        leadership.close()
    asked_about.refresh_from_db()
    assert asked_about.status == Status.SCHEDULED  # only Senior Leadership wrap up


@pytest.fixture
def flagged(mentor, mentee):
    """Ann Mentor wrapped up with no funding on file, so the session is with Finance; since then Finance has
    added two arrangements to Mo Mentee's account, and must choose."""
    appointment = started(mentor, mentee, hours_ago=4)
    appointment = appointment_wrap_up(
        appointment_id=appointment.pk, acting_user=mentor.user,
        answers=WrapUp(outcome="attended", session_notes="Essay plan.", actual_minutes=60,
                       admin_details="No funding on file: Mo says the university pays from this term."),
    )
    assert appointment.status == Status.AWAITING_FINANCE
    FundingArrangementFactory(mentee=mentee, funder__name="University of Northbridge", reference="PO-77")
    FundingArrangementFactory(mentee=mentee, self_funded=True)
    return appointment


def complete_the_flagged_wrap_up_from_the_queue(page, flagged):
    page.get_by_role("link", name="Open the Finance queue").click()
    page.get_by_role("heading", name="Finance queue").wait_for()
    row = page.locator(f"#awaiting-{flagged.reference}")
    assert row.get_by_text("No funding on file: Mo says the university pays from this term.").is_visible()
    row.get_by_role("link", name="Complete wrap-up").click()

    page.get_by_role("heading", name=f"Complete the wrap-up of {flagged.reference}").wait_for()
    assert page.get_by_label("Self-funded", exact=False).is_visible()
    page.get_by_label("Funded by University of Northbridge, ref. PO-77", exact=False).check()
    page.get_by_label("Reply").fill("The university funds Mo from this term: PO-77. Completed.")
    page.get_by_role("button", name="Complete wrap-up").click()

    page.get_by_text(f"{flagged.reference} is completed (Funded by University of Northbridge, ref. PO-77).").wait_for()
    assert page.get_by_text("No sessions are awaiting Finance.").is_visible()
    flagged.refresh_from_db()
    assert flagged.status == Status.COMPLETED
    assert flagged.funding_arrangement.reference == "PO-77"
    ticket = FinanceTicket.objects.get(appointment=flagged)
    assert (ticket.status, ticket.reply) == (
        FinanceTicket.Status.CLOSED, "The university funds Mo from this term: PO-77. Completed.")


def test_finance_logs_in_on_the_admin_login_page_and_completes_a_flagged_wrap_up(page, finance_user, flagged):
    page.goto("/admin/")
    page.wait_for_url("**/admin/login/?next=/admin/")
    page.get_by_label("Email address").fill(finance_user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Open the Finance queue").wait_for(timeout=3_000)
    complete_the_flagged_wrap_up_from_the_queue(page, flagged)


def test_finance_completes_a_flagged_wrap_up_from_the_queue(page, finance_user, flagged):
    log_in(page, finance_user.email, PASSWORD)
    page.get_by_role("link", name="Finance admin").click()
    page.get_by_role("link", name="Open the Finance queue").wait_for()
    complete_the_flagged_wrap_up_from_the_queue(page, flagged)

from datetime import timedelta

import pytest
from django.utils import timezone

from sessions_app.models import ServiceAppointment
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, AppointmentFactory, FundingArrangementFactory


@pytest.fixture
def started(mentor, mentee):
    start = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    return AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start, ends_at=start + timedelta(hours=1))


def open_wrap_up(page, appointment):
    page.goto(appointment.get_absolute_url())
    page.get_by_role("link", name="Wrap Up Session").click()
    page.get_by_role("heading", name="What happened?").wait_for()


def test_mentor_wraps_up_with_the_one_funding_option(page, mentor, mentee, started):
    FundingArrangementFactory(mentee=mentee, funder__name="Student Finance England", reference="SFE-42")
    log_in(page, mentor.user.email, PASSWORD)
    open_wrap_up(page, started)

    page.get_by_label("Attended").check()
    page.get_by_role("button", name="Next").click()
    assert page.get_by_text("so it is chosen already").is_visible()
    assert page.get_by_role("radio", name="Funded").is_checked()
    page.get_by_role("button", name="Next").click()

    page.get_by_label("What was covered?").fill("Planned the dissertation chapters.")
    page.get_by_label("Actual duration (minutes)").fill("55")
    page.get_by_role("button", name="Next").click()
    page.get_by_role("heading", name="Review").wait_for()
    assert page.get_by_text("Funded by Student Finance England, ref. SFE-42").is_visible()
    page.get_by_role("button", name="Submit wrap-up").click()

    page.get_by_text(f"{started.reference} is wrapped up. The session record is complete.").wait_for()
    assert page.get_by_text("Completed", exact=True).first.is_visible()
    started.refresh_from_db()
    assert (started.status, started.actual_minutes) == (ServiceAppointment.Status.COMPLETED, 55)


def test_mentor_skips_missing_funding_and_explains_in_admin_details(page, mentor, started):
    log_in(page, mentor.user.email, PASSWORD)
    open_wrap_up(page, started)
    page.get_by_label("Did not attend").check()
    page.get_by_role("button", name="Next").click()
    assert page.get_by_text("The funding information is missing.").is_visible()
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Next").click()  # notes are optional when the mentee did not attend

    page.get_by_role("button", name="Submit wrap-up").click()
    assert page.get_by_text("Something is missing (the funding type)").is_visible()
    page.get_by_label("Admin Details").fill("The mentee's funding ended last month; new PO expected.")
    page.get_by_role("button", name="Submit wrap-up").click()

    page.get_by_text("is wrapped up and with Finance").wait_for()
    started.refresh_from_db()
    assert started.status == ServiceAppointment.Status.AWAITING_FINANCE


def test_back_keeps_what_was_typed(page, mentor, mentee, started):
    FundingArrangementFactory(mentee=mentee)
    log_in(page, mentor.user.email, PASSWORD)
    open_wrap_up(page, started)
    page.get_by_label("Attended").check()
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Next").click()
    page.get_by_label("What was covered?").fill("Half a thought")
    page.get_by_role("button", name="Back").click()
    page.get_by_role("button", name="Next").click()
    assert page.get_by_label("What was covered?").input_value() == "Half a thought"


def test_senior_leadership_wraps_up_on_behalf(page, leader, mentee, started):
    FundingArrangementFactory(mentee=mentee, self_funded=True)
    log_in(page, leader.email, PASSWORD)
    open_wrap_up(page, started)
    page.get_by_label("Cancelled (the session did not take place)").check()
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Submit wrap-up").click()
    page.get_by_text("Lee Leader on behalf of Ann Mentor").first.wait_for()


def test_mentor_cancels_in_advance_with_a_preview_of_the_email(page, mentor, mentee):
    start = timezone.now().replace(microsecond=0) + timedelta(days=4)
    appointment = AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start, ends_at=start + timedelta(hours=1))
    log_in(page, mentor.user.email, PASSWORD)
    page.goto(appointment.get_absolute_url())
    page.get_by_role("link", name="Cancel Session").click()
    page.get_by_label("Cancellation reason").select_option(label="Mentor unavailable")
    page.get_by_label("Internal cancellation note").fill("Training day clash; do not tell the mentee.")
    page.get_by_role("button", name="Next").click()
    preview = page.get_by_label("Attendance email preview")
    assert "Reason: Mentor unavailable" in preview.inner_text()
    assert "Training day clash" not in preview.inner_text()
    page.get_by_role("button", name="Confirm cancellation").click()
    page.get_by_text(f"{appointment.reference} is cancelled.").wait_for()
    appointment.refresh_from_db()
    assert appointment.status == ServiceAppointment.Status.CANCELLED


def test_late_notice_cancel_goes_to_the_wrap_up(page, mentor, mentee):
    FundingArrangementFactory(mentee=mentee)
    start = timezone.now().replace(microsecond=0) + timedelta(hours=3)
    appointment = AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start, ends_at=start + timedelta(hours=1))
    log_in(page, mentor.user.email, PASSWORD)
    page.goto(appointment.get_absolute_url())
    page.get_by_role("link", name="Cancel Session").click()
    page.get_by_text("so this is a late-notice cancellation").wait_for()
    assert page.get_by_label("Late-notice cancellation").is_checked()
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Cancellation reason").select_option(label="Mentee unwell")
    page.get_by_label("Internal cancellation note").fill("Said so by text; do not tell the funder why.")
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Submit wrap-up").click()
    page.get_by_text(f"{appointment.reference} is wrapped up.").wait_for()
    appointment.refresh_from_db()
    assert appointment.outcome == "late_cancellation"
    assert appointment.cancellation_reason.label == "Mentee unwell"

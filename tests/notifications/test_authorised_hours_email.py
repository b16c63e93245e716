"""Finance's weekly email of funding arrangements to renew: hours nearly used up, or ending within 30 days; queued
once a week however often the job runs."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command

from notifications.models import OutboxEmail
from sessions_app.services import WrapUp, appointment_wrap_up
from tests.factories import AppointmentFactory, FunderFactory, FundingArrangementFactory, MenteeFactory
from tests.invoicing.helpers import at

pytestmark = pytest.mark.django_db
MONDAY = date(2026, 11, 2)


@pytest.fixture
def arrangements(mentor, finance_user, settings):
    settings.AUTHORISED_HOURS_WARNING = 2
    funder = FunderFactory(name="Student Finance England")
    nearly = FundingArrangementFactory(mentee=MenteeFactory(full_name="Nia Nearly"), funder=funder,
                                       reference="DSA-N", hours_allowance=Decimal("3"))
    start = at(2026, 10, 20)
    session = AppointmentFactory(mentor=mentor, mentee=nearly.mentee, starts_at=start,
                                 ends_at=start + timedelta(minutes=61))
    appointment_wrap_up(appointment_id=session.pk, acting_user=mentor.user, now=start + timedelta(hours=2),
                        answers=WrapUp(outcome="attended", funding_arrangement=nearly, session_notes="n"))
    ending = FundingArrangementFactory(mentee=MenteeFactory(full_name="Eli Ending"), funder=funder,
                                       reference="PO-E", valid_until=MONDAY + timedelta(days=30))
    FundingArrangementFactory(mentee=MenteeFactory(full_name="Lee Later"), funder=funder,  # 31 days: not yet
                              valid_until=MONDAY + timedelta(days=31), hours_allowance=Decimal("40"))
    FundingArrangementFactory(mentee=MenteeFactory(full_name="Pat Past"), funder=funder,  # ended: not listed
                              valid_until=MONDAY - timedelta(days=1), hours_allowance=Decimal("1"))
    return nearly, ending


def test_finance_hear_of_arrangements_nearly_used_up_or_ending_within_30_days(arrangements, finance_user):
    call_command("run_job", "authorised-hours", day=MONDAY.isoformat())
    email = OutboxEmail.objects.get(kind="authorised_hours")
    assert finance_user.email in email.to
    assert email.subject == "2 funding arrangements to renew: hours nearly used up or ending within 30 days"
    text = email.text_body
    assert "Nia Nearly: Funded by Student Finance England, ref. DSA-N\n  Hours: 3 authorised, 1.02 used, 0.00 booked, " \
           "1.98 left (nearly used up)\n  Ends: open-ended" in text
    assert "Eli Ending: Funded by Student Finance England, ref. PO-E\n  Hours: no limit\n  Ends: 2 December 2026 " \
           "(within 30 days)" in text
    assert text.index("Eli Ending") < text.index("Nia Nearly")  # the soonest to end first
    assert "Lee Later" not in text and "Pat Past" not in text


def test_the_email_is_queued_once_a_week_however_often_the_job_runs(arrangements):
    for day in (MONDAY, MONDAY, MONDAY + timedelta(days=3), MONDAY + timedelta(days=6)):
        call_command("run_job", "authorised-hours", day=day.isoformat())
    assert OutboxEmail.objects.filter(kind="authorised_hours").count() == 1
    call_command("run_job", "authorised-hours", day=(MONDAY + timedelta(days=7)).isoformat())
    assert OutboxEmail.objects.filter(kind="authorised_hours").count() == 2


def test_no_email_when_nothing_needs_renewing(finance_user):
    FundingArrangementFactory(hours_allowance=Decimal("50"))
    call_command("run_job", "authorised-hours", day=MONDAY.isoformat())
    assert not OutboxEmail.objects.filter(kind="authorised_hours").exists()

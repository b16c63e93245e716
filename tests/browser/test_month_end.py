"""Finance's month end in Chromium: choose last month on the Month end page, read the preview, run it, issue the
invoices and statements through their confirmation pages, close the month; the session page then says so."""

from datetime import datetime, time, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone
from django.utils.formats import date_format

from invoicing.models import Invoice, MonthEndRun, OrganisationDetails, PaymentStatement
from sessions_app.models import ServiceAppointment
from sessions_app.services import WrapUp, appointment_wrap_up
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, AppointmentFactory, FundingArrangementFactory


@pytest.fixture
def last_month(mentor, mentee):
    """Two sessions of last month, wrapped up, funded by Student Finance England at £55/h."""
    first = (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)
    arrangement = FundingArrangementFactory(mentee=mentee, funder__name="Student Finance England",
                                            hourly_rate=Decimal("55.00"), valid_from=first - timedelta(days=60))
    sessions = []
    for day in (3, 10):
        start = timezone.make_aware(datetime.combine(first.replace(day=day), time(10)))
        appointment = AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start,
                                         ends_at=start + timedelta(hours=1))
        sessions.append(appointment_wrap_up(
            appointment_id=appointment.pk, acting_user=mentor.user,
            answers=WrapUp(outcome=ServiceAppointment.Outcome.ATTENDED, funding_arrangement=arrangement,
                           session_notes="Went well.")))
    OrganisationDetails.objects.filter(pk=1).update(vat_number="GB123456789", issue_automatically=False)
    return first, sessions


def issue_from_the_list(page, url, count, noun, done):
    page.goto(url)
    page.locator("#action-toggle").check()
    page.locator("select[name=action]").select_option("issue_selected")
    page.get_by_role("button", name="Go").click()
    button = page.get_by_role("button", name=f"Yes, issue {count} {noun}")
    button.wait_for()
    button.click()
    page.get_by_text(done, exact=False).first.wait_for()


def test_finance_previews_runs_issues_and_closes_last_month(page, finance_user, last_month, mentor):
    first, sessions = last_month
    month_name = date_format(first, "F Y")
    with mock.patch("invoicing.services.documents._after_issue"):  # PDFs are another test's
        log_in(page, finance_user.email, PASSWORD)
        page.goto("/admin/")
        page.get_by_role("link", name="Month end", exact=True).click()
        page.get_by_label("Month").fill(f"{first:%Y-%m}")
        page.get_by_role("button", name="Show this month").click()

        preview = page.locator("#preview-invoices")
        preview.wait_for()
        assert "Student Finance England" in preview.inner_text() and "£110.00" in preview.inner_text()
        assert not Invoice.objects.exists()

        page.get_by_role("button", name=f"Run the month end for {month_name}").click()
        page.locator("#state").wait_for()
        assert "Finished" in page.locator("#state").inner_text()
        assert "invoices: 1 new" in page.locator("#result").inner_text()
        assert MonthEndRun.objects.get(period_start=first).state == MonthEndRun.State.DONE

        issue_from_the_list(page, "/admin/invoicing/invoice/", 1, "invoice", "1 invoice issued")
        issue_from_the_list(page, "/admin/invoicing/paymentstatement/", 1, "payment statement",
                            "1 statement issued")
        assert Invoice.objects.get().status == Invoice.Status.ISSUED
        assert PaymentStatement.objects.get().status == PaymentStatement.Status.ISSUED

        page.goto(f"/admin/invoicing/monthendrun/month-end/?month={first:%Y-%m}")
        page.get_by_role("link", name=f"Close {month_name}…").click()
        page.get_by_label("Why").fill("Accounts filed.")
        page.get_by_role("button", name=f"Yes, close {month_name}").click()
        page.locator("#closed").wait_for()
        assert MonthEndRun.objects.get(period_start=first).is_closed

    page.goto(sessions[0].get_absolute_url())
    assert page.locator("#month-closed").inner_text().startswith("Month closed by Finance on ")

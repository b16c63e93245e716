"""Finance's month end in Chromium: choose last month on the Month end page, read the preview, run it, issue the
invoices and statements through their confirmation pages, close the month; the session page then says so."""

from unittest import mock

from django.utils.formats import date_format

from invoicing.models import Invoice, MonthEndRun, PaymentStatement
from tests.browser.conftest import log_in
from tests.factories import PASSWORD


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

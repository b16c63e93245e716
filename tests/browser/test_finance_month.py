"""Finance's month from start to finish, in Chromium, as a Finance clerk works it in the admin: last month's month
end previewed, run and its invoice issued through the confirmation page; an invoiced session corrected (a reason is
required), which credits just its line; this month's month end bills it again as corrected and carries the pay
difference; the statements approved; a payment run created and its Bacs file downloaded and read. Then the history:
every step says who did it and why."""

import os
from decimal import Decimal
from pathlib import Path
from unittest import mock

import pytest
from django.utils import timezone
from django.utils.formats import date_format

from invoicing.models import (
    Invoice,
    MonthEndRun,
    OrganisationDetails,
    PaymentRun,
    PaymentStatement,
    SessionCreditNote,
    StatementAdjustment,
)
from sessions_app.models import AppointmentEvent, ServiceAppointment
from sessions_app.services import bank_details_save
from tests.browser.conftest import log_in
from tests.factories import PASSWORD

SHOTS = Path(os.environ.get("SCREENSHOTS", "/tmp/screenshots")) / "finance-month"
REASON = "The mentee left after half an hour; the mentor wrapped up the hour booked."


@pytest.fixture
def last_month(last_month, mentor):
    """Last month's two sessions (tests/browser/conftest.py); the mentor has bank details and the paying account is
    filled in, so a payment run can pay them."""
    bank_details_save(mentor=mentor, acting_user=mentor.user, account_name="Ann Mentor", sort_code="12-34-56",
                      account_number="12345678")
    OrganisationDetails.objects.filter(pk=1).update(
        payer_account_name="Mentoring", payer_sort_code="400102", payer_account_number="11223344")
    return last_month


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def run_month_end(page, month, name):
    page.goto(f"/admin/invoicing/monthendrun/month-end/?month={month:%Y-%m}")
    page.locator("#preview-invoices").wait_for()
    preview = page.locator("#preview").inner_text()
    shot(page, f"{name}-preview")
    page.get_by_role("button", name=f"Run the month end for {date_format(month, 'F Y')}").click()
    page.locator("#state").wait_for()
    assert "Finished" in page.locator("#state").inner_text()
    return preview


def act_on_all(page, url, action):
    page.goto(url)
    page.locator("#action-toggle").check()
    page.locator("select[name=action]").select_option(action)
    page.get_by_role("button", name="Go").click()


def test_a_finance_clerk_runs_the_month_corrects_an_invoiced_session_and_pays_the_mentor(
        browser, live_server, finance_user, mentor, last_month):
    first, (corrected, kept) = last_month
    this_month = timezone.localdate().replace(day=1)
    context = browser.new_context(base_url=live_server.url, accept_downloads=True,
                                  viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    with mock.patch("invoicing.services.documents._after_issue"), \
            mock.patch("invoicing.tasks.render_session_credit_note_pdf.delay"):  # PDFs are other tests'
        log_in(page, finance_user.email, PASSWORD)

        # Last month: preview, run, issue through the confirmation page.
        preview = run_month_end(page, first, "1-last-month")
        assert "Student Finance England" in preview and "£110.00" in preview
        assert "invoices: 1 new" in page.locator("#result").inner_text()
        act_on_all(page, "/admin/invoicing/invoice/", "issue_selected")
        page.get_by_role("button", name="Yes, issue 1 invoice").wait_for()
        assert "Student Finance England" in page.content()
        shot(page, "2-confirm-issue")
        page.get_by_role("button", name="Yes, issue 1 invoice").click()
        page.get_by_text("1 invoice issued", exact=False).first.wait_for()
        act_on_all(page, "/admin/invoicing/paymentstatement/", "issue_selected")
        page.get_by_role("button", name="Yes, issue 1 payment statement").click()
        page.get_by_text("1 statement issued", exact=False).first.wait_for()
        invoice = Invoice.objects.get()
        october_statement = PaymentStatement.objects.get()
        assert invoice.status == Invoice.Status.ISSUED and october_statement.status == PaymentStatement.Status.ISSUED

        # Correct the first session: without a reason it is refused; with one, a credit note for its line only.
        page.goto(f"/admin/sessions_app/serviceappointment/{corrected.pk}/change/")
        page.get_by_role("link", name="Correct this wrap-up").click()
        page.get_by_label("Actual duration (minutes)").fill("30")
        page.get_by_role("button", name=f"Correct the wrap-up of {corrected.reference}").click()
        page.get_by_text("Say why", exact=False).first.wait_for()
        shot(page, "3-correction-needs-a-reason")
        assert corrected.events.filter(kind=AppointmentEvent.Kind.CORRECTED).count() == 0
        page.get_by_label("Actual duration (minutes)").fill("30")
        page.get_by_label("Why").fill(REASON)
        page.get_by_role("button", name=f"Correct the wrap-up of {corrected.reference}").click()
        credit_note = SessionCreditNote.objects.get()
        page.get_by_text(f"{credit_note.number} credits {corrected.reference} on {invoice.number}").wait_for()
        shot(page, "4-corrected")
        assert credit_note.invoice_line.appointment == corrected and credit_note.total == Decimal("66.00")
        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.ISSUED  # the invoice stands; only the line is credited

        # This month's month end bills the session again, as corrected, and carries the pay difference.
        preview = run_month_end(page, this_month, "5-this-month")
        assert "£27.50" in preview
        assert "corrections to earlier statements" in preview.lower() and "-£15.00" in preview
        rebilled = Invoice.objects.get(period_start=this_month)
        (line,) = rebilled.lines.all()
        assert line.appointment == corrected and line.net == Decimal("27.50") and line.is_late
        adjustment = StatementAdjustment.objects.get()
        assert adjustment.statement.period_start == this_month and adjustment.amount < 0

        # This month's statement only takes the £15.00 back: it comes to less than nothing. Issue it, approve both.
        november_statement = adjustment.statement
        assert november_statement.total == Decimal("-15.00")
        act_on_all(page, "/admin/invoicing/paymentstatement/?status__exact=draft", "issue_selected")
        page.get_by_role("button", name="Yes, issue 1 payment statement").click()
        page.get_by_text("1 statement issued", exact=False).first.wait_for()
        act_on_all(page, "/admin/invoicing/paymentstatement/?status__exact=issued", "approve")
        page.get_by_text("2 statements approved for payment", exact=False).first.wait_for()
        november_statement.refresh_from_db()
        assert page.get_by_text(f"{november_statement.number} came to -£15.00: Ann Mentor owes £15.00, so nothing is "
                                "paid on it").is_visible()
        october_statement.refresh_from_db()
        assert october_statement.status == PaymentStatement.Status.APPROVED
        pay = october_statement.total
        page.goto("/admin/invoicing/paymentrun/")
        page.get_by_role("link", name="Add payment run").click()
        page.get_by_text("Ann Mentor, **-**-56, ****5678").wait_for()
        shot(page, "6-payment-run")
        owed = page.locator("#owed").inner_text()
        assert november_statement.number in owed and "-£15.00" in owed and "nothing is paid" in owed
        assert "taken off their next payment statement" in owed
        assert november_statement.number not in page.locator("#payable").inner_text()
        page.get_by_role("button", name=f"Yes, create a payment run of 1 payment (£{pay})").click()
        page.get_by_text(f"created: 1 payment, £{pay}").wait_for()
        with page.expect_download() as download:
            page.get_by_role("link", name="Download the Bacs Standard 18 file").click()
        records = Path(download.value.path()).read_bytes().split(b"\r\n")
        assert [len(record) for record in records] == [100, 0]
        record = records[0].decode("ascii")
        assert record[0:14] == "12345612345678" and record[15:17] == "99"
        assert record[35:46] == f"{int(pay * 100):011d}"
        assert record[64:82].rstrip() == october_statement.number and record[82:100].rstrip() == "ANN MENTOR"
        shot(page, "7-payment-run-made")
        payments = page.locator("#items-group, .inline-group").first.inner_text()
        assert october_statement.number in payments and "****5678" in payments  # whom the run pays

        # The session's history in the admin: the correction, by whom, and why.
        page.goto(f"/admin/sessions_app/serviceappointment/{corrected.pk}/history/")
        history = page.locator("#content").inner_text()
        shot(page, "8-session-history")
        assert REASON in history and finance_user.full_name in history
        assert "None" not in history and "the system" in history  # the factory's row: no one, no reason
    context.close()

    # Every step is in a history with who and why.
    def steps(model_history, **filters):
        return [(row.history_user, row.history_change_reason) for row in model_history.filter(**filters)
                .order_by("history_date")]

    event = corrected.events.get(kind=AppointmentEvent.Kind.CORRECTED)
    assert event.actor == finance_user and event.description.endswith(f"Why: {REASON}")
    assert "Actual duration" in event.description or "minutes" in event.description
    assert (finance_user, f"Wrap-up corrected: {REASON}"[:100]) in steps(ServiceAppointment.history, id=corrected.pk)
    assert (finance_user, "Issued") in steps(Invoice.history, id=invoice.pk)
    assert [step for step in steps(PaymentStatement.history, id=october_statement.pk) if step[0]] == [
        (finance_user, "Issued"), (finance_user, "Approved for payment")]
    november_steps = steps(PaymentStatement.history, id=november_statement.pk)
    assert november_steps[0] == (finance_user, "Month-end job: adjustments brought forward")
    assert november_steps[-2:] == [
        (finance_user, "Issued"),
        (finance_user, "Approved: nothing to pay; the £15.00 owed is carried to the next statement")]
    carried = StatementAdjustment.objects.get(carried_from=november_statement)
    assert carried.amount == Decimal("-15.00") and carried.statement is None and carried.created_by == finance_user
    assert credit_note.issued_by == finance_user and credit_note.reason.endswith(REASON)
    assert adjustment.created_by == finance_user and adjustment.reason == REASON
    for month in (first, this_month):
        run = MonthEndRun.objects.get(period_start=month)
        assert (finance_user, "Month end asked for in the admin") in steps(MonthEndRun.history, id=run.pk)
    (payment_run,) = PaymentRun.objects.all()
    assert steps(PaymentRun.history, id=payment_run.pk) == [
        (finance_user, "Created: 1 payment"), (finance_user, "Bacs Standard 18 file downloaded")]

"""A mentor gives their bank details on My details; Finance pays them with a payment run: the confirmation page,
the Bacs file downloaded, marked paid. In Chromium."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from invoicing.models import OrganisationDetails, PaymentRun, PaymentStatement
from notifications.models import OutboxEmail
from tests.browser.conftest import log_in
from tests.factories import PASSWORD


def test_a_mentor_gives_bank_details_and_finance_pays_them_with_a_payment_run(browser, live_server, mentor,
                                                                              finance_user):
    OrganisationDetails.objects.filter(pk=1).update(payer_account_name="Mentoring", payer_sort_code="400102",
                                                    payer_account_number="11223344")
    today = timezone.localdate()
    statement = PaymentStatement.objects.create(
        number=f"PAY-{today.year}-000001", status=PaymentStatement.Status.APPROVED, mentor=mentor,
        period_start=today.replace(day=1) - timedelta(days=28), period_end=today.replace(day=1) - timedelta(days=1),
        total=Decimal("97.50"), issue_date=today)

    mentor_context = browser.new_context(base_url=live_server.url)
    page = mentor_context.new_page()
    page.set_default_timeout(10_000)
    log_in(page, mentor.user.email, PASSWORD)
    page.get_by_role("link", name="My details").click()
    page.get_by_text("You have not given your bank details yet").wait_for()
    page.get_by_label("Postal address").fill("2 Low Road\nLeeds LS1 1AA")
    page.get_by_label("Name on the account").fill("Ann Mentor")
    page.get_by_label("Sort code").fill("12-34-5")
    page.get_by_label("Account number").fill("12345678")
    page.get_by_role("button", name="Save my details").click()
    page.get_by_text("Enter the sort code as six digits, for example 12-34-56.").wait_for()
    page.get_by_label("Sort code").fill("12-34-56")
    page.get_by_label("Account number").fill("12345678")
    page.get_by_role("button", name="Save my details").click()
    page.get_by_text("Your details are saved.").wait_for()
    assert page.get_by_text("sort code **-**-56, account ****5678").is_visible()
    assert "12345678" not in page.content()
    mentor_context.close()

    context = browser.new_context(base_url=live_server.url, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto("/admin/login/?next=/admin/invoicing/paymentrun/")
    page.locator("#id_username").fill(finance_user.email)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Add payment run").click()
    page.get_by_text("£97.50").first.wait_for()
    assert page.get_by_text("Ann Mentor, **-**-56, ****5678").is_visible()
    page.get_by_role("button", name="Yes, create a payment run of 1 payment (£97.50)").click()
    page.get_by_text("created: 1 payment, £97.50").wait_for()

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the Bacs Standard 18 file").click()
    records = open(download.value.path(), "rb").read().split(b"\r\n")
    assert [len(record) for record in records] == [100, 0]
    assert records[0].startswith(b"1234561234567809940010211223344    00000009750MENTORING")

    page.get_by_role("link", name="Mark paid").click()
    page.get_by_role("button", name="Yes, mark 1 statement paid").click()
    page.get_by_text("is paid: 1 statement marked paid").wait_for()
    statement.refresh_from_db()
    assert statement.status == PaymentStatement.Status.PAID
    assert PaymentRun.objects.get().status == PaymentRun.Status.PAID
    assert OutboxEmail.objects.filter(kind=OutboxEmail.Kind.REMITTANCE_ADVICE, to=[mentor.user.email]).exists()
    context.close()

"""Payment runs: what a run pays and refuses, its Bacs Standard 18 file byte for byte, its bulk-payment CSV, marking
it paid (statements paid, remittance advice emailed) and cancelling it, through the services and the admin."""

import csv
import html
import io
from datetime import date
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from invoicing.bacs import RECORD_LENGTH, Payment, bacs_text, standard18_file, standard18_record
from invoicing.models import OrganisationDetails, PaymentRun, PaymentRunItem, PaymentStatement, StatementAdjustment
from invoicing.services import statement_approve, statement_mark_paid
from invoicing.services.corrections import statement_adjustments_attach
from invoicing.services.pdf import statement_html
from invoicing.services.payment_runs import (
    MISSING_PAYER,
    NO_BANK_DETAILS,
    NOT_APPROVED,
    PaymentRunRefused,
    payment_run_cancel,
    payment_run_create,
    payment_run_file,
    payment_run_mark_paid,
    payment_run_preview,
)
from notifications.models import OutboxEmail
from sessions_app.services import bank_details_save
from tests.factories import MentorFactory

pytestmark = pytest.mark.time_machine(date(2026, 12, 1))  # a Tuesday
PAY_DAY = date(2026, 12, 4)  # Friday: three working days on


def statement(mentor, number, total, status=PaymentStatement.Status.APPROVED, month=11):
    return PaymentStatement.objects.create(
        number=number, status=status, mentor=mentor, period_start=date(2026, month, 1),
        period_end=date(2026, month, 28), total=Decimal(total), issue_date=date(2026, month, 30))


@pytest.fixture
def payer(db):
    OrganisationDetails.objects.filter(pk=1).update(payer_account_name="Mentoring Services", payer_sort_code="400102",
                                                    payer_account_number="11223344")


@pytest.fixture
def team(db, mentor, other_mentor, payer):
    """Ann (bank details, two approved statements), Olu (no bank details, one approved), Zoë (one issued)."""
    bank_details_save(mentor=mentor, acting_user=mentor.user, account_name="Ann Mentor", sort_code="12-34-56",
                      account_number="12345678")
    zoe = MentorFactory(user__full_name="Zoë Ní Bhriain", user__email="zoe@example.com")
    bank_details_save(mentor=zoe, acting_user=zoe.user, account_name="Zoe Ni Bhriain", sort_code="200000",
                      account_number="55779911")
    return {
        "ann_oct": statement(mentor, "PAY-2026-000001", "120.50", month=10),
        "ann_nov": statement(mentor, "PAY-2026-000002", "90.00"),
        "olu": statement(other_mentor, "PAY-2026-000003", "45.00"),
        "zoe": statement(zoe, "PAY-2026-000004", "60.00", status=PaymentStatement.Status.ISSUED),
        "zoe_mentor": zoe,
    }


def create(finance_user, ids, day=PAY_DAY):
    return payment_run_create(statement_ids=ids, acting_user=finance_user, payment_date=day)


# --------------------------------------------------------------------------- the Bacs Standard 18 record


def test_a_standard_18_record_is_100_characters_in_the_documented_positions():
    record = standard18_record(
        Payment(sort_code="123456", account_number="12345678", name="Zoë Ní Bhriain-O'Neill", amount=Decimal("123.45"),
                reference="PAY-2026-000001"),
        payer_sort_code="400102", payer_account_number="11223344", payer_name="Mentoring Services Ltd")
    assert len(record) == RECORD_LENGTH == 100
    assert record[0:6] == "123456"  # destination sort code
    assert record[6:14] == "12345678"  # destination account
    assert record[14] == "0"  # destination account type
    assert record[15:17] == "99"  # transaction code: direct credit
    assert record[17:23] == "400102"  # originating sort code
    assert record[23:31] == "11223344"  # originating account
    assert record[31:35] == "    "  # free format
    assert record[35:46] == "00000012345"  # amount in pence
    assert record[46:64] == "MENTORING SERVICES"  # originator's name, cut at 18
    assert record[64:82] == "PAY-2026-000001   "  # reference
    assert record[82:100] == "ZOE NI BHRIAIN-O NE"[:18]  # beneficiary: upper case, accents dropped, ' a space
    assert record == ("1234561234567809940010211223344    00000012345MENTORING SERVICESPAY-2026-000001   "
                      "ZOE NI BHRIAIN-O N")


def test_a_bacs_file_is_ascii_records_ending_crlf():
    payments = [Payment("123456", "12345678", "A", Decimal("0.01"), "R1"),
                Payment("654321", "87654321", "B", Decimal("999999999.99"), "R2")]
    content = standard18_file(payments, payer_sort_code="400102", payer_account_number="11223344", payer_name="X")
    assert content.count(b"\r\n") == 2 and content.endswith(b"\r\n")
    assert [len(line) for line in content.split(b"\r\n")[:-1]] == [100, 100]
    assert content[35:46] == b"00000000001" and content[102 + 35:102 + 46] == b"99999999999"
    content.decode("ascii")


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-1.00"), Decimal("1000000000.00"), Decimal("1.005")])
def test_amounts_a_bacs_record_cannot_carry_are_refused(amount):
    with pytest.raises(ValueError):
        standard18_record(Payment("123456", "12345678", "A", amount, "R"), payer_sort_code="400102",
                          payer_account_number="11223344", payer_name="X")


def test_bacs_text_keeps_only_the_bacs_character_set():
    assert bacs_text("a=b;c\"d\u00e9\u4e2d\n&/.-", 12) == "A B C DE &/."


# --------------------------------------------------------------------------- preview and creating a run


def test_the_preview_pays_approved_statements_with_bank_details_and_says_why_others_are_left_out(team):
    preview = payment_run_preview()
    assert [line.statement.number for line in preview.payable] == ["PAY-2026-000001", "PAY-2026-000002"]
    assert preview.total == Decimal("210.50")
    assert {line.statement.number: line.refusal for line in preview.refused} == {
        "PAY-2026-000003": NO_BANK_DETAILS, "PAY-2026-000004": NOT_APPROVED}
    assert preview.problems == []


def test_a_statement_that_nets_negative_pays_nothing_and_what_is_owed_comes_off_the_next_statement(
        team, finance_user, mentor, finance_client):
    """A correction took more back than September's pay: September comes to -£15.00. No bank payment can be negative, so
    nothing is paid; approving it carries the £15.00 to Ann's next statement, which the month end takes it off."""
    owing = statement(mentor, "PAY-2026-000009", "-15.00", status=PaymentStatement.Status.ISSUED, month=9)
    assert statement_approve(statement_ids=[owing.pk], acting_user=finance_user) == 1
    owing.refresh_from_db()
    assert owing.status == PaymentStatement.Status.APPROVED
    assert owing.history.first().history_change_reason == (
        "Approved: nothing to pay; the £15.00 owed is carried to the next statement")
    carried = StatementAdjustment.objects.get(carried_from=owing)
    assert (carried.amount, carried.statement, carried.created_by) == (Decimal("-15.00"), None, finance_user)

    preview = payment_run_preview()
    assert "PAY-2026-000009" not in [line.statement.number for line in preview.payable + preview.refused]
    (line,) = preview.owed
    assert line.refusal.startswith("the mentor owes £15.00 (corrections to sessions paid earlier came to more than")
    assert "nothing is paid, since a bank payment cannot be negative" in line.refusal
    page = html.unescape(finance_client.get(reverse("admin:invoicing_paymentrun_add")).content.decode())
    assert "Owed by the mentor: nothing is paid" in page and "PAY-2026-000009</a> (Ann Mentor, -£15.00)" in page
    run = create(finance_user, [owing.pk, team["ann_oct"].pk])  # even if posted, it is not in the run
    assert list(run.items.values_list("reference", flat=True)) == ["PAY-2026-000001"]
    assert b"-" not in payment_run_file(run=run, kind="bacs", viewer=finance_user)[0][35:46]

    # The next month end: never onto September's own statement; onto December's, which pays £15.00 less.
    assert statement_adjustments_attach(period_start=date(2026, 9, 1)) == 0
    december = PaymentStatement.objects.create(mentor=mentor, period_start=date(2026, 12, 1),
                                               period_end=date(2026, 12, 31), total=Decimal("40.00"))
    assert statement_adjustments_attach(period_start=date(2026, 12, 1)) == 1
    december.refresh_from_db()
    carried.refresh_from_db()
    assert carried.statement == december and december.total == Decimal("25.00")
    assert "PAY-2026-000009" not in [line.statement.number for line in payment_run_preview().owed]  # settled
    PaymentStatement.objects.filter(pk=december.pk).update(number="PAY-2026-000010", issue_date=date(2027, 1, 4),
                                                           status=PaymentStatement.Status.ISSUED)
    december.refresh_from_db()
    assert "brought forward from PAY-2026-000009" in statement_html(december)


def test_marking_a_statement_that_came_to_less_than_nothing_paid_is_refused_with_the_reason(
        team, finance_user, finance_client):
    """Nothing is paid on it (what the mentor owes went to their next statement), so "Mark selected as paid" leaves
    it approved and says why, and marks the others."""
    owing = statement(team["ann_oct"].mentor, "PAY-2026-000009", "-15.00", status=PaymentStatement.Status.ISSUED,
                      month=9)
    statement_approve(statement_ids=[owing.pk], acting_user=finance_user)
    url = reverse("admin:invoicing_paymentstatement_changelist")
    chosen = [owing.pk, team["ann_oct"].pk]
    page = finance_client.post(url, {"action": "mark_paid", "_selected_action": chosen})
    assert page.context["button"] == "Yes, mark 1 payment statement as paid"
    assert ("PAY-2026-000009: the mentor owes £15.00 (corrections to sessions paid earlier came to more than this "
            "statement's pay): nothing is paid, since a bank payment cannot be negative; it is taken off their next "
            "payment statement, at the next month end") in html.unescape(page.content.decode())
    assert statement_mark_paid(statement_ids=chosen, acting_user=finance_user) == 1
    assert dict(PaymentStatement.objects.filter(pk__in=chosen).values_list("number", "status")) == {
        "PAY-2026-000009": PaymentStatement.Status.APPROVED, team["ann_oct"].number: PaymentStatement.Status.PAID}


def test_no_run_without_the_paying_account(team, finance_user):
    OrganisationDetails.objects.filter(pk=1).update(payer_sort_code="")
    assert payment_run_preview().problems == [MISSING_PAYER]
    with pytest.raises(PaymentRunRefused, match="fill in the paying account"):
        create(finance_user, [team["ann_oct"].pk])
    assert not PaymentRun.objects.exists()


@pytest.mark.parametrize("day, message", [
    (date(2026, 11, 30), "The payment date cannot be in the past."),
    (date(2026, 12, 5), "Banks pay on working days: choose a day from Monday to Friday."),
    (date(2027, 3, 1), "Choose a payment date within the next 60 days."),
])
def test_payment_dates_a_bank_cannot_use_are_refused(team, finance_user, day, message):
    with pytest.raises(PaymentRunRefused) as refusal:
        create(finance_user, [team["ann_oct"].pk], day)
    assert refusal.value.message_dict == {"payment_date": [message]}


def test_a_run_takes_the_confirmed_statements_with_the_bank_details_of_the_moment(team, finance_user, mentor):
    run = create(finance_user, [s.pk for s in (team["ann_oct"], team["ann_nov"], team["olu"], team["zoe"])])
    items = list(run.items.order_by("reference"))
    assert [(i.reference, i.amount, i.sort_code, i.account_number) for i in items] == [
        ("PAY-2026-000001", Decimal("120.50"), "123456", "12345678"),
        ("PAY-2026-000002", Decimal("90.00"), "123456", "12345678")]
    assert run.total == Decimal("210.50") and run.number == "PR-2026-000001"
    assert run.history.first().history_change_reason == "Created: 2 payments"
    bank_details_save(mentor=mentor, acting_user=mentor.user, account_name="Ann Mentor", sort_code="99-99-99",
                      account_number="99999999")
    assert run.items.first().sort_code == "123456"  # what Finance confirmed is what is paid


def test_a_statement_in_a_run_is_not_offered_again_nor_taken_by_a_second_run(team, finance_user):
    create(finance_user, [team["ann_oct"].pk])
    assert [line.statement.number for line in payment_run_preview().payable] == ["PAY-2026-000002"]
    with pytest.raises(PaymentRunRefused, match="No payment run was created"):
        create(finance_user, [team["ann_oct"].pk])
    assert PaymentRun.objects.count() == 1


# --------------------------------------------------------------------------- files, paying, cancelling


def test_the_bacs_file_and_the_csv_hold_each_payment_and_are_recorded(team, finance_user, mentor):
    run = create(finance_user, [team["ann_oct"].pk, team["ann_nov"].pk])
    content, name = payment_run_file(run=run, kind="bacs", viewer=finance_user)
    assert name == "PR-2026-000001-bacs-standard18.txt"
    lines = content.decode("ascii").split("\r\n")[:-1]
    assert [line[35:46] for line in lines] == ["00000012050", "00000009000"]
    assert all(line[17:31] == "40010211223344" and line[46:64] == "MENTORING SERVICES" for line in lines)
    content, name = payment_run_file(run=run, kind="csv", viewer=finance_user)
    rows = list(csv.reader(io.StringIO(content.decode("ascii"))))
    assert rows == [["Sort code", "Account number", "Account name", "Amount", "Reference"],
                    ["123456", "12345678", "ANN MENTOR", "120.50", "PAY-2026-000001"],
                    ["123456", "12345678", "ANN MENTOR", "90.00", "PAY-2026-000002"]]
    assert sum(Decimal(row[3]) for row in rows[1:]) == run.total
    reasons = list(run.history.values_list("history_change_reason", flat=True)[:2])
    assert reasons == ["Bulk-payment CSV downloaded", "Bacs Standard 18 file downloaded"]
    seen = mentor.bank_details.history.first()
    assert (seen.history_user, seen.history_change_reason) == (finance_user, "Seen in full: bulk-payment CSV of "
                                                                              "PR-2026-000001")


def test_the_files_need_the_permission_to_see_bank_details(team, finance_user, leader):
    run = create(finance_user, [team["ann_oct"].pk])
    with pytest.raises(PermissionDenied):
        payment_run_file(run=run, kind="bacs", viewer=leader)


def test_marking_paid_pays_the_statements_and_emails_each_mentor_a_remittance_advice(
        team, finance_user, django_capture_on_commit_callbacks):
    run = create(finance_user, [team["ann_oct"].pk, team["ann_nov"].pk])
    with django_capture_on_commit_callbacks(execute=True):
        payment_run_mark_paid(run_id=run.pk, acting_user=finance_user)
    statuses = dict(PaymentStatement.objects.values_list("number", "status"))
    assert statuses["PAY-2026-000001"] == statuses["PAY-2026-000002"] == "paid"
    assert statuses["PAY-2026-000003"] == "approved"
    paid = team["ann_oct"].history.first()
    assert (paid.history_user, paid.history_change_reason) == (finance_user, "Paid by payment run PR-2026-000001")
    emails = OutboxEmail.objects.filter(kind=OutboxEmail.Kind.REMITTANCE_ADVICE).order_by("key")
    assert [e.key for e in emails] == ["remittance:PAY-2026-000001", "remittance:PAY-2026-000002"]
    body = emails[0].text_body
    assert "We have paid you £120.50 for your payment statement PAY-2026-000001 (October 2026)." in body
    assert "sort code **-**-56, account ****5678" in body and "12345678" not in body
    assert "Payment reference (on your bank statement): PAY-2026-000001" in body
    assert "Expected in your account by: 4 December 2026" in body
    assert {m.to[0] for m in mail.outbox} == {"ann@example.com"}
    with pytest.raises(PaymentRunRefused, match="already marked paid"):
        payment_run_mark_paid(run_id=run.pk, acting_user=finance_user)
    assert OutboxEmail.objects.filter(kind=OutboxEmail.Kind.REMITTANCE_ADVICE).count() == 2


def test_cancelling_a_run_frees_its_statements_and_needs_a_reason(team, finance_user):
    run = create(finance_user, [team["ann_oct"].pk])
    with pytest.raises(PaymentRunRefused) as refusal:
        payment_run_cancel(run_id=run.pk, acting_user=finance_user, reason=" \n ")
    assert refusal.value.message_dict == {"reason": ["Say why the payment run is being cancelled."]}
    payment_run_cancel(run_id=run.pk, acting_user=finance_user, reason="Bank rejected the file")
    assert run.history.first().history_change_reason == "Cancelled: Bank rejected the file"
    assert create(finance_user, [team["ann_oct"].pk]).number == "PR-2026-000002"
    with pytest.raises(PaymentRunRefused, match="was cancelled"):
        payment_run_mark_paid(run_id=run.pk, acting_user=finance_user)
    assert PaymentRunItem.objects.filter(statement=team["ann_oct"], live=True).count() == 1


# --------------------------------------------------------------------------- in the admin


def test_the_admin_confirmation_lists_payments_total_and_refusals_then_creates_the_run(team, finance_client):
    url = reverse("admin:invoicing_paymentrun_add")
    page = html.unescape(finance_client.get(url).content.decode())
    assert "Yes, create a payment run of 2 payments (£210.50)" in page
    assert "Ann Mentor, **-**-56, ****5678" in page and "12345678" not in page
    assert f"PAY-2026-000003</a> (Olu Othermentor, £45.00): {NO_BANK_DETAILS}." in page
    assert "PAY-2026-000004</a> (Zoë Ní Bhriain, £60.00): issued but not yet approved for payment." in page
    assert not PaymentRun.objects.exists()
    ids = f"{team['ann_oct'].pk},{team['ann_nov'].pk}"
    response = finance_client.post(url, {"payment_date": "2026-12-04", "statements": ids})
    run = PaymentRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("admin:invoicing_paymentrun_change",
                                                                           args=[run.pk])
    page = finance_client.get(response["Location"]).content.decode()
    assert "PR-2026-000001 created: 2 payments, £210.50, to be paid on 4 December 2026." in page
    assert "Download the Bacs Standard 18 file" in page and "Mark paid" in page


@pytest.mark.parametrize("data, message", [
    ({"payment_date": "", "statements": "1"}, "Enter the payment date."),
    ({"payment_date": "4 Dec", "statements": "1"}, "Enter the payment date as a date"),
    ({"payment_date": "2026-12-04", "statements": "1;DROP TABLE"}, "This page was out of date"),
    ({"payment_date": "2026-12-04", "statements": ""}, "This page was out of date"),
    ({"payment_date": "2026-12-04", "statements": "9" * 40}, "This page was out of date"),
    ({"payment_date": "2026-12-04\x00", "statements": "1"}, "Enter the payment date as a date"),
    ({"payment_date": "2026-12-05", "statements": "1"}, "Banks pay on working days"),
    ({"payment_date": "9999-12-31", "statements": "1"}, "within the next 60 days"),
    ({"payment_date": "2026-12-04", "statements": "999999"}, "No payment run was created"),
])
def test_the_admin_confirmation_says_what_is_wrong_and_creates_nothing(team, finance_client, data, message):
    response = finance_client.post(reverse("admin:invoicing_paymentrun_add"), data)
    assert response.status_code == 200
    assert message in html.unescape(response.content.decode())
    assert not PaymentRun.objects.exists()


def test_mark_paid_and_cancel_are_confirmed_on_their_own_pages(team, finance_client, finance_user):
    run = create(finance_user, [team["ann_oct"].pk])
    page = finance_client.get(reverse("admin:invoicing_paymentrun_mark_paid", args=[run.pk])).content.decode()
    assert "Yes, mark 1 statement paid" in page and "PAY-2026-000001: Ann Mentor, £120.50" in page
    assert PaymentStatement.objects.get(pk=team["ann_oct"].pk).status == "approved"
    finance_client.post(reverse("admin:invoicing_paymentrun_mark_paid", args=[run.pk]))
    assert PaymentStatement.objects.get(pk=team["ann_oct"].pk).status == "paid"
    response = finance_client.get(reverse("admin:invoicing_paymentrun_cancel", args=[run.pk]), follow=True)
    assert "PR-2026-000001 is paid: it cannot be cancelled." in response.content.decode()


def test_the_admin_file_download_is_the_bacs_file(team, finance_client, finance_user):
    run = create(finance_user, [team["ann_oct"].pk])
    response = finance_client.get(reverse("admin:invoicing_paymentrun_file", args=[run.pk, "bacs"]))
    assert response["Content-Disposition"] == 'attachment; filename="PR-2026-000001-bacs-standard18.txt"'
    assert response.content == payment_run_file(run=run, kind="bacs", viewer=finance_user)[0]
    response = finance_client.get(reverse("admin:invoicing_paymentrun_file", args=[run.pk, "passwords"]), follow=True)
    assert "There is no such file" in response.content.decode()


# --------------------------------------------------------------------------- the statement PDF


def test_the_statement_shows_the_mentors_address_and_the_payment_reference(team):
    from invoicing.services.pdf import statement_html

    statement = team["ann_oct"]
    statement.supplier_address = "2 Low Road\nLeeds LS1 1AA"
    page = html.unescape(statement_html(statement, lines=[]))
    assert "2 Low Road<br>Leeds LS1 1AA" in page
    assert "Payment reference" in page
    assert "with the payment reference <strong>PAY-2026-000001</strong> on your bank statement" in page


def test_the_list_of_runs_takes_the_same_queries_for_many_runs(team, finance_client, finance_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert finance_client.get(reverse("admin:invoicing_paymentrun_changelist")).status_code == 200
        return len(captured)

    create(finance_user, [team["ann_oct"].pk])
    queries()  # once first: what a process loads once (content types, templates) is not the list's cost
    one = queries()
    create(finance_user, [team["ann_nov"].pk])
    assert queries() == one

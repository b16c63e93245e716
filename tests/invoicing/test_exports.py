"""The CSV exports: invoice lines for the accounting package, approved statements for making payments."""

import csv
import io
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from django.db import connection
from django.test.utils import CaptureQueriesContext

from invoicing.exports import INVOICE_LINE_COLUMNS, _document_rows, allocate_pennies, invoice_lines_csv, payments_csv
from invoicing.models import CreditNote, Invoice, InvoiceLine, OrganisationDetails, PaymentStatement
from invoicing.services import (
    invoice_credit,
    invoices_issue,
    month_end_generate,
    statement_approve,
    statement_mark_paid,
    statements_issue,
)
from invoicing.policy import vat_on
from sessions_app.pay import amount_for_minutes
from tests.factories import FundingArrangementFactory, MenteeFactory, MentorFactory
from tests.invoicing.test_invoicing_admin import wrapped_up

HEADER = ("\ufeffType,Number,Issue date,Due date,Customer name,Customer reference,Line date,Tax point,SA reference,"
          "Mentee,Description,Quantity (hours),Unit price,Net,VAT rate (%),VAT,Gross")


@pytest.fixture(autouse=True)
def no_pdfs():
    with mock.patch("invoicing.services.documents._after_issue"):
        yield


def exported(**querysets) -> str:
    return "".join(invoice_lines_csv(**querysets))


def rows(text: str) -> list[dict]:
    """The rows of an export, which starts with a byte-order mark."""
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def issue_all(today=date(2026, 11, 2)) -> list[Invoice]:
    return invoices_issue(invoice_ids=list(Invoice.objects.values_list("pk", flat=True)), acting_user=None,
                          today=today)


class TestInvoiceLines:
    @pytest.fixture
    def sessions(self, mentor, mentee):
        sfe = FundingArrangementFactory(mentee=mentee, funder__name="Student Finance England", reference="SFE-42",
                                        hourly_rate=Decimal("55.00"))
        sam = FundingArrangementFactory(mentee=MenteeFactory(full_name="Sam Selfpay"), self_funded=True)
        return [
            wrapped_up(mentor, mentee, sfe, date(2026, 10, 5)),
            wrapped_up(mentor, sam.mentee, sam, date(2026, 10, 7), minutes=50),
            wrapped_up(mentor, mentee, sfe, date(2026, 10, 12), minutes=45),
        ]

    def test_exact_content_for_a_small_month_with_a_credit_note(self, sessions, finance_user):
        first, second, third = (session.reference for session in sessions)
        month_end_generate(year=2026, month=10)
        issue_all()
        sfe = Invoice.objects.get(bill_to_name="Student Finance England")
        invoice_credit(invoice_id=sfe.pk, acting_user=finance_user, reason="Wrong PO.", today=date(2026, 11, 20))

        text = exported(invoices=Invoice.objects.all(), credit_notes=CreditNote.objects.all())

        assert text == "\r\n".join([
            HEADER,
            "Invoice,INV-2026-000001,2026-11-02,2026-12-02,Sam Selfpay,,2026-10-07,2026-11-02,"
            f'{second},Sam Selfpay,"Mentoring session {second} (Attended), 50 min",0.8333,40.00,33.33,20.00,6.67,'
            "40.00",
            "Invoice,INV-2026-000002,2026-11-02,2026-12-02,Student Finance England,SFE-42,2026-10-05,2026-11-02,"
            f'{first},Mo Mentee,"Mentoring session {first} (Attended), 60 min",1.00,55.00,55.00,20.00,11.00,66.00',
            "Invoice,INV-2026-000002,2026-11-02,2026-12-02,Student Finance England,SFE-42,2026-10-12,2026-11-02,"
            f'{third},Mo Mentee,"Mentoring session {third} (Attended), 45 min",0.75,55.00,41.25,20.00,8.25,49.50',
            "Credit note,CN-2026-000001,2026-11-20,,Student Finance England,SFE-42,2026-10-05,2026-11-20,"
            f'{first},Mo Mentee,"Credit for INV-2026-000002: Mentoring session {first} (Attended), 60 min",'
            "-1.00,55.00,-55.00,20.00,-11.00,-66.00",
            "Credit note,CN-2026-000001,2026-11-20,,Student Finance England,SFE-42,2026-10-12,2026-11-20,"
            f'{third},Mo Mentee,"Credit for INV-2026-000002: Mentoring session {third} (Attended), 45 min",'
            "-0.75,55.00,-41.25,20.00,-8.25,-49.50",
            "",
        ])

    def test_drafts_are_not_exported(self, sessions):
        month_end_generate(year=2026, month=10)
        sam = Invoice.objects.get(bill_to_name="Sam Selfpay")
        invoices_issue(invoice_ids=[sam.pk], acting_user=None)
        exported_rows = rows(exported(invoices=Invoice.objects.all()))
        assert [row["Customer name"] for row in exported_rows] == ["Sam Selfpay"]

    def test_the_vat_of_lines_that_round_awkwardly_adds_up_to_the_invoices_vat(self, mentor):
        # Three 50-minute sessions at £40: £33.33 each, whose 20% VAT is £6.666 each. The invoice's VAT is
        # 20% of £99.99, £20.00; rounding each line would make £20.01.
        arrangement = FundingArrangementFactory(self_funded=True, mentee=MenteeFactory(full_name="Sam Selfpay"))
        for day in (1, 2, 3):
            wrapped_up(mentor, arrangement.mentee, arrangement, date(2026, 10, day), minutes=50)
        month_end_generate(year=2026, month=10)
        (invoice,) = issue_all()
        assert (invoice.net, invoice.vat) == (Decimal("99.99"), Decimal("20.00"))
        exported_rows = rows(exported(invoices=Invoice.objects.all()))
        assert [row["VAT"] for row in exported_rows] == ["6.67", "6.67", "6.66"]
        assert [row["Gross"] for row in exported_rows] == ["40.00", "40.00", "39.99"]

    @pytest.mark.parametrize("vat_rate", ["20.00", "17.50", "5.00", "12.50"])
    def test_the_lines_vat_always_sums_exactly_to_the_invoices_vat(self, mentor, vat_rate):
        OrganisationDetails.objects.filter(pk=OrganisationDetails.current().pk).update(vat_rate=Decimal(vat_rate))
        arrangement = FundingArrangementFactory(hourly_rate=Decimal("47.19"))
        for n, minutes in enumerate([5, 20, 45, 50, 55, 61, 77, 83, 95, 119]):
            wrapped_up(mentor, arrangement.mentee, arrangement, date(2026, 10, 1 + n), minutes=minutes)
        month_end_generate(year=2026, month=10)
        (invoice,) = issue_all()
        credit_note = invoice_credit(invoice_id=invoice.pk, acting_user=mentor.user, reason="Test.")
        invoice.refresh_from_db()

        exported_rows = rows(exported(invoices=Invoice.objects.all(), credit_notes=CreditNote.objects.all()))

        invoice_rows = [row for row in exported_rows if row["Type"] == "Invoice"]
        credit_rows = [row for row in exported_rows if row["Type"] == "Credit note"]
        assert len(invoice_rows) == len(credit_rows) == 10
        assert sum(Decimal(row["VAT"]) for row in invoice_rows) == invoice.vat
        assert sum(Decimal(row["Net"]) for row in invoice_rows) == invoice.net
        assert sum(Decimal(row["Gross"]) for row in invoice_rows) == invoice.total
        assert sum(Decimal(row["VAT"]) for row in credit_rows) == -credit_note.vat
        assert sum(Decimal(row["Gross"]) for row in credit_rows) == -credit_note.total
        for row in invoice_rows:  # each line's VAT is within a penny of its exact share
            exact = Decimal(row["Net"]) * Decimal(vat_rate) / 100
            assert abs(Decimal(row["VAT"]) - exact) < Decimal("0.01")

    def test_the_export_takes_the_same_number_of_queries_for_many_invoices(self, mentor, finance_user):
        def queries():
            with CaptureQueriesContext(connection) as captured:
                text = exported(invoices=Invoice.objects.all(), credit_notes=CreditNote.objects.all())
            return len(captured), text.count("\r\n") - 1

        arrangement = FundingArrangementFactory()
        wrapped_up(mentor, arrangement.mentee, arrangement, date(2026, 10, 1))
        month_end_generate(year=2026, month=10)
        issue_all()
        few, lines = queries()
        assert lines == 1
        for n in range(6):
            arrangement = FundingArrangementFactory(mentee=MenteeFactory())
            wrapped_up(mentor, arrangement.mentee, arrangement, date(2026, 10, 2 + n))
            wrapped_up(mentor, arrangement.mentee, arrangement, date(2026, 10, 12 + n))
        month_end_generate(year=2026, month=10)
        issue_all()
        invoice_credit(invoice_id=Invoice.objects.first().pk, acting_user=finance_user, reason="x")
        many, lines = queries()
        assert lines > 12
        assert many == few


class TestSafeInExcel:
    def test_cells_a_spreadsheet_would_run_as_formulas_are_shown_as_text(self, mentor, finance_user):
        arrangement = FundingArrangementFactory(
            mentee=MenteeFactory(full_name="@SUM(1+1)*cmd|' /C calc'!A0"), reference="+44 20 7946 0000",
            funder__name='=HYPERLINK("http://evil.example","Click")', hourly_rate=Decimal("55.00"))
        wrapped_up(mentor, arrangement.mentee, arrangement, date(2026, 10, 5))
        tabbed = FundingArrangementFactory(mentee=MenteeFactory(full_name="\tTab Start"), reference="-PO-7",
                                           funder__name="\rCarriage Return Ltd")
        wrapped_up(mentor, tabbed.mentee, tabbed, date(2026, 10, 6))
        plain = FundingArrangementFactory(mentee=MenteeFactory(full_name="Zoë Ní Bhriain"), reference="-1234",
                                          funder__name="Óglaigh Funding")
        wrapped_up(mentor, plain.mentee, plain, date(2026, 10, 7))
        month_end_generate(year=2026, month=10)
        issue_all()
        first = Invoice.objects.get(customer_reference="+44 20 7946 0000")
        invoice_credit(invoice_id=first.pk, acting_user=finance_user, reason="Wrong PO.", today=date(2026, 11, 20))

        text = exported(invoices=Invoice.objects.all(), credit_notes=CreditNote.objects.all())
        exported_rows = rows(text)

        cells = [(row["Type"], row["Customer name"], row["Customer reference"], row["Mentee"], row["Net"])
                 for row in exported_rows]
        assert cells == [
            ("Invoice", "'\rCarriage Return Ltd", "'-PO-7", "'\tTab Start", "55.00"),
            ("Invoice", """'=HYPERLINK("http://evil.example","Click")""", "'+44 20 7946 0000",
             "'@SUM(1+1)*cmd|' /C calc'!A0", "55.00"),
            ("Invoice", "Óglaigh Funding", "-1234", "Zoë Ní Bhriain", "55.00"),
            ("Credit note", """'=HYPERLINK("http://evil.example","Click")""", "'+44 20 7946 0000",
             "'@SUM(1+1)*cmd|' /C calc'!A0", "-55.00"),
        ]
        assert text.encode("utf-8").startswith(b"\xef\xbb\xbfType,")

    def test_payments_are_safe_too_and_names_keep_their_accents(self, mentor, finance_user):
        zoe = MentorFactory(user__full_name="Zoë Ní Bhriain", user__email="zoe@example.com")
        dash = MentorFactory(user__full_name="-Dash Start", user__email="dash@example.com")
        arrangement = FundingArrangementFactory()
        for n, who in enumerate([zoe, dash]):
            wrapped_up(who, arrangement.mentee, arrangement, date(2026, 10, 5 + n))
        month_end_generate(year=2026, month=10)
        statements = statements_issue(statement_ids=list(PaymentStatement.objects.values_list("pk", flat=True)),
                                      acting_user=finance_user, today=date(2026, 11, 2))
        statement_approve(statement_ids=[s.pk for s in statements], acting_user=finance_user)

        data = "".join(payments_csv(statements=PaymentStatement.objects.all())).encode("utf-8")

        assert data.startswith(b"\xef\xbb\xbfMentor,")
        names = [row["Mentor"] for row in csv.DictReader(io.StringIO(data.decode("utf-8-sig")))]
        assert names == ["'-Dash Start", "Zoë Ní Bhriain"]


class TestQuantities:
    """Quantity × unit price comes to the line's net, to the penny, as the accounting package will work it out."""

    @staticmethod
    def row_for(minutes: int, rate: Decimal, *, credit: bool = False) -> dict:
        invoice = Invoice(number="INV-2026-000001", bill_to_name="Funder", vat_rate=Decimal("20.00"),
                          issue_date=date(2026, 11, 2), due_date=date(2026, 12, 2), kind=Invoice.Kind.VAT,
                          tax_point_rule="continuous", period_start=date(2026, 10, 1), period_end=date(2026, 10, 31))
        line = InvoiceLine(invoice=invoice, session_date=date(2026, 10, 5), reference="SA-000001",
                           mentee_name="Mo Mentee", outcome="attended", minutes=minutes, hourly_rate=rate,
                           net=amount_for_minutes(minutes, rate))
        credit_note = CreditNote(number="CN-2026-000001", issue_date=date(2026, 11, 20)) if credit else None
        (cells,) = _document_rows([line], invoice=invoice, vat_total=vat_on(line.net, invoice.vat_rate),
                                  credit_note=credit_note)
        return dict(zip(INVOICE_LINE_COLUMNS, (str(cell) for cell in cells)))

    @staticmethod
    def reconciles(row: dict) -> bool:
        worked_out = Decimal(row["Quantity (hours)"]) * Decimal(row["Unit price"])
        return worked_out.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) == Decimal(row["Net"])

    @pytest.mark.parametrize("minutes, rate, quantity", [
        (60, "55.00", "1.00"), (45, "55.00", "0.75"), (50, "40.00", "0.8333"), (5, "0.30", "0.084"),
        (20, "47.19", "0.3333"), (7, "999999.99", "0.11666667"),
    ])
    def test_hours_have_as_many_decimals_as_it_takes(self, minutes, rate, quantity):
        row = self.row_for(minutes, Decimal(rate))
        assert row["Quantity (hours)"] == quantity
        assert self.reconciles(row)

    @given(minutes=st.integers(min_value=1, max_value=24 * 60),
           rate=st.decimals(min_value=0, max_value=Decimal("999999.99"), places=2),
           credit=st.booleans())
    @settings(max_examples=500, deadline=None)
    def test_every_row_reconciles_for_any_minutes_and_rate(self, minutes, rate, credit):
        row = self.row_for(minutes, rate, credit=credit)
        assert self.reconciles(row)
        quantity = abs(Decimal(row["Quantity (hours)"]))
        assert abs(quantity - Decimal(minutes) / 60) < Decimal("0.005")  # still the session's hours


class TestAllocatePennies:
    @pytest.mark.parametrize("total, exact, expected", [
        ("20.00", ["6.666", "6.666", "6.666"], ["6.67", "6.67", "6.66"]),
        ("0.01", ["0.004", "0.004", "0.002"], ["0.01", "0.00", "0.00"]),
        ("18.45", ["7.21875", "8.02025", "3.20775"], ["7.22", "8.02", "3.21"]),
        ("10.00", ["10.00"], ["10.00"]),
        ("0.00", [], []),
    ])
    def test_largest_remainder(self, total, exact, expected):
        result = allocate_pennies(Decimal(total), [Decimal(x) for x in exact])
        assert result == [Decimal(x) for x in expected]
        assert sum(result, Decimal(0)) == Decimal(total)


class TestPayments:
    def test_only_approved_statements_one_row_each_in_utf8(self, mentor, other_mentor, finance_user):
        zoe = MentorFactory(user__full_name="Zoë Ångström, PhD", user__email="zoe@example.com")
        paid_mentor = MentorFactory(user__full_name="Pat Paid")
        arrangement = FundingArrangementFactory()
        for n, who in enumerate([mentor, other_mentor, zoe, paid_mentor]):
            wrapped_up(who, arrangement.mentee, arrangement, date(2026, 10, 5 + n), minutes=45 + 15 * n)
        month_end_generate(year=2026, month=10)
        statements = statements_issue(statement_ids=list(PaymentStatement.objects.values_list("pk", flat=True)),
                                      acting_user=finance_user, today=date(2026, 11, 2))
        numbers = {statement.mentor.user.full_name: statement.number for statement in statements}
        ids = {statement.mentor.user.full_name: statement.pk for statement in statements}
        statement_approve(statement_ids=[ids["Ann Mentor"], ids["Zoë Ångström, PhD"], ids["Pat Paid"]],
                          acting_user=finance_user)
        statement_mark_paid(statement_ids=[ids["Pat Paid"]], acting_user=finance_user)

        with CaptureQueriesContext(connection) as captured:
            text = "".join(payments_csv(statements=PaymentStatement.objects.all()))

        assert len(captured) == 1
        assert text == "\r\n".join([
            "\ufeffMentor,Email,Statement number,Period,Amount,Payment reference",
            f"Ann Mentor,ann@example.com,{numbers['Ann Mentor']},2026-10,22.50,{numbers['Ann Mentor']}",
            f'"Zoë Ångström, PhD",zoe@example.com,{numbers["Zoë Ångström, PhD"]},2026-10,37.50,'
            f'{numbers["Zoë Ångström, PhD"]}',
            "",
        ])
        assert all(len(numbers[name]) <= 18 for name in numbers)  # fits a UK bank transfer's reference

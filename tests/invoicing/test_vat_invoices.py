"""What a VAT-registered organisation may send: no VAT invoice without its VAT registration number, a customer's
address on every full VAT invoice (a simplified VAT invoice up to £250 without one), no VAT at all when the
organisation is not registered, and each session's tax point by the funder's rule."""

import io
from datetime import date, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from invoicing.exports import invoice_lines_csv
from invoicing.models import Invoice, OrganisationDetails, PaymentStatement
from invoicing.services import (
    InvoicesRefused,
    invoices_issue,
    month_end_generate,
)
from invoicing.services import pdf as pdf_service
from sessions_app.models import Funder, TaxPointRule
from tests.factories import FunderFactory, FundingArrangementFactory, MenteeFactory
from tests.invoicing.test_exports import rows
from tests.invoicing.test_invoicing_admin import act, changelist, messages_of, wrapped_up
from tests.invoicing.test_pdfs import pdf_text, shows, words

MISSING_VAT_NUMBER = (
    "No invoice was issued: the organisation is VAT-registered but its VAT registration number is blank, and a VAT "
    "invoice must show it. Fill in “VAT registration number” in Organisation's invoice details, or untick "
    "“VAT-registered” there if the organisation is not registered for VAT (its invoices then charge no VAT)."
)


@pytest.fixture(autouse=True)
def no_pdfs():
    """Issuing queues the PDFs after commit; the tests that look at a PDF render it themselves."""
    with mock.patch("invoicing.services.documents._after_issue"):
        yield


def organisation(**fields):
    OrganisationDetails.objects.filter(pk=1).update(**fields)


def drafts_of(year=2026, month=10):
    month_end_generate(year=year, month=month)
    return list(Invoice.objects.filter(status=Invoice.Status.DRAFT).order_by("pk"))


def issue(invoices, today=date(2026, 11, 2)):
    return invoices_issue(invoice_ids=[invoice.pk for invoice in invoices], acting_user=None, today=today)


def rendered(invoice) -> str:
    invoice.refresh_from_db()
    pdf_service.invoice_render_pdf(invoice_id=invoice.pk)
    invoice.refresh_from_db()
    return invoice.pdf.path


@pytest.fixture
def funded(mentor, mentee):
    """Mo Mentee's October session, funded by Student Finance England (who has an address) at £55/h."""
    arrangement = FundingArrangementFactory(mentee=mentee, funder__name="Student Finance England",
                                            reference="SFE-42", hourly_rate=Decimal("55.00"))
    wrapped_up(mentor, mentee, arrangement, date(2026, 10, 6))
    return arrangement


def self_funded(mentor, *, rate, name="Sam Selfpay", address=""):
    """A self-funded mentee with one 60-minute October session at `rate` an hour."""
    arrangement = FundingArrangementFactory(mentee=MenteeFactory(full_name=name, address=address),
                                            self_funded=True, hourly_rate=Decimal(rate))
    wrapped_up(mentor, arrangement.mentee, arrangement, date(2026, 10, 7))
    return arrangement


def line_after(text: str, cell: str) -> str:
    """The words on the PDF's line below the one showing `cell`."""
    lines = text.splitlines()
    return " ".join(lines[next(i for i, line in enumerate(lines) if cell in line) + 1].split())


# --------------------------------------------------------------------------- the VAT registration number


class TestVatRegistrationNumber:
    def test_issuing_is_refused_while_the_vat_registration_number_is_blank(self, funded):
        organisation(vat_number="")
        invoices = drafts_of()
        with pytest.raises(InvoicesRefused) as refused:
            issue(invoices)
        assert refused.value.messages == [MISSING_VAT_NUMBER]
        assert list(Invoice.objects.values_list("status", "number")) == [("draft", None)]

    def test_finance_is_told_in_the_admin_what_to_fill_in(self, finance_client, funded):
        organisation(vat_number="  ")
        invoices = drafts_of()
        response = act(finance_client, "invoice", "issue_selected", invoices)
        assert response.context["refusal_messages"] == [MISSING_VAT_NUMBER]  # on the confirmation page
        assert not response.context["n_changed"] and "confirm-button" not in response.content.decode()
        assert Invoice.objects.get().status == Invoice.Status.DRAFT

    def test_the_month_end_command_issues_the_statements_and_says_why_the_invoices_are_not(self, funded):
        organisation(vat_number="")
        out, err = io.StringIO(), io.StringIO()
        with pytest.raises(CommandError, match=r"^1 invoice left as draft: fill in what is missing \(above\), then "
                                               r"run again with --issue\.$"):
            call_command("generate_month_end", "--month", "2026-10", "--issue", stdout=out, stderr=err)
        assert f"Not issued: {MISSING_VAT_NUMBER}" in err.getvalue().splitlines()
        assert "Issued no invoices and 1 payment statement" in out.getvalue()
        assert Invoice.objects.get().status == Invoice.Status.DRAFT
        assert PaymentStatement.objects.get().status == PaymentStatement.Status.ISSUED

    def test_the_automatic_month_end_leaves_the_invoices_as_drafts_and_says_why(self, funded):
        organisation(vat_number="", issue_automatically=True)
        summary = month_end_generate(year=2026, month=10)
        assert summary.issued == 1  # the payment statement
        assert summary.lines()[-1] == f"  not issued: {MISSING_VAT_NUMBER}"
        assert Invoice.objects.get().status == Invoice.Status.DRAFT

    def test_the_admin_refuses_vat_registered_details_without_the_number(self, finance_client):
        url = reverse("admin:invoicing_organisationdetails_change", args=[1])
        data = {"name": "Brightpath Mentoring Ltd", "address": "12 Canal Street", "email": "", "vat_registered": "on",
                "vat_number": "", "bank_details": "Sort code 11-22-33", "vat_rate": "20.00",
                "payment_terms_days": "30"}
        response = finance_client.post(url, data)
        assert response.status_code == 200
        assert response.context["adminform"].form.errors == {"vat_number": [
            "Fill in the VAT registration number, or untick “VAT-registered” if the organisation is not registered "
            "for VAT."]}
        del data["vat_registered"]
        assert finance_client.post(url, data).status_code == 302
        assert OrganisationDetails.current().vat_registered is False


# --------------------------------------------------------------------------- not VAT-registered


class TestNotVatRegistered:
    def test_invoices_charge_no_vat_and_show_none(self, funded):
        organisation(vat_registered=False, vat_number="")
        (invoice,) = drafts_of()
        assert (invoice.vat_rate, invoice.net, invoice.vat, invoice.total) == (
            Decimal("0.00"), Decimal("55.00"), Decimal("0.00"), Decimal("55.00"))
        (invoice,) = issue([invoice])
        assert invoice.kind == Invoice.Kind.NO_VAT

        path = rendered(invoice)
        text = pdf_text(path)
        assert shows(text, "Date", "Session", "Mentee", "Description", "Duration", "Rate", "Net")
        assert shows(text, "6 Oct 2026", "SA-000001", "Mo Mentee", "Mentoring session", "1 h 00 min", "£55.00/h", "£55.00")
        assert shows(text, "Total due", "£55.00")
        statement = "No VAT is charged: Mentoring Services Ltd is not registered for VAT."
        assert statement in words(path)
        assert "VAT" not in words(path).replace(statement, "")
        assert "Tax point" not in text
        exported = rows("".join(invoice_lines_csv(invoices=Invoice.objects.all())))
        assert [(row["VAT rate (%)"], row["VAT"], row["Gross"], row["Tax point"]) for row in exported] == [
            ("0.00", "0.00", "55.00", "")]

    def test_the_invoice_email_mentions_no_vat(self, funded, mailoutbox, django_capture_on_commit_callbacks):
        organisation(vat_registered=False)
        (invoice,) = issue(drafts_of())
        with django_capture_on_commit_callbacks(execute=True):
            pdf_service.invoice_render_pdf(invoice_id=invoice.pk)
        (email,) = mailoutbox
        assert "Amount due: £55.00\n" in email.body
        assert "VAT" not in email.body and "VAT" not in email.alternatives[0][0]

    def test_a_draft_made_while_registered_is_issued_without_vat_once_the_organisation_is_not(self, funded):
        (invoice,) = drafts_of()
        assert invoice.vat == Decimal("11.00")
        organisation(vat_registered=False)
        (invoice,) = issue([invoice])
        invoice.refresh_from_db()
        assert (invoice.kind, invoice.vat_rate, invoice.vat, invoice.total) == (
            Invoice.Kind.NO_VAT, Decimal("0.00"), Decimal("0.00"), Decimal("55.00"))


# --------------------------------------------------------------------------- the customer's address


class TestCustomerAddress:
    def test_a_funded_invoice_with_the_funders_address_is_a_full_vat_invoice(self, funded):
        (invoice,) = issue(drafts_of())
        assert invoice.kind == Invoice.Kind.VAT
        text = pdf_text(rendered(invoice))
        assert shows(text, "Mentoring Services Ltd", "INVOICE")
        assert "SIMPLIFIED" not in text

    @pytest.mark.parametrize("rate, total", [("200.00", "240.00"), ("208.33", "250.00")])
    def test_up_to_250_pounds_without_an_address_is_a_simplified_vat_invoice(self, mentor, rate, total):
        self_funded(mentor, rate=rate)
        (invoice,) = issue(drafts_of())
        assert (invoice.kind, invoice.total) == (Invoice.Kind.SIMPLIFIED, Decimal(total))
        text = pdf_text(rendered(invoice))
        assert shows(text, "Mentoring Services Ltd", "SIMPLIFIED VAT INVOICE")
        assert shows(text, "Total due", f"£{total}")

    def test_over_250_pounds_without_an_address_is_refused_naming_the_customer(self, mentor):
        self_funded(mentor, rate="208.34")  # £208.34 + £41.67 VAT = £250.01
        invoices = drafts_of()
        with pytest.raises(InvoicesRefused) as refused:
            issue(invoices)
        assert refused.value.messages == [
            "No invoice was issued.",
            "Sam Selfpay's invoice for October 2026 comes to £250.01 including VAT, and Sam Selfpay has no address: a "
            "VAT invoice over £250.00 must show the customer's address. Fill in the mentee's address (Mentees › Sam "
            "Selfpay), then issue it again.",
        ]
        assert Invoice.objects.get().status == Invoice.Status.DRAFT

    def test_a_funder_without_a_billing_address_is_named_with_where_to_fill_it_in(self, mentor, mentee, finance_client):
        arrangement = FundingArrangementFactory(mentee=mentee, funder__name="Northbridge Council",
                                                funder__billing_address="", hourly_rate=Decimal("300.00"))
        wrapped_up(mentor, mentee, arrangement, date(2026, 10, 6))
        self_funded(mentor, rate="40.00", address="2 Road\nTown")
        invoices = drafts_of()
        # The confirmation page says what the service says, and offers to issue the other one only.
        response = finance_client.post(changelist("invoice"), {
            "action": "issue_selected", "_selected_action": [invoice.pk for invoice in invoices]})
        why = ("Northbridge Council's invoice for October 2026 comes to £360.00 including VAT, and Northbridge Council "
               "has no address: a VAT invoice over £250.00 must show the customer's address. Fill in the funder's "
               "billing address (Funders › Northbridge Council), then issue it again.")
        assert response.context["refusal_messages"] == [
            "No invoice was issued. Issue the other 1 without it, or fill in what is missing first.", why]
        assert [row["why"] for row in response.context["refused"]] == [why]
        assert response.context["button"] == "Yes, issue 1 invoice"
        assert set(Invoice.objects.values_list("status", flat=True)) == {Invoice.Status.DRAFT}

    def test_an_address_filled_in_after_the_month_end_is_used_when_issuing(self, mentor):
        arrangement = self_funded(mentor, rate="300.00")
        invoices = drafts_of()
        arrangement.mentee.address = "2 Road\nTown\nTN1 1AA"
        arrangement.mentee.save()
        (invoice,) = issue(invoices)
        invoice.refresh_from_db()
        assert (invoice.kind, invoice.bill_to_address) == (Invoice.Kind.VAT, "2 Road\nTown\nTN1 1AA")

    def test_the_month_end_command_issues_the_rest_and_names_what_is_missing(self, mentor, funded):
        self_funded(mentor, rate="300.00")
        out, err = io.StringIO(), io.StringIO()
        with pytest.raises(CommandError, match="^1 invoice left as draft"):
            call_command("generate_month_end", "--month", "2026-10", "--issue", stdout=out, stderr=err)
        assert err.getvalue().splitlines()[-1] == (
            "Not issued: Sam Selfpay's invoice for October 2026 comes to £360.00 including VAT, and Sam Selfpay has no "
            "address: a VAT invoice over £250.00 must show the customer's address. Fill in the mentee's address "
            "(Mentees › Sam Selfpay), then issue it again.")
        assert dict(Invoice.objects.values_list("bill_to_name", "status")) == {
            "Student Finance England": "issued", "Sam Selfpay": "draft"}
        assert "Issued as: 1 VAT invoice." in out.getvalue().splitlines()


# --------------------------------------------------------------------------- the tax point


class TestTaxPoint:
    def test_a_funder_is_invoiced_as_a_continuous_supply_unless_finance_says_otherwise(self, db):
        assert Funder.objects.create(name="New Funder").tax_point_rule == TaxPointRule.CONTINUOUS

    def test_a_continuous_supply_is_dated_by_the_invoice(self, mentor, funded):
        wrapped_up(mentor, funded.mentee, funded, date(2026, 10, 7))
        (invoice,) = issue(drafts_of(), today=date(2026, 11, 30))
        assert invoice.tax_point_rule == TaxPointRule.CONTINUOUS
        path = rendered(invoice)
        text = pdf_text(path)
        assert shows(text, "Tax point", "30 November 2026")
        assert "tax point" not in text and "separate supply" not in words(path)

    def test_single_supplies_invoiced_more_than_14_days_later_are_dated_by_each_session(self, mentor, funded):
        Funder.objects.filter(pk=funded.funder_id).update(tax_point_rule=TaxPointRule.PER_SESSION)
        wrapped_up(mentor, funded.mentee, funded, date(2026, 10, 7))
        wrapped_up(mentor, funded.mentee, funded, date(2026, 10, 20))
        (invoice,) = issue(drafts_of(), today=date(2026, 11, 3))  # 28, 27 and 14 days after the sessions
        assert invoice.tax_point_rule == TaxPointRule.PER_SESSION
        path = rendered(invoice)
        text = pdf_text(path)
        assert shows(text, "Tax point", "See each session")
        assert shows(text, "6 Oct 2026", "SA-000001")
        assert shows(text, "7 Oct 2026", "SA-000002")
        assert shows(text, "20 Oct 2026", "SA-000003")
        under = {reference: line_after(text, reference) for reference in ("SA-000001", "SA-000002", "SA-000003")}
        assert under == {"SA-000001": "tax point Attended", "SA-000002": "tax point Attended",
                         "SA-000003": "Attended"}
        assert ("Each session is a separate supply. A session marked “tax point” was more than 14 days before this "
                "invoice, so its own date is its tax point; every other session's tax point is the invoice date."
                ) in words(path)
        exported = rows("".join(invoice_lines_csv(invoices=Invoice.objects.all())))
        assert [(row["Line date"], row["Tax point"]) for row in exported] == [
            ("2026-10-06", "2026-10-06"), ("2026-10-07", "2026-10-07"), ("2026-10-20", "2026-11-03")]

    @pytest.mark.parametrize("days, tax_point", [(13, "invoice"), (14, "invoice"), (15, "session")])
    def test_the_invoice_dates_a_single_supply_when_issued_within_14_days_of_it(self, mentee, mentor, days,
                                                                                tax_point):
        arrangement = FundingArrangementFactory(mentee=mentee, funder=FunderFactory(
            tax_point_rule=TaxPointRule.PER_SESSION))
        wrapped_up(mentor, mentee, arrangement, date(2026, 10, 20))
        issued_on = date(2026, 10, 20) + timedelta(days=days)
        (invoice,) = issue(drafts_of(), today=issued_on)
        expected = issued_on if tax_point == "invoice" else date(2026, 10, 20)
        assert invoice.tax_point(date(2026, 10, 20)) == expected
        exported = rows("".join(invoice_lines_csv(invoices=Invoice.objects.all())))
        assert [row["Tax point"] for row in exported] == [expected.isoformat()]

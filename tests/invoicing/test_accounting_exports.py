"""The Xero and QuickBooks Online invoice imports: each file is read back with csv; every column the layout requires
is there and filled in on every row; each document's lines add up to its total (credit notes as negatives)."""

import csv
import html
import io
from collections import defaultdict
from datetime import date
from decimal import Decimal
from unittest import mock

import pytest
from django.urls import reverse

from invoicing.exports_accounting import (
    QUICKBOOKS_COLUMNS,
    QUICKBOOKS_REQUIRED,
    XERO_COLUMNS,
    XERO_REQUIRED,
    quickbooks_invoices_csv,
    xero_invoices_csv,
)
from invoicing.models import CreditNote, Invoice, OrganisationDetails
from invoicing.services import invoice_credit, invoices_issue, month_end_generate
from tests.factories import FundingArrangementFactory, MenteeFactory
from tests.invoicing.test_invoicing_admin import wrapped_up

# Xero's SalesInvoiceTemplate.csv and QuickBooks Online's invoice import (UK), column for column.
XERO_TEMPLATE = (
    "*ContactName,EmailAddress,POAddressLine1,POAddressLine2,POAddressLine3,POAddressLine4,POCity,PORegion,"
    "POPostalCode,POCountry,*InvoiceNumber,Reference,*InvoiceDate,*DueDate,Total,InventoryItemCode,*Description,"
    "*Quantity,*UnitAmount,Discount,*AccountCode,*TaxType,TaxAmount,TrackingName1,TrackingOption1,TrackingName2,"
    "TrackingOption2,Currency,BrandingTheme")
QUICKBOOKS_TEMPLATE = (
    "InvoiceNo,Customer,InvoiceDate,DueDate,Terms,Location,Memo,Item(Product/Service),ItemDescription,ItemQuantity,"
    "ItemRate,ItemAmount,ItemTaxCode,ItemTaxAmount,Currency,Service Date")


@pytest.fixture(autouse=True)
def no_pdfs():
    with mock.patch("invoicing.services.documents._after_issue"):
        yield


@pytest.fixture
def documents(mentor, mentee, finance_user):
    """October: two invoices (Student Finance England, with an address; Sam Selfpay, without), the first credited."""
    sfe = FundingArrangementFactory(mentee=mentee, funder__name="Student Finance England", reference="=SFE-42",
                                    funder__billing_address="Floor 2\n100 Bank Street\nDarlington\nDL1 1AA",
                                    hourly_rate=Decimal("55.00"))
    sam = FundingArrangementFactory(mentee=MenteeFactory(full_name="Sam Selfpay"), self_funded=True)
    wrapped_up(mentor, mentee, sfe, date(2026, 10, 5))
    wrapped_up(mentor, sam.mentee, sam, date(2026, 10, 7), minutes=50)
    wrapped_up(mentor, mentee, sfe, date(2026, 10, 12), minutes=45)
    month_end_generate(year=2026, month=10)
    invoices_issue(invoice_ids=list(Invoice.objects.values_list("pk", flat=True)), acting_user=finance_user,
                   today=date(2026, 11, 2))
    sfe_invoice = Invoice.objects.get(bill_to_name="Student Finance England")
    invoice_credit(invoice_id=sfe_invoice.pk, acting_user=finance_user, reason="Wrong PO.", today=date(2026, 11, 20))
    return Invoice.objects.all(), CreditNote.objects.all()


def read_back(text: str) -> tuple[list[str], list[dict]]:
    assert text.startswith("\ufeff")
    reader = csv.reader(io.StringIO(text[1:]))
    header = next(reader)
    return header, [dict(zip(header, row, strict=True)) for row in reader]


def by_document(rows, number_column):
    documents = defaultdict(list)
    for row in rows:
        documents[row[number_column]].append(row)
    return documents


def test_xero_file_has_the_template_columns_every_required_one_filled_and_reconciles(documents):
    invoices, credit_notes = documents
    header, rows = read_back("".join(xero_invoices_csv(invoices=invoices, credit_notes=credit_notes)))
    assert ",".join(header) == XERO_TEMPLATE and header == XERO_COLUMNS
    assert len(rows) == 5
    for row in rows:
        assert all(row[column] for column in XERO_REQUIRED), row
        assert row["Currency"] == "GBP"
    documents_rows = by_document(rows, "*InvoiceNumber")
    for invoice in invoices:
        lines = documents_rows[invoice.number]
        net = sum(Decimal(r["*Quantity"]) * Decimal(r["*UnitAmount"]) for r in lines).quantize(Decimal("0.01"))
        vat = sum(Decimal(r["TaxAmount"]) for r in lines)
        assert (net, vat, net + vat) == (invoice.net, invoice.vat, invoice.total)
        assert {Decimal(r["Total"]) for r in lines} == {invoice.total}
    for note in credit_notes:
        lines = documents_rows[note.number]
        assert all(Decimal(r["*Quantity"]) < 0 < Decimal(r["*UnitAmount"]) for r in lines)
        net = sum(Decimal(r["*Quantity"]) * Decimal(r["*UnitAmount"]) for r in lines).quantize(Decimal("0.01"))
        assert net + sum(Decimal(r["TaxAmount"]) for r in lines) == -note.total
        assert lines[0]["Reference"] == f"Credit for {note.invoice.number}"
        assert lines[0]["*InvoiceDate"] == "20/11/2026"


def test_xero_rows_carry_the_customer_address_dates_and_uk_tax_type(documents):
    invoices, credit_notes = documents
    _, rows = read_back("".join(xero_invoices_csv(invoices=invoices)))
    sfe = next(r for r in rows if r["*ContactName"] == "Student Finance England")
    assert [sfe[f"POAddressLine{n}"] for n in range(1, 5)] == ["Accounts Payable", "Floor 2", "100 Bank Street", ""]
    assert (sfe["POCity"], sfe["POPostalCode"]) == ("Darlington", "DL1 1AA")
    assert (sfe["*InvoiceDate"], sfe["*DueDate"]) == ("02/11/2026", "02/12/2026")
    assert sfe["*TaxType"] == "20% (VAT on Income)" and sfe["*AccountCode"] == "200"
    assert sfe["Reference"] == "'=SFE-42"  # a formula neutralised
    sam = next(r for r in rows if r["*ContactName"] == "Sam Selfpay")
    assert (sam["*Quantity"], sam["*UnitAmount"], sam["TaxAmount"]) == ("0.8333", "40.00", "6.67")


def test_quickbooks_file_has_its_columns_every_required_one_filled_and_reconciles(documents):
    invoices, credit_notes = documents
    header, rows = read_back("".join(quickbooks_invoices_csv(invoices=invoices, credit_notes=credit_notes)))
    assert ",".join(header) == QUICKBOOKS_TEMPLATE and header == QUICKBOOKS_COLUMNS
    assert len(rows) == 5
    for row in rows:
        assert all(row[column] for column in QUICKBOOKS_REQUIRED), row
        assert Decimal(row["ItemQuantity"]) * Decimal(row["ItemRate"]) == pytest.approx(
            Decimal(row["ItemAmount"]), abs=Decimal("0.005"))
    documents_rows = by_document(rows, "InvoiceNo")
    for invoice in invoices:
        lines = documents_rows[invoice.number]
        assert sum(Decimal(r["ItemAmount"]) for r in lines) == invoice.net
        assert sum(Decimal(r["ItemAmount"]) + Decimal(r["ItemTaxAmount"]) for r in lines) == invoice.total
        assert {r["Terms"] for r in lines} == {"Net 30"}
        assert {r["ItemTaxCode"] for r in lines} == {"20.0% S"}
    for note in credit_notes:
        lines = documents_rows[note.number]
        assert sum(Decimal(r["ItemAmount"]) + Decimal(r["ItemTaxAmount"]) for r in lines) == -note.total
        assert all(Decimal(r["ItemAmount"]) < 0 for r in lines)
    assert {r["Service Date"] for r in documents_rows["INV-2026-000002"]} == {"05/10/2026", "12/10/2026"}


def test_without_vat_registration_the_tax_type_says_no_vat(mentor, mentee, finance_user):
    OrganisationDetails.objects.filter(pk=1).update(vat_registered=False)
    arrangement = FundingArrangementFactory(mentee=mentee)
    wrapped_up(mentor, mentee, arrangement, date(2026, 10, 5))
    month_end_generate(year=2026, month=10)
    invoices_issue(invoice_ids=list(Invoice.objects.values_list("pk", flat=True)), acting_user=finance_user,
                   today=date(2026, 11, 2))
    _, xero = read_back("".join(xero_invoices_csv(invoices=Invoice.objects.all())))
    _, qbo = read_back("".join(quickbooks_invoices_csv(invoices=Invoice.objects.all())))
    assert (xero[0]["*TaxType"], xero[0]["TaxAmount"]) == ("No VAT", "0.00")
    assert (qbo[0]["ItemTaxCode"], qbo[0]["ItemTaxAmount"]) == ("No VAT", "0.00")


def test_drafts_are_left_out(mentor, mentee):
    wrapped_up(mentor, mentee, FundingArrangementFactory(mentee=mentee), date(2026, 10, 5))
    month_end_generate(year=2026, month=10)
    assert read_back("".join(xero_invoices_csv(invoices=Invoice.objects.all())))[1] == []


@pytest.mark.parametrize("action, prefix", [("export_xero", "xero"), ("export_quickbooks", "quickbooks")])
def test_finance_downloads_each_file_from_the_invoice_and_credit_note_lists(finance_client, documents, action,
                                                                            prefix):
    invoices, credit_notes = documents
    response = finance_client.post(reverse("admin:invoicing_invoice_changelist"),
                                   {"action": action, "_selected_action": [i.pk for i in invoices]})
    assert response["Content-Disposition"].startswith(f'attachment; filename="{prefix}-invoices-')
    assert len(read_back(b"".join(response.streaming_content).decode())[1]) == 5
    response = finance_client.post(reverse("admin:invoicing_creditnote_changelist"),
                                   {"action": action, "_selected_action": [n.pk for n in credit_notes]})
    assert response["Content-Disposition"].startswith(f'attachment; filename="{prefix}-credit-notes-')
    assert len(read_back(b"".join(response.streaming_content).decode())[1]) == 2


def test_exporting_only_drafts_says_there_is_nothing_to_import(finance_client, mentor, mentee):
    wrapped_up(mentor, mentee, FundingArrangementFactory(mentee=mentee), date(2026, 10, 5))
    month_end_generate(year=2026, month=10)
    response = finance_client.post(reverse("admin:invoicing_invoice_changelist"),
                                   {"action": "export_xero", "_selected_action": [Invoice.objects.get().pk]},
                                   follow=True)
    assert "nothing to import into Xero" in html.unescape(response.content.decode())

"""Invoices and credit notes in the exact column layouts of two accounting packages' CSV imports.

- **Xero**, Sales › Invoices › Import (the "SalesInvoiceTemplate.csv" Xero offers there): one row per invoice line;
  the columns starting `*` are the ones Xero requires. Dates day/month/year, as a UK organisation's Xero reads them;
  amounts tax-exclusive (choose "Tax exclusive" when importing). A credit note goes in the same file as its
  negative: its lines with negative quantities (so a negative total), which Xero imports as a credit note.
- **QuickBooks Online**, Import data › Invoices: one row per invoice line, the UK company's columns (a tax code and
  a tax amount on each line); InvoiceNo, Customer, InvoiceDate, DueDate and ItemAmount are required. A credit note
  is its invoice's lines as negative quantities and amounts under the credit note's number.

Both start with UTF-8's byte-order mark and neutralise cells a spreadsheet would run as formulas (the CSV helpers
of `invoicing.exports`); each line's VAT is its share of the document's VAT, allocated so that the lines add up to
the document's VAT exactly, and each document's lines add up to its net and total.
"""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import groupby

from django.conf import settings

from invoicing.exports import CHUNK, _pks, _SafeWriter, allocate_pennies, hours, line_description
from invoicing.models import CreditNote, Invoice, InvoiceLine

XERO_COLUMNS = [
    "*ContactName", "EmailAddress", "POAddressLine1", "POAddressLine2", "POAddressLine3", "POAddressLine4",
    "POCity", "PORegion", "POPostalCode", "POCountry", "*InvoiceNumber", "Reference", "*InvoiceDate", "*DueDate",
    "Total", "InventoryItemCode", "*Description", "*Quantity", "*UnitAmount", "Discount", "*AccountCode",
    "*TaxType", "TaxAmount", "TrackingName1", "TrackingOption1", "TrackingName2", "TrackingOption2", "Currency",
    "BrandingTheme",
]
XERO_REQUIRED = [column for column in XERO_COLUMNS if column.startswith("*")]

QUICKBOOKS_COLUMNS = [
    "InvoiceNo", "Customer", "InvoiceDate", "DueDate", "Terms", "Location", "Memo", "Item(Product/Service)",
    "ItemDescription", "ItemQuantity", "ItemRate", "ItemAmount", "ItemTaxCode", "ItemTaxAmount", "Currency",
    "Service Date",
]
QUICKBOOKS_REQUIRED = ["InvoiceNo", "Customer", "InvoiceDate", "DueDate", "ItemAmount", "ItemTaxCode"]

UK_POSTCODE = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}", re.IGNORECASE)


@dataclass(frozen=True)
class DocumentLine:
    """One line of an invoice or credit note, signed: a credit note's are negative."""

    number: str
    is_credit: bool
    issue_date: date
    due_date: date
    invoice: Invoice
    line: InvoiceLine
    quantity: Decimal  # hours, signed
    net: Decimal  # signed
    vat: Decimal  # signed
    document_total: Decimal  # signed


def _dmy(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _lines(invoices, credit_notes) -> Iterator[DocumentLine]:
    """The lines of the issued invoices among `invoices`, then those of `credit_notes`, with each line's share of its
    document's VAT. Two queries."""
    if invoices is not None:
        lines = (InvoiceLine.objects.filter(invoice__in=_pks(invoices)).exclude(invoice__status=Invoice.Status.DRAFT)
                 .select_related("invoice").order_by("invoice__issue_date", "invoice__number", "session_date",
                                                     "reference", "pk"))
        for _, group in groupby(lines.iterator(chunk_size=CHUNK), key=lambda line: line.invoice_id):
            group = list(group)
            invoice = group[0].invoice
            yield from _document(group, invoice, number=invoice.number, issue_date=invoice.issue_date,
                                 due_date=invoice.due_date or invoice.issue_date, vat=invoice.vat,
                                 total=invoice.total, sign=1)
    if credit_notes is not None:
        lines = (InvoiceLine.objects.filter(invoice__credit_note__in=_pks(credit_notes))
                 .select_related("invoice__credit_note")
                 .order_by("invoice__credit_note__issue_date", "invoice__credit_note__number", "session_date",
                           "reference", "pk"))
        for _, group in groupby(lines.iterator(chunk_size=CHUNK), key=lambda line: line.invoice_id):
            group = list(group)
            invoice = group[0].invoice
            note: CreditNote = invoice.credit_note
            yield from _document(group, invoice, number=note.number, issue_date=note.issue_date,
                                 due_date=note.issue_date, vat=note.vat, total=note.total, sign=-1)


def _document(lines, invoice, *, number, issue_date, due_date, vat, total, sign) -> Iterator[DocumentLine]:
    vats = allocate_pennies(vat, [line.net * invoice.vat_rate / Decimal(100) for line in lines])
    for line, line_vat in zip(lines, vats):
        yield DocumentLine(
            number=number, is_credit=sign < 0, issue_date=issue_date, due_date=due_date, invoice=invoice, line=line,
            quantity=sign * hours(line.minutes, line.hourly_rate, line.net), net=sign * line.net,
            vat=sign * line_vat, document_total=sign * total,
        )


def _address(text: str) -> dict:
    """A free-text address as Xero's postal address columns: the lines, the city and a UK postcode when the last
    line is one; more than four lines before the city share the fourth."""
    lines = [" ".join(line.split()) for line in (text or "").splitlines() if line.strip()]
    postcode = lines.pop() if lines and UK_POSTCODE.fullmatch(lines[-1]) else ""
    city = lines.pop() if len(lines) >= 2 else ""
    lines = lines[:3] + [", ".join(lines[3:])] if len(lines) > 4 else lines
    lines += [""] * (4 - len(lines))
    return {"lines": lines, "city": city, "postcode": postcode}


def _description(item: DocumentLine) -> str:
    text = line_description(item.line)
    return f"Credit for {item.invoice.number}: {text}" if item.is_credit else text


def _money(amount: Decimal) -> str:
    return f"{amount + 0:.2f}" if amount else "0.00"  # never "-0.00"


def _quantity(amount: Decimal) -> str:
    return str(amount) if amount else "0.00"


def xero_tax_type(invoice: Invoice) -> str:
    """The name of the tax rate as a UK Xero organisation has it."""
    if not invoice.charges_vat:
        return "No VAT"
    if invoice.vat_rate == 0:
        return "Zero Rated Income"
    return f"{invoice.vat_rate.normalize():f}% (VAT on Income)"


def quickbooks_tax_code(invoice: Invoice) -> str:
    """The name of the VAT code as a UK QuickBooks Online company has it."""
    if not invoice.charges_vat:
        return "No VAT"
    return f"{invoice.vat_rate.quantize(Decimal('0.1'))}% " + ("Z" if invoice.vat_rate == 0 else
                                                               "R" if invoice.vat_rate < 20 else "S")


def xero_invoices_csv(*, invoices: Iterable[Invoice] | None = None,
                      credit_notes: Iterable[CreditNote] | None = None) -> Iterator[str]:
    writer = _SafeWriter()
    yield writer.row(XERO_COLUMNS)
    for item in _lines(invoices, credit_notes):
        invoice = item.invoice
        address = _address(invoice.bill_to_address)
        reference = f"Credit for {invoice.number}" if item.is_credit else invoice.customer_reference
        yield writer.row([
            invoice.bill_to_name, invoice.bill_to_email, *address["lines"], address["city"], "", address["postcode"],
            "", item.number, reference, _dmy(item.issue_date), _dmy(item.due_date), _money(item.document_total), "",
            _description(item), _quantity(item.quantity), item.line.hourly_rate, "",
            settings.ACCOUNTING_SALES_ACCOUNT_CODE, xero_tax_type(invoice), _money(item.vat), "", "", "", "", "GBP",
            "",
        ])


def quickbooks_invoices_csv(*, invoices: Iterable[Invoice] | None = None,
                            credit_notes: Iterable[CreditNote] | None = None) -> Iterator[str]:
    writer = _SafeWriter()
    yield writer.row(QUICKBOOKS_COLUMNS)
    for item in _lines(invoices, credit_notes):
        invoice = item.invoice
        terms = "" if item.is_credit or not invoice.due_date else f"Net {(invoice.due_date - invoice.issue_date).days}"
        memo = f"Credit for {invoice.number}" if item.is_credit else invoice.customer_reference
        yield writer.row([
            item.number, invoice.bill_to_name, _dmy(item.issue_date), _dmy(item.due_date), terms, "", memo,
            settings.ACCOUNTING_ITEM_NAME, _description(item), _quantity(item.quantity), item.line.hourly_rate,
            _money(item.net), quickbooks_tax_code(invoice), _money(item.vat), "GBP", _dmy(item.line.session_date),
        ])

"""CSV exports for Finance: invoice lines for the accounting package, approved statements for making payments.

Each export is a generator of CSV text for a StreamingHttpResponse: UTF-8 starting with a byte-order mark (so
Excel reads "Zoë Ní Bhriain" as written, not as "ZoÃ«"), a header row first. A text cell that a spreadsheet would
read as a formula (starting with =, +, -, @, a tab or a carriage return; a negative number is left alone) gets a
leading apostrophe, so a name such as "=HYPERLINK(...)" is shown, never run. Each export reads the database in a
fixed number of queries whatever the number of documents, streaming the rows in chunks.
"""

import csv
import re
from collections.abc import Iterable, Iterator
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from itertools import groupby

from invoicing.models import CreditNote, Invoice, InvoiceLine, PaymentStatement

PENNY = Decimal("0.01")
CHUNK = 2000
BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NEGATIVE_NUMBER = re.compile(r"-[0-9]+(\.[0-9]+)?")

INVOICE_LINE_COLUMNS = [
    "Type", "Number", "Issue date", "Due date", "Customer name", "Customer reference", "Line date", "Tax point",
    "SA reference", "Mentee", "Description", "Quantity (hours)", "Unit price", "Net", "VAT rate (%)", "VAT",
    "Gross",
]
PAYMENT_COLUMNS = ["Mentor", "Email", "Statement number", "Period", "Amount", "Payment reference"]


class _Echo:
    """A file-like object whose write returns the text, so csv.writer yields each row as a string."""

    def write(self, value: str) -> str:
        return value


def safe_cell(value):
    """A text cell a spreadsheet would take for a formula, with an apostrophe in front; anything else as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not NEGATIVE_NUMBER.fullmatch(value):
        return f"'{value}"
    return value


class _SafeWriter:
    """Rows of CSV text with every cell made safe, the first starting with the byte-order mark."""

    def __init__(self):
        self.writer = csv.writer(_Echo())
        self.first = True

    def row(self, cells) -> str:
        text = self.writer.writerow([safe_cell(cell) for cell in cells])
        if self.first:
            self.first = False
            return BOM + text
        return text


def allocate_pennies(total: Decimal, exact: list[Decimal]) -> list[Decimal]:
    """Round each exact amount to the penny so that the results add up to `total` exactly.

    Largest remainder: every amount is rounded down, then the pennies still missing go one each to the amounts
    that lost the most in rounding down (the earlier one first on a tie)."""
    if not exact:
        return []
    floors = [amount.quantize(PENNY, rounding=ROUND_FLOOR) for amount in exact]
    missing = int((total - sum(floors, Decimal(0))) / PENNY)
    by_remainder = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    step = PENNY if missing >= 0 else -PENNY
    if missing < 0:  # `total` is less than the amounts rounded down: take from those that lost least
        by_remainder.reverse()
    for k in range(abs(missing)):
        floors[by_remainder[k % len(exact)]] += step
    return floors


def hours(minutes: int, rate: Decimal, net: Decimal) -> Decimal:
    """The minutes as hours, to as many decimal places as it takes (at least two) for hours × rate, rounded to the
    penny, to come to the line's net, as the accounting package will multiply them: 0.75 for 45 minutes, 0.8333
    for 50 minutes at £40 (£33.33).

    The net is minutes × rate / 60 rounded half up, a multiple of 1/6000 of a pound: unless it lies exactly on a
    half penny, it is at least 1/6000 from the edge of its penny, so hours rounded to the nearest 10 decimal places
    reconcile at any rate up to £999,999.99. On a half penny (5 minutes at £0.30 is £0.025, charged £0.03), hours
    rounded down fall short of it, so they are rounded up instead, from three decimal places (0.084), which keeps
    them within 0.001 of the real hours."""
    exact = Decimal(minutes) / Decimal(60)
    tries = [(places, ROUND_HALF_UP) for places in range(2, 13)] + [(places, ROUND_CEILING) for places in range(3, 13)]
    for places, rounding in tries:
        quantity = exact.quantize(Decimal(1).scaleb(-places), rounding=rounding)
        if (quantity * rate).quantize(PENNY, rounding=ROUND_HALF_UP) == net:
            return quantity
    raise ValueError(f"{minutes} minutes at £{rate} an hour do not come to £{net}")


def line_description(line: InvoiceLine) -> str:
    rule = line.charge_rule or line.get_outcome_display()  # the funder's rule applied, lines since it was recorded
    return f"Mentoring session {line.reference} ({rule}), {line.minutes} min"


def _signed(amount: Decimal, sign: int) -> Decimal:
    amount = amount * sign
    return amount if amount else abs(amount)  # never "-0.00"


def _iso(day) -> str:
    return day.isoformat() if day else ""


def _document_rows(lines: list[InvoiceLine], *, invoice: Invoice, vat_total: Decimal, credit_note=None):
    """The rows of one document. A credit note's rows are its invoice's rows with negative amounts."""
    rate = invoice.vat_rate
    vats = allocate_pennies(vat_total, [line.net * rate / Decimal(100) for line in lines])
    sign = -1 if credit_note else 1
    if credit_note:
        kind, number, issue_date, due_date = "Credit note", credit_note.number, credit_note.issue_date, None
    else:
        kind, number, issue_date, due_date = "Invoice", invoice.number, invoice.issue_date, invoice.due_date
    for line, vat in zip(lines, vats):
        description = line_description(line)
        if credit_note:
            description = f"Credit for {invoice.number}: {description}"
            tax_point = credit_note.issue_date if invoice.charges_vat else None
        else:
            tax_point = invoice.tax_point(line.session_date)
        yield [
            kind, number, _iso(issue_date), _iso(due_date), invoice.bill_to_name, invoice.customer_reference,
            _iso(line.session_date), _iso(tax_point), line.reference, line.mentee_name, description,
            _signed(hours(line.minutes, line.hourly_rate, line.net), sign), line.hourly_rate, _signed(line.net, sign),
            rate, _signed(vat, sign), _signed(line.net + vat, sign),
        ]


def invoice_lines_csv(*, invoices: Iterable[Invoice] | None = None,
                      credit_notes: Iterable[CreditNote] | None = None) -> Iterator[str]:
    """One row per invoice line, for the accounting package to import: the lines of the given invoices that
    have been issued (drafts are left out; a credited invoice was issued, so its lines are in), then the lines of
    the given credit notes as negative rows. Each line's VAT is its share of the document's VAT, allocated so that
    the lines add up to the document's VAT exactly.

    `invoices` and `credit_notes` are querysets (or None); two queries in all."""
    writer = _SafeWriter()
    yield writer.row(INVOICE_LINE_COLUMNS)

    if invoices is not None:
        lines = (
            InvoiceLine.objects.filter(invoice__in=_pks(invoices))
            .exclude(invoice__status=Invoice.Status.DRAFT)
            .select_related("invoice")
            .order_by("invoice__issue_date", "invoice__number", "session_date", "reference", "pk")
        )
        for _, group in groupby(lines.iterator(chunk_size=CHUNK), key=lambda line: line.invoice_id):
            group = list(group)
            invoice = group[0].invoice
            for row in _document_rows(group, invoice=invoice, vat_total=invoice.vat):
                yield writer.row(row)

    if credit_notes is not None:
        lines = (
            InvoiceLine.objects.filter(invoice__credit_note__in=_pks(credit_notes))
            .filter(session_credit_note__isnull=True)  # credited one by one before: on their own credit notes
            .select_related("invoice__credit_note")
            .order_by("invoice__credit_note__issue_date", "invoice__credit_note__number", "session_date",
                      "reference", "pk")
        )
        for _, group in groupby(lines.iterator(chunk_size=CHUNK), key=lambda line: line.invoice_id):
            group = list(group)
            invoice = group[0].invoice
            credit_note = invoice.credit_note
            for row in _document_rows(group, invoice=invoice, vat_total=credit_note.vat, credit_note=credit_note):
                yield writer.row(row)


def session_credit_note_lines_csv(*, credit_notes) -> Iterator[str]:
    """Credit notes for one session (corrected wrap-ups) in the same layout as `invoice_lines_csv`: one negative row
    each. One query."""
    writer = _SafeWriter()
    yield writer.row(INVOICE_LINE_COLUMNS)
    for credit_note in (credit_notes.select_related("invoice", "invoice_line")
                        .order_by("issue_date", "number").iterator(chunk_size=CHUNK)):
        for row in _document_rows([credit_note.invoice_line], invoice=credit_note.invoice, vat_total=credit_note.vat,
                                  credit_note=credit_note):
            yield writer.row(row)


def payment_reference(statement: PaymentStatement) -> str:
    """What the mentor sees on their bank statement: the statement's number (UK bank references allow 18
    characters)."""
    return statement.number


def payments_csv(*, statements: Iterable[PaymentStatement]) -> Iterator[str]:
    """One row per statement approved for payment (others among `statements` are left out), for making the
    payments: who, how much, and the reference for the transfer. One query."""
    writer = _SafeWriter()
    yield writer.row(PAYMENT_COLUMNS)
    approved = (
        PaymentStatement.objects.filter(pk__in=_pks(statements), status=PaymentStatement.Status.APPROVED)
        .select_related("mentor__user")
        .order_by("mentor__user__full_name", "period_start", "number")
    )
    for statement in approved.iterator(chunk_size=CHUNK):
        user = statement.mentor.user
        yield writer.row([
            user.full_name, user.email, statement.number, f"{statement.period_start:%Y-%m}", statement.total,
            payment_reference(statement),
        ])


def _pks(queryset):
    """The primary keys of a queryset as a subquery, free of the admin's ordering and search joins."""
    return queryset.order_by().values("pk")

"""CSV exports for Finance: invoice lines for the accounting package, approved statements for making payments.

Each export is a generator of CSV text (UTF-8, a header row first) for a StreamingHttpResponse. It reads the
database in a fixed number of queries whatever the number of documents, streaming the rows in chunks.
"""

import csv
from collections.abc import Iterable, Iterator
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from itertools import groupby

from invoicing.models import CreditNote, Invoice, InvoiceLine, PaymentStatement

PENNY = Decimal("0.01")
CHUNK = 2000

INVOICE_LINE_COLUMNS = [
    "Type", "Number", "Issue date", "Due date", "Customer name", "Customer reference", "Line date",
    "SA reference", "Mentee", "Description", "Quantity (hours)", "Unit price", "Net", "VAT rate (%)", "VAT",
    "Gross",
]
PAYMENT_COLUMNS = ["Mentor", "Email", "Statement number", "Period", "Amount", "Payment reference"]


class _Echo:
    """A file-like object whose write returns the text, so csv.writer yields each row as a string."""

    def write(self, value: str) -> str:
        return value


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


def hours(minutes: int) -> Decimal:
    return (Decimal(minutes) / Decimal(60)).quantize(PENNY, rounding=ROUND_HALF_UP)


def line_description(line: InvoiceLine) -> str:
    return f"Mentoring session {line.reference} ({line.get_outcome_display()}), {line.minutes} min"


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
        yield [
            kind, number, _iso(issue_date), _iso(due_date), invoice.bill_to_name, invoice.customer_reference,
            _iso(line.session_date), line.reference, line.mentee_name, description,
            _signed(hours(line.minutes), sign), line.hourly_rate, _signed(line.net, sign), rate,
            _signed(vat, sign), _signed(line.net + vat, sign),
        ]


def invoice_lines_csv(*, invoices: Iterable[Invoice] | None = None,
                      credit_notes: Iterable[CreditNote] | None = None) -> Iterator[str]:
    """One row per invoice line, for the accounting package to import: the lines of the given invoices that
    have been issued (drafts are left out; a credited invoice was issued, so its lines are in), then the lines of
    the given credit notes as negative rows. Each line's VAT is its share of the document's VAT, allocated so that
    the lines add up to the document's VAT exactly.

    `invoices` and `credit_notes` are querysets (or None); two queries in all."""
    writer = csv.writer(_Echo())
    yield writer.writerow(INVOICE_LINE_COLUMNS)

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
                yield writer.writerow(row)

    if credit_notes is not None:
        lines = (
            InvoiceLine.objects.filter(invoice__credit_note__in=_pks(credit_notes))
            .select_related("invoice__credit_note")
            .order_by("invoice__credit_note__issue_date", "invoice__credit_note__number", "session_date",
                      "reference", "pk")
        )
        for _, group in groupby(lines.iterator(chunk_size=CHUNK), key=lambda line: line.invoice_id):
            group = list(group)
            invoice = group[0].invoice
            credit_note = invoice.credit_note
            for row in _document_rows(group, invoice=invoice, vat_total=credit_note.vat, credit_note=credit_note):
                yield writer.writerow(row)


def payment_reference(statement: PaymentStatement) -> str:
    """What the mentor sees on their bank statement: the statement's number (UK bank references allow 18
    characters)."""
    return statement.number


def payments_csv(*, statements: Iterable[PaymentStatement]) -> Iterator[str]:
    """One row per statement approved for payment (others among `statements` are left out), for making the
    payments: who, how much, and the reference for the transfer. One query."""
    writer = csv.writer(_Echo())
    yield writer.writerow(PAYMENT_COLUMNS)
    approved = (
        PaymentStatement.objects.filter(pk__in=_pks(statements), status=PaymentStatement.Status.APPROVED)
        .select_related("mentor__user")
        .order_by("mentor__user__full_name", "period_start", "number")
    )
    for statement in approved.iterator(chunk_size=CHUNK):
        user = statement.mentor.user
        yield writer.writerow([
            user.full_name, user.email, statement.number, f"{statement.period_start:%Y-%m}", statement.total,
            payment_reference(statement),
        ])


def _pks(queryset):
    """The primary keys of a queryset as a subquery, free of the admin's ordering and search joins."""
    return queryset.order_by().values("pk")

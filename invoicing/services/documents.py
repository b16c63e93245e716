"""Issuing, paying and correcting invoices and payment statements. Issued documents never change."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from invoicing.models import CreditNote, Invoice, InvoiceLine, OrganisationDetails, PaymentStatement
from sessions_app.services import sequence_allocate


def _numbers(prefix: str, year: int, count: int) -> list[str]:
    """Gapless per year: the counter row is locked until the issuing transaction commits or rolls back."""
    first = sequence_allocate(name=f"{prefix.lower()}-{year}", count=count)
    return [f"{prefix}-{year}-{first + i:06d}" for i in range(count)]


def _after_issue(invoices=(), statements=(), credit_notes=()):
    """Render the PDFs (and email them) once the issue has committed."""
    from invoicing.tasks import render_credit_note_pdf, render_invoice_pdf, render_statement_pdf

    def dispatch():
        for invoice in invoices:
            render_invoice_pdf.delay(invoice.pk)
        for statement in statements:
            render_statement_pdf.delay(statement.pk)
        for credit_note in credit_notes:
            render_credit_note_pdf.delay(credit_note.pk)

    transaction.on_commit(dispatch)


@transaction.atomic
def invoices_issue(*, invoice_ids, acting_user, today=None) -> list[Invoice]:
    """Number and issue draft invoices. Ones already issued by someone else are left as they are."""
    invoices = list(
        Invoice.objects.select_for_update().filter(pk__in=list(invoice_ids), status=Invoice.Status.DRAFT)
        .order_by("period_start", "bill_to_name", "pk")
    )
    if not invoices:
        return []
    today = today or timezone.localdate()
    terms = OrganisationDetails.current().payment_terms_days
    now = timezone.now()
    for invoice, number in zip(invoices, _numbers("INV", today.year, len(invoices))):
        invoice.number, invoice.status = number, Invoice.Status.ISSUED
        invoice.issue_date, invoice.due_date = today, today + timedelta(days=terms)
        invoice.issued_at, invoice.issued_by = now, acting_user
    Invoice.objects.bulk_update(invoices, ["number", "status", "issue_date", "due_date", "issued_at", "issued_by"])
    _after_issue(invoices=invoices)
    return invoices


@transaction.atomic
def statements_issue(*, statement_ids, acting_user, today=None) -> list[PaymentStatement]:
    statements = list(
        PaymentStatement.objects.select_for_update()
        .filter(pk__in=list(statement_ids), status=PaymentStatement.Status.DRAFT)
        .order_by("period_start", "mentor__user__full_name", "pk")
    )
    if not statements:
        return []
    today = today or timezone.localdate()
    now = timezone.now()
    for statement, number in zip(statements, _numbers("PAY", today.year, len(statements))):
        statement.number, statement.status = number, PaymentStatement.Status.ISSUED
        statement.issue_date, statement.issued_at = today, now
    PaymentStatement.objects.bulk_update(statements, ["number", "status", "issue_date", "issued_at"])
    _after_issue(statements=statements)
    return statements


@transaction.atomic
def invoice_mark_paid(*, invoice_ids, acting_user) -> int:
    return Invoice.objects.filter(pk__in=list(invoice_ids), status=Invoice.Status.ISSUED).update(
        status=Invoice.Status.PAID, paid_at=timezone.now()
    )


@transaction.atomic
def statement_approve(*, statement_ids, acting_user) -> int:
    return PaymentStatement.objects.filter(pk__in=list(statement_ids), status=PaymentStatement.Status.ISSUED).update(
        status=PaymentStatement.Status.APPROVED, approved_at=timezone.now(), approved_by=acting_user
    )


@transaction.atomic
def statement_mark_paid(*, statement_ids, acting_user) -> int:
    return PaymentStatement.objects.filter(pk__in=list(statement_ids), status=PaymentStatement.Status.APPROVED).update(
        status=PaymentStatement.Status.PAID, paid_at=timezone.now()
    )


@transaction.atomic
def invoice_credit(*, invoice_id: int, acting_user, reason: str, today=None) -> CreditNote:
    """Correct an issued invoice: a credit note for its full amount. Its sessions are released, so the next
    month-end run invoices them again (marked late)."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice_id)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the invoice is being credited."})
    if invoice.status == Invoice.Status.DRAFT:
        raise ValidationError("A draft invoice has not been issued, so it needs no credit note.")
    if invoice.status == Invoice.Status.CREDITED:
        raise ValidationError(f"{invoice.number} has already been credited by {invoice.credit_note.number}.")
    today = today or timezone.localdate()
    (number,) = _numbers("CN", today.year, 1)
    credit_note = CreditNote.objects.create(
        number=number, invoice=invoice, reason=reason.strip(), issue_date=today, issued_at=timezone.now(),
        issued_by=acting_user, net=invoice.net, vat=invoice.vat, total=invoice.total,
    )
    invoice.status = Invoice.Status.CREDITED
    invoice.save(update_fields=["status"])
    InvoiceLine.objects.filter(invoice=invoice).update(released=True)
    _after_issue(credit_notes=[credit_note])
    return credit_note

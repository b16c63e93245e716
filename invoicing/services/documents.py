"""Issuing, paying and correcting invoices and payment statements. Issued documents never change."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from invoicing.models import CreditNote, Invoice, InvoiceLine, OrganisationDetails, PaymentStatement
from notifications.models import OutboxEmail
from notifications.services import funder_emails_settle
from sessions_app.models import ServiceAppointment
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


def _update(documents, fields, *, acting_user, now, reason) -> int:
    """Save the documents' changed fields in one statement, with a row each in their audit trail saying who
    and why (django-simple-history records save() only, not bulk_update or QuerySet.update)."""
    if not documents:
        return 0
    bulk_update_with_history(documents, type(documents[0]), fields, default_user=acting_user, default_date=now,
                             default_change_reason=reason)
    return len(documents)


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
    _update(invoices, ["number", "status", "issue_date", "due_date", "issued_at", "issued_by"],
            acting_user=acting_user, now=now, reason="Issued")
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
    _update(statements, ["number", "status", "issue_date", "issued_at"], acting_user=acting_user, now=now,
            reason="Issued")
    _after_issue(statements=statements)
    return statements


@transaction.atomic
def invoice_mark_paid(*, invoice_ids, acting_user) -> int:
    invoices = list(Invoice.objects.select_for_update().filter(pk__in=list(invoice_ids), status=Invoice.Status.ISSUED))
    now = timezone.now()
    for invoice in invoices:
        invoice.status, invoice.paid_at = Invoice.Status.PAID, now
    return _update(invoices, ["status", "paid_at"], acting_user=acting_user, now=now, reason="Marked paid")


@transaction.atomic
def statement_approve(*, statement_ids, acting_user) -> int:
    statements = list(PaymentStatement.objects.select_for_update().filter(
        pk__in=list(statement_ids), status=PaymentStatement.Status.ISSUED))
    now = timezone.now()
    for statement in statements:
        statement.status = PaymentStatement.Status.APPROVED
        statement.approved_at, statement.approved_by = now, acting_user
    return _update(statements, ["status", "approved_at", "approved_by"], acting_user=acting_user, now=now,
                   reason="Approved for payment")


@transaction.atomic
def statement_mark_paid(*, statement_ids, acting_user) -> int:
    statements = list(PaymentStatement.objects.select_for_update().filter(
        pk__in=list(statement_ids), status=PaymentStatement.Status.APPROVED))
    now = timezone.now()
    for statement in statements:
        statement.status, statement.paid_at = PaymentStatement.Status.PAID, now
    return _update(statements, ["status", "paid_at"], acting_user=acting_user, now=now, reason="Marked paid")


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
    credit_note = CreditNote(
        number=number, invoice=invoice, reason=reason.strip(), issue_date=today, issued_at=timezone.now(),
        issued_by=acting_user, net=invoice.net, vat=invoice.vat, total=invoice.total,
    )
    credit_note._history_user = invoice._history_user = acting_user  # the audit trail's "who"
    credit_note.save(force_insert=True)
    invoice.status = Invoice.Status.CREDITED
    invoice._change_reason = f"Credited by {number}"
    invoice.save(update_fields=["status"])
    InvoiceLine.objects.filter(invoice=invoice).update(released=True)
    _correct_funders_told(invoice)
    _after_issue(credit_notes=[credit_note])
    return credit_note


def _correct_funders_told(invoice: Invoice) -> None:
    """A credit note is how Finance corrects a session's funding after invoicing (fix the arrangement, credit the
    invoice): a funder told about one of its sessions that is no longer theirs gets a correction, and a funder it
    now belongs to hears about it."""
    told = OutboxEmail.objects.filter(appointment=OuterRef("pk"), kind=OutboxEmail.Kind.ATTENDANCE_FUNDER)
    sessions = (
        ServiceAppointment.objects.filter(pk__in=invoice.lines.values("appointment_id"))
        .filter(Exists(told) | Q(funding_arrangement__funder__sends_attendance_emails=True))
        .select_related("funding_arrangement__funder", "mentee", "mentor__user").order_by("pk")
    )
    for appointment in sessions:
        funder_emails_settle(appointment=appointment)

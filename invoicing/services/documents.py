"""Issuing, paying and correcting invoices and payment statements. Issued documents never change."""

from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, Sum
from django.utils import timezone
from django.utils.formats import date_format
from simple_history.utils import bulk_update_with_history

from invoicing.models import (
    CreditNote,
    Invoice,
    InvoiceLine,
    OrganisationDetails,
    PaymentStatement,
    StatementAdjustment,
)
from invoicing.models.documents import SIMPLIFIED_INVOICE_LIMIT
from notifications.models import OutboxEmail
from notifications.services import funder_emails_settle
from sessions_app.models import ServiceAppointment, TaxPointRule
from sessions_app.services import sequence_allocate

from .month_end import bill_to_address
from .pdf import money


def document_numbers(prefix: str, year: int, count: int) -> list[str]:
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


def _in_closed_months(documents, noun: str) -> dict[int, str]:
    """The drafts whose month Finance has closed, each with why it cannot be issued."""
    from .month_close import closed_message, closed_months

    closed = closed_months(document.period_start for document in documents)
    return {document.pk: closed_message(closed[document.period_start], f"no {noun} of it can be issued")
            for document in documents if document.period_start in closed}


class InvoicesRefused(ValidationError):
    """Nothing was issued: some invoices cannot be issued as they stand. `refused` maps each such invoice's id to
    what is missing (every selected draft, when the organisation's details are what is missing)."""

    def __init__(self, messages: list[str], refused: dict[int, str]):
        super().__init__(messages)
        self.refused = refused


MISSING_VAT_NUMBER = (
    "No invoice was issued: the organisation is VAT-registered but its VAT registration number is blank, and a VAT "
    "invoice must show it. Fill in “VAT registration number” in Organisation's invoice details, or untick "
    "“VAT-registered” there if the organisation is not registered for VAT (its invoices then charge no VAT)."
)


def _customer(invoice: Invoice) -> tuple[str, str]:
    """The customer's address as it is now, and where Finance fills it in."""
    if invoice.mentee_id:
        return invoice.mentee.address.strip(), f"the mentee's address (Mentees › {invoice.mentee.full_name})"
    funder = invoice.funder
    return funder.billing_address.strip(), f"the funder's billing address (Funders › {funder.name})"


def _issue_as(invoice: Invoice, org: OrganisationDetails) -> str | None:
    """What the invoice is issued as; None when it cannot be: a full VAT invoice needs the customer's address,
    and without one HMRC allows a simplified VAT invoice only up to £250 including VAT."""
    if not org.vat_registered:
        return Invoice.Kind.NO_VAT
    if _customer(invoice)[0]:
        return Invoice.Kind.VAT
    if invoice.total <= SIMPLIFIED_INVOICE_LIMIT:
        return Invoice.Kind.SIMPLIFIED
    return None


def _refusal(invoice: Invoice) -> str:
    _, where = _customer(invoice)
    return (f"{invoice.bill_to_name}'s invoice for {date_format(invoice.period_start, 'F Y')} comes to "
            f"{money(invoice.total)} "
            f"including VAT, and {invoice.bill_to_name} has no address: a VAT invoice over "
            f"{money(SIMPLIFIED_INVOICE_LIMIT)} must show the customer's address. Fill in {where}, then issue it "
            "again.")


def _prepare(invoice: Invoice, org: OrganisationDetails) -> str | None:
    """Bring the draft up to date for issuing (the customer's address now, no VAT when the organisation is not
    VAT-registered) and say what it is issued as."""
    if invoice.mentee_id:
        invoice.bill_to_address = invoice.mentee.address
    else:
        invoice.bill_to_address = bill_to_address(invoice.funder)
    if not org.vat_registered:
        invoice.vat_rate, invoice.vat, invoice.total = Decimal("0.00"), Decimal("0.00"), invoice.net
    invoice.tax_point_rule = invoice.funder.tax_point_rule if invoice.funder_id else TaxPointRule.CONTINUOUS
    return _issue_as(invoice, org)


@transaction.atomic
def invoices_issue(*, invoice_ids, acting_user, today=None) -> list[Invoice]:
    """Number and issue draft invoices. Ones already issued by someone else are left as they are.

    Each is issued as a VAT invoice, a simplified VAT invoice (no customer address, £250 or less including VAT)
    or, when the organisation is not VAT-registered, an invoice without VAT. If any cannot be issued (the VAT
    registration number is missing; a customer has no address and the invoice is over £250), none is: the
    `InvoicesRefused` error says what to fill in."""
    invoices = list(
        Invoice.objects.select_for_update(of=("self",)).select_related("funder", "mentee")
        .filter(pk__in=list(invoice_ids), status=Invoice.Status.DRAFT)
        .order_by("period_start", "bill_to_name", "pk")
    )
    if not invoices:
        return []
    if closed := _in_closed_months(invoices, "invoice"):
        raise InvoicesRefused(list(closed.values()), closed)
    org = OrganisationDetails.current()
    if org.vat_registered and not org.vat_number.strip():
        raise InvoicesRefused([MISSING_VAT_NUMBER], {invoice.pk: MISSING_VAT_NUMBER for invoice in invoices})
    refused = {}
    for invoice in invoices:
        invoice.kind = _prepare(invoice, org)
        if invoice.kind is None:
            refused[invoice.pk] = _refusal(invoice)
    if refused:
        others = len(invoices) - len(refused)
        lead = "No invoice was issued." + (
            f" Issue the other {others} without {'it' if len(refused) == 1 else 'them'}, or fill in what is "
            "missing first." if others else "")
        raise InvoicesRefused([lead, *refused.values()], refused)

    today = today or timezone.localdate()
    now = timezone.now()
    for invoice, number in zip(invoices, document_numbers("INV", today.year, len(invoices))):
        invoice.number, invoice.status = number, Invoice.Status.ISSUED
        invoice.issue_date, invoice.due_date = today, today + timedelta(days=org.payment_terms_days)
        invoice.issued_at, invoice.issued_by = now, acting_user
    _update(invoices, ["number", "status", "issue_date", "due_date", "issued_at", "issued_by", "kind",
                       "tax_point_rule", "bill_to_address", "vat_rate", "vat", "total"],
            acting_user=acting_user, now=now, reason="Issued")
    _after_issue(invoices=invoices)
    return invoices


def invoices_issue_all_possible(*, invoice_ids, acting_user, today=None) -> tuple[list[Invoice], list[str]]:
    """Issue what can be issued of the drafts, for the month-end job and the command: the invoices issued, and
    what was refused and why (each refused invoice stays a draft)."""
    ids, problems = list(invoice_ids), []
    try:
        return invoices_issue(invoice_ids=ids, acting_user=acting_user, today=today), problems
    except InvoicesRefused as refusal:
        problems = refusal.messages[1:] if len(refusal.messages) > 1 else refusal.messages
        rest = [pk for pk in ids if pk not in refusal.refused]
    if not rest:
        return [], problems
    return invoices_issue(invoice_ids=rest, acting_user=acting_user, today=today), problems


def issued_as(invoices: list[Invoice]) -> str:
    """What was issued, for Finance: "Issued as: 2 VAT invoices; 1 simplified VAT invoice: INV-2026-000003 (Sam
    Selfpay), whose customer has no address on file (allowed up to £250.00 including VAT)."."""
    names = {Invoice.Kind.VAT: ("VAT invoice", "VAT invoices"),
             Invoice.Kind.SIMPLIFIED: ("simplified VAT invoice", "simplified VAT invoices"),
             Invoice.Kind.NO_VAT: ("invoice without VAT", "invoices without VAT")}
    parts = []
    for kind, (one, many) in names.items():
        of_kind = [invoice for invoice in invoices if invoice.kind == kind]
        if not of_kind:
            continue
        part = f"{len(of_kind)} {one if len(of_kind) == 1 else many}"
        if kind == Invoice.Kind.SIMPLIFIED:
            shown = ", ".join(f"{invoice.number} ({invoice.bill_to_name})" for invoice in of_kind[:10])
            more = f" and {len(of_kind) - 10} more" if len(of_kind) > 10 else ""
            part += (f": {shown}{more}, whose customer has no address on file (allowed up to "
                     f"{money(SIMPLIFIED_INVOICE_LIMIT)} including VAT)")
        elif kind == Invoice.Kind.NO_VAT:
            part += " (the organisation is not VAT-registered)"
        parts.append(part)
    return "Issued as: " + "; ".join(parts) + "."


@transaction.atomic
def statements_issue(*, statement_ids, acting_user, today=None) -> list[PaymentStatement]:
    statements = list(
        PaymentStatement.objects.select_for_update(of=("self",)).select_related("mentor")
        .filter(pk__in=list(statement_ids), status=PaymentStatement.Status.DRAFT)
        .order_by("period_start", "mentor__user__full_name", "pk")
    )
    if not statements:
        return []
    if closed := _in_closed_months(statements, "payment statement"):
        raise ValidationError(sorted(set(closed.values())))
    today = today or timezone.localdate()
    now = timezone.now()
    for statement, number in zip(statements, document_numbers("PAY", today.year, len(statements))):
        statement.number, statement.status = number, PaymentStatement.Status.ISSUED
        statement.issue_date, statement.issued_at = today, now
        statement.supplier_address = statement.mentor.address.strip()
    _update(statements, ["number", "status", "issue_date", "issued_at", "supplier_address"], acting_user=acting_user,
            now=now, reason="Issued")
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
    """Approve issued statements for payment. One that comes to less than nothing (corrections to sessions paid
    earlier came to more than the month's pay) is approved too, but nothing is paid on it: a Bacs payment cannot be
    negative. What the mentor owes is carried to their next payment statement, taken off what it pays, as payroll
    does with an overpayment (see `carry_forward_what_is_owed`)."""
    statements = list(PaymentStatement.objects.select_for_update().filter(
        pk__in=list(statement_ids), status=PaymentStatement.Status.ISSUED))
    now = timezone.now()
    for statement in statements:
        statement.status = PaymentStatement.Status.APPROVED
        statement.approved_at, statement.approved_by = now, acting_user
    owing = [statement for statement in statements if statement.total < 0]
    paying = [statement for statement in statements if statement.total >= 0]
    done = _update(paying, ["status", "approved_at", "approved_by"], acting_user=acting_user, now=now,
                   reason="Approved for payment")
    for statement in owing:
        done += _update([statement], ["status", "approved_at", "approved_by"], acting_user=acting_user, now=now,
                        reason=f"Approved: nothing to pay; the {money(-statement.total)} owed is carried to the "
                               "next statement")
        carry_forward_what_is_owed(statement, acting_user=acting_user, now=now)
    return done


def carry_forward_what_is_owed(statement: PaymentStatement, *, acting_user, now) -> StatementAdjustment:
    """A statement that came to less than nothing: what the mentor owes becomes an adjustment on their next payment
    statement (attached at that month's end, like a correction's)."""
    owed = -statement.total
    month = date_format(statement.period_start, "F Y")
    adjustment = StatementAdjustment(
        mentor_id=statement.mentor_id, carried_from=statement, session_date=statement.period_end,
        reference=statement.number, mentee_name="",
        description=f"Brought forward: {statement.number} ({month}) came to {money(statement.total)}, so nothing was "
                    "paid on it",
        reason=f"{statement.number} came to {money(statement.total)}: corrections to sessions paid on earlier "
               f"statements were more than the month's pay. The {money(owed)} owed is taken off the next statement.",
        was_amount=Decimal("0.00"), now_amount=statement.total, amount=statement.total, created_at=now,
        created_by=acting_user)
    adjustment._history_user = acting_user
    adjustment.save()
    return adjustment


@transaction.atomic
def statement_mark_paid(*, statement_ids, acting_user) -> int:
    """Approved statements paid outside a payment run. One that came to less than nothing is left as it is: nothing
    is paid on it, and what the mentor owes is on their next statement (`statement_approve`)."""
    statements = list(PaymentStatement.objects.select_for_update().filter(
        pk__in=list(statement_ids), status=PaymentStatement.Status.APPROVED, total__gte=0))
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
    # Sessions credited one by one already (corrected wrap-ups) are not credited twice.
    earlier = invoice.session_credit_notes.aggregate(net=Sum("net"), vat=Sum("vat"), total=Sum("total"))
    net, vat, total = (getattr(invoice, name) - (earlier[name] or 0) for name in ("net", "vat", "total"))
    if earlier["total"] is not None and total <= 0:
        raise ValidationError(f"Every session on {invoice.number} has been credited already, one by one.")
    today = today or timezone.localdate()
    (number,) = document_numbers("CN", today.year, 1)
    credit_note = CreditNote(
        number=number, invoice=invoice, reason=reason.strip(), issue_date=today, issued_at=timezone.now(),
        issued_by=acting_user, net=net, vat=vat, total=total,
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

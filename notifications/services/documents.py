"""Emails that carry an issued document: invoices and credit notes to the bill-to contact, statements to mentors.

`organisation` is invoicing's OrganisationDetails (who the documents are from), given by the caller.
Each is queued once its PDF is stored, with the PDF attached, under a key naming the document, so rendering
twice queues (and sends) one email. A document with nobody to send it to goes to Finance instead, once.
"""

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from notifications.models import OutboxEmail

from .alerts import finance_addresses, render_email
from .outbox import outbox_enqueue


def _pounds(amount) -> str:
    return f"£{amount:,.2f}"


def _nobody_to_send_to(*, document_label: str, number: str, recipient: str, attachments) -> OutboxEmail | None:
    """The document has no email address to go to: Finance gets it, to send another way or fix the address."""
    text, html = render_email("document_not_sent", {"document_label": document_label, "number": number,
                                               "recipient": recipient, "admin_url": settings.SITE_URL + "/admin/"})
    return outbox_enqueue(
        key=f"finance-alert:no-address:{number}", kind=OutboxEmail.Kind.FINANCE_ALERT, to=finance_addresses(),
        subject=f"{number} was not emailed: no email address for {recipient}", text_body=text, html_body=html,
        attachments=attachments,
    )


def invoice_email_queue(*, invoice, organisation, attachments: list[dict], timesheets: int = 0) -> OutboxEmail | None:
    """The issued invoice to its bill-to contact, with the PDF (and, to a funder, the `timesheets` attached after
    it). Returns None if it was queued before."""
    if not invoice.bill_to_email.strip():
        _nobody_to_send_to(document_label="Invoice", number=invoice.number, recipient=invoice.bill_to_name,
                           attachments=attachments)
        return None
    org = organisation
    context = {"invoice": invoice, "org": org, "total": _pounds(invoice.total), "vat": _pounds(invoice.vat),
               "timesheets": timesheets}
    text, html = render_email("invoice", context)
    return outbox_enqueue(
        key=f"invoice:{invoice.number}", kind=OutboxEmail.Kind.INVOICE, to=[invoice.bill_to_email],
        subject=f"Invoice {invoice.number} from {org.name}: {_pounds(invoice.total)} due by "
                f"{invoice.due_date:%-d %B %Y}",
        text_body=text, html_body=html, attachments=attachments,
    )


def credit_note_email_queue(*, credit_note, organisation, attachments: list[dict]) -> OutboxEmail | None:
    """The credit note to the credited invoice's bill-to contact, with the PDF."""
    invoice = credit_note.invoice
    if not invoice.bill_to_email.strip():
        _nobody_to_send_to(document_label="Credit note", number=credit_note.number, recipient=invoice.bill_to_name,
                           attachments=attachments)
        return None
    org = organisation
    context = {"credit_note": credit_note, "invoice": invoice, "org": org, "total": _pounds(credit_note.total)}
    text, html = render_email("credit_note", context)
    return outbox_enqueue(
        key=f"credit-note:{credit_note.number}", kind=OutboxEmail.Kind.CREDIT_NOTE, to=[invoice.bill_to_email],
        subject=f"Credit note {credit_note.number} from {org.name}: invoice {invoice.number} cancelled",
        text_body=text, html_body=html, attachments=attachments,
    )


def statement_email_queue(*, statement, organisation, attachments: list[dict]) -> OutboxEmail | None:
    """The issued payment statement to its mentor, with the PDF."""
    user = statement.mentor.user
    if not user.email.strip():
        _nobody_to_send_to(document_label="Payment statement", number=statement.number, recipient=user.full_name,
                           attachments=attachments)
        return None
    org = organisation
    context = {"statement": statement, "mentor_name": user.full_name, "org": org, "total": _pounds(statement.total),
               "dashboard_url": settings.SITE_URL + reverse("dashboard")}
    text, html = render_email("payment_statement", context)
    return outbox_enqueue(
        key=f"statement:{statement.number}", kind=OutboxEmail.Kind.PAYMENT_STATEMENT, to=[user.email],
        subject=f"Your payment statement {statement.number} for {statement.period_start:%B %Y}: "
                f"{_pounds(statement.total)}",
        text_body=text, html_body=html, attachments=attachments,
    )


def session_credit_note_email_queue(*, credit_note, organisation, attachments: list[dict]) -> OutboxEmail | None:
    """The credit note for one session of an invoice, to whom the invoice went."""
    invoice = credit_note.invoice
    if not invoice.bill_to_email.strip():
        _nobody_to_send_to(document_label="Credit note", number=credit_note.number, recipient=invoice.bill_to_name,
                           attachments=attachments)
        return None
    context = {"credit_note": credit_note, "invoice": invoice, "line": credit_note.invoice_line, "org": organisation,
               "total": f"£{credit_note.total:,.2f}", "site_url": settings.SITE_URL}
    return outbox_enqueue(
        key=f"credit-note:{credit_note.number}", kind=OutboxEmail.Kind.CREDIT_NOTE, to=[invoice.bill_to_email],
        subject=f"Credit note {credit_note.number} from {organisation.name}: {credit_note.invoice_line.reference} on "
                f"invoice {invoice.number}",
        text_body=render_to_string("notifications/session_credit_note.txt", context).strip() + "\n",
        html_body=render_to_string("notifications/session_credit_note.html", context), attachments=attachments,
    )


def remittance_advice_queue(*, item, organisation) -> OutboxEmail | None:
    """A payment run paid one of the mentor's statements: what was paid, into which account (masked), with which
    reference and by when. `item` is the run's payment (invoicing's PaymentRunItem)."""
    statement, run = item.statement, item.run
    user = statement.mentor.user
    if not user.email.strip():
        return None
    org = organisation
    context = {"statement": statement, "mentor_name": user.full_name, "org": org, "amount": _pounds(item.amount),
               "account_name": item.account_name, "sort_code": item.masked_sort_code,
               "account_number": item.masked_account_number, "reference": item.reference,
               "payment_date": run.payment_date, "run_number": run.number}
    text, html = render_email("remittance_advice", context)
    return outbox_enqueue(
        key=f"remittance:{statement.number}", kind=OutboxEmail.Kind.REMITTANCE_ADVICE, to=[user.email],
        subject=f"Remittance advice: {_pounds(item.amount)} paid for statement {statement.number}",
        text_body=text, html_body=html,
    )

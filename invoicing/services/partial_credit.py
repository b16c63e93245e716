"""A credit note for one line (one session) of an issued invoice: what a corrected wrap-up produces once its session
was invoiced. Numbered from the credit notes' own CN- sequence, rendered to PDF like them and emailed to the
invoice's bill-to contact. The line is released, so the next month end invoices the corrected session again (marked
late), as it does a session wrapped up after its month's invoice was issued."""

import logging
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from invoicing.models import Invoice, InvoiceLine, OrganisationDetails, SessionCreditNote
from invoicing.policy import vat_on
from notifications.services.documents import session_credit_note_email_queue

from .documents import document_numbers

logger = logging.getLogger(__name__)


@transaction.atomic
def invoice_line_credit(*, line_id: int, acting_user, reason: str, today=None) -> SessionCreditNote:
    """Credit one session's line of an issued (or paid) invoice: a credit note for the line's net and its VAT."""
    line = InvoiceLine.objects.select_for_update().get(pk=line_id)
    invoice = Invoice.objects.select_for_update().get(pk=line.invoice_id)
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the session is being credited."})
    if invoice.status == Invoice.Status.DRAFT:
        raise ValidationError("A draft invoice has not been issued, so it needs no credit note.")
    if invoice.status == Invoice.Status.CREDITED or line.released:
        raise ValidationError(f"{line.reference} on {invoice.number} has already been credited.")
    today = today or timezone.localdate()
    (number,) = document_numbers("CN", today.year, 1)
    vat = vat_on(line.net, invoice.vat_rate) if invoice.charges_vat else Decimal("0.00")
    credit_note = SessionCreditNote(
        number=number, invoice=invoice, invoice_line=line, reason=reason.strip(), issue_date=today,
        issued_at=timezone.now(), issued_by=acting_user, net=line.net, vat=vat, total=line.net + vat,
    )
    credit_note._history_user = acting_user
    credit_note.save(force_insert=True)
    line.released = True
    line.save(update_fields=["released"])

    def render():
        from invoicing.tasks import render_session_credit_note_pdf

        render_session_credit_note_pdf.delay(credit_note.pk)

    transaction.on_commit(render)
    return credit_note


def session_credit_note_render_pdf(*, credit_note_id: int) -> None:
    """Render the credit note to PDF, store it, and queue its email (once, however often it runs)."""
    from .pdf import _attachment, _render_and_store, credit_note_html

    credit_note = (SessionCreditNote.objects.select_related("invoice", "invoice_line")
                   .filter(pk=credit_note_id).first())
    if credit_note is None:
        logger.info("Credit note for one session %s: not rendered, it does not exist", credit_note_id)
        return
    _render_and_store(credit_note, credit_note_html)
    session_credit_note_email_queue(credit_note=credit_note, organisation=OrganisationDetails.current(),
                                    attachments=_attachment(credit_note))



"""The retention job: anonymise what has been kept as long as the policy says (settings RETENTION_*), in batches of
RETENTION_BATCH_SIZE rows, each batch in its own transaction. What it has done it does not find again, so a second
run changes nothing and reports nothing."""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from invoicing.models import (
    CreditNote,
    FinanceTicket,
    Invoice,
    InvoiceLine,
    PaymentRunItem,
    PaymentStatement,
    SessionCreditNote,
    StatementAdjustment,
    StatementLine,
)
from invoicing.services.timesheets import stored_timesheets_remove
from notifications.models import OutboxEmail
from privacy.models import WithheldNote
from privacy.services.common import (
    ERASED,
    documents_past_retention,
    last_expired_year_end,
    payments_past_retention,
    remove_pdfs,
    update_with_history,
)
from sessions_app.models import Mentee, MentorBankDetails, ServiceAppointment

logger = logging.getLogger(__name__)


@dataclass
class RetentionReport:
    counts: dict = field(default_factory=dict)

    def add(self, what: str, count: int):
        self.counts[what] = self.counts.get(what, 0) + count

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def __str__(self):
        done = [f"{count} {what}" for what, count in self.counts.items() if count]
        return "anonymised " + ", ".join(done) if done else "nothing past its retention date"


def _in_batches(report: RetentionReport, what: str, model, query: Q, values: dict, batch_size: int,
                then=None) -> None:
    """Anonymises the rows matching `query` (which must stop matching once anonymised), `batch_size` at a time."""
    while True:
        with transaction.atomic():
            ids = list(model.objects.filter(query).order_by("pk").values_list("pk", flat=True)[:batch_size])
            if not ids:
                return
            report.add(what, update_with_history(model, Q(pk__in=ids), values))
            if then is not None:
                then(ids)


def _has_text(*fields) -> Q:
    query = Q()
    for name in fields:
        query |= Q(**{f"{name}__gt": ""})
    return query


def retention_apply(*, now=None, batch_size: int | None = None) -> RetentionReport:
    now = now or timezone.now()
    batch_size = batch_size or settings.RETENTION_BATCH_SIZE
    report = RetentionReport()
    _notes(report, now, batch_size)
    _documents(report, now, batch_size)
    _outbox_bodies(report, now, batch_size)
    _bank_details_versions(report, now, batch_size)
    logger.info("Retention: %s", report)
    return report


def _notes(report, now, batch_size):
    """Session notes, Admin Details, internal cancellation notes and Finance tickets' text, RETENTION_NOTES_YEARS
    after the mentee's last session (a mentee with a session booked since is still a mentee)."""
    cutoff = _years_before(now, settings.RETENTION_NOTES_YEARS)
    finished = Mentee.objects.annotate(last=Max("appointments__starts_at")).filter(last__lt=cutoff).values("pk")
    old = Q(mentee__in=finished)

    def forget_withheld(ids):
        WithheldNote.objects.filter(appointment_id__in=ids).delete()

    _in_batches(report, "sessions' notes", ServiceAppointment, old & _has_text("session_notes", "cancellation_note"),
                {"session_notes": "", "cancellation_note": ""}, batch_size, then=forget_withheld)
    _in_batches(report, "sessions' Admin Details", ServiceAppointment, old & Q(admin_details__gt="") & ~Q(
        admin_details=ERASED), {"admin_details": ERASED}, batch_size)
    history = ServiceAppointment.history.model
    _in_batches(report, "earlier versions of sessions", history, old & _has_text("session_notes", "cancellation_note"),
                {"session_notes": "", "cancellation_note": ""}, batch_size)
    _in_batches(report, "earlier versions' Admin Details", history,
                old & Q(admin_details__gt="") & ~Q(admin_details=ERASED), {"admin_details": ERASED}, batch_size)
    tickets = Q(appointment__mentee__in=finished) & ~Q(message=ERASED)
    _in_batches(report, "Finance tickets", FinanceTicket, tickets, {"subject": ERASED, "message": ERASED},
                batch_size)
    FinanceTicket.objects.filter(appointment__mentee__in=finished).exclude(reply__in=["", ERASED]).update(
        reply=ERASED)
    # What a correction after payment changed quotes the notes.
    _in_batches(report, "pay adjustments' descriptions", StatementAdjustment,
                Q(appointment__mentee__in=finished) & ~Q(description=ERASED), {"description": ERASED}, batch_size)


def _years_before(moment, years: int):
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - years, day=28)


def _documents(report, now, batch_size):
    """Invoices, credit notes, payment statements and their lines, RETENTION_DOCUMENTS_YEARS after the end of the
    financial year (5 April) they fall in: the names, addresses and emails copied onto them, and their PDFs.
    Numbers, dates and sums stay."""
    today = timezone.localdate(now)
    past = {model: documents_past_retention(model, today) for model in (Invoice, CreditNote, PaymentStatement)}

    def pdfs(model):
        return lambda ids: report.add("PDFs removed", remove_pdfs(model, Q(pk__in=ids), now))

    def invoice_pdfs(ids):  # and the timesheets stored beside them, sent with them
        pdfs(Invoice)(ids)
        report.add("timesheets removed", stored_timesheets_remove(InvoiceLine.objects.filter(invoice_id__in=ids)))

    _in_batches(report, "invoices", Invoice,
                past[Invoice] & (Q(bill_to_email__gt="") | Q(pdf_removed_at__isnull=True)),
                {"bill_to_email": ""}, batch_size, then=invoice_pdfs)
    # A self-funded mentee's invoice names them: the name and address go too (a funder's are an organisation's).
    _in_batches(report, "self-funded invoices' names", Invoice,
                past[Invoice] & Q(mentee__isnull=False) & ~Q(bill_to_name=ERASED),
                {"bill_to_name": ERASED, "bill_to_address": ""}, batch_size)
    _in_batches(report, "invoice lines", InvoiceLine,
                Q(invoice__in=Invoice.objects.filter(past[Invoice]).values("pk")) & ~Q(mentee_name=ERASED),
                {"mentee_name": ERASED}, batch_size)
    _in_batches(report, "credit notes", CreditNote,
                past[CreditNote] & (~Q(reason=ERASED) | Q(pdf_removed_at__isnull=True)),
                {"reason": ERASED}, batch_size, then=pdfs(CreditNote))
    _in_batches(report, "payment statements", PaymentStatement,
                past[PaymentStatement] & (Q(supplier_address__gt="") | Q(pdf_removed_at__isnull=True)),
                {"supplier_address": ""}, batch_size, then=pdfs(PaymentStatement))
    _in_batches(report, "credit notes for one session", SessionCreditNote,
                documents_past_retention(SessionCreditNote, today)
                & (~Q(reason=ERASED) | Q(pdf_removed_at__isnull=True)),
                {"reason": ERASED}, batch_size, then=pdfs(SessionCreditNote))
    statements_past = PaymentStatement.objects.filter(past[PaymentStatement]).values("pk")
    _in_batches(report, "pay adjustments", StatementAdjustment,
                (Q(statement__in=statements_past) | Q(statement__isnull=True, session_date__lte=last_expired_year_end(today)))
                & (~Q(mentee_name=ERASED) | ~Q(description=ERASED)),
                {"mentee_name": ERASED, "description": ERASED}, batch_size)
    _in_batches(report, "payments to mentors", PaymentRunItem,
                payments_past_retention(today) & (~Q(account_name=ERASED) | Q(account_number__gt="")),
                {"account_name": ERASED, "sort_code": "", "account_number": ""}, batch_size)
    _in_batches(report, "payment statement lines", StatementLine,
                Q(statement__in=PaymentStatement.objects.filter(past[PaymentStatement]).values("pk"))
                & (~Q(mentee_name=ERASED) | ~Q(wrapped_up_by_name=ERASED)),
                {"mentee_name": ERASED, "wrapped_up_by_name": ERASED}, batch_size)


def _outbox_bodies(report, now, batch_size):
    """Emails' bodies (and attachments' paths), RETENTION_OUTBOX_BODY_DAYS after they were written, once sent or
    given up on. Who they went to, when, and the subject stay."""
    cutoff = now - timedelta(days=settings.RETENTION_OUTBOX_BODY_DAYS)
    _in_batches(report, "emails' bodies", OutboxEmail,
                Q(created_at__lt=cutoff) & ~Q(status=OutboxEmail.Status.PENDING) & _has_text("text_body", "html_body"),
                {"text_body": "", "html_body": "", "attachments": []}, batch_size)


def _bank_details_versions(report, now, batch_size):
    """Earlier versions of mentors' bank details (accounts since replaced, and the record of who saw them in full),
    RETENTION_BANK_DETAILS_YEARS after they were recorded. Each mentor's newest version stays with the details
    themselves (erasure deletes both)."""
    history = MentorBankDetails.history.model
    newest = history.objects.values("mentor_id").annotate(last=Max("history_id")).values("last")
    old = Q(history_date__lt=_years_before(now, settings.RETENTION_BANK_DETAILS_YEARS)) & ~Q(history_id__in=newest)
    while True:
        with transaction.atomic():
            ids = list(history.objects.filter(old).order_by("history_id").values_list("history_id", flat=True)[
                :batch_size])
            if not ids:
                return
            report.add("earlier versions of bank details", history.objects.filter(history_id__in=ids).delete()[0])

"""Rendering documents to PDF with WeasyPrint, storing them, and emailing them once stored.

Each `*_render_pdf` service is what a Celery task calls after a document is issued. It is safe to run twice, or
twice at once: a document whose PDF is stored already is not rendered again, two renders racing keep the first
file stored, and the email is queued under a key naming the document, so it is queued (and sent) once.

Each `*_html` function builds the document's HTML on its own, so it can be looked at or rendered elsewhere. By
default that HTML is self-contained: the one stylesheet (static/css/documents.css) is inlined, the fonts are
system fonts (DejaVu Sans), and nothing is fetched, so WeasyPrint given the string bare makes the same PDF.
The services render the same HTML without the inline copy, handing WeasyPrint the stylesheet parsed once per
process instead, which saves parsing it for every document.
"""

import logging
from decimal import Decimal
from functools import cache

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils.formats import date_format

from invoicing.exports import payment_reference
from invoicing.models import CreditNote, Invoice, OrganisationDetails, PaymentStatement
from sessions_app.durations import duration_text

logger = logging.getLogger(__name__)

STYLESHEET = settings.BASE_DIR / "static" / "css" / "documents.css"
BASE_URL = STYLESHEET.parent.as_uri() + "/"  # nothing is fetched from it: relative links fail, never hit the network
PDF_MIMETYPE = "application/pdf"


# ---------------------------------------------------------------- formatting

def money(amount: Decimal) -> str:
    """£1,234.56; a credit or refund shows a minus sign before the pound sign."""
    return f"-£{-amount:,.2f}" if amount < 0 else f"£{amount:,.2f}"


def percent(rate: Decimal) -> str:
    """20.00 -> 20%, 17.50 -> 17.5%."""
    text = f"{rate:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


def duration(minutes: int) -> str:
    """One format for every line and total, as on the pages: "1 h 00 min", "0 h 45 min"."""
    return duration_text(minutes)


def long_date(day) -> str:
    return date_format(day, "j F Y")


def short_date(day) -> str:
    return date_format(day, "j M Y")


def date_range(start, end) -> str:
    """1–31 March 2026; 15 February – 31 March 2026; 1 December 2025 – 31 January 2026."""
    if start == end:
        return long_date(start)
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{long_date(end)}"
    if start.year == end.year:
        return f"{date_format(start, 'j F')} – {long_date(end)}"
    return f"{long_date(start)} – {long_date(end)}"


def _supply_period(period_start, period_end, lines) -> str:
    """The month, reaching back to the earliest session when late sessions from earlier months are included."""
    earliest = min((line.session_date for line in lines), default=period_start)
    return date_range(min(earliest, period_start), period_end)


def _payment_terms(org: OrganisationDetails) -> str:
    days = org.payment_terms_days
    if days == 0:
        return "Payment is due on receipt."
    return f"Payment is due within {days} day{'s' if days != 1 else ''} of the invoice date."


@cache
def _stylesheet() -> str:
    """The documents' one stylesheet, read once per process. The template inlines it unescaped (`|safe`): it is our
    own file."""
    return STYLESHEET.read_text(encoding="utf-8")


def _css(inline_css: bool) -> str:
    return _stylesheet() if inline_css else ""


def _line_rows(lines, amount_field: str, *, invoice: Invoice | None = None) -> list[dict]:
    """Each line's cells. On an invoice, a line whose tax point is its session's date rather than the invoice date
    (a single supply more than 14 days before the invoice) says so."""
    return [
        {
            "date": short_date(line.session_date),
            "reference": line.reference,
            "mentee": line.mentee_name,
            # An invoice line says the rule it was charged by (which starts with the outcome); a statement line the outcome.
            "outcome": getattr(line, "charge_rule", "") or line.get_outcome_display(),
            "duration": duration(line.minutes),
            "rate": f"{money(line.hourly_rate)}/h",
            "net": money(getattr(line, amount_field)),
            "late": line.is_late,
            "own_tax_point": invoice is not None and invoice.tax_point(line.session_date) == line.session_date
                             and line.session_date != invoice.issue_date,
            "line": line,
        }
        for line in lines
    ]


def _vat_number(org: OrganisationDetails, *, charges_vat: bool) -> str:
    """The VAT registration number, on documents of a VAT-registered organisation that charge VAT."""
    return org.vat_number if org.vat_registered and charges_vat else ""


# ---------------------------------------------------------------- HTML

def invoice_html(invoice: Invoice, *, org: OrganisationDetails | None = None, lines=None,
                 inline_css: bool = True) -> str:
    """The invoice as a UK VAT invoice: number, dates, time of supply, both parties, each session, VAT, terms."""
    org = org or OrganisationDetails.current()
    lines = list(invoice.lines.all()) if lines is None else lines
    rows = _line_rows(lines, "net", invoice=invoice)
    own_tax_points = any(row["own_tax_point"] for row in rows)
    tax_point = [("Tax point", "See each session" if own_tax_points else long_date(invoice.issue_date))]
    context = {
        "stylesheet": _css(inline_css),
        "org": org,
        "vat_number": _vat_number(org, charges_vat=invoice.charges_vat),
        "heading": "Simplified VAT invoice" if invoice.kind == Invoice.Kind.SIMPLIFIED else "Invoice",
        "show_vat": invoice.charges_vat,
        "invoice": invoice,
        "lines": rows,
        "has_late": any(row["late"] for row in rows),
        "own_tax_points": own_tax_points,
        "facts": [
            ("Invoice number", invoice.number),
            ("Invoice date", long_date(invoice.issue_date)),
            *(tax_point if invoice.charges_vat else []),
            ("Payment due", long_date(invoice.due_date)),
        ] + ([("Your reference", invoice.customer_reference)] if invoice.customer_reference else []),
        "supply_period": _supply_period(invoice.period_start, invoice.period_end, lines),
        "total_duration": duration(sum(line.minutes for line in lines)),
        "vat_rate": percent(invoice.vat_rate),
        "net": money(invoice.net),
        "vat": money(invoice.vat),
        "total": money(invoice.total),
        "due_date": long_date(invoice.due_date),
        "payment_terms": _payment_terms(org),
    }
    return render_to_string("invoicing/invoice.html", context)


def credit_note_html(credit_note: CreditNote, *, org: OrganisationDetails | None = None, lines=None,
                     inline_css: bool = True) -> str:
    """A credit note: its number and date, the invoice it credits, why, and the amounts credited. A credit note for
    one session (a corrected wrap-up, `SessionCreditNote`) credits that session's line only."""
    from invoicing.models import SessionCreditNote

    org = org or OrganisationDetails.current()
    invoice = credit_note.invoice
    one_session = isinstance(credit_note, SessionCreditNote)
    if lines is None:
        lines = [credit_note.invoice_line] if one_session else list(
            invoice.lines.filter(session_credit_note__isnull=True))  # not those credited one by one before
    context = {
        "one_session": one_session,
        "stylesheet": _css(inline_css),
        "org": org,
        "vat_number": _vat_number(org, charges_vat=invoice.charges_vat),
        "show_vat": invoice.charges_vat,
        "credit_note": credit_note,
        "invoice": invoice,
        "lines": _line_rows(lines, "net"),
        "facts": [
            ("Credit note number", credit_note.number),
            ("Date", long_date(credit_note.issue_date)),
            ("Credits invoice", invoice.number),
            ("Invoice date", long_date(invoice.issue_date)),
        ] + ([("Your reference", invoice.customer_reference)] if invoice.customer_reference else []),
        "supply_period": _supply_period(invoice.period_start, invoice.period_end, lines),
        "vat_rate": percent(invoice.vat_rate),
        "net": money(credit_note.net),
        "vat": money(credit_note.vat),
        "total": money(credit_note.total),
        "invoice_date": long_date(invoice.issue_date),
        "invoice_total": money(invoice.total),
    }
    return render_to_string("invoicing/credit_note.html", context)


def statement_html(statement: PaymentStatement, *, org: OrganisationDetails | None = None, lines=None,
                   inline_css: bool = True) -> str:
    """A mentor's self-billing payment statement: each paid session, who wrapped it up, the total."""
    org = org or OrganisationDetails.current()
    lines = list(statement.lines.all()) if lines is None else lines
    mentor_name = statement.mentor.user.full_name
    rows = _line_rows(lines, "amount")
    for row in rows:
        line = row["line"]
        if not line.wrapped_up_by_name:
            row["wrapped_up_by"] = "–"
        elif line.on_behalf:
            row["wrapped_up_by"] = line.wrapped_up_by_name
            row["on_behalf_of"] = mentor_name
        else:
            row["wrapped_up_by"] = line.wrapped_up_by_name
    context = {
        "stylesheet": _css(inline_css),
        "org": org,
        "vat_number": _vat_number(org, charges_vat=True),
        "statement": statement,
        "mentor_name": mentor_name,
        "mentor_email": statement.mentor.user.email,
        "mentor_address": statement.supplier_address,
        "lines": rows,
        "has_late": any(row["late"] for row in rows),
        "has_on_behalf": any(line.on_behalf for line in lines),
        # Corrected sessions an earlier statement paid: the difference, positive or negative; and what an earlier
        # statement that came to less than nothing owed, brought forward.
        "adjustments": [
            {"date": short_date(adjustment.session_date), "reference": adjustment.reference,
             "mentee": adjustment.mentee_name, "description": adjustment.description,
             "carried": bool(adjustment.carried_from_id),
             "note": (f"brought forward from {adjustment.carried_from.number}" if adjustment.carried_from_id
                      else f"paid on {adjustment.corrects.statement.number}"),
             "was": money(adjustment.was_amount),
             "now": money(adjustment.now_amount), "amount": money(adjustment.amount)}
            for adjustment in statement.adjustments.select_related("corrects__statement", "carried_from")
            .order_by("session_date", "pk")
        ],
        "facts": [
            ("Statement number", statement.number),
            ("Date", long_date(statement.issue_date)),
            ("Period", date_range(statement.period_start, statement.period_end)),
            ("Payment reference", payment_reference(statement)),
        ],
        "payment_reference": payment_reference(statement),
        "supply_period": _supply_period(statement.period_start, statement.period_end, lines),
        "total_duration": duration(sum(line.minutes for line in lines)),
        "total": money(statement.total),
    }
    return render_to_string("invoicing/statement.html", context)


def _hours(value) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{text} hour{'' if text == '1' else 's'}"


def timesheet_html(sheet, *, org: OrganisationDetails | None = None, inline_css: bool = True) -> str:
    """A funded arrangement's timesheet for a month (sessions_app.timesheets.Timesheet): each session's date, UK
    times, duration, outcome, mentor and the mentee's confirmation, with totals per outcome."""
    org = org or OrganisationDetails.current()
    arrangement = sheet.arrangement
    month = date_format(sheet.month, "F Y")
    context = {
        "stylesheet": _css(inline_css),
        "org": org,
        "vat_number": "",
        "month": month,
        "funder": arrangement.funder.name,
        "reference": arrangement.reference,
        "mentee": arrangement.mentee.full_name,
        "authorised": _hours(arrangement.hours_allowance) if arrangement.hours_allowance else "no limit set",
        "valid": (date_range(arrangement.valid_from, arrangement.valid_until) if arrangement.valid_until
                  else f"from {long_date(arrangement.valid_from)}"),
        "facts": [("Month", month), *([("Reference", arrangement.reference)] if arrangement.reference else []),
                  ("Mentee", arrangement.mentee.full_name)],
        "rows": [{"date": short_date(row.day), "reference": row.reference, "times": row.times.split("–"),
                  "duration": duration(row.minutes), "outcome": row.outcome, "mentor": row.mentor,
                  "confirmation": row.confirmation} for row in sheet.rows],
        "totals": [{"outcome": total.outcome, "sessions": total.sessions, "duration": duration(total.minutes)}
                   for total in sheet.by_outcome],
        "total_duration": duration(sheet.total_minutes),
    }
    return render_to_string("invoicing/timesheet.html", context)


# ---------------------------------------------------------------- WeasyPrint

@cache
def _weasyprint():
    """Imported and set up once per process: WeasyPrint's import, the font configuration and the parsed
    stylesheet are the same for every document."""
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import URLFetcher

    class NoFetching(URLFetcher):
        """Documents are self-contained; anything they try to fetch is refused (WeasyPrint logs a warning and
        leaves it out), never downloaded. One instance serves every document."""

        def fetch(self, url, headers=None):
            raise ValueError(f"documents fetch nothing: {url[:80]}")

    font_config, fetcher = FontConfiguration(), NoFetching()
    stylesheet = CSS(string=_stylesheet(), font_config=font_config, url_fetcher=fetcher)
    return HTML, font_config, fetcher, stylesheet


def html_to_pdf(html: str) -> bytes:
    """Render a document's HTML, as made by the `*_html` functions with `inline_css=False`, to PDF bytes."""
    HTML, font_config, fetcher, stylesheet = _weasyprint()
    document = HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher)
    return document.write_pdf(stylesheets=[stylesheet], font_config=font_config)


# ---------------------------------------------------------------- storing and emailing

def _store(document, pdf: bytes) -> tuple[str, bool]:
    """Save the PDF and point the document at it, unless another render got there first.

    Returns (storage name, whether this call stored it). The row is locked while it is updated, and only
    `pdf` is written, so a status changed meanwhile (paid, credited) is kept."""
    model, field = type(document), type(document)._meta.get_field("pdf")
    with transaction.atomic():
        current = model.objects.select_for_update().values_list("pdf", flat=True).get(pk=document.pk)
        if current:
            return current, False
        name = field.storage.save(field.generate_filename(document, f"{document.number}.pdf"), ContentFile(pdf))
        try:
            model.objects.filter(pk=document.pk).update(pdf=name)
        except BaseException:
            field.storage.delete(name)
            raise
    return name, True


def _stored(document) -> bool:
    """The PDF is recorded and the file is really there (a lost file is rendered again)."""
    return bool(document.pdf) and document.pdf.storage.exists(document.pdf.name)


def _attachment(document) -> list[dict]:
    return [{"name": f"{document.number}.pdf", "path": document.pdf.name, "mimetype": PDF_MIMETYPE}]


def _render_and_store(document, html_function) -> bool:
    """Renders and stores the PDF if it is missing; False for a document whose PDF was removed on purpose."""
    if document.pdf_removed_at is not None:
        return False
    if _stored(document):
        return True
    pdf = html_to_pdf(html_function(document, inline_css=False))
    if document.pdf:  # recorded, but the file is gone: forget it, then store the new one
        type(document).objects.filter(pk=document.pk, pdf=document.pdf.name).update(pdf="")
    name, _ = _store(document, pdf)
    document.pdf.name = name
    return True


def invoice_render_pdf(*, invoice_id: int) -> None:
    """Render an issued invoice to PDF, store it, and queue the email to the bill-to contact with it attached."""
    from notifications.services import invoice_email_queue

    from .timesheets import invoice_timesheet_attachments

    invoice = Invoice.objects.filter(pk=invoice_id).first()
    if invoice is None or invoice.status == Invoice.Status.DRAFT:
        logger.info("Invoice %s: not rendered, it is not issued", invoice_id)
        return
    if _render_and_store(invoice, invoice_html) and not _invoice_email_queued(invoice):
        timesheets = invoice_timesheet_attachments(invoice)
        invoice_email_queue(invoice=invoice, organisation=OrganisationDetails.current(),
                            attachments=_attachment(invoice) + timesheets, timesheets=len(timesheets))


def _invoice_email_queued(invoice: Invoice) -> bool:
    """The invoice's email is queued already (rendering again queues nothing, so its timesheets need no render)."""
    from notifications.models import OutboxEmail

    return OutboxEmail.objects.filter(key__in=[f"invoice:{invoice.number}",
                                               f"finance-alert:no-address:{invoice.number}"]).exists()


def credit_note_render_pdf(*, credit_note_id: int) -> None:
    """Render a credit note to PDF, store it, and queue the email to the invoice's bill-to contact."""
    from notifications.services import credit_note_email_queue

    credit_note = CreditNote.objects.select_related("invoice").filter(pk=credit_note_id).first()
    if credit_note is None:
        logger.info("Credit note %s: not rendered, it does not exist", credit_note_id)
        return
    if _render_and_store(credit_note, credit_note_html):
        credit_note_email_queue(credit_note=credit_note, organisation=OrganisationDetails.current(),
                                attachments=_attachment(credit_note))


def statement_render_pdf(*, statement_id: int) -> None:
    """Render an issued payment statement to PDF, store it, and queue the email to its mentor."""
    from notifications.services import statement_email_queue

    statement = PaymentStatement.objects.select_related("mentor__user").filter(pk=statement_id).first()
    if statement is None or statement.status == PaymentStatement.Status.DRAFT:
        logger.info("Payment statement %s: not rendered, it is not issued", statement_id)
        return
    if _render_and_store(statement, statement_html):
        statement_email_queue(statement=statement, organisation=OrganisationDetails.current(),
                              attachments=_attachment(statement))


def pdfs_render_missing() -> int:
    """Issued documents without a stored PDF, or whose email was never queued (the broker was down at issue, a
    worker died between storing the PDF and queueing the email): run their task again, which renders what is
    missing and queues the email once. Meant for beat, like the outbox sweep. Returns how many were dispatched."""
    from django.db.models import Exists, OuterRef, Q, Value
    from django.db.models.functions import Concat

    from invoicing.models import SessionCreditNote
    from invoicing.tasks import (
        render_credit_note_pdf,
        render_invoice_pdf,
        render_session_credit_note_pdf,
        render_statement_pdf,
    )
    from notifications.models import OutboxEmail

    def email_queued(prefix):  # to the customer or mentor, or to Finance when there was no address to send to
        return Exists(OutboxEmail.objects.filter(
            Q(key=Concat(Value(prefix), OuterRef("number"))) | Q(key=Concat(Value("finance-alert:no-address:"), OuterRef("number")))
        ))

    missing = [
        (render_invoice_pdf, Invoice.objects.exclude(status=Invoice.Status.DRAFT), "invoice:"),
        (render_statement_pdf, PaymentStatement.objects.exclude(status=PaymentStatement.Status.DRAFT), "statement:"),
        (render_credit_note_pdf, CreditNote.objects.all(), "credit-note:"),
        (render_session_credit_note_pdf, SessionCreditNote.objects.all(), "credit-note:"),
    ]
    dispatched = 0
    for task, documents, prefix in missing:
        # A PDF removed on purpose (past its retention period, or with a person's erasure) is not rendered again.
        unfinished = documents.filter(pdf_removed_at__isnull=True).filter(Q(pdf="") | ~email_queued(prefix))
        for pk in unfinished.order_by("pk").values_list("pk", flat=True):
            task.delay(pk)
            dispatched += 1
    return dispatched

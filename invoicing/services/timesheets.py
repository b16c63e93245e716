"""Timesheets as PDFs: a funded arrangement's sessions in one month (sessions_app.timesheets reads them), rendered
with WeasyPrint like the invoices. Finance downloads one from the admin (rendered when asked, so it shows the
sessions as they are now); a funder's invoice email carries one for each arrangement and month on the invoice,
stored beside the invoice's PDF so that the outbox can read it when it sends the email."""

from datetime import date

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.text import slugify

from invoicing.models import Invoice
from sessions_app.timesheets import Timesheet, timesheet

from .pdf import PDF_MIMETYPE, html_to_pdf, timesheet_html


def timesheet_pdf(sheet: Timesheet) -> bytes:
    return html_to_pdf(timesheet_html(sheet, inline_css=False))


def timesheet_filename(sheet: Timesheet) -> str:
    """timesheet-2026-10-po-7781.pdf (the funder's reference, or else the mentee's name)."""
    arrangement = sheet.arrangement
    name = slugify(arrangement.reference) or slugify(arrangement.mentee.full_name) or f"arrangement-{arrangement.pk}"
    return f"timesheet-{sheet.month:%Y-%m}-{name}.pdf"


def invoice_timesheet_keys(invoice: Invoice) -> list[tuple[int, date]]:
    """The (funded arrangement, month) of each session on a funder's invoice, once each: usually one arrangement
    and the invoice's month, more on a funder's single monthly invoice or with late sessions from earlier months.
    None for a self-funded mentee's invoice. One query."""
    if not invoice.funder_id:
        return []
    pairs = (invoice.lines.filter(appointment__funding_arrangement__funder__isnull=False)
             .values_list("appointment__funding_arrangement_id", "session_date").order_by())
    return sorted({(arrangement_id, day.replace(day=1)) for arrangement_id, day in pairs},
                  key=lambda pair: (pair[1], pair[0]))


def invoice_timesheet_attachments(invoice: Invoice) -> list[dict]:
    """The invoice's timesheets, rendered and stored beside its PDF (one already stored by an earlier attempt is
    used as it is), as outbox attachments."""
    folder = invoice.pdf.name.rsplit("/", 1)[0] if invoice.pdf else f"{Invoice.PDF_FOLDER}/{invoice.issue_date.year}"
    attachments, names = [], set()
    for arrangement_id, month in invoice_timesheet_keys(invoice):
        sheet = timesheet(arrangement_id=arrangement_id, month=month)
        name = timesheet_filename(sheet)
        if name in names:  # two arrangements with one reference (or one mentee's name)
            name = name.removesuffix(".pdf") + f"-{arrangement_id}.pdf"
        names.add(name)
        path = f"{folder}/{invoice.number}-{name}"
        if not default_storage.exists(path):
            path = default_storage.save(path, ContentFile(timesheet_pdf(sheet)))
        attachments.append({"name": name, "path": path, "mimetype": PDF_MIMETYPE})
    return attachments



def stored_timesheets(invoices) -> list[str]:
    """The storage names of the timesheets stored to be sent with these issued invoices (beside each one's PDF).
    One query, and a listing of each year's folder."""
    numbers_by_year: dict[int, set[str]] = {}
    for number, issued in invoices.exclude(number=None).values_list("number", "issue_date").order_by():
        numbers_by_year.setdefault(issued.year, set()).add(number)
    names = []
    for year, numbers in sorted(numbers_by_year.items()):
        folder = f"{Invoice.PDF_FOLDER}/{year}"
        try:
            _, files = default_storage.listdir(folder)
        except FileNotFoundError:
            continue
        names += [f"{folder}/{name}" for name in sorted(files)
                  if "-timesheet-" in name and name.split("-timesheet-", 1)[0] in numbers]
    return names


def stored_timesheets_remove(invoices) -> int:
    """Remove the stored timesheets of these invoices once the transaction commits (a person's erasure, the
    retention job): they name the mentee and the mentors, and were kept only to be sent. How many there were."""
    names = stored_timesheets(invoices)
    if names:
        transaction.on_commit(lambda: [default_storage.delete(name) for name in names])
    return len(names)

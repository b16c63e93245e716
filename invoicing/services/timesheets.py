"""Timesheets as PDFs: a funded arrangement's sessions in one month (sessions_app.timesheets reads them), rendered
with WeasyPrint like the invoices. Finance downloads one from the admin (rendered when asked, so it shows the
sessions as they are now); a funder's invoice email carries one for each arrangement and month on the invoice,
stored beside the invoice's PDF so that the outbox can read it when it sends the email."""

import re
from datetime import date

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.text import slugify

from invoicing.models import Invoice
from notifications.services import outbox_attachments_withdraw
from sessions_app.models import FundingArrangement
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
        path = f"{folder}/{invoice.number}-a{arrangement_id}-{name}"  # the arrangement's id: whose it is
        if not default_storage.exists(path):
            path = default_storage.save(path, ContentFile(timesheet_pdf(sheet)))
        attachments.append({"name": name, "path": path, "mimetype": PDF_MIMETYPE})
    return attachments



# invoices/2026/INV-2026-000001-a12-timesheet-2026-03-po-7781.pdf: the invoice's number, then the arrangement's id
# (absent from those stored before it was added: whose they are is then unknown, and they go with any of the invoice's).
STORED_TIMESHEET = re.compile(r"^(?P<number>.+?)(?:-a(?P<arrangement>\d+))?-timesheet-\d{4}-\d{2}-")


def stored_timesheets(lines) -> list[str]:
    """The storage names of the timesheets stored to be sent with the issued invoices these invoice lines are on,
    for the lines' mentees only: a funder's invoice carries one timesheet for each mentee's arrangement, and a
    correction may since have moved a session to another of its mentee's arrangements. Two queries, and a listing
    of each year's folder."""
    invoiced = list(lines.exclude(invoice__number=None)
                    .values_list("invoice__number", "invoice__issue_date", "appointment__mentee_id")
                    .order_by().distinct())
    arrangements_of_mentee: dict[int, set[int]] = {}
    for arrangement_id, mentee_id in FundingArrangement.objects.filter(
            mentee_id__in={mentee_id for *_, mentee_id in invoiced}).values_list("pk", "mentee_id"):
        arrangements_of_mentee.setdefault(mentee_id, set()).add(arrangement_id)
    arrangements_by_year: dict[int, dict[str, set[int]]] = {}
    for number, issued, mentee_id in invoiced:
        arrangements_by_year.setdefault(issued.year, {}).setdefault(number, set()).update(
            arrangements_of_mentee.get(mentee_id, ()))
    names = []
    for year, arrangements_of in sorted(arrangements_by_year.items()):
        folder = f"{Invoice.PDF_FOLDER}/{year}"
        try:
            _, files = default_storage.listdir(folder)
        except FileNotFoundError:
            continue
        for name in sorted(files):
            stored = STORED_TIMESHEET.match(name)
            if stored and stored["number"] in arrangements_of and (
                    stored["arrangement"] is None or int(stored["arrangement"]) in arrangements_of[stored["number"]]):
                names.append(f"{folder}/{name}")
    return names


def stored_timesheets_remove(lines) -> int:
    """Remove the stored timesheets of these invoice lines' invoices and mentees (a person's erasure, the
    retention job): they name the mentee and the mentors, and were kept only to be sent. An email still waiting to
    go drops them from its attachments (it goes with the invoice and the rest) once the transaction commits, when
    the files go. How many there were."""
    names = stored_timesheets(lines)
    if names:
        outbox_attachments_withdraw(names)
        transaction.on_commit(lambda: [default_storage.delete(name) for name in names])
    return len(names)

"""Stored PDFs of issued documents: Finance reads any; a mentor reads their own payment statements, nothing else.

Anyone else, and any document without a stored PDF, gets a 404, so the address says nothing about what exists.
A funded arrangement's timesheet for a month is Finance's only (whoever may read every invoice), rendered when asked.
For the admin: `document_pdf_url(document)` is the address of a document's PDF, `document_pdf_link(document)`
a ready-made link (or "–" while the PDF is being rendered).
"""

from datetime import date

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.utils.http import content_disposition_header
from django.urls import reverse
from django.template.loader import render_to_string
from django.views.decorators.http import require_safe

from invoicing.models import CreditNote, Invoice, PaymentStatement, SessionCreditNote
from invoicing.services.timesheets import timesheet_filename, timesheet_pdf
from sessions_app.timesheets import timesheet

# kind in the address -> (model, the permission that lets Finance read every one)
KINDS = {
    "invoice": (Invoice, "invoicing.view_invoice"),
    "credit-note": (CreditNote, "invoicing.view_creditnote"),
    "statement": (PaymentStatement, "invoicing.view_paymentstatement"),
    "session-credit-note": (SessionCreditNote, "invoicing.view_sessioncreditnote"),
}
KIND_OF = {model: kind for kind, (model, _) in KINDS.items()}


def document_pdf_url(document) -> str:
    """/documents/invoice/12.pdf, /documents/credit-note/3.pdf, /documents/statement/7.pdf."""
    return reverse("document-pdf", kwargs={"kind": KIND_OF[type(document)], "pk": document.pk})


def document_pdf_link(document, text: str | None = None) -> str:
    """A link to the document's PDF for the admin, or "–" while there is none yet."""
    if not document.pdf:
        return "–"
    return render_to_string("admin/includes/document_pdf_link.html",
                            {"url": document_pdf_url(document), "text": text or f"{document.number}.pdf"})


@require_safe
@login_required
def document_pdf(request, kind: str, pk: int):
    try:
        model, finance_permission = KINDS[kind]
    except KeyError:
        raise Http404("No such document") from None
    documents = model.objects.all()
    if not request.user.has_perm(finance_permission):
        if model is not PaymentStatement:
            raise Http404("No such document")
        documents = documents.filter(mentor__user=request.user).exclude(status=PaymentStatement.Status.DRAFT)
    document = documents.filter(pk=pk).first()
    if document is None or not document.pdf:
        raise Http404("No such document")
    try:
        file = document.pdf.open("rb")
    except FileNotFoundError:
        raise Http404("No such document") from None
    response = FileResponse(file, content_type="application/pdf", filename=f"{document.number}.pdf",
                            as_attachment=request.GET.get("download") == "1")
    response["Cache-Control"] = "private, no-store"
    return response


TIMESHEET_PERMISSION = "invoicing.view_invoice"  # a timesheet is an invoice's evidence: whoever reads invoices


def timesheet_url(arrangement_id: int, month: date) -> str:
    """/documents/timesheet/12/2026-10.pdf"""
    return reverse("timesheet-pdf", kwargs={"arrangement_id": arrangement_id, "year": month.year,
                                            "month": month.month})


@require_safe
@login_required
def timesheet_pdf_view(request, arrangement_id: int, year: int, month: int):
    """A funded arrangement's timesheet for the month, as it stands now. 404 for anyone but Finance, a month that
    does not exist and a self-funded or unknown arrangement."""
    if not request.user.has_perm(TIMESHEET_PERMISSION) or not (1 <= month <= 12 and 2000 <= year <= 2999):
        raise Http404("No such timesheet")
    sheet = timesheet(arrangement_id=arrangement_id, month=date(year, month, 1))
    if sheet is None:
        raise Http404("No such timesheet")
    response = HttpResponse(timesheet_pdf(sheet), content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(request.GET.get("download") == "1",
                                                                 timesheet_filename(sheet))
    response["Cache-Control"] = "private, no-store"
    return response

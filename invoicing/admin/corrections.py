"""What corrected wrap-ups leave behind, to read: credit notes for one session (issued by "Correct this wrap-up" on
a Service Appointment) and payment statement adjustments (carried by the mentor's next statement). Both are written
by the services only, so these pages are read-only."""

from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from invoicing.admin.documents import csv_response
from invoicing.views import document_pdf_link
from invoicing.exports import session_credit_note_lines_csv
from invoicing.models import SessionCreditNote, StatementAdjustment
from sessions_app.admin.common import AuditTrailAdmin


class ReadOnly(AuditTrailAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _link(name, pk, text):
    return format_html('<a href="{}">{}</a>', reverse(f"admin:{name}", args=[pk]), text) if pk else "-"


@admin.register(SessionCreditNote)
class SessionCreditNoteAdmin(ReadOnly):
    list_display = ("number", "session", "invoice_link", "bill_to", "issue_date", "net", "vat", "total", "issued_by",
                    "pdf_link")
    list_select_related = ("invoice", "invoice_line", "issued_by")
    search_fields = ("number", "invoice__number", "invoice__bill_to_name", "invoice_line__reference")
    search_help_text = "Search by credit note number, invoice number, who it was billed to, or SA reference."
    date_hierarchy = "issue_date"
    fields = ("number", "session", "invoice_link", "bill_to", "reason", "issue_date", "issued_at", "issued_by", "net",
              "vat", "total", "pdf_link")
    readonly_fields = fields
    actions = ("export_lines",)

    @admin.action(description="Export selected credit notes for accounting (CSV)", permissions=["view"])
    def export_lines(self, request, queryset):
        return csv_response(session_credit_note_lines_csv(credit_notes=queryset),
                             f"session-credit-notes-{timezone.localdate():%Y-%m-%d}.csv")

    @admin.display(description="session", ordering="invoice_line__reference")
    def session(self, credit_note):
        return _link("sessions_app_serviceappointment_change", credit_note.invoice_line.appointment_id,
                     credit_note.invoice_line.reference)

    @admin.display(description="credits a line of invoice", ordering="invoice__number")
    def invoice_link(self, credit_note):
        return _link("invoicing_invoice_change", credit_note.invoice_id, credit_note.invoice.number)

    @admin.display(description="billed to", ordering="invoice__bill_to_name")
    def bill_to(self, credit_note):
        return credit_note.invoice.bill_to_name

    @admin.display(description="PDF")
    def pdf_link(self, credit_note):
        return document_pdf_link(credit_note, "PDF")


@admin.register(StatementAdjustment)
class StatementAdjustmentAdmin(ReadOnly):
    list_display = ("reference", "mentor", "session_date", "was_amount", "now_amount", "amount", "carried_by",
                    "created_at", "created_by")
    list_select_related = ("mentor__user", "statement", "created_by")
    list_filter = (("statement", admin.EmptyFieldListFilter),)
    search_fields = ("reference", "mentee_name", "mentor__user__full_name")
    search_help_text = "Search by SA reference, mentee or mentor."
    fields = ("reference", "mentor", "mentee_name", "session_date", "description", "reason", "was_amount",
              "now_amount", "amount", "corrects_statement", "carried_by", "created_at", "created_by")
    readonly_fields = fields

    @admin.display(description="on the statement it corrects")
    def corrects_statement(self, adjustment):
        statement = adjustment.carried_from if adjustment.carried_from_id else adjustment.corrects.statement
        return _link("invoicing_paymentstatement_change", statement.pk, statement)

    @admin.display(description="carried by", ordering="statement__period_start")
    def carried_by(self, adjustment):
        if adjustment.statement_id is None:
            return "the mentor's next statement (at its month end)"
        return _link("invoicing_paymentstatement_change", adjustment.statement_id, adjustment.statement)

"""Invoices (issue, mark paid, export their lines, credit) and credit notes."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html

from invoicing.admin.accounting_exports import export_quickbooks, export_xero
from invoicing.admin.confirmations import ISSUE_INVOICES, MARK_INVOICES_PAID, InvoiceDraftTools, confirm
from invoicing.admin.documents import DocumentAdmin, PeriodFilter, ReadOnlyLinesInline, csv_response
from invoicing.exports import invoice_lines_csv
from invoicing.models import CreditNote, Invoice, InvoiceLine
from invoicing.services import InvoicesRefused, invoice_credit, invoice_mark_paid, invoices_issue, issued_as
from invoicing.services.timesheets import invoice_timesheet_keys
from invoicing.views import timesheet_url
from sessions_app.admin.funding import FunderOnlyListFilter
from sessions_app.models import FundingArrangement


# --------------------------------------------------------------------------- invoices


class InvoiceLineInline(ReadOnlyLinesInline):
    model = InvoiceLine
    fields = ("session", "session_date", "mentee_name", "outcome", "charge_rule", "minutes", "hourly_rate", "net",
              "is_late", "released")
    readonly_fields = fields


class CreditForm(forms.Form):
    reason = forms.CharField(
        label="Reason", required=False, widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text="Shown on the credit note, which cancels the invoice in full. Its sessions go on an invoice "
                  "again at the next month-end run.",
    )


@admin.register(Invoice)
class InvoiceAdmin(InvoiceDraftTools, DocumentAdmin):
    list_display = ("number_or_draft", "bill_to_name", "period", "status_label", "net", "vat", "total",
                    "issue_date", "due_date", "pdf_link")
    list_display_links = ("number_or_draft",)
    list_filter = ("status", PeriodFilter, ("funder", FunderOnlyListFilter))
    list_select_related = ("credit_note",)
    search_fields = ("number", "bill_to_name", "lines__reference", "customer_reference",
                     "funding_arrangement__reference")
    search_help_text = ("Search by invoice number, who it is billed to, the SA reference of one of its sessions, "
                        "or the funder's reference or purchase order.")
    actions = ("issue_selected", "mark_paid", "export_lines", export_xero, export_quickbooks)
    inlines = (InvoiceLineInline,)
    fieldsets = (
        (None, {"fields": ("number_or_draft", "status_label", "period", "issue_date", "due_date", "issued",
                           "paid_at", "pdf_link", "timesheets")}),
        ("Billed to", {"fields": ("bill_to_name", "bill_to_email", "bill_to_address", "customer_reference",
                                  "funder", "funding_arrangement", "mentee")}),
        ("Amounts", {"fields": ("kind", "tax_point_rule", "net", "vat_rate", "vat", "total")}),
    )
    readonly_fields = tuple(name for _, options in fieldsets for name in options["fields"])

    def get_urls(self):
        return [
            path("<path:object_id>/credit/", self.admin_site.admin_view(self.credit_view),
                 name="invoicing_invoice_credit"),
            *super().get_urls(),
        ]

    @admin.display(description="status", ordering="status")
    def status_label(self, invoice):
        if invoice.status == Invoice.Status.CREDITED and hasattr(invoice, "credit_note"):
            url = reverse("admin:invoicing_creditnote_change", args=[invoice.credit_note.pk])
            return format_html('Credited by <a href="{}">{}</a>', url, invoice.credit_note.number)
        return invoice.get_status_display()

    @admin.display(description="issued")
    def issued(self, invoice):
        if invoice.issued_at is None:
            return "-"
        when = f"{timezone.localtime(invoice.issued_at):%d/%m/%Y %H:%M}"
        return f"{when} by {invoice.issued_by}" if invoice.issued_by_id else f"{when} by the month-end job"

    @admin.display(description="timesheets")
    def timesheets(self, invoice):
        """A funder's invoice: the timesheet of each arrangement and month on it (what its email carries). Two
        queries."""
        keys = invoice_timesheet_keys(invoice)
        names = {arrangement.pk: arrangement.reference or arrangement.mentee.full_name
                 for arrangement in FundingArrangement.objects.filter(pk__in={pk for pk, _ in keys})
                 .select_related("mentee")} if keys else {}
        links = [{"url": timesheet_url(arrangement_id, month),
                  "label": f"{date_format(month, 'F Y')}, {names.get(arrangement_id, '')}".rstrip(", ")}
                 for arrangement_id, month in keys]
        empty = ("None: an invoice to a self-funded mentee needs none." if invoice.mentee_id
                 else "None: no sessions on it.")
        return render_to_string("admin/includes/timesheet_links.html", {"links": links, "empty": empty})

    def document_note(self, invoice):
        if invoice.status == Invoice.Status.DRAFT:
            return ("A draft: its lines come from the month-end job. “Issue” (or “Issue selected invoices” in the "
                    "list) shows what will be sent before anything is; “Preview PDF” shows the PDF it would be "
                    "issued with. Once issued it cannot be changed.")
        return "An issued invoice cannot be changed. To correct it, credit it: its sessions are invoiced again."

    def _creditable(self, request, invoice) -> bool:
        return request.user.has_perm("invoicing.add_creditnote") and invoice.status in (
            Invoice.Status.ISSUED, Invoice.Status.PAID)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and self._creditable(request, obj):
            context["credit_url"] = reverse("admin:invoicing_invoice_credit", args=[obj.pk])
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    # ---- actions ----

    @admin.action(description="Issue selected invoices", permissions=["change"])
    def issue_selected(self, request, queryset):
        return confirm(self, request, queryset, ISSUE_INVOICES, lambda selected: self._issue_now(request, selected))

    def _issue_now(self, request, queryset):
        try:
            self._act_on_selected(
                request, queryset, lambda ids: invoices_issue(invoice_ids=ids, acting_user=request.user),
                done=("%(count)d invoice issued: %(numbers)s.", "%(count)d invoices issued: %(numbers)s."),
                left=("%(count)d selected invoice was not a draft, so it was left as it was.",
                      "%(count)d selected invoices were not drafts, so they were left as they were."),
                detail=issued_as,
            )
        except InvoicesRefused as refusal:  # nothing was issued
            for message in refusal.messages:
                self.message_user(request, message, messages.ERROR)

    @admin.action(description="Mark selected as paid", permissions=["change"])
    def mark_paid(self, request, queryset):
        return confirm(self, request, queryset, MARK_INVOICES_PAID,
                       lambda selected: self._mark_paid_now(request, selected))

    def _mark_paid_now(self, request, queryset):
        self._act_on_selected(
            request, queryset, lambda ids: invoice_mark_paid(invoice_ids=ids, acting_user=request.user),
            done=("%(count)d invoice marked as paid.", "%(count)d invoices marked as paid."),
            left=("%(count)d selected invoice was not issued and unpaid, so it was left as it was.",
                  "%(count)d selected invoices were not issued and unpaid, so they were left as they were."),
        )

    @admin.action(description="Export lines of selected invoices for accounting (CSV)", permissions=["view"])
    def export_lines(self, request, queryset):
        if not queryset.exclude(status=Invoice.Status.DRAFT).exists():
            self.message_user(request, "None of the selected invoices has been issued, so there is nothing to "
                                       "export.", messages.ERROR)
            return None
        rows = invoice_lines_csv(invoices=queryset,
                                 credit_notes=CreditNote.objects.filter(invoice__in=queryset.order_by().values("pk")))
        return csv_response(rows, f"invoice-lines-{timezone.localdate():%Y-%m-%d}.csv")

    # ---- crediting ----

    def credit_view(self, request, object_id):
        invoice = self.get_object(request, object_id)
        if invoice is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not request.user.has_perm("invoicing.add_creditnote"):
            raise PermissionDenied
        change_url = reverse("admin:invoicing_invoice_change", args=[invoice.pk])
        if request.method != "POST" and not self._creditable(request, invoice):
            self.message_user(
                request, f"{invoice} is {invoice.get_status_display()}: only an issued or paid invoice can be "
                         "credited.", messages.ERROR)
            return HttpResponseRedirect(change_url)

        form = CreditForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                credit_note = invoice_credit(invoice_id=invoice.pk, acting_user=request.user,
                                             reason=form.cleaned_data["reason"])
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.message_user(
                    request,
                    f"{invoice.number} is credited by {credit_note.number} (£{credit_note.total}). Its sessions "
                    "go on an invoice again at the next month-end run.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(change_url)

        context = {
            **self.admin_site.each_context(request),
            "title": f"Credit {invoice.number or invoice}",
            "subtitle": None,
            "opts": self.opts,
            "original": invoice,
            "invoice": invoice,
            "change_url": change_url,
            "form": form,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/invoicing/invoice/credit.html", context)


@admin.register(CreditNote)
class CreditNoteAdmin(DocumentAdmin):
    list_display = ("number", "invoice_link", "bill_to", "issue_date", "net", "vat", "total", "issued_by",
                    "pdf_link")
    list_select_related = ("invoice", "issued_by")
    search_fields = ("number", "invoice__number", "invoice__bill_to_name")
    search_help_text = "Search by credit note number, invoice number, or who the invoice was billed to."
    date_hierarchy = "issue_date"
    actions = ("export_lines", export_xero, export_quickbooks)
    fields = ("number", "invoice_link", "bill_to", "reason", "issue_date", "issued_at", "issued_by", "net", "vat",
              "total", "pdf_link")
    readonly_fields = fields

    @admin.display(description="credits invoice", ordering="invoice__number")
    def invoice_link(self, credit_note):
        url = reverse("admin:invoicing_invoice_change", args=[credit_note.invoice_id])
        return format_html('<a href="{}">{}</a>', url, credit_note.invoice.number)

    @admin.display(description="billed to", ordering="invoice__bill_to_name")
    def bill_to(self, credit_note):
        return credit_note.invoice.bill_to_name

    def has_change_permission(self, request, obj=None):
        return False

    def document_note(self, credit_note):
        return "Credit notes are issued from their invoice's page (“Credit this invoice”) and cannot be changed."

    @admin.action(description="Export lines of selected credit notes for accounting (CSV)", permissions=["view"])
    def export_lines(self, request, queryset):
        return csv_response(invoice_lines_csv(credit_notes=queryset),
                             f"credit-note-lines-{timezone.localdate():%Y-%m-%d}.csv")

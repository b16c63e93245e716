"""Mentors' payment statements: issue, approve for payment, export for payment, mark paid."""

from django.contrib import admin, messages
from django.utils import timezone

from invoicing.admin.confirmations import ISSUE_STATEMENTS, MARK_STATEMENTS_PAID, StatementDraftTools, confirm
from invoicing.admin.documents import DocumentAdmin, PeriodFilter, ReadOnlyLinesInline, csv_response
from invoicing.exports import payments_csv
from invoicing.models import PaymentStatement, StatementLine
from invoicing.services import statement_approve, statement_mark_paid, statements_issue
from invoicing.services.pdf import money
from sessions_app.admin.people import MentorListFilter


# --------------------------------------------------------------------------- payment statements


class StatementLineInline(ReadOnlyLinesInline):
    model = StatementLine
    fields = ("session", "session_date", "mentee_name", "outcome", "minutes", "hourly_rate", "amount",
              "wrapped_up_by_name", "on_behalf", "is_late")
    readonly_fields = fields


@admin.register(PaymentStatement)
class PaymentStatementAdmin(StatementDraftTools, DocumentAdmin):
    list_display = ("number_or_draft", "mentor", "period", "status", "total", "issue_date", "approved_at",
                    "paid_at", "pdf_link")
    list_display_links = ("number_or_draft",)
    list_filter = ("status", PeriodFilter, ("mentor", MentorListFilter))
    list_select_related = ("mentor__user",)
    search_fields = ("number", "mentor__user__full_name", "mentor__user__email", "lines__reference")
    search_help_text = "Search by statement number, mentor name or email, or the SA reference of one of its sessions."
    actions = ("issue_selected", "approve", "mark_paid", "export_payments")
    inlines = (StatementLineInline,)
    fieldsets = (
        (None, {"fields": ("number_or_draft", "status", "mentor", "supplier_address", "period", "issue_date",
                           "approved", "paid_at", "total", "pdf_link")}),
    )
    readonly_fields = fieldsets[0][1]["fields"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("mentor__user", "approved_by")

    @admin.display(description="approved for payment")
    def approved(self, statement):
        if statement.approved_at is None:
            return "-"
        return f"{timezone.localtime(statement.approved_at):%d/%m/%Y %H:%M} by {statement.approved_by or 'someone'}"

    def document_note(self, statement):
        notes = {
            PaymentStatement.Status.DRAFT: "A draft: its lines come from the month-end job. “Issue” shows what "
                                           "will be sent before anything is; “Preview PDF” shows the PDF it would "
                                           "be issued with.",
            PaymentStatement.Status.ISSUED: "Issued to the mentor. Next: “Approve selected statements for "
                                            "payment”, then export them for payment.",
            PaymentStatement.Status.APPROVED: "Approved for payment. Once paid, choose “Mark selected statements "
                                              "as paid”.",
            PaymentStatement.Status.PAID: "Paid.",
        }
        return notes[statement.status]

    @admin.action(description="Issue selected statements", permissions=["change"])
    def issue_selected(self, request, queryset):
        return confirm(self, request, queryset, ISSUE_STATEMENTS, lambda selected: self._issue_now(request, selected))

    def _issue_now(self, request, queryset):
        self._act_on_selected(
            request, queryset, lambda ids: statements_issue(statement_ids=ids, acting_user=request.user),
            done=("%(count)d statement issued: %(numbers)s.", "%(count)d statements issued: %(numbers)s."),
            left=("%(count)d selected statement was not a draft, so it was left as it was.",
                  "%(count)d selected statements were not drafts, so they were left as they were."),
        )

    @admin.action(description="Approve selected statements for payment", permissions=["change"])
    def approve(self, request, queryset):
        owing = list(queryset.filter(status=PaymentStatement.Status.ISSUED, total__lt=0).select_related("mentor__user"))
        self._act_on_selected(
            request, queryset, lambda ids: statement_approve(statement_ids=ids, acting_user=request.user),
            done=("%(count)d statement approved for payment.", "%(count)d statements approved for payment."),
            left=("%(count)d selected statement was not issued and awaiting approval, so it was left as it was.",
                  "%(count)d selected statements were not issued and awaiting approval, so they were left as they "
                  "were."),
        )
        for statement in owing:
            statement.refresh_from_db(fields=["status"])
            if statement.status == PaymentStatement.Status.APPROVED:
                self.message_user(request, (
                    f"{statement.number} came to {money(statement.total)}: {statement.mentor} owes "
                    f"{money(-statement.total)}, so nothing is paid on it (a bank payment cannot be negative). "
                    "It is taken off their next payment statement at the next month end."), messages.WARNING)

    @admin.action(description="Mark selected statements as paid", permissions=["change"])
    def mark_paid(self, request, queryset):
        return confirm(self, request, queryset, MARK_STATEMENTS_PAID,
                       lambda selected: self._mark_paid_now(request, selected))

    def _mark_paid_now(self, request, queryset):
        self._act_on_selected(
            request, queryset, lambda ids: statement_mark_paid(statement_ids=ids, acting_user=request.user),
            done=("%(count)d statement marked as paid.", "%(count)d statements marked as paid."),
            left=("%(count)d selected statement was not approved for payment, so it was left as it was: approve a "
                  "statement before marking it paid.",
                  "%(count)d selected statements were not approved for payment, so they were left as they were: "
                  "approve a statement before marking it paid."),
        )

    @admin.action(description="Export selected approved statements for payment (CSV)", permissions=["view"])
    def export_payments(self, request, queryset):
        if not queryset.filter(status=PaymentStatement.Status.APPROVED).exists():
            self.message_user(request, "None of the selected statements is approved for payment: approve them "
                                       "first.", messages.ERROR)
            return None
        return csv_response(payments_csv(statements=queryset), f"payments-{timezone.localdate():%Y-%m-%d}.csv")

"""When the month-end job ran for each month."""

from django.contrib import admin
from django.template.loader import render_to_string

from invoicing.admin.documents import month_label
from invoicing.models import MonthEndRun
from sessions_app.admin.common import ViewOnlyAdmin


# --------------------------------------------------------------------------- month-end runs


@admin.register(MonthEndRun)
class MonthEndRunAdmin(ViewOnlyAdmin):
    """When the month-end job ran for each month. Read-only: the job and `manage.py generate_month_end` run it."""

    list_display = ("period", "runs", "started_at", "finished_at", "documents")
    fields = ("period", "runs", "started_at", "finished_at", "documents")
    readonly_fields = fields

    @admin.display(description="month", ordering="period_start")
    def period(self, run):
        return month_label(run.period_start)

    @admin.display(description="documents")
    def documents(self, run):
        return render_to_string("admin/invoicing/includes/month_end_run_documents.html", {"run": run})

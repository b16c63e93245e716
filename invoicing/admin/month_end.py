"""The month end from the admin: the runs of each month (read-only), and the Month end page.

The Month end page (`month-end/?month=YYYY-MM`): choose the month; see what the month's documents are now, a preview
of what running the month end would add (per funder or self-funded mentee: sessions, hours, net, VAT; per mentor:
pay), the month's sessions it leaves out (not wrapped up, awaiting Finance) by mentor; run it (a Celery task: the
page shows it queued, running, then its result; refresh the page); close the month (a confirmation page with a
reason). Running needs "Can run the month end", closing "Can close a month" (both Finance's).
"""

import re
from datetime import date

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format

from invoicing.admin.documents import month_label
from invoicing.models import MonthEndRun
from invoicing.services.month_close import month_close, month_close_problems
from invoicing.services.month_end_admin import (
    month_documents,
    month_end_month_problem,
    month_end_outstanding,
    month_end_preview,
    month_end_request,
)
from sessions_app.admin.common import AuditTrailAdmin, ViewOnlyAdmin

MONTH = re.compile(r"^([0-9]{4})-([0-9]{1,2})$")
RUN_PERMISSION = "invoicing.run_month_end"
CLOSE_PERMISSION = "invoicing.close_month"


class MonthForm(forms.Form):
    month = forms.CharField(label="Month", max_length=7, widget=forms.TextInput(attrs={"type": "month"}),
                            help_text="As YYYY-MM, for example 2026-10.")

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_month(self) -> date:
        value = self.cleaned_data["month"].strip()
        match = MONTH.match(value)
        if match is None or not 1 <= int(match[2]) <= 12 or int(match[1]) < 2000:
            raise ValidationError(f"That is not a month: write it as YYYY-MM, for example {self.today:%Y-%m}.")
        month = date(int(match[1]), int(match[2]), 1)
        if problem := month_end_month_problem(month, today=self.today):
            raise ValidationError(problem)
        return month


CLOSE_REASON_MISSING = "Say why the month is being closed: it is kept in the month's history."


class CloseForm(MonthForm):
    reason = forms.CharField(label="Why", widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
                             error_messages={"required": CLOSE_REASON_MISSING},
                             help_text="Recorded in the month's history, for example “VAT return for October 2026 "
                                       "filed”.")


@admin.register(MonthEndRun)
class MonthEndRunAdmin(AuditTrailAdmin, ViewOnlyAdmin):
    """When the month-end job ran for each month. Read-only: the job, `manage.py generate_month_end` and the Month
    end page run it. Its History is the audit trail of runs asked for and of the month's close, with who and why."""

    list_display = ("period", "runs", "started_at", "finished_at", "state", "closed", "documents")
    fields = ("period", "runs", "started_at", "finished_at", "state", "requested_by", "result", "closed",
              "close_reason", "documents")
    readonly_fields = fields
    change_list_template = "admin/invoicing/monthendrun/change_list.html"

    def get_urls(self):
        return [
            path("month-end/", self.admin_site.admin_view(self.month_end_view), name="invoicing_month_end"),
            path("month-end/run/", self.admin_site.admin_view(self.run_view), name="invoicing_month_end_run"),
            path("month-end/close/", self.admin_site.admin_view(self.close_view), name="invoicing_month_close"),
            *super().get_urls(),
        ]

    @admin.display(description="month", ordering="period_start")
    def period(self, run):
        return month_label(run.period_start)

    @admin.display(description="documents")
    def documents(self, run):
        return render_to_string("admin/invoicing/includes/month_end_run_documents.html", {"run": run})

    @admin.display(description="closed")
    def closed(self, run):
        if not run.is_closed:
            return "-"
        who = run.closed_by.full_name if run.closed_by_id else "Finance"
        return f"{date_format(timezone.localtime(run.closed_at), 'j F Y, H:i')} by {who}"

    # ---- the Month end page ----

    def _page_url(self, month: date | None = None) -> str:
        url = reverse("admin:invoicing_month_end")
        return f"{url}?month={month:%Y-%m}" if month else url

    def _context(self, request, title: str) -> dict:
        return {**self.admin_site.each_context(request), "title": title, "subtitle": None, "opts": self.opts}

    def month_end_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        today = timezone.localdate()
        form = MonthForm(request.GET if "month" in request.GET else None, today=today,
                         initial={"month": f"{today:%Y-%m}"})
        context = self._context(request, "Month end")
        context.update(form=form, may_run=request.user.has_perm(RUN_PERMISSION),
                       may_close=request.user.has_perm(CLOSE_PERMISSION))
        if form.is_bound and form.is_valid():
            month = form.cleaned_data["month"]
            run = MonthEndRun.objects.select_related("requested_by", "closed_by").filter(period_start=month).first()
            in_progress = run is not None and run.state in (MonthEndRun.State.QUEUED, MonthEndRun.State.RUNNING)
            context.update(
                month=month, month_name=month_label(month), query=f"{month:%Y-%m}", run=run, in_progress=in_progress,
                not_over=month >= today.replace(day=1),
                # A preview takes the run's lock for a moment: not while a run holds it.
                preview=None if in_progress else month_end_preview(year=month.year, month=month.month),
                outstanding=month_end_outstanding(month),
                existing=month_documents(month),
                close_problems=month_close_problems(month, today=today),
            )
        return TemplateResponse(request, "admin/invoicing/month_end.html", context)

    def run_view(self, request):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm(RUN_PERMISSION):
            raise PermissionDenied
        form = MonthForm(request.POST, today=timezone.localdate())
        if not form.is_valid():
            self.message_user(request, form.errors["month"][0], messages.ERROR)  # the first thing to put right
            return HttpResponseRedirect(self._page_url())
        month = form.cleaned_data["month"]
        try:
            run = month_end_request(year=month.year, month=month.month, acting_user=request.user)
        except ValidationError as refusal:
            for message in refusal.messages:
                self.message_user(request, message, messages.ERROR)
        else:
            run.refresh_from_db()
            if run.state == MonthEndRun.State.DONE:
                self.message_user(request, f"The month end for {month_label(month)} has run: its result is below.",
                                  messages.SUCCESS)
            elif run.state == MonthEndRun.State.FAILED:
                self.message_user(request, f"The month end for {month_label(month)} failed: {run.result}", messages.ERROR)
            else:
                self.message_user(request, f"The month end for {month_label(month)} is queued for a worker: refresh this "
                                           "page to see it run and its result.", messages.SUCCESS)
        return HttpResponseRedirect(self._page_url(month))

    def close_view(self, request):
        if not request.user.has_perm(CLOSE_PERMISSION):
            raise PermissionDenied
        today = timezone.localdate()
        data = request.POST if request.method == "POST" else (request.GET if "month" in request.GET else None)
        form = CloseForm(data, today=today)
        month = None
        if form.is_bound:
            form.is_valid()  # cleans both fields; the month is what matters here
            month = form.cleaned_data.get("month")
        if month is None:
            self.message_user(request, form.errors["month"][0] if form.is_bound else "Choose the month to close.",
                              messages.ERROR)
            return HttpResponseRedirect(self._page_url())
        if request.method != "POST":
            form = CloseForm(today=today)  # the reason is asked for when the button is pressed, not on arrival
        if request.method == "POST" and form.is_valid():
            try:
                month_close(year=month.year, month=month.month, acting_user=request.user,
                            reason=form.cleaned_data["reason"], today=today)
            except ValidationError as refusal:
                form.add_error(None, refusal)
            else:
                self.message_user(
                    request, f"{month_label(month)} is closed: its invoices and payment statements can no longer change, "
                             "except by credit notes; sessions of it wrapped up from now on go on the next month's "
                             "documents.", messages.SUCCESS)
                return HttpResponseRedirect(self._page_url(month))
        context = self._context(request, f"Close {month_label(month)}: are you sure?")
        context.update(form=form, month=month, month_name=month_label(month), query=f"{month:%Y-%m}",
                       problems=month_close_problems(month, today=today), existing=month_documents(month),
                       page_url=self._page_url(month))
        return TemplateResponse(request, "admin/invoicing/month_close.html", context)

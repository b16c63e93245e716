"""Payment runs: pay mentors' approved statements through the bank.

"Add payment run" is a confirmation page, like the delete confirmation: who is paid and how much, the total, and
the statements that cannot be paid and why, then "Yes, create …". A run's page offers its files for the bank (to
those allowed to see bank details in full; each download is recorded), "Mark paid" and "Cancel", each with its
own confirmation page. Every step calls a service in `invoicing.services.payment_runs`."""

import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from invoicing.admin.documents import ReadOnlyLinesInline
from invoicing.models import PaymentRun, PaymentRunItem
from invoicing.services.payment_runs import (
    FILE_KINDS,
    PaymentRunRefused,
    next_working_day_after,
    payment_run_cancel,
    payment_run_create,
    payment_run_file,
    payment_run_mark_paid,
    payment_run_preview,
)
from sessions_app import roles
from sessions_app.admin.common import AuditTrailAdmin


class PaymentRunForm(forms.Form):
    payment_date = forms.DateField(
        label="Payment date", input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="The day the money is to reach mentors' accounts: a working day, three working days from now "
                  "for Bacs.",
        error_messages={"required": "Enter the payment date.", "invalid": "Enter the payment date as a date, "
                                                                          "for example 2026-12-04."},
    )
    statements = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean_statements(self):
        text = self.cleaned_data["statements"]
        parts = [part for part in text.split(",") if part]
        if not parts or not all(re.fullmatch(r"[0-9]{1,11}", part) for part in parts):  # not isdigit(): "²"
            raise forms.ValidationError("This page was out of date: look at the payments again, then confirm.")
        return [int(part) for part in parts]


class CancelRunForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=90, required=False,
                             help_text="Kept in the run's history. Its statements can then go in another run.")


class PaymentRunItemInline(ReadOnlyLinesInline):
    model = PaymentRunItem
    verbose_name, verbose_name_plural = "payment", "payments"
    fields = ("statement_link", "mentor", "account_name", "masked_sort_code", "masked_account_number", "amount",
              "reference", "live")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("statement", "mentor__user")

    def has_view_permission(self, request, obj=None):
        # Whoever may see the run sees whom it pays: its payments have no permission of their own to grant.
        return request.user.has_perm("invoicing.view_paymentrun")

    @admin.display(description="statement")
    def statement_link(self, item):
        from django.utils.html import format_html

        url = reverse("admin:invoicing_paymentstatement_change", args=[item.statement_id])
        return format_html('<a href="{}">{}</a>', url, item.statement.number)

    @admin.display(description="sort code")
    def masked_sort_code(self, item):
        return item.masked_sort_code

    @admin.display(description="account number")
    def masked_account_number(self, item):
        return item.masked_account_number


@admin.register(PaymentRun)
class PaymentRunAdmin(AuditTrailAdmin):
    list_display = ("number", "status", "payment_date", "payments", "total", "created_at", "created_by", "paid_at")
    list_filter = ("status",)
    list_select_related = ("created_by",)
    search_fields = ("number", "items__reference", "items__mentor__user__full_name")
    search_help_text = "Search by run number, statement number, or a mentor's name."
    fields = ("number", "status", "payment_date", "total", "payer", "created_at", "created_by", "paid_at",
              "paid_by")
    readonly_fields = fields
    inlines = (PaymentRunItemInline,)
    change_form_template = "admin/invoicing/paymentrun/change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(live_payments=Count("items", filter=Q(items__live=True)))

    @admin.display(description="payments", ordering="live_payments")
    def payments(self, run):
        return run.live_payments

    @admin.display(description="paid from")
    def payer(self, run):
        return f"{run.payer_account_name}, sort code **-**-{run.payer_sort_code[-2:]}, account ****" \
               f"{run.payer_account_number[-4:]}"

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/file/<str:kind>/", view(self.file_view), name="invoicing_paymentrun_file"),
            path("<path:object_id>/mark-paid/", view(self.mark_paid_view), name="invoicing_paymentrun_mark_paid"),
            path("<path:object_id>/cancel/", view(self.cancel_view), name="invoicing_paymentrun_cancel"),
            *super().get_urls(),
        ]

    def _may_act(self, request) -> bool:
        return super().has_change_permission(request)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            ready = obj.status == PaymentRun.Status.READY
            if obj.status != PaymentRun.Status.CANCELLED and request.user.has_perm(roles.VIEW_BANK_DETAILS):
                context["file_urls"] = [(reverse("admin:invoicing_paymentrun_file", args=[obj.pk, kind]),
                                         f"Download the {label}") for kind, label in FILE_KINDS.items()]
            if ready and self._may_act(request):
                context["mark_paid_url"] = reverse("admin:invoicing_paymentrun_mark_paid", args=[obj.pk])
                context["cancel_url"] = reverse("admin:invoicing_paymentrun_cancel", args=[obj.pk])
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def _context(self, request, title, **extra):
        return {**self.admin_site.each_context(request), "title": title, "subtitle": None, "opts": self.opts,
                **extra}

    # ---- a new run: the confirmation page ----

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        preview = payment_run_preview()
        today = timezone.localdate()
        initial = {"payment_date": next_working_day_after(today, 3),
                   "statements": ",".join(str(pk) for pk in preview.statement_ids)}
        form = PaymentRunForm(request.POST if request.method == "POST" else None, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                run = payment_run_create(statement_ids=form.cleaned_data["statements"], acting_user=request.user,
                                         payment_date=form.cleaned_data["payment_date"])
            except PaymentRunRefused as refusal:
                if hasattr(refusal, "error_dict"):
                    for field_name, errors in refusal.error_dict.items():
                        form.add_error(field_name if field_name in form.fields else None, errors)
                else:
                    form.add_error(None, refusal.messages)
            else:
                count = run.items.count()
                self.message_user(request, f"{run.number} created: {count} payment{'s' if count != 1 else ''}, "
                                           f"£{run.total}, to be paid on {run.payment_date:%-d %B %Y}. Download its "
                                           "file for the bank below; once the bank has paid, mark it paid.",
                                  messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:invoicing_paymentrun_change", args=[run.pk]))
        context = self._context(request, "Create a payment run", preview=preview, form=form,
                                media=self.media + form.media)
        return TemplateResponse(request, "admin/invoicing/paymentrun/add.html", context)

    # ---- a run's files, marking it paid, cancelling it ----

    def _run_or_redirect(self, request, object_id):
        run = self.get_object(request, object_id)
        if run is None:
            return None, self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        return run, None

    def file_view(self, request, object_id, kind):
        run, redirect = self._run_or_redirect(request, object_id)
        if redirect:
            return redirect
        if kind not in FILE_KINDS:
            self.message_user(request, "There is no such file: choose the Bacs file or the bulk-payment CSV.",
                              messages.ERROR)
            return HttpResponseRedirect(reverse("admin:invoicing_paymentrun_change", args=[run.pk]))
        if not request.user.has_perm(roles.VIEW_BANK_DETAILS):
            raise PermissionDenied
        try:
            content, filename = payment_run_file(run=run, kind=kind, viewer=request.user)
        except PaymentRunRefused as refusal:
            for message in refusal.messages:
                self.message_user(request, message, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:invoicing_paymentrun_change", args=[run.pk]))
        content_type = "text/plain; charset=us-ascii" if kind == "bacs" else "text/csv; charset=us-ascii"
        response = HttpResponse(content, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    def mark_paid_view(self, request, object_id):
        run, redirect = self._run_or_redirect(request, object_id)
        if redirect:
            return redirect
        if not self._may_act(request):
            raise PermissionDenied
        change_url = reverse("admin:invoicing_paymentrun_change", args=[run.pk])
        if request.method == "POST":
            try:
                payment_run_mark_paid(run_id=run.pk, acting_user=request.user)
            except PaymentRunRefused as refusal:
                for message in refusal.messages:
                    self.message_user(request, message, messages.ERROR)
            else:
                count = run.items.filter(live=True).count()
                self.message_user(request, f"{run.number} is paid: {count} statement{'s' if count != 1 else ''} "
                                           "marked paid, and each mentor is emailed a remittance advice.",
                                  messages.SUCCESS)
            return HttpResponseRedirect(change_url)
        if run.status != PaymentRun.Status.READY:
            self.message_user(request, f"{run.number} is {run.get_status_display().lower()}: there is nothing to "
                                       "mark paid.", messages.ERROR)
            return HttpResponseRedirect(change_url)
        items = run.items.filter(live=True).select_related("statement", "mentor__user")
        return TemplateResponse(request, "admin/invoicing/paymentrun/mark_paid.html",
                                self._context(request, f"Mark {run.number} paid", run=run, items=items,
                                              change_url=change_url))

    def cancel_view(self, request, object_id):
        run, redirect = self._run_or_redirect(request, object_id)
        if redirect:
            return redirect
        if not self._may_act(request):
            raise PermissionDenied
        change_url = reverse("admin:invoicing_paymentrun_change", args=[run.pk])
        form = CancelRunForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                payment_run_cancel(run_id=run.pk, acting_user=request.user, reason=form.cleaned_data["reason"])
            except ValidationError as refusal:
                if hasattr(refusal, "error_dict"):
                    for field_name, errors in refusal.error_dict.items():
                        form.add_error(field_name if field_name in form.fields else None, errors)
                else:
                    self.message_user(request, " ".join(refusal.messages), messages.ERROR)
                    return HttpResponseRedirect(change_url)
            else:
                self.message_user(request, f"{run.number} is cancelled: its statements can go in another run.",
                                  messages.SUCCESS)
                return HttpResponseRedirect(change_url)
        elif request.method != "POST" and run.status != PaymentRun.Status.READY:
            self.message_user(request, f"{run.number} is {run.get_status_display().lower()}: it cannot be "
                                       "cancelled.", messages.ERROR)
            return HttpResponseRedirect(change_url)
        return TemplateResponse(request, "admin/invoicing/paymentrun/cancel.html",
                                self._context(request, f"Cancel {run.number}", run=run, form=form,
                                              change_url=change_url, media=self.media + form.media))

"""Funders and funding arrangements (a mentee's own are also on the mentee's page, see people.py)."""

from django.contrib import admin
from django.template.loader import render_to_string
from django.utils.formats import date_format

from sessions_app import hooks
from sessions_app.admin.allowance import HOURS_FIELDS, AuthorisedHoursFilter, HoursColumns, annotated
from sessions_app.admin.common import AuditTrailAdmin, IdAutocompleteMixin
from sessions_app.models import Funder, FundingArrangement
from sessions_app.timesheets import timesheet_months


@admin.register(Funder)
class FunderAdmin(admin.ModelAdmin):
    list_display = ("name", "billing_contact_name", "billing_email", "sends_attendance_emails", "bill_only_confirmed")
    list_filter = ("sends_attendance_emails",)
    search_fields = ("name", "billing_contact_name", "billing_email")


class _NamedEmptyChoice:
    """A related-field filter whose empty choice (no funder) says what it means, instead of the admin's "-"."""

    empty_label = "Self-funded"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.empty_value_display = self.empty_label


class FunderListFilter(_NamedEmptyChoice, admin.RelatedFieldListFilter):
    """Every funder, and "Self-funded" for what has no funder."""


class FunderOnlyListFilter(_NamedEmptyChoice, admin.RelatedOnlyFieldListFilter):
    """The funders the list has rows for, and "Self-funded" for what has no funder."""


@admin.register(FundingArrangement)
class FundingArrangementAdmin(IdAutocompleteMixin, HoursColumns, AuditTrailAdmin):
    list_display = (
        "mentee", "kind", "funder", "reference", "hourly_rate", "hours_allowance", *HOURS_FIELDS, "valid_from",
    )
    list_filter = (AuthorisedHoursFilter, "kind", ("funder", FunderListFilter))
    list_select_related = ("mentee", "funder")
    search_fields = ("mentee__full_name", "funder__name", "reference")
    autocomplete_fields = ("mentee", "funder")
    date_hierarchy = "valid_from"
    readonly_fields = ("timesheets",)

    @admin.display(description="timesheets")
    def timesheets(self, arrangement):
        """A PDF for each month with wrapped-up sessions, newest first (funded arrangements only)."""
        if arrangement is None or arrangement.pk is None:
            return "–"
        links = [{"url": url, "label": date_format(month, "F Y")} for month in timesheet_months(arrangement)
                 if (url := hooks.timesheet_url(arrangement.pk, month))]
        empty = ("None: a self-funded arrangement has no funder to send one to."
                 if arrangement.kind == FundingArrangement.Kind.SELF_FUNDED else "None yet: no session wrapped up.")
        return render_to_string("admin/includes/timesheet_links.html", {"links": links, "empty": empty})

    def get_queryset(self, request):
        # Authorised hours used, booked and left, counted for the whole page in its one query.
        return annotated(super().get_queryset(request))

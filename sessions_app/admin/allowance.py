"""Authorised hours in the admin: each funding arrangement's hours authorised, used, booked and left, and its end
date, on Finance's list of arrangements (with the filters "nearly used up" and "ended") and on the mentee's page.
Counted by sessions_app.allowance in one query for the whole page."""

from django.contrib import admin
from django.utils import timezone
from django.utils.formats import date_format

from sessions_app.allowance import ended_filter, hours_of, nearly_used_up_filter, warning_threshold, with_hours


def _hours(value) -> str:
    return "-" if value is None else f"{value:.2f}"


class HoursColumns:
    """Read-only columns for a model admin or inline whose queryset is annotated by `with_hours`."""

    @admin.display(description="hours authorised")
    def hours_authorised(self, arrangement):
        return _hours(arrangement.hours_allowance) if arrangement.pk else "-"

    @admin.display(description="hours used")
    def hours_used(self, arrangement):
        return _hours(hours_of(arrangement).used) if hasattr(arrangement, "used_minutes") else "-"

    @admin.display(description="hours booked")
    def hours_booked(self, arrangement):
        return _hours(hours_of(arrangement).booked) if hasattr(arrangement, "used_minutes") else "-"

    @admin.display(description="hours left")
    def hours_left(self, arrangement):
        if not hasattr(arrangement, "used_minutes") or arrangement.hours_allowance is None:
            return "no limit" if arrangement.pk else "-"
        hours = hours_of(arrangement)
        text = _hours(hours.left)
        return f"{text} (nearly used up)" if hours.nearly_used_up else text

    @admin.display(description="ends", ordering="valid_until")
    def ends(self, arrangement):
        if not arrangement.pk:
            return "-"
        if arrangement.valid_until is None:
            return "open-ended"
        text = date_format(arrangement.valid_until, "j M Y")
        return f"{text} (ended)" if arrangement.valid_until < timezone.localdate() else text


HOURS_FIELDS = ("hours_used", "hours_booked", "hours_left", "ends")


class AuthorisedHoursFilter(admin.SimpleListFilter):
    title = "authorised hours"
    parameter_name = "hours"

    def lookups(self, request, model_admin):
        return [
            ("nearly_used_up", f"Nearly used up (fewer than {warning_threshold().normalize():f} hours left)"),
            ("ended", "Ended"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "nearly_used_up":
            return nearly_used_up_filter(queryset)
        if self.value() == "ended":
            return ended_filter(queryset)
        return queryset


def annotated(queryset):
    return with_hours(queryset)

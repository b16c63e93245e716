"""Funders' missed-session rules and the terms their per-term limits count within (Finance edits both here; the
month end applies them, see invoicing/services/funder_rules.py)."""

from django.conf import settings
from django.contrib import admin

from invoicing.models import MissedSessionRule, Term
from sessions_app.admin.common import AuditTrailAdmin


@admin.register(MissedSessionRule)
class MissedSessionRuleAdmin(AuditTrailAdmin):
    list_display = ("funder", "notice_period", "limit", "charge")
    list_filter = ("limit_per", "charge")
    list_select_related = ("funder",)
    search_fields = ("funder__name",)
    # A plain list of funders (not the autocomplete widget, which queries the posted value again to show it and
    # fails on an id too large for the database).
    fields = ("funder", "notice_hours", "missed_limit", "limit_per", "charge")

    @admin.display(description="notice period", ordering="notice_hours")
    def notice_period(self, rule):
        if rule.notice_hours is None:
            return f"{settings.LATE_NOTICE_HOURS} hours (the organisation's)"
        return f"{rule.notice_hours} hours"

    @admin.display(description="missed sessions billed", ordering="missed_limit")
    def limit(self, rule):
        if rule.missed_limit is None:
            return "no limit"
        return f"{rule.missed_limit} {rule.get_limit_per_display()}"


@admin.register(Term)
class TermAdmin(AuditTrailAdmin):
    list_display = ("name", "starts_on", "ends_on")
    ordering = ("-starts_on",)
    search_fields = ("name",)
    fields = ("name", "starts_on", "ends_on")

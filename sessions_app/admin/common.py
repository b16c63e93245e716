"""What the admin's pages of both apps share: the way back to a session's "Complete wrap-up" page, the audit trail
(History) and read-only inlines."""

import datetime

from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import localize
from simple_history.admin import SimpleHistoryAdmin
from simple_history.models import DeletedObject
from simple_history.template_utils import HistoricalRecordContextHelper

from sessions_app.models import ServiceAppointment


# Finance goes from a session's "Complete wrap-up" page to the mentee's account to add the missing funding;
# this query parameter on the mentee's page brings them back to that session when they save.
RETURN_TO_WRAP_UP = "return_to_wrap_up"


class ViewOnlyAdmin(admin.ModelAdmin):
    """A list and pages to read, never to add to, change or delete: records the site or a job writes."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def complete_wrap_up_url(appointment: ServiceAppointment) -> str:
    return reverse("admin:sessions_app_serviceappointment_complete_wrap_up", args=[appointment.pk])


class AuditTrailChanges(HistoricalRecordContextHelper):
    """The audit trail's "Changes" column, with values as the admin shows them: labels rather than codes, local
    24-hour times, and "-" for nothing."""

    def prepare_delta_change_value(self, change, value):
        value = super().prepare_delta_change_value(change, value)
        field = self.model._meta.get_field(change.field)
        if value is None or value == "" or (isinstance(value, DeletedObject) and value.pk is None):
            return "-"
        if field.choices:
            return dict(field.flatchoices).get(value, value)
        if isinstance(value, datetime.datetime):
            return localize(timezone.localtime(value))
        if isinstance(value, datetime.date):
            return localize(value)
        return value


class AuditTrailAdmin(SimpleHistoryAdmin):
    """The page's "History" is the audit trail (django-simple-history): every version of the row, who made it,
    when, and what changed, whether the change came from this admin, the site, a service or a task.

    Seeing it takes the view permission on the historical model (Finance has it). Nobody reverts from it:
    changes go through the services, which check state and write events, so the old versions are read-only."""

    enforce_history_permissions = True

    def has_change_history_permission(self, request, obj=None):
        return False

    def revert_disabled(self, request, obj=None):
        return True

    def get_historical_record_context_helper(self, request, historical_record):
        return AuditTrailChanges(self.model, historical_record)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method not in ("GET", "HEAD"):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class ReadOnlyTabularInline(admin.TabularInline):
    """Rows written by services or jobs only: shown, never added, removed or edited here."""

    extra = 0
    max_num = 0
    can_delete = False


class IdAutocompleteSelect(AutocompleteSelect):
    """The admin's autocomplete box, which shows the posted choice again when the form has an error: a posted value
    that is not a row id (":", "x", a number past bigint) is left out instead of being looked up, which raised (a
    server error) where the form itself only says "Select a valid choice"."""

    def optgroups(self, name, value, attr=None):
        ids = [v for v in value if str(v).isascii() and str(v).isdigit() and int(v) < 2**63]
        return super().optgroups(name, ids, attr)


class IdAutocompleteMixin:
    """For an admin whose `autocomplete_fields` use IdAutocompleteSelect: every page with an autocomplete box answers
    a posted value that is not an id with the form's message, never a server error."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in self.get_autocomplete_fields(request) and "widget" not in kwargs:
            kwargs["widget"] = IdAutocompleteSelect(db_field, self.admin_site, using=kwargs.get("using"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

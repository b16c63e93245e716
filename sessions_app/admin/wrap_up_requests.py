"""Wrap-up requests: mentors send them from the site and Senior Leadership works them there; read-only here."""

from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html

from sessions_app.admin.common import ReadOnlyTabularInline, ViewOnlyAdmin
from sessions_app.models import WrapUpRequest, WrapUpRequestItem


class WrapUpRequestItemInline(ReadOnlyTabularInline):
    """What the mentor said happened in each session. Read-only: Senior Leadership acts on it."""

    model = WrapUpRequestItem
    fields = ("session", "starts", "mentee", "outcome", "session_status")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("appointment__mentee")

    @admin.display(description="session")
    def session(self, item):
        url = reverse("admin:sessions_app_serviceappointment_change", args=[item.appointment_id])
        return format_html('<a href="{}">{}</a>', url, item.appointment.reference)

    @admin.display(description="starts")
    def starts(self, item):
        return date_format(timezone.localtime(item.appointment.starts_at), "D j M Y, H:i")

    @admin.display(description="mentee")
    def mentee(self, item):
        return item.appointment.mentee

    @admin.display(description="status now")
    def session_status(self, item):
        return item.appointment.get_status_display()

    def has_view_permission(self, request, obj=None):
        # The items are part of the request: whoever may see the request sees them.
        return request.user.has_perm("sessions_app.view_wrapuprequest")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(WrapUpRequest)
class WrapUpRequestAdmin(ViewOnlyAdmin):
    """Read-only here: mentors send these from the site and Senior Leadership works them there."""

    list_display = ("mentor", "status", "created_at", "sessions", "done_by", "done_at")
    list_filter = ("status",)
    list_select_related = ("mentor__user", "done_by")
    search_fields = ("mentor__user__full_name", "mentor__user__email")
    date_hierarchy = "created_at"
    fields = ("mentor", "status", "created_at", "message", "done_by", "done_at")
    readonly_fields = fields
    inlines = (WrapUpRequestItemInline,)

    def get_queryset(self, request):
        return (
            super().get_queryset(request).select_related("mentor__user", "done_by")
            .annotate(session_count=Count("items"))
        )

    @admin.display(description="sessions", ordering="session_count")
    def sessions(self, wrap_up_request):
        return wrap_up_request.session_count

"""Scheduling in the admin (issue 17): Finance assigns mentees to mentors (a mentor books sessions with their
assigned mentees only) and reads the series that were booked."""

from django.contrib import admin

from sessions_app.admin.common import ViewOnlyAdmin
from sessions_app.models import AppointmentSeries, Mentor, MentorAssignment


@admin.register(MentorAssignment)
class MentorAssignmentAdmin(admin.ModelAdmin):
    list_display = ("mentee", "mentor", "assigned_at", "assigned_by")
    list_filter = ("mentor",)
    list_select_related = ("mentee", "mentor__user", "assigned_by")
    search_fields = ("mentee__full_name", "mentor__user__full_name")
    fields = ("mentor", "mentee")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "mentor":
            kwargs["queryset"] = Mentor.objects.filter(is_active=True).select_related("user")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.assigned_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(AppointmentSeries)
class AppointmentSeriesAdmin(ViewOnlyAdmin):
    list_display = ("__str__", "mentor", "mentee", "first_date", "until", "count", "created_by", "created_at")
    list_select_related = ("mentor__user", "mentee", "created_by")
    list_filter = ("mentor",)

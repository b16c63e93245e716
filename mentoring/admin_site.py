from django.contrib import admin


class MentoringAdminSite(admin.AdminSite):
    """The Finance back office. Finance (and staff) get in; mentors and Senior Leadership do not."""

    site_header = "Mentoring: Finance admin"
    site_title = "Mentoring admin"
    index_title = "Finance"

    def has_permission(self, request):
        user = request.user
        return user.is_active and (user.is_staff or user.has_perm("sessions_app.use_admin"))

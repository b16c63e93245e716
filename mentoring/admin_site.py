from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError


def may_use_admin(user) -> bool:
    return user.is_active and (user.is_staff or user.has_perm("sessions_app.use_admin"))


class FinanceAdminAuthenticationForm(AdminAuthenticationForm):
    """The admin's log-in, open to Finance (by permission) as well as staff."""

    def confirm_login_allowed(self, user):
        AuthenticationForm.confirm_login_allowed(self, user)
        if not may_use_admin(user):
            raise ValidationError(
                self.error_messages["invalid_login"], code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


class MentoringAdminSite(admin.AdminSite):
    """The Finance back office. Finance (and staff) get in; mentors and Senior Leadership do not."""

    site_header = "Mentoring: Finance admin"
    site_title = "Mentoring admin"
    index_title = "Finance"
    login_form = FinanceAdminAuthenticationForm

    def has_permission(self, request):
        return may_use_admin(request.user)

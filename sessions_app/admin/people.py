"""Users, mentors and mentees (with their funding arrangements, and the way back to a session's wrap-up)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import Exists, OuterRef
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import ngettext

from sessions_app.admin.common import RETURN_TO_WRAP_UP, IdAutocompleteMixin, complete_wrap_up_url
from sessions_app.admin.allowance import HoursColumns, annotated
from sessions_app.models import FundingArrangement, Mentee, Mentor, MentorBankDetails, ServiceAppointment, User
from sessions_app.selectors import appointments_awaiting_finance_for
from sessions_app.services import mentor_regenerate_calendar_token


# --------------------------------------------------------------------------- users


def _normalised_unique_email(form, email: str) -> str:
    """Emails are logins: store them lower-case and refuse one that differs from another only in case."""
    email = User.objects.normalize_email(email).lower()
    others = User.objects.filter(email__iexact=email)
    if form.instance.pk:
        others = others.exclude(pk=form.instance.pk)
    if others.exists():
        raise forms.ValidationError("A user with this email address already exists.")
    return email


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name")
        field_classes = {}

    def clean_email(self):
        return _normalised_unique_email(self, self.cleaned_data["email"])


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
        field_classes = {}

    def clean_email(self):
        return _normalised_unique_email(self, self.cleaned_data["email"])


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("full_name",)}),
        (
            "Role and permissions",
            {
                "fields": ("is_active", "groups", "is_staff", "is_superuser", "user_permissions"),
                "description": "The role is the group: Mentor, Senior Leadership or Finance.",
            },
        ),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "full_name", "groups", "usable_password", "password1", "password2"),
            },
        ),
    )
    list_display = ("email", "full_name", "roles", "is_active", "is_staff", "last_login")
    list_filter = ("groups", "is_active", "is_staff", "is_superuser")
    search_fields = ("email", "full_name")
    ordering = ("full_name", "email")
    readonly_fields = ("last_login", "date_joined")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description="roles")
    def roles(self, user):
        return ", ".join(group.name for group in user.groups.all()) or "-"


# --------------------------------------------------------------------------- mentors


@admin.register(Mentor)
class MentorAdmin(IdAutocompleteMixin, admin.ModelAdmin):
    list_display = ("name", "email", "hourly_pay_rate", "is_active")
    list_filter = ("is_active",)
    search_fields = ("user__full_name", "user__email")
    ordering = ("user__full_name",)
    autocomplete_fields = ("user",)
    # The feed address is the mentor's secret (anyone with it sees their sessions): it is shown only to the mentor,
    # on their calendar page. Finance can only replace it, with the list's action.
    fields = ("user", "hourly_pay_rate", "address", "is_active", "bank_details_summary", "calendar_feed")
    readonly_fields = ("bank_details_summary", "calendar_feed")
    actions = ("regenerate_calendar_token",)

    def get_queryset(self, request):
        # Every label of a mentor (list, autocomplete, filters) shows the user's name.
        return super().get_queryset(request).select_related("user")

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if request.GET.get("model_name") == "serviceappointment" and request.GET.get("field_name") == "mentor":
            queryset = queryset.filter(is_active=True)  # only active mentors can be booked
        return queryset, may_have_duplicates

    @admin.display(description="name", ordering="user__full_name")
    def name(self, mentor):
        return mentor.user.full_name

    @admin.display(description="email", ordering="user__email")
    def email(self, mentor):
        return mentor.user.email

    @admin.display(description="bank details")
    def bank_details_summary(self, mentor):
        details = MentorBankDetails.objects.filter(mentor=mentor).first() if mentor.pk else None
        if details is None:
            if mentor.pk is None:
                return "-"
            return format_html('None yet: the mentor adds them on “My details”, or <a href="{}">add them</a>.',
                               reverse("admin:sessions_app_mentorbankdetails_add"))
        return format_html('{}, sort code {}, account {} (<a href="{}">bank details</a>)', details.account_name,
                           details.masked_sort_code, details.masked_account_number,
                           reverse("admin:sessions_app_mentorbankdetails_change", args=[details.pk]))

    @admin.display(description="calendar feed")
    def calendar_feed(self, mentor):
        return ("Private: only the mentor sees the address, on their calendar page. If it may have been shared, "
                "choose the mentor in the list and use the action “Give the selected mentors a new calendar feed "
                "address”: the old address stops working.")

    @admin.action(description="Give the selected mentors a new calendar feed address", permissions=["change"])
    def regenerate_calendar_token(self, request, queryset):
        count = 0
        for mentor in queryset:
            mentor_regenerate_calendar_token(mentor=mentor)
            count += 1
        self.message_user(
            request,
            ngettext(
                "%(count)d mentor has a new calendar feed address; the old one no longer works.",
                "%(count)d mentors have a new calendar feed address; the old ones no longer work.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )


class MentorListFilter(admin.RelatedFieldListFilter):
    """The mentor filter, with the mentors' names loaded in one query rather than one per mentor."""

    def field_choices(self, field, request, model_admin):
        return [(mentor.pk, str(mentor)) for mentor in Mentor.objects.select_related("user")]


# --------------------------------------------------------------------------- mentee accounts


class FundingArrangementInline(HoursColumns, admin.TabularInline):
    model = FundingArrangement
    fields = ("kind", "funder", "reference", "hourly_rate", "hours_allowance", "valid_from", "valid_until",
              "hours_used", "hours_booked", "hours_left")
    readonly_fields = ("hours_used", "hours_booked", "hours_left")
    extra = 0
    show_change_link = True

    def get_queryset(self, request):
        # Authorised hours used, booked and left for every arrangement of the mentee, in the inline's one query.
        return annotated(super().get_queryset(request).select_related("funder"))


class FundingTodayFilter(admin.SimpleListFilter):
    title = "funding valid today"
    parameter_name = "funding_today"

    def lookups(self, request, model_admin):
        return [
            ("funded", "Funded"),
            ("self_funded", "Self-funded"),
            ("none", "None (information missing)"),
        ]

    def queryset(self, request, queryset):
        valid_today = FundingArrangement.objects.valid_on(timezone.localdate()).filter(mentee=OuterRef("pk"))
        if self.value() == "none":
            return queryset.filter(~Exists(valid_today))
        if self.value() in (FundingArrangement.Kind.FUNDED, FundingArrangement.Kind.SELF_FUNDED):
            return queryset.filter(Exists(valid_today.filter(kind=self.value())))
        return queryset


@admin.register(Mentee)
class MenteeAdmin(admin.ModelAdmin):
    list_display = ("full_name", "email", "phone", "funding_today")
    list_filter = (FundingTodayFilter,)
    search_fields = ("full_name", "email")
    fields = ("full_name", "email", "phone", "address", "created_at")
    readonly_fields = ("created_at",)
    inlines = (FundingArrangementInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("funding_arrangements__funder")

    @admin.display(description="funding valid today")
    def funding_today(self, mentee):
        today = timezone.localdate()
        labels = [a.label for a in mentee.funding_arrangements.all() if a.is_valid_on(today)]
        return "; ".join(labels) or "None"

    # Finance comes here from "Complete wrap-up" to add missing funding, and goes back there on saving.

    def _wrap_up_to_return_to(self, request, mentee):
        appointment_id = request.GET.get(RETURN_TO_WRAP_UP, "")
        if not appointment_id.isdigit():
            return None
        return ServiceAppointment.objects.filter(
            pk=appointment_id, mentee=mentee, status=ServiceAppointment.Status.AWAITING_FINANCE
        ).first()

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["awaiting_finance"] = appointments_awaiting_finance_for(obj)
            context["returning_to_wrap_up"] = self._wrap_up_to_return_to(request, obj)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def response_change(self, request, obj):
        response = super().response_change(request, obj)
        saved_and_leaving = not {"_continue", "_addanother", "_saveasnew"} & set(request.POST)
        appointment = self._wrap_up_to_return_to(request, obj) if saved_and_leaving else None
        if appointment is not None:
            return HttpResponseRedirect(complete_wrap_up_url(appointment))
        return response

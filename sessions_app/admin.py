"""The Finance back office: people, mentee accounts and funding, and Service Appointments.

Finance gets in through the "Finance" group (see roles.py and migration 0002); what each model
lets them do comes from that group's permissions. The admin writes only what is plain data
(mentees, funders, funding arrangements, cancellation reasons, the schedule of a session still
to take place); anything with a history (booking, wrap-up, cancellation) goes through services.
"""

import datetime

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Exists, OuterRef
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format, localize
from django.utils.html import format_html
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin
from simple_history.models import DeletedObject
from simple_history.template_utils import HistoricalRecordContextHelper

from invoicing.selectors import appointments_awaiting_finance_for, finance_completion, open_tickets
from sessions_app.exceptions import AppointmentActionNotAllowed
from sessions_app.models import (
    AppointmentEvent,
    CancellationReason,
    Funder,
    FundingArrangement,
    Mentee,
    Mentor,
    Sequence,
    ServiceAppointment,
    User,
    WrapUpRequest,
    WrapUpRequestItem,
)
from sessions_app.selectors import funding_options
from sessions_app.services import (
    appointment_book,
    appointment_finance_complete,
    appointment_reschedule,
    mentor_regenerate_calendar_token,
)


# Finance goes from a session's "Complete wrap-up" page to the mentee's account to add the missing funding;
# this query parameter on the mentee's page brings them back to that session when they save.
RETURN_TO_WRAP_UP = "return_to_wrap_up"


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
class MentorAdmin(admin.ModelAdmin):
    list_display = ("name", "email", "hourly_pay_rate", "is_active")
    list_filter = ("is_active",)
    search_fields = ("user__full_name", "user__email")
    ordering = ("user__full_name",)
    autocomplete_fields = ("user",)
    # The feed address is the mentor's secret (anyone with it sees their sessions): it is shown only to the mentor,
    # on their calendar page. Finance can only replace it, with the list's action.
    fields = ("user", "hourly_pay_rate", "address", "is_active", "calendar_feed")
    readonly_fields = ("calendar_feed",)
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


# --------------------------------------------------------------------------- mentee accounts


class FundingArrangementInline(admin.TabularInline):
    model = FundingArrangement
    fields = ("kind", "funder", "reference", "hourly_rate", "hours_allowance", "valid_from", "valid_until")
    extra = 0
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("funder")


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


@admin.register(Funder)
class FunderAdmin(admin.ModelAdmin):
    list_display = ("name", "billing_contact_name", "billing_email", "sends_attendance_emails")
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
class FundingArrangementAdmin(AuditTrailAdmin):
    list_display = (
        "mentee", "kind", "funder", "reference", "hourly_rate", "hours_allowance", "valid_from", "valid_until",
    )
    list_filter = ("kind", ("funder", FunderListFilter))
    list_select_related = ("mentee", "funder")
    search_fields = ("mentee__full_name", "funder__name", "reference")
    autocomplete_fields = ("mentee", "funder")
    date_hierarchy = "valid_from"


@admin.register(CancellationReason)
class CancellationReasonAdmin(admin.ModelAdmin):
    list_display = ("label", "initiated_by", "is_active", "order")
    list_editable = ("is_active", "order")
    list_filter = ("initiated_by", "is_active")
    search_fields = ("label",)


# --------------------------------------------------------------------------- Service Appointments


class MentorListFilter(admin.RelatedFieldListFilter):
    """The mentor filter, with the mentors' names loaded in one query rather than one per mentor."""

    def field_choices(self, field, request, model_admin):
        return [(mentor.pk, str(mentor)) for mentor in Mentor.objects.select_related("user")]


class ToWrapUpFilter(admin.SimpleListFilter):
    title = "wrap-up"
    parameter_name = "wrap_up"

    def lookups(self, request, model_admin):
        return [("due", "Started, still to wrap up")]

    def queryset(self, request, queryset):
        if self.value() == "due":
            return queryset.to_wrap_up(timezone.now())
        return queryset


class ReadOnlyTabularInline(admin.TabularInline):
    """Rows written by services or jobs only: shown, never added, removed or edited here."""

    extra = 0
    max_num = 0
    can_delete = False


class AppointmentEventInline(ReadOnlyTabularInline):
    """The history of the session. It is written by services only, so it is read-only here."""

    model = AppointmentEvent
    fields = ("occurred_at", "kind", "actor", "on_behalf_of", "description")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor", "on_behalf_of")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


SCHEDULE_FIELDS = ("starts_at", "ends_at", "mode", "location")
WRAP_UP_FIELDS = (
    "outcome", "funding_arrangement", "actual_minutes", "session_notes", "admin_details",
    "wrapped_up_by", "wrapped_up_at",
)
CANCELLATION_FIELDS = ("cancellation_reason", "cancellation_note", "cancelled_by", "cancelled_at", "notice_hours")


class ServiceAppointmentForm(forms.ModelForm):
    class Meta:
        model = ServiceAppointment
        fields = ("mentor", "mentee", *SCHEDULE_FIELDS)

    def clean(self):
        cleaned_data = super().clean()
        if self.instance.pk and any(name in self.fields for name in SCHEDULE_FIELDS):
            # The page was opened while the session was Scheduled; it may have been wrapped up or cancelled since.
            current = ServiceAppointment.objects.select_for_update().get(pk=self.instance.pk)
            if current.status != ServiceAppointment.Status.SCHEDULED:
                raise forms.ValidationError(
                    f"{current.reference} is now {current.get_status_display()}, "
                    "so its time and place can no longer be changed."
                )
        return cleaned_data


def _when(moment) -> str:
    local = timezone.localtime(moment)
    return f"{date_format(local, 'j F Y')} at {local:%H:%M}"


def _funding_option_label(arrangement: FundingArrangement) -> str:
    until = date_format(arrangement.valid_until, "j M Y") if arrangement.valid_until else "open-ended"
    parts = [arrangement.label, f"£{arrangement.hourly_rate} an hour",
             f"valid {date_format(arrangement.valid_from, 'j M Y')} to {until}"]
    if arrangement.hours_allowance:
        parts.append(f"{arrangement.hours_allowance.normalize():f} hours authorised")
    return " · ".join(parts)


class FinanceCompleteForm(forms.Form):
    """Finance's answers for a session awaiting Finance. The service checks them and says what is wrong."""

    funding_arrangement = forms.ModelChoiceField(
        queryset=FundingArrangement.objects.none(), required=False, widget=forms.RadioSelect, empty_label=None,
        label="Funding arrangement",
    )
    reply = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4, "cols": 80}), label="Reply",
        help_text="Closes the session's open tickets with this reply, for the person who wrapped it up to read.",
    )

    def __init__(self, *args, appointment: ServiceAppointment, options: list[FundingArrangement], **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["funding_arrangement"]
        # Offered: the arrangements valid on the session's date. Accepted for checking: any of the mentee's,
        # so that one that no longer applies (changed meanwhile) gets the service's explanation.
        field.queryset = FundingArrangement.objects.filter(mentee_id=appointment.mentee_id).select_related("funder")
        field.choices = [(option.pk, _funding_option_label(option)) for option in options]
        if len(options) == 1:
            self.initial["funding_arrangement"] = options[0].pk


@admin.register(ServiceAppointment)
class ServiceAppointmentAdmin(AuditTrailAdmin):
    form = ServiceAppointmentForm
    list_display = ("reference", "starts", "mentor", "mentee", "mode", "status", "outcome")
    list_display_links = ("reference",)
    list_filter = (ToWrapUpFilter, "status", "outcome", "mode", ("mentor", MentorListFilter), "starts_at")
    list_select_related = ("mentor__user", "mentee")
    search_fields = ("reference", "mentee__full_name", "mentor__user__full_name", "mentor__user__email")
    search_help_text = "Search by SA reference, mentee name, or mentor name or email."
    date_hierarchy = "starts_at"
    ordering = ("-starts_at",)
    autocomplete_fields = ("mentor", "mentee")
    inlines = (AppointmentEventInline,)
    fieldsets = (
        (None, {"fields": ("reference", "status", "mentor", "mentee")}),
        ("When and where", {"fields": SCHEDULE_FIELDS}),
        ("Wrap-up", {"fields": WRAP_UP_FIELDS}),
        ("Cancellation", {"fields": CANCELLATION_FIELDS}),
        ("Record", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )
    add_fieldsets = (
        (None, {"fields": ("mentor", "mentee")}),
        ("When and where", {"fields": SCHEDULE_FIELDS}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("mentor__user", "mentee")

    def get_urls(self):
        return [
            path(
                "<path:object_id>/complete-wrap-up/",
                self.admin_site.admin_view(self.complete_wrap_up_view),
                name="sessions_app_serviceappointment_complete_wrap_up",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="starts", ordering="starts_at")
    def starts(self, appointment):
        return date_format(timezone.localtime(appointment.starts_at), "D j M Y, H:i")

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.status == ServiceAppointment.Status.AWAITING_FINANCE:
            context["complete_wrap_up_url"] = complete_wrap_up_url(obj)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    # ---- Finance completes a wrap-up that was sent to Finance ----

    def _not_completable(self, request, appointment: ServiceAppointment) -> str | None:
        problem = appointment.blocker("finance_complete", by=request.user)
        if problem is None:
            return None
        completion = finance_completion(appointment) if appointment.status == ServiceAppointment.Status.COMPLETED else None
        if completion is not None:
            return (f"{appointment.reference} was already completed by {completion.actor or 'someone'} "
                    f"on {_when(completion.occurred_at)}.")
        return str(problem)

    def complete_wrap_up_view(self, request, object_id):
        appointment = self.get_object(request, object_id)
        if appointment is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, appointment):
            raise PermissionDenied
        change_url = reverse("admin:sessions_app_serviceappointment_change", args=[appointment.pk])
        problem = self._not_completable(request, appointment)
        if problem:
            self.message_user(request, problem, messages.ERROR)
            return HttpResponseRedirect(change_url)

        options = funding_options(appointment)
        form = FinanceCompleteForm(request.POST or None, appointment=appointment, options=options)
        if request.method == "POST" and form.is_valid():
            try:
                appointment_finance_complete(
                    appointment_id=appointment.pk, acting_user=request.user,
                    funding_arrangement=form.cleaned_data["funding_arrangement"], reply=form.cleaned_data["reply"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            except AppointmentActionNotAllowed as refused:  # someone else completed it meanwhile
                appointment.refresh_from_db()
                self.message_user(request, self._not_completable(request, appointment) or str(refused), messages.ERROR)
                return HttpResponseRedirect(change_url)
            else:
                appointment.refresh_from_db()
                self.message_user(
                    request,
                    f"{appointment.reference} is completed ({appointment.funding_arrangement.label}). "
                    f"Its open tickets are answered with your reply, which {appointment.wrapped_up_by or 'the mentor'} "
                    "can now see.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:finance_queue"))

        mentee_url = reverse("admin:sessions_app_mentee_change", args=[appointment.mentee_id])
        context = {
            **self.admin_site.each_context(request),
            "title": f"Complete the wrap-up of {appointment.reference}",
            "subtitle": None,
            "opts": self.opts,
            "original": appointment,
            "appointment": appointment,
            "change_url": change_url,
            "session_day": date_format(timezone.localdate(appointment.starts_at), "j F Y"),
            "open_tickets": open_tickets().filter(appointment=appointment).select_related("raised_by"),
            "options": options,
            "form": form,
            "mentee_url": f"{mentee_url}?{RETURN_TO_WRAP_UP}={appointment.pk}",
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/sessions_app/serviceappointment/complete_wrap_up.html", context)

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else self.fieldsets

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        always = ("reference", "status", "mentor", "mentee", *WRAP_UP_FIELDS, *CANCELLATION_FIELDS,
                  "created_at", "updated_at")
        if obj.status == ServiceAppointment.Status.SCHEDULED:
            return always
        return (*always, *SCHEDULE_FIELDS)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else ()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "mentor":
            kwargs["queryset"] = Mentor.objects.filter(is_active=True).select_related("user")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            if any(name in form.fields for name in SCHEDULE_FIELDS):
                appointment_reschedule(
                    appointment_id=obj.pk, acting_user=request.user, starts_at=obj.starts_at,
                    ends_at=obj.ends_at, mode=obj.mode, location=obj.location,
                )
            return
        booked = appointment_book(
            mentor=obj.mentor,
            mentee=obj.mentee,
            starts_at=obj.starts_at,
            ends_at=obj.ends_at,
            mode=obj.mode,
            location=obj.location,
            acting_user=request.user,
        )
        # The admin goes on to log and redirect using `obj`: make it the booked appointment.
        for model_field in ServiceAppointment._meta.concrete_fields:
            setattr(obj, model_field.attname, getattr(booked, model_field.attname))
        obj._state.adding = False
        obj._state.db = booked._state.db

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AppointmentEvent)
class AppointmentEventAdmin(admin.ModelAdmin):
    list_display = ("appointment", "kind", "occurred_at", "actor", "on_behalf_of")
    list_filter = ("kind",)
    list_select_related = ("appointment", "actor", "on_behalf_of")
    search_fields = ("appointment__reference",)
    date_hierarchy = "occurred_at"
    fields = ("appointment", "kind", "occurred_at", "actor", "on_behalf_of", "description")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("appointment", "actor", "on_behalf_of")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Sequence)
class SequenceAdmin(admin.ModelAdmin):
    """Read-only: the counters behind SA, invoice and statement numbers. Changing one by hand would break them."""

    list_display = ("name", "last_value")
    readonly_fields = ("name", "last_value")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --------------------------------------------------------------------------- wrap-up requests


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
class WrapUpRequestAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

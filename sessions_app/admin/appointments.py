"""Service Appointments (booking, rescheduling, Finance's "Complete wrap-up" page), their events, cancellation
reasons and the reference counters."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format

from sessions_app.admin.common import (
    RETURN_TO_WRAP_UP,
    AuditTrailAdmin,
    IdAutocompleteMixin,
    ReadOnlyTabularInline,
    ViewOnlyAdmin,
    complete_wrap_up_url,
)
from sessions_app.admin.corrections import WrapUpCorrectionAdminMixin
from sessions_app.admin.sign_off import PaperSignOffAdminMixin
from sessions_app.admin.people import MentorListFilter
from sessions_app.allowance import Hours, arrangements_with_hours
from sessions_app.hooks import month_lock
from sessions_app.exceptions import AppointmentActionNotAllowed
from sessions_app.models import (
    AppointmentEvent,
    CancellationReason,
    FundingArrangement,
    Mentor,
    Sequence,
    ServiceAppointment,
)
from sessions_app import hooks
from sessions_app.selectors import finance_completion, funding_options
from sessions_app.scheduling import SessionClash, may_override_clash
from sessions_app.services import (
    appointment_book,
    appointment_finance_complete,
    appointment_reschedule,
    check_slot_free,
)


# --------------------------------------------------------------------------- Service Appointments


class ToWrapUpFilter(admin.SimpleListFilter):
    title = "wrap-up"
    parameter_name = "wrap_up"

    def lookups(self, request, model_admin):
        return [("due", "Started, still to wrap up")]

    def queryset(self, request, queryset):
        if self.value() == "due":
            return queryset.to_wrap_up(timezone.now())
        return queryset


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
    """Finance adds a session, or changes when and where a Scheduled one takes place. The clashes are the booking
    pages' (`check_slot_free`): the mentor or the mentee already has a session then that is not cancelled. The admin
    validates and saves in one transaction, so the rows it locks here stay locked until the session is written."""

    acting_user = None  # set by ServiceAppointmentAdmin.get_form: who is booking
    clash_override_reason = forms.CharField(
        label="Book over the clash: why", required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Only for someone who may book over a clash (Senior Leadership): kept in the session's history.")

    class Meta:
        model = ServiceAppointment
        fields = ("mentor", "mentee", *SCHEDULE_FIELDS)

    def clean(self):
        cleaned_data = super().clean()
        current = None
        if self.instance.pk and any(name in self.fields for name in SCHEDULE_FIELDS):
            # The page was opened while the session was Scheduled; it may have been wrapped up or cancelled since.
            current = ServiceAppointment.objects.select_for_update().get(pk=self.instance.pk)
            if current.status != ServiceAppointment.Status.SCHEDULED:
                raise forms.ValidationError(
                    f"{current.reference} is now {current.get_status_display()}, "
                    "so its time and place can no longer be changed."
                )
        self.clash_reason = self._check_clashes(cleaned_data, current)
        return cleaned_data

    def _check_clashes(self, data, current) -> str:
        starts_at, ends_at = data.get("starts_at"), data.get("ends_at")
        mentor_id = current.mentor_id if current else getattr(data.get("mentor"), "pk", None)
        mentee_id = current.mentee_id if current else getattr(data.get("mentee"), "pk", None)
        if not (starts_at and ends_at and mentor_id and mentee_id) or ends_at <= starts_at:
            return ""  # the fields' own errors say what is missing
        if current is not None and (starts_at, ends_at) == (current.starts_at, current.ends_at):
            return ""  # the time stays: only the place changes
        reason = (data.get("clash_override_reason") or "").strip()
        try:
            return check_slot_free(acting_user=self.acting_user, mentor_id=mentor_id, mentee_id=mentee_id,
                                   starts_at=starts_at, ends_at=ends_at, clash_override_reason=reason,
                                   exclude_ids=[current.pk] if current else [])
        except SessionClash as clash:
            raise forms.ValidationError(str(clash)) from clash


def _when(moment) -> str:
    local = timezone.localtime(moment)
    return f"{date_format(local, 'j F Y')} at {local:%H:%M}"


def _funding_option_label(arrangement: FundingArrangement, hours: Hours | None = None) -> str:
    until = date_format(arrangement.valid_until, "j M Y") if arrangement.valid_until else "open-ended"
    parts = [arrangement.label, f"£{arrangement.hourly_rate} an hour",
             f"valid {date_format(arrangement.valid_from, 'j M Y')} to {until}"]
    if arrangement.hours_allowance:
        authorised = f"{arrangement.hours_allowance.normalize():f} hours authorised"
        if hours is not None:  # what Finance needs to decide on a session over the authorised hours
            authorised += f" ({hours.used} used, {hours.left_after_used} left before this session)"
        parts.append(authorised)
    return " · ".join(parts)


class FinanceCompleteForm(forms.Form):
    """Finance's answers for a session awaiting Finance. The service checks them and says what is wrong."""

    funding_arrangement = forms.ModelChoiceField(
        queryset=FundingArrangement.objects.none(), required=False, widget=forms.RadioSelect, empty_label=None,
        label="Funding arrangement",
    )
    write_off = forms.BooleanField(
        required=False, label="Write it off",
        help_text="Bill nobody for this session (for one over its arrangement's authorised hours that neither the "
                  "funder nor the mentee pays). The mentor is paid as the billing and pay policy says.",
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
        hours = {arrangement.pk: hours for arrangement, hours in arrangements_with_hours(
            FundingArrangement.objects.filter(pk__in=[option.pk for option in options if option.hours_allowance]))}
        field.choices = [(option.pk, _funding_option_label(option, hours.get(option.pk))) for option in options]
        if len(options) == 1:
            self.initial["funding_arrangement"] = options[0].pk


@admin.register(ServiceAppointment)
class ServiceAppointmentAdmin(
    IdAutocompleteMixin, PaperSignOffAdminMixin, WrapUpCorrectionAdminMixin, AuditTrailAdmin
):
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
            *self.correction_urls(),
            *self.paper_sign_off_urls(),
            *super().get_urls(),
        ]

    @admin.display(description="starts", ordering="starts_at")
    def starts(self, appointment):
        return date_format(timezone.localtime(appointment.starts_at), "D j M Y, H:i")

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.status == ServiceAppointment.Status.AWAITING_FINANCE:
            context["complete_wrap_up_url"] = complete_wrap_up_url(obj)
        if obj is not None:
            context["month_lock"] = month_lock(timezone.localdate(obj.starts_at))
            context.update(self.correction_tools(request, obj))
            context.update(self.paper_sign_off_tools(request, obj))
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
                write_off = form.cleaned_data["write_off"]
                appointment_finance_complete(
                    appointment_id=appointment.pk, acting_user=request.user, write_off=write_off,
                    funding_arrangement=None if write_off else form.cleaned_data["funding_arrangement"],
                    reply=form.cleaned_data["reply"],
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
                    f"{appointment.reference} is completed "
                    f"({appointment.funding_arrangement.label if appointment.funding_arrangement else 'written off'}). "
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
            "open_tickets": hooks.open_tickets_about(appointment),
            "options": options,
            "form": form,
            "mentee_url": f"{mentee_url}?{RETURN_TO_WRAP_UP}={appointment.pk}",
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/sessions_app/serviceappointment/complete_wrap_up.html", context)

    def get_fieldsets(self, request, obj=None):
        fieldsets = self.add_fieldsets if obj is None else self.fieldsets
        if may_override_clash(request.user) and (obj is None or obj.status == ServiceAppointment.Status.SCHEDULED):
            fieldsets = [(name, {**options, "fields": (*options["fields"], "clash_override_reason")})
                         if name == "When and where" else (name, options) for name, options in fieldsets]
        return fieldsets

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.acting_user = request.user  # a class made for this request
        return form

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
                    clash_override_reason=getattr(form, "clash_reason", ""),
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
            clash_override_reason=getattr(form, "clash_reason", ""),
        )
        # The admin goes on to log and redirect using `obj`: make it the booked appointment.
        for model_field in ServiceAppointment._meta.concrete_fields:
            setattr(obj, model_field.attname, getattr(booked, model_field.attname))
        obj._state.adding = False
        obj._state.db = booked._state.db

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AppointmentEvent)
class AppointmentEventAdmin(ViewOnlyAdmin):
    list_display = ("appointment", "kind", "occurred_at", "actor", "on_behalf_of")
    list_filter = ("kind",)
    list_select_related = ("appointment", "actor", "on_behalf_of")
    search_fields = ("appointment__reference",)
    date_hierarchy = "occurred_at"
    fields = ("appointment", "kind", "occurred_at", "actor", "on_behalf_of", "description")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("appointment", "actor", "on_behalf_of")


@admin.register(Sequence)
class SequenceAdmin(ViewOnlyAdmin):
    """Read-only: the counters behind SA, invoice and statement numbers. Changing one by hand would break them."""

    list_display = ("name", "last_value")
    readonly_fields = ("name", "last_value")


# --------------------------------------------------------------------------- cancellation reasons


@admin.register(CancellationReason)
class CancellationReasonAdmin(admin.ModelAdmin):
    list_display = ("label", "initiated_by", "is_active", "order")
    list_editable = ("is_active", "order")
    list_filter = ("initiated_by", "is_active")
    search_fields = ("label",)

"""Finance's personal-data pages: on a mentee's or mentor's page (and their lists), "Export personal data" (a ZIP
for a subject access request) and "Erase this person…" (a confirmation page, then the erasure); the record of
exports and erasures; and the internal cancellation notes withheld from exports.

The mentee and mentor pages are sessions_app's: this app sits above it and adds its actions by registering them
again with the actions mixed in (sessions_app knows nothing of personal data requests)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.http import StreamingHttpResponse
from django.template.loader import select_template
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from privacy.models import Erasure, PersonalDataExport, Subject, WithheldNote
from privacy.selectors import erasure_preview
from privacy.services import ErasureRefused, person_erase, personal_data_export
from privacy.services.erasure import payments_waiting, upcoming_sessions
from sessions_app.admin.common import ViewOnlyAdmin
from sessions_app.models import Mentee, Mentor, ServiceAppointment


class ErasureForm(forms.Form):
    reason = forms.CharField(
        label="Why", widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), max_length=2000,
        help_text="For example “Erasure request received 2 March 2027, ref. DP-12”. Kept after the erasure, so "
                  "never the person's name or contact details.",
        error_messages={"required": "Say why this person is erased."},
    )

    def clean_reason(self):
        reason = self.cleaned_data["reason"]
        if "\x00" in reason:
            raise forms.ValidationError("Null characters are not allowed.")
        return reason


class PersonalDataActions:
    """Mixed into the mentee and mentor admin: the two actions, each for one person at a time."""

    subject_kind: str

    def has_export_personal_data_permission(self, request):
        return request.user.has_perm("privacy.export_personal_data")

    def has_erase_personal_data_permission(self, request):
        return request.user.has_perm("privacy.erase_personal_data")

    def _one(self, request, queryset, doing: str):
        if queryset.count() != 1:
            self.message_user(request, f"Choose one {self.opts.verbose_name} to {doing}: it is done for one person "
                                       "at a time.", messages.ERROR)
            return None
        return queryset.get()

    @admin.action(description="Export personal data (subject access request)", permissions=["export_personal_data"])
    def export_personal_data(self, request, queryset):
        person = self._one(request, queryset, "export")
        if person is None:
            return None
        filename, chunks = personal_data_export(kind=self.subject_kind, person=person, acting_user=request.user)
        response = StreamingHttpResponse(chunks, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    @admin.action(description="Erase this person…", permissions=["erase_personal_data"])
    def erase_person(self, request, queryset):
        person = self._one(request, queryset, "erase")
        if person is None:
            return None
        form = ErasureForm(request.POST if "confirm_erasure" in request.POST else None)
        if form.is_bound and form.is_valid():
            try:
                erasure = person_erase(kind=self.subject_kind, person_id=person.pk, acting_user=request.user,
                                       reason=form.cleaned_data["reason"])
            except ErasureRefused as refused:
                form.add_error("reason", str(refused))
            else:
                self.message_user(request, f"{Subject(self.subject_kind).label} {person.pk} is erased: "
                                           f"{sum(erasure.counts.values())} records anonymised. Documents HMRC "
                                           "requires are kept until their retention period ends.", messages.SUCCESS)
                return None
        context = {
            **self.admin_site.each_context(request),
            "title": f"Erase this {self.opts.verbose_name}?",
            "opts": self.opts,
            "person": person,
            "form": form,
            "preview": erasure_preview(self.subject_kind, person),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "already_erased": Erasure.objects.filter(subject_kind=self.subject_kind, subject_id=person.pk).first(),
            "upcoming": upcoming_sessions(self.subject_kind, person, timezone.now()),
            "payments_waiting": payments_waiting(self.subject_kind, person),
        }
        return TemplateResponse(request, "admin/privacy/erase_confirmation.html", context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        # The page sessions_app would have shown (its own template for the model, if it has one), with the buttons.
        opts = self.opts
        context["privacy_base_template"] = select_template([
            f"admin/{opts.app_label}/{opts.model_name}/change_form.html", f"admin/{opts.app_label}/change_form.html",
            "admin/change_form.html"]).template.name
        context["personal_data_actions"] = obj is not None and not add and {
            "changelist": reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"),
            "export": self.has_export_personal_data_permission(request),
            "erase": self.has_erase_personal_data_permission(request),
        }
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)


def _with_personal_data_actions(model, kind: str, template: str):
    registered = type(admin.site._registry[model])
    admin.site.unregister(model)
    admin_class = type(registered.__name__, (PersonalDataActions, registered), {
        "__module__": __name__, "subject_kind": kind, "change_form_template": template,
        "actions": (*(registered.actions or ()), "export_personal_data", "erase_person"),
    })
    admin.site.register(model, admin_class)


_with_personal_data_actions(Mentee, Subject.MENTEE, "admin/privacy/person_change_form.html")
_with_personal_data_actions(Mentor, Subject.MENTOR, "admin/privacy/person_change_form.html")


# --------------------------------------------------------------------------- the records


def _person_link(kind, subject_id):
    from django.utils.html import format_html

    model = Mentee if kind == Subject.MENTEE else Mentor
    if not model.objects.filter(pk=subject_id).exists():
        return f"{Subject(kind).label} {subject_id} (deleted)"
    url = reverse(f"admin:sessions_app_{model._meta.model_name}_change", args=[subject_id])
    return format_html('<a href="{}">{} {}</a>', url, Subject(kind).label, subject_id)


@admin.register(PersonalDataExport)
class PersonalDataExportAdmin(ViewOnlyAdmin):
    list_display = ("requested_at", "requested_by", "subject_kind", "person")
    list_filter = ("subject_kind",)
    date_hierarchy = "requested_at"
    list_select_related = ("requested_by",)

    @admin.display(description="person")
    def person(self, export):
        return _person_link(export.subject_kind, export.subject_id)


@admin.register(Erasure)
class ErasureAdmin(ViewOnlyAdmin):
    list_display = ("erased_at", "erased_by", "subject_kind", "person", "reason")
    list_filter = ("subject_kind",)
    date_hierarchy = "erased_at"
    list_select_related = ("erased_by",)
    fields = ("erased_at", "erased_by", "subject_kind", "subject_id", "reason", "counts")

    @admin.display(description="person")
    def person(self, erasure):
        return _person_link(erasure.subject_kind, erasure.subject_id)


class WithheldNoteForm(forms.ModelForm):
    session = forms.CharField(label="Session", max_length=20, help_text="Its reference, e.g. SA-000123.",
                              error_messages={"required": "Enter the session's reference, e.g. SA-000123."})

    class Meta:
        model = WithheldNote
        fields = ("reason",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            del self.fields["session"]

    def clean_session(self):
        reference = self.cleaned_data["session"].strip().upper()
        appointment = ServiceAppointment.objects.filter(reference=reference).first() if "\x00" not in reference else None
        if appointment is None:
            raise forms.ValidationError(f"There is no session {reference}.")
        if not appointment.cancellation_note.strip():
            raise forms.ValidationError(f"{appointment.reference} has no internal cancellation note to withhold.")
        if WithheldNote.objects.filter(appointment=appointment).exists():
            raise forms.ValidationError(f"The internal note of {appointment.reference} is already withheld.")
        self.instance.appointment = appointment
        return reference

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if "\x00" in reason:
            raise forms.ValidationError("Null characters are not allowed.")
        if not reason:
            raise forms.ValidationError("Say why the note is withheld.")
        return reason


@admin.register(WithheldNote)
class WithheldNoteAdmin(admin.ModelAdmin):
    form = WithheldNoteForm
    list_display = ("appointment", "reason", "withheld_by", "withheld_at")
    list_select_related = ("appointment", "withheld_by")
    search_fields = ("appointment__reference",)

    def get_fields(self, request, obj=None):
        return ("appointment", "reason", "withheld_by", "withheld_at") if obj is not None else ("session", "reason")

    def get_readonly_fields(self, request, obj=None):
        return ("appointment", "withheld_by", "withheld_at") if obj is not None else ()

    def save_model(self, request, obj, form, change):
        if not change:
            obj.withheld_by = request.user
        super().save_model(request, obj, form, change)

"""Finance's "Correct this wrap-up" and "Reopen" pages on a Service Appointment's admin page (object tools), each a
form then the one service (sessions_app.services.corrections), like Django's delete confirmation: nothing changes
until the form is submitted with a reason."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format

from sessions_app.exceptions import AppointmentActionNotAllowed
from sessions_app.forms.corrections import CorrectWrapUpForm, ReopenForm
from sessions_app.models import ServiceAppointment
from sessions_app.selectors import funding_options
from sessions_app.services import appointment_correct, appointment_reopen


def correct_wrap_up_url(appointment: ServiceAppointment) -> str:
    return reverse("admin:sessions_app_serviceappointment_correct_wrap_up", args=[appointment.pk])


def reopen_url(appointment: ServiceAppointment) -> str:
    return reverse("admin:sessions_app_serviceappointment_reopen", args=[appointment.pk])


class WrapUpCorrectionAdminMixin:
    """For ServiceAppointmentAdmin: the two pages, their URLs and their object tools."""

    def correction_urls(self):
        return [
            path("<path:object_id>/correct-wrap-up/", self.admin_site.admin_view(self.correct_wrap_up_view),
                 name="sessions_app_serviceappointment_correct_wrap_up"),
            path("<path:object_id>/reopen/", self.admin_site.admin_view(self.reopen_view),
                 name="sessions_app_serviceappointment_reopen"),
        ]

    def correction_tools(self, request, appointment: ServiceAppointment) -> dict:
        """The object tools' links, for the sessions they apply to and the people who may use them."""
        tools = {}
        if appointment.can("correct", by=request.user):
            tools["correct_wrap_up_url"] = correct_wrap_up_url(appointment)
        if appointment.can("reopen", by=request.user):
            tools["reopen_url"] = reopen_url(appointment)
        return tools

    def _correction_page(self, request, object_id, action):
        appointment = self.get_object(request, object_id)
        if appointment is None:
            return None, self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, appointment):
            raise PermissionDenied
        problem = appointment.blocker(action, by=request.user)
        if problem is not None:
            self.message_user(request, str(problem), messages.ERROR)
            return None, HttpResponseRedirect(self._change_url(appointment))
        return appointment, None

    def _change_url(self, appointment) -> str:
        return reverse("admin:sessions_app_serviceappointment_change", args=[appointment.pk])

    def _context(self, request, appointment, title, form):
        return {
            **self.admin_site.each_context(request),
            "title": title, "subtitle": None, "opts": self.opts, "original": appointment, "appointment": appointment,
            "change_url": self._change_url(appointment), "form": form, "media": self.media + form.media,
            "session_day": date_format(timezone.localdate(appointment.starts_at), "j F Y"),
        }

    def _done(self, request, appointment, message):
        for effect in getattr(appointment, "correction_effects", []):
            message += " " + effect
        self.message_user(request, message, messages.SUCCESS)
        return HttpResponseRedirect(self._change_url(appointment))

    def correct_wrap_up_view(self, request, object_id):
        appointment, refusal = self._correction_page(request, object_id, "correct")
        if refusal:
            return refusal
        form = CorrectWrapUpForm(request.POST or None, appointment=appointment, options=funding_options(appointment))
        if request.method == "POST" and form.is_valid():
            try:
                corrected = appointment_correct(appointment_id=appointment.pk, acting_user=request.user,
                                                **form.service_arguments())
            except ValidationError as error:
                _add_errors(form, error)
            except AppointmentActionNotAllowed as refused:  # reopened or changed meanwhile
                self.message_user(request, str(refused), messages.ERROR)
                return HttpResponseRedirect(self._change_url(appointment))
            else:
                return self._done(request, corrected, f"The wrap-up of {corrected.reference} is corrected.")
        return TemplateResponse(request, "admin/sessions_app/serviceappointment/correct_wrap_up.html",
                                self._context(request, appointment, f"Correct the wrap-up of {appointment.reference}",
                                              form))

    def reopen_view(self, request, object_id):
        appointment, refusal = self._correction_page(request, object_id, "reopen")
        if refusal:
            return refusal
        form = ReopenForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                reopened = appointment_reopen(appointment_id=appointment.pk, acting_user=request.user,
                                              reason=form.cleaned_data["reason"])
            except ValidationError as error:
                _add_errors(form, error)
            except AppointmentActionNotAllowed as refused:  # on an issued document, or changed meanwhile
                self.message_user(request, str(refused), messages.ERROR)
                return HttpResponseRedirect(self._change_url(appointment))
            else:
                return self._done(request, reopened,
                                  f"{reopened.reference} is reopened: it is to be wrapped up again.")
        return TemplateResponse(request, "admin/sessions_app/serviceappointment/reopen.html",
                                self._context(request, appointment, f"Reopen {appointment.reference}?", form))


def _add_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, problems in error.message_dict.items():
            form.add_error(field if field in form.fields else None, problems)
    else:
        form.add_error(None, error)

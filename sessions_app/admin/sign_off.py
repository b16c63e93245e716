"""Finance records a mentee's sign-off received on paper, from the Service Appointment's admin page (an object tool,
then a page asking for the answer and the reason). Its own permission, `record_paper_sign_off`, given to Finance."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from sessions_app.exceptions import SignOffAlreadyAnswered
from sessions_app.forms.sign_off import PaperSignOffForm
from sessions_app.models import ServiceAppointment, SessionSignOff
from sessions_app.services import sign_off_record_paper
from sessions_app.services.sign_off import sign_off_text

PERMISSION = "sessions_app.record_paper_sign_off"


def paper_sign_off_url(appointment: ServiceAppointment) -> str:
    return reverse("admin:sessions_app_serviceappointment_paper_sign_off", args=[appointment.pk])


class PaperSignOffAdminMixin:
    """For ServiceAppointmentAdmin: the page, its URL, its object tool and the sign-off's state on the page."""

    def paper_sign_off_urls(self):
        return [path("<path:object_id>/paper-sign-off/", self.admin_site.admin_view(self.paper_sign_off_view),
                     name="sessions_app_serviceappointment_paper_sign_off")]

    def paper_sign_off_tools(self, request, appointment: ServiceAppointment) -> dict:
        sign_off = SessionSignOff.objects.filter(appointment=appointment).first()
        tools = {"sign_off_text": sign_off_text(sign_off)}
        if (request.user.has_perm(PERMISSION) and appointment.status == ServiceAppointment.Status.COMPLETED
                and (sign_off is None or sign_off.state != SessionSignOff.State.CONFIRMED)):
            tools["paper_sign_off_url"] = paper_sign_off_url(appointment)
        return tools

    def paper_sign_off_view(self, request, object_id):
        appointment = self.get_object(request, object_id)
        if appointment is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not request.user.has_perm(PERMISSION):
            raise PermissionDenied
        change_url = reverse("admin:sessions_app_serviceappointment_change", args=[appointment.pk])
        form = PaperSignOffForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                recorded = sign_off_record_paper(
                    appointment_id=appointment.pk, acting_user=request.user,
                    confirmed=form.cleaned_data["answer"] == "confirm", reason=form.cleaned_data["reason"],
                    comment=form.cleaned_data["comment"])
            except ValidationError as error:
                for field, problems in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, problems)
            except SignOffAlreadyAnswered as refused:
                self.message_user(request, str(refused), messages.ERROR)
                return HttpResponseRedirect(change_url)
            else:
                self.message_user(request, f"{appointment.reference}: {sign_off_text(recorded)}.", messages.SUCCESS)
                return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Record the mentee's sign-off of {appointment.reference}", "subtitle": None, "opts": self.opts,
            "original": appointment, "appointment": appointment, "change_url": change_url, "form": form,
            "media": self.media + form.media,
            "sign_off_text": sign_off_text(SessionSignOff.objects.filter(appointment=appointment).first()),
        }
        return TemplateResponse(request, "admin/sessions_app/serviceappointment/paper_sign_off.html", context)

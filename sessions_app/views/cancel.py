import copy

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse

from sessions_app.exceptions import AppointmentActionNotAllowed, LateNoticeCancellation
from sessions_app.forms.cancel import CancelConfirmForm, CancelReasonForm
from sessions_app.hooks import attendance_email_preview
from sessions_app.models import ServiceAppointment
from sessions_app.services import appointment_cancel
from sessions_app.views.wizard import AppointmentWizard


class CancelWizard(AppointmentWizard):
    action, prefix_name, nothing_done = "cancel", "cancel", "nothing was cancelled"
    form_list = [("reason", CancelReasonForm), ("confirm", CancelConfirmForm)]
    template_name = "sessions_app/cancel.html"

    def refuse(self, problem):
        if isinstance(problem, LateNoticeCancellation):
            messages.info(self.request, str(problem))
            return redirect(reverse("appointment-wrap-up", args=[self.appointment.reference]) + "?outcome=late_cancellation")
        return super().refuse(problem)

    def get_context_data(self, form, **kwargs):
        context = super().get_context_data(form=form, **kwargs)
        context["appointment"] = self.appointment
        context["step_titles"] = [("reason", "Reason and note"), ("confirm", "Preview and confirm")]
        if self.steps.current == "confirm":
            answers = self.get_cleaned_data_for_step("reason") or {}
            preview = copy.copy(self.appointment)
            preview.status = ServiceAppointment.Status.CANCELLED
            preview.cancellation_reason = answers.get("reason")
            context.update(email=attendance_email_preview(preview), answers=answers)
        return context

    def done(self, form_list, form_dict, **kwargs):
        answers = form_dict["reason"].cleaned_data
        try:
            appointment = appointment_cancel(
                appointment_id=self.appointment.pk, acting_user=self.request.user,
                reason=answers["reason"], internal_note=answers["internal_note"], offer_rebooking=True,
            )
        except LateNoticeCancellation as problem:
            messages.info(self.request, str(problem))
            return redirect(reverse("appointment-wrap-up", args=[self.appointment.reference]) + "?outcome=late_cancellation")
        except AppointmentActionNotAllowed as problem:
            messages.error(self.request, str(problem))
            return redirect(self.appointment)
        except ValidationError as problem:
            for message in problem.messages:
                messages.error(self.request, message)
            return redirect(reverse("appointment-cancel", args=[self.appointment.reference]))
        message = (f"{appointment.reference} is cancelled. The attendance email gives the reason "
                   f"“{appointment.cancellation_reason}”; your internal note is not shared.")
        if settings.REBOOKING_HOLD_MINUTES > 0:
            message += (f" Book a replacement in the next {settings.REBOOKING_HOLD_MINUTES} minutes and "
                        f"{appointment.mentee.full_name} gets one email saying it is cancelled and rebooked.")
        messages.success(self.request, message)
        return redirect(appointment)

import copy

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from formtools.wizard.views import SessionWizardView

from notifications.attendance import attendance_email
from sessions_app.exceptions import AppointmentActionNotAllowed, LateNoticeCancellation
from sessions_app.forms.cancel import CancelConfirmForm, CancelReasonForm
from sessions_app.models import ServiceAppointment
from sessions_app.services import appointment_cancel
from sessions_app.views.appointments import visible_appointment


class CancelWizard(LoginRequiredMixin, SessionWizardView):
    form_list = [("reason", CancelReasonForm), ("confirm", CancelConfirmForm)]
    template_name = "sessions_app/cancel.html"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.appointment = visible_appointment(request, kwargs["reference"])
        problem = self.appointment.blocker("cancel", by=request.user)
        if isinstance(problem, LateNoticeCancellation):
            messages.info(request, str(problem))
            return redirect(reverse("appointment-wrap-up", args=[self.appointment.reference]) + "?outcome=late_cancellation")
        if problem is not None:
            messages.error(request, str(problem))
            return redirect(self.appointment)
        return super().dispatch(request, *args, **kwargs)

    def get_prefix(self, request, *args, **kwargs):
        return f"cancel_{kwargs['reference']}"

    def post(self, *args, **kwargs):
        """A page posted out of order, or tampered with, gets the current step back with a message."""
        steps = self.get_form_list()
        if self.steps.current not in steps:
            self.storage.current_step = self.steps.first
        posted = self.request.POST.get(f"{self.prefix}-current_step")
        if self.request.POST.get("wizard_goto_step") not in steps and posted not in steps:
            messages.error(self.request,
                           "This page was out of date, so nothing was cancelled. Carry on from this step.")
            return self.render(self.get_form())
        return super().post(*args, **kwargs)

    def render_revalidation_failure(self, failed_step, form, **kwargs):
        messages.error(self.request, "Some answers were missing or out of date, so nothing was cancelled. "
                                     "Check this step and carry on.")
        return super().render_revalidation_failure(failed_step, form, **kwargs)

    def render_goto_step(self, goto_step, **kwargs):
        form = self.get_form(data=self.request.POST, files=self.request.FILES)
        self.storage.set_step_data(self.steps.current, self.process_step(form))
        return super().render_goto_step(goto_step, **kwargs)

    def get_context_data(self, form, **kwargs):
        context = super().get_context_data(form=form, **kwargs)
        context["appointment"] = self.appointment
        context["step_titles"] = [("reason", "Reason and note"), ("confirm", "Preview and confirm")]
        if self.steps.current == "confirm":
            answers = self.get_cleaned_data_for_step("reason") or {}
            preview = copy.copy(self.appointment)
            preview.status = ServiceAppointment.Status.CANCELLED
            preview.cancellation_reason = answers.get("reason")
            context.update(email=attendance_email(preview), answers=answers)
        return context

    def done(self, form_list, form_dict, **kwargs):
        answers = form_dict["reason"].cleaned_data
        try:
            appointment = appointment_cancel(
                appointment_id=self.appointment.pk, acting_user=self.request.user,
                reason=answers["reason"], internal_note=answers["internal_note"],
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
        messages.success(
            self.request,
            f"{appointment.reference} is cancelled. The attendance email gives the reason “{appointment.cancellation_reason}”; "
            "your internal note is not shared.",
        )
        return redirect(appointment)

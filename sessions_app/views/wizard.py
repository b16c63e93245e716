from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import redirect
from formtools.wizard.views import SessionWizardView

from sessions_app.views.appointments import visible_appointment


class AppointmentWizard(LoginRequiredMixin, SessionWizardView):
    """A wizard over one Service Appointment: only for whom the action is allowed, answers kept per appointment
    and on Back, and a stale or tampered page answered with a message instead of an error."""

    action: str  # the transition the wizard leads to, checked before every step
    prefix_name: str
    nothing_done: str  # what did not happen when a page was out of date, e.g. "nothing was saved"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.appointment = visible_appointment(request, kwargs["reference"])
        problem = self.appointment.blocker(self.action, by=request.user)
        if problem is not None:
            return self.refuse(problem)
        return super().dispatch(request, *args, **kwargs)

    def refuse(self, problem):
        messages.error(self.request, str(problem))
        return redirect(self.appointment)

    def get_context_data(self, form, **kwargs):
        context = super().get_context_data(form=form, **kwargs)
        # Someone acting for the mentor (Senior Leadership, Finance) is told so plainly on every step.
        mentor_user = self.appointment.mentor.user
        context["acting_for"] = mentor_user if mentor_user.pk != self.request.user.pk else None
        return context

    def get_prefix(self, request, *args, **kwargs):
        return f"{self.prefix_name}_{kwargs['reference']}"

    def post(self, *args, **kwargs):
        steps = self.get_form_list()
        if self.steps.current not in steps:
            self.storage.current_step = self.steps.first
        posted = self.request.POST.get(f"{self.prefix}-current_step")
        if self.request.POST.get("wizard_goto_step") not in steps and posted not in steps:
            messages.error(self.request, f"This page was out of date, so {self.nothing_done}. Carry on from this step.")
            return self.render(self.get_form())
        return super().post(*args, **kwargs)

    def render_revalidation_failure(self, failed_step, form, **kwargs):
        messages.error(self.request, f"Some answers were missing or out of date, so {self.nothing_done}. "
                                     "Check this step and carry on.")
        return super().render_revalidation_failure(failed_step, form, **kwargs)

    def render_goto_step(self, goto_step, **kwargs):
        """Back, and the review's Change links, keep what was typed on the page being left."""
        form = self.get_form(data=self.request.POST, files=self.request.FILES)
        self.storage.set_step_data(self.steps.current, self.process_step(form))
        return super().render_goto_step(goto_step, **kwargs)

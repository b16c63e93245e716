from functools import cached_property

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse

from sessions_app.exceptions import AppointmentActionNotAllowed
from sessions_app.forms.wrap_up import FundingForm, LateCancellationForm, NotesForm, OutcomeForm, ReviewForm
from sessions_app.models import ServiceAppointment
from sessions_app.selectors import funding_options
from sessions_app.services import WrapUp, appointment_wrap_up
from sessions_app.views.wizard import AppointmentWizard

Outcome = ServiceAppointment.Outcome


def _needs_funding(wizard) -> bool:
    data = wizard.get_cleaned_data_for_step("outcome") or {}
    return data.get("outcome") != Outcome.CANCELLED


def _is_late_cancellation(wizard) -> bool:
    data = wizard.get_cleaned_data_for_step("outcome") or {}
    return data.get("outcome") == Outcome.LATE_CANCELLATION


class WrapUpWizard(AppointmentWizard):
    action, prefix_name, nothing_done = "wrap_up", "wrap_up", "nothing was saved"
    form_list = [("outcome", OutcomeForm), ("cancellation", LateCancellationForm), ("funding", FundingForm),
                 ("notes", NotesForm), ("review", ReviewForm)]
    condition_dict = {"cancellation": _is_late_cancellation, "funding": _needs_funding}
    template_name = "sessions_app/wrap_up.html"

    @cached_property
    def funding_options(self):
        return funding_options(self.appointment)

    # ---- GET: start afresh, or come back (from the ticket form) with the answers kept ----
    def get(self, request, *args, **kwargs):
        if request.GET.get("resume") and self.storage.current_step:
            step = self.storage.current_step
            return self.render(self.get_form(step=step))
        response = super().get(request, *args, **kwargs)
        if request.GET.get("outcome") in dict(Outcome.choices):
            self.storage.extra_data = {"outcome": request.GET["outcome"]}
            response = self.render(self.get_form())
        return response

    # ---- forms ----
    def get_form_kwargs(self, step=None):
        if step == "outcome":
            return {"user": self.request.user, "before_start": not self.appointment.has_started()}
        if step == "funding":
            return {"options": self.funding_options}
        if step == "notes":
            return {"outcome": self._outcome(), "booked_minutes": self.appointment.booked_minutes}
        if step == "review":
            return {"missing": self._missing()}
        return {}

    def get_form_initial(self, step):
        if step == "outcome" and self.storage.extra_data.get("outcome"):
            return {"outcome": self.storage.extra_data["outcome"]}
        return super().get_form_initial(step)

    def _outcome(self):
        return (self.get_cleaned_data_for_step("outcome") or {}).get("outcome")

    def _funding(self):
        if not _needs_funding(self):
            return None
        return (self.get_cleaned_data_for_step("funding") or {}).get("funding")

    def _cancellation(self) -> dict:
        """The late-notice cancellation's reason and internal note; nothing for any other outcome."""
        if not _is_late_cancellation(self):
            return {}
        return self.get_cleaned_data_for_step("cancellation") or {}

    def _missing(self) -> list[str]:
        if _needs_funding(self) and self._funding() is None:
            return ["the funding type"]
        return []

    def get_context_data(self, form, **kwargs):
        context = super().get_context_data(form=form, **kwargs)
        context.update(
            appointment=self.appointment,
            funding_options=self.funding_options,
            ticket_url=(
                reverse("appointment-ticket", args=[self.appointment.reference])
                + "?next="
                + reverse("appointment-wrap-up", args=[self.appointment.reference])
                + "%3Fresume%3D1"
            ),
            step_titles=[(name, getattr(self.form_list[name], "step_title", self.form_list[name].title))
                         for name in self.get_form_list()],
        )
        if self.steps.current == "review":
            notes = self.get_cleaned_data_for_step("notes") or {}
            outcome = self._outcome()
            context.update(
                summary_outcome=dict(Outcome.choices).get(outcome),
                summary_funding=self._funding(),
                summary_needs_funding=_needs_funding(self),
                summary_notes=notes.get("session_notes", ""),
                summary_minutes=notes.get("actual_minutes"),
                summary_cancellation=self._cancellation(),
                missing=self._missing(),
            )
        return context

    # ---- submit ----
    def done(self, form_list, form_dict, **kwargs):
        notes = form_dict["notes"].cleaned_data
        cancellation = self._cancellation()
        answers = WrapUp(
            outcome=form_dict["outcome"].cleaned_data["outcome"],
            funding_arrangement=self._funding(),
            session_notes=notes.get("session_notes", ""),
            actual_minutes=notes.get("actual_minutes"),
            admin_details=form_dict["review"].cleaned_data["admin_details"],
            cancellation_reason=cancellation.get("reason"),
            cancellation_note=cancellation.get("internal_note", ""),
        )
        try:
            appointment = appointment_wrap_up(
                appointment_id=self.appointment.pk, acting_user=self.request.user, answers=answers
            )
        except AppointmentActionNotAllowed as problem:
            messages.error(self.request, str(problem))
            return redirect(self.appointment)
        except ValidationError as problem:
            for message in problem.messages:
                messages.error(self.request, message)
            return redirect(reverse("appointment-wrap-up", args=[self.appointment.reference]))
        if appointment.status == ServiceAppointment.Status.AWAITING_FINANCE:
            messages.warning(
                self.request,
                f"{appointment.reference} is wrapped up and with Finance: they will find the missing information, "
                "add it to the mentee's account and complete the session record.",
            )
        else:
            messages.success(
                self.request, f"{appointment.reference} is wrapped up. The session record is complete."
            )
        return redirect(appointment)

"""Senior Leadership's "Correct outcome or notes" page, from the SA page: they have no admin, and may correct what
happened and the session notes (Finance corrects the funding and duration in the admin). The one service decides."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render

from sessions_app.exceptions import AppointmentActionNotAllowed
from sessions_app.forms.corrections import CorrectOutcomeForm
from sessions_app.services import appointment_correct

from .appointments import visible_appointment


@login_required
def correct_outcome(request, reference):
    appointment = visible_appointment(request, reference)
    if not request.user.acts_for_mentors:
        raise Http404("No Service Appointment has that reference.")  # mentors: as if it were not there
    problem = appointment.blocker("correct", by=request.user)
    if problem is not None:
        messages.error(request, str(problem))
        return redirect(appointment)
    form = CorrectOutcomeForm(request.POST or None, appointment=appointment)
    if request.method == "POST" and form.is_valid():
        try:
            corrected = appointment_correct(appointment_id=appointment.pk, acting_user=request.user,
                                            **form.service_arguments())
        except ValidationError as error:
            for field, problems in getattr(error, "message_dict", {None: error.messages}).items():
                form.add_error(field if field in form.fields else None, problems)
        except AppointmentActionNotAllowed as refused:  # reopened or changed meanwhile
            messages.error(request, str(refused))
            return redirect(appointment)
        else:
            messages.success(request, " ".join([f"The wrap-up of {corrected.reference} is corrected.",
                                                *getattr(corrected, "correction_effects", [])]))
            return redirect(corrected)
    return render(request, "sessions_app/correct_outcome.html", {"appointment": appointment, "form": form})

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render

from sessions_app import selectors


def _visible_appointment(request, reference):
    appointments = selectors.appointments_visible_to(request.user).select_related(
        "mentor__user", "mentee", "funding_arrangement__funder", "wrapped_up_by", "cancelled_by",
        "cancellation_reason",
    )
    return get_object_or_404(appointments, reference=reference.upper())


@login_required
def detail(request, reference):
    appointment = _visible_appointment(request, reference)
    if appointment.reference != reference:
        return redirect(appointment)
    return render(
        request,
        "sessions_app/appointment_detail.html",
        {
            "appointment": appointment,
            "history": selectors.appointment_history(appointment),
            "can_wrap_up": appointment.can("wrap_up", by=request.user),
            "can_cancel": appointment.can("cancel", by=request.user),
        },
    )


def _coming_soon(request, reference, action, title):
    appointment = _visible_appointment(request, reference)
    problem = appointment.blocker(action, by=request.user)
    if problem is not None:
        messages.error(request, str(problem))
        return redirect(appointment)
    return render(request, "sessions_app/coming_soon.html", {"appointment": appointment, "title": title})


@login_required
def wrap_up(request, reference):
    return _coming_soon(request, reference, "wrap_up", "Wrap Up Session")


@login_required
def cancel(request, reference):
    return _coming_soon(request, reference, "cancel", "Cancel Session")

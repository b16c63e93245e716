from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from sessions_app import selectors
from sessions_app.hooks import month_lock
from sessions_app.exceptions import LateNoticeCancellation
from sessions_app.forms.wrap_up import TicketForm
from sessions_app.hooks import ticket_raise
from sessions_app.mentees import may_open_mentee
from sessions_app.services.sign_off import sign_off_text


def visible_appointment(request, reference):
    appointments = selectors.appointments_visible_to(request.user).select_related(
        "mentor__user", "mentee", "funding_arrangement__funder", "wrapped_up_by", "cancelled_by",
        "cancellation_reason", "sign_off",
    )
    if "\x00" in reference:  # PostgreSQL refuses NUL in a query ("text fields cannot contain NUL"): a 500
        raise Http404("No Service Appointment has that reference.")
    return get_object_or_404(appointments, reference=reference.upper())


def scheduling_actions(appointment, user) -> dict:
    """Move, "this and all following" for a series, and "Book a replacement?" once cancelled (issue 17)."""
    from django.urls import reverse

    from sessions_app.scheduling import may_change

    changeable = (appointment.status == appointment.Status.SCHEDULED and not appointment.has_started()
                  and may_change(user, appointment))
    cancelled = appointment.status == appointment.Status.CANCELLED and may_change(user, appointment)
    return {
        "can_move": changeable,
        "can_change_series": changeable and appointment.series_id is not None,
        "rebook_url": f"{reverse('session-book')}?replaces={appointment.reference}" if cancelled else None,
    }


def _offers_cancel(appointment, user) -> bool:
    """Cancel Session is offered until the start; inside the late-notice window it leads to the wrap-up."""
    problem = appointment.blocker("cancel", by=user)
    return problem is None or isinstance(problem, LateNoticeCancellation)


@login_required
def detail(request, reference):
    appointment = visible_appointment(request, reference)
    if appointment.reference != reference:
        return redirect(appointment)
    return render(
        request,
        "sessions_app/appointment_detail.html",
        {
            "appointment": appointment,
            "history": selectors.appointment_history(appointment),
            "statement_move": selectors.statement_move_of(appointment),
            "sign_off": sign_off_text(getattr(appointment, "sign_off", None)),
            "month_lock": month_lock(timezone.localdate(appointment.starts_at)),
            "can_wrap_up": appointment.has_started() and appointment.can("wrap_up", by=request.user),
            "can_cancel": _offers_cancel(appointment, request.user),
            # Senior Leadership correct the outcome and notes here; Finance corrects everything in the admin.
            "can_correct": request.user.acts_for_mentors and appointment.can("correct", by=request.user),
            # The mentee's name links to their page when it opens for this user (their assigned mentee).
            "mentee_linked": may_open_mentee(request.user, appointment.mentee_id),
            **scheduling_actions(appointment, request.user),
        },
    )


@login_required
def ticket(request, reference):
    """Log a ticket with Finance about this session, then go back to where the user came from."""
    appointment = visible_appointment(request, reference)
    next_url = request.GET.get("next") or request.POST.get("next") or ""
    # Only a path on this site: redirect() would read anything else without "/" or "." ("0", "home") as the name
    # of a URL pattern, and fail with NoReverseMatch (a 500) when there is none.
    on_this_site = url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()})
    if not (next_url.startswith("/") and on_this_site):
        next_url = appointment.get_absolute_url()
    form = TicketForm(request.POST or None, initial={"subject": f"{appointment.reference}: which funding applies?"})
    if request.method == "POST" and form.is_valid():
        try:
            ticket_raise(raised_by=request.user, appointment=appointment, **form.cleaned_data)
        except ValidationError as problem:
            form.add_error(None, problem)
        else:
            messages.success(request, "Your ticket is with Finance. Their reply will appear on your homepage.")
            return redirect(next_url)
    return render(request, "sessions_app/ticket.html", {"appointment": appointment, "form": form, "next": next_url})

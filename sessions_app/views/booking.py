"""Book a session (or a series), move one, and change or cancel a series from one session on (issue 17).

Thin: each view reads the form, calls one service (or the read-only plan for the preview) and redirects, turning
a BookingProblem into a message next to the field it is about."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from sessions_app.exceptions import AppointmentActionNotAllowed
from sessions_app.forms.booking import BookingForm, MoveForm, SeriesCancelForm, SeriesChangeForm
from sessions_app.models import ServiceAppointment
from sessions_app.scheduling import (
    BookingProblem,
    funding_at_booking,
    may_book_for_anyone,
    may_change,
    mentor_of,
    span,
)
from sessions_app.services import appointment_move, series_book, series_cancel_following, series_change_following
from sessions_app.services import series_plan, session_book
from sessions_app.views.appointments import visible_appointment


def _show_problem(form, problem: BookingProblem) -> None:
    form.add_error(problem.field if problem.field in form.fields else None, str(problem))


def _initial(request) -> dict:
    """What the page starts with: ?date=2026-03-17 (from the calendar), ?mentee=12 (from a mentee), or
    ?replaces=SA-000123 (after a cancellation: the same mentee, length, mode and place)."""
    initial = {"repeat": "none", "ends": "count", "booked_minutes": 60, "mode": "in_person"}
    day = request.GET.get("date", "")
    if len(day) == 10:
        initial["date"] = day
    mentee = request.GET.get("mentee", "")
    if mentee.isascii() and mentee.isdigit() and len(mentee) < 10:
        initial["mentee"] = int(mentee)
    replaces = request.GET.get("replaces", "").strip().upper()[:20]
    if replaces and "\x00" not in replaces:
        cancelled = ServiceAppointment.objects.filter(reference=replaces,
                                                      status=ServiceAppointment.Status.CANCELLED).first()
        if cancelled is not None and may_change(request.user, cancelled):
            local = timezone.localtime(cancelled.starts_at)
            initial.update(mentor=cancelled.mentor_id, mentee=cancelled.mentee_id, mode=cancelled.mode,
                           location=cancelled.location, booked_minutes=cancelled.booked_minutes,
                           start_time=local.strftime("%H:%M"), replaces=cancelled.reference)
    return initial


@login_required
def book(request):
    """Book a session: the form, then a preview (the sessions, their clashes, the funding), then Book."""
    if not (may_book_for_anyone(request.user) or mentor_of(request.user)):
        raise Http404("Only mentors, Senior Leadership and Finance book sessions.")
    form = BookingForm(request.POST if request.method == "POST" else None, initial=_initial(request),
                       user=request.user)
    plan = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        common = dict(acting_user=request.user, mentor=data["mentor"], mentee=data["mentee"],
                      booked_minutes=data["booked_minutes"], mode=data["mode"], location=data["location"])
        try:
            if request.POST.get("action") == "book":
                reason = data.get("clash_override_reason", "")
                if data["repeat_rule"] is None:
                    booked = [session_book(day=data["date"], start_time=data["start_time"],
                                           clash_override_reason=reason, replaces=data["replaces"], **common)]
                else:
                    _, booked = series_book(first_day=data["date"], start_time=data["start_time"],
                                            repeat=data["repeat_rule"], skip_clashes=data["skip_clashes"],
                                            clash_override_reason=reason, **common)
                first = booked[0]
                if len(booked) == 1:
                    messages.success(request, f"{first.reference} is booked: {span(first.starts_at, first.ends_at)}. "
                                              f"{first.mentee.full_name} and {first.mentor.name} are emailed a "
                                              "calendar invitation.")
                else:
                    messages.success(request, f"{len(booked)} sessions are booked, {first.reference} to "
                                              f"{booked[-1].reference}. {first.mentee.full_name} and "
                                              f"{first.mentor.name} are emailed one calendar invitation for them all.")
                # The funding warnings seen at Check stand after booking too (a warning, never a refusal).
                funding = funding_at_booking(first.mentee, [timezone.localdate(a.starts_at) for a in booked],
                                             data["booked_minutes"], already_booked=True)
                for warning in funding.warnings:
                    messages.warning(request, warning)
                return redirect(first)
            plan = series_plan(first_day=data["date"], start_time=data["start_time"], repeat=data["repeat_rule"],
                               **common)
        except BookingProblem as problem:
            _show_problem(form, problem)
            plan = None
    replaces = form.initial.get("replaces") if request.method == "GET" else (
        form.cleaned_data.get("replaces").reference if form.is_bound and form.is_valid() and form.cleaned_data.get(
            "replaces") else None)
    return render(request, "sessions_app/book.html", {"form": form, "plan": plan, "replaces": replaces})


def _changeable(request, reference):
    """The session, if it can still be changed (Scheduled, not started); otherwise back to its page with why."""
    appointment = visible_appointment(request, reference)
    if appointment.status != ServiceAppointment.Status.SCHEDULED:
        messages.error(request, str(appointment._state_blocker()))
        return appointment, redirect(appointment)
    if appointment.has_started():
        messages.error(request, f"{appointment.reference} has already started, so it cannot be moved or changed. "
                                "Wrap it up instead.")
        return appointment, redirect(appointment)
    return appointment, None


@login_required
def move(request, reference):
    appointment, refused = _changeable(request, reference)
    if refused:
        return refused
    local = timezone.localtime(appointment.starts_at)
    form = MoveForm(request.POST if request.method == "POST" else None, user=request.user,
                    initial={"date": local.date(), "start_time": local.strftime("%H:%M"),
                             "booked_minutes": appointment.booked_minutes, "mode": appointment.mode,
                             "location": appointment.location})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            moved = appointment_move(appointment_id=appointment.pk, acting_user=request.user, day=data["date"],
                                     start_time=data["start_time"], booked_minutes=data["booked_minutes"],
                                     mode=data["mode"] or None,
                                     location=data["location"] if "location" in request.POST else None,
                                     clash_override_reason=data.get("clash_override_reason", ""))
        except BookingProblem as problem:
            _show_problem(form, problem)
        except AppointmentActionNotAllowed as problem:
            messages.error(request, str(problem))
            return redirect(appointment)
        else:
            messages.success(request, f"{moved.reference} is now {span(moved.starts_at, moved.ends_at)}, "
                                      f"{moved.get_mode_display().lower()}. {moved.mentee.full_name} is emailed "
                                      "what changed.")
            return redirect(moved)
    return render(request, "sessions_app/move.html", {"form": form, "appointment": appointment})


@login_required
def series(request, reference):
    """Change or cancel this session and all the following ones of its series."""
    appointment, refused = _changeable(request, reference)
    if refused:
        return refused
    if appointment.series_id is None:
        raise Http404("This session is not one of a series.")
    local = timezone.localtime(appointment.starts_at)
    action = request.POST.get("action") if request.method == "POST" else None
    change_form = SeriesChangeForm(
        request.POST if action == "change" else None, prefix="change",
        initial={"start_time": local.strftime("%H:%M"), "booked_minutes": appointment.booked_minutes,
                 "mode": appointment.mode, "location": appointment.location})
    cancel_form = SeriesCancelForm(request.POST if action == "cancel" else None, prefix="cancel")
    try:
        if action == "change" and change_form.is_valid():
            data = change_form.cleaned_data
            changed = series_change_following(appointment_id=appointment.pk, acting_user=request.user,
                                              start_time=data["start_time"], booked_minutes=data["booked_minutes"],
                                              mode=data["mode"], location=data["location"])
            messages.success(request, f"{len(changed)} session{'s' if len(changed) != 1 else ''} changed, from "
                                      f"{changed[0].reference} on.")
            return redirect(appointment)
        if action == "cancel" and cancel_form.is_valid():
            data = cancel_form.cleaned_data
            cancelled = series_cancel_following(appointment_id=appointment.pk, acting_user=request.user,
                                                reason=data["reason"], internal_note=data["internal_note"])
            messages.success(request, f"{len(cancelled)} session{'s' if len(cancelled) != 1 else ''} cancelled, "
                                      f"from {cancelled[0].reference} on. The attendance emails give the reason "
                                      f"“{data['reason']}”.")
            return redirect(appointment)
    except BookingProblem as problem:
        _show_problem(change_form if action == "change" else cancel_form, problem)
    except (AppointmentActionNotAllowed, ValidationError) as problem:
        for message in getattr(problem, "messages", [str(problem)]):
            messages.error(request, message)
        return redirect(appointment)
    following = (ServiceAppointment.objects.filter(series_id=appointment.series_id,
                                                   starts_at__gte=appointment.starts_at)
                 .exclude(status=ServiceAppointment.Status.CANCELLED).order_by("starts_at"))
    return render(request, "sessions_app/series.html", {
        "appointment": appointment, "change_form": change_form, "cancel_form": cancel_form,
        "following": following, "series": appointment.series})

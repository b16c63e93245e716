"""Booking Service Appointments and the counters behind their references."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from simple_history.utils import bulk_create_with_history

from sessions_app import events
from sessions_app.exceptions import AppointmentActionNotAllowed
from sessions_app.models import AppointmentEvent, Mentee, Mentor, Sequence, ServiceAppointment, User
from sessions_app.models.appointments import format_reference
from sessions_app.models.people import new_calendar_token
from sessions_app.scheduling import (
    BookingProblem,
    SessionClash,
    check_future,
    check_may_book,
    check_minutes,
    check_where,
    clash_message,
    clashes_for,
    local_start,
    may_change,
    may_override_clash,
    real_end,
    span,
)

APPOINTMENT_SEQUENCE = "service_appointment"


def sequence_allocate(*, name: str, count: int = 1) -> int:
    """Reserve `count` consecutive numbers from the named sequence; returns the first."""
    if count < 1:
        raise ValueError("count must be at least 1")
    with transaction.atomic():
        Sequence.objects.get_or_create(name=name)
        sequence = Sequence.objects.select_for_update().get(name=name)
        first = sequence.last_value + 1
        sequence.last_value += count
        sequence.save(update_fields=["last_value"])
    return first


@transaction.atomic
def appointment_book(
    *,
    mentor: Mentor,
    mentee: Mentee,
    starts_at: datetime,
    ends_at: datetime,
    acting_user: User | None,
    mode: str = ServiceAppointment.Mode.IN_PERSON,
    location: str = "",
    clash_override_reason: str = "",
) -> ServiceAppointment:
    """Book a new Service Appointment, giving it the next SA reference. It checks no clash: its callers do (the admin's
    form calls `check_slot_free` in the same transaction; seed data and tests place sessions where they want)."""
    appointment = ServiceAppointment(
        mentor=mentor, mentee=mentee, starts_at=starts_at, ends_at=ends_at, mode=mode, location=location,
        clash_override_reason=clash_override_reason,
    )
    appointment.clean()
    if mode not in ServiceAppointment.Mode.values:
        raise ValidationError({"mode": "Choose in person or online."})
    appointment.reference = format_reference(sequence_allocate(name=APPOINTMENT_SEQUENCE))
    appointment._history_user = acting_user  # the audit trail's "who" (tasks and commands have no request)
    appointment.save()
    AppointmentEvent.record(appointment, AppointmentEvent.Kind.BOOKED, by=acting_user,
                            description=f"Booked over a clash: {clash_override_reason}" if clash_override_reason else "")
    return appointment


@transaction.atomic
def mentor_regenerate_calendar_token(*, mentor: Mentor) -> Mentor:
    """Give the mentor a new calendar feed address; the old one stops working."""
    mentor.calendar_token = new_calendar_token()
    mentor.save(update_fields=["calendar_token"])
    return mentor


@transaction.atomic
def appointment_reschedule(
    *, appointment_id: int, acting_user: User, starts_at: datetime, ends_at: datetime, mode: str, location: str,
    clash_override_reason: str = "",
) -> ServiceAppointment:
    """Change when or where a session still Scheduled takes place, and say so in its history (the admin's change
    page, whose form checks clashes with `check_slot_free` in the same transaction)."""
    appointment = ServiceAppointment.objects.select_for_update().select_related("mentor__user").get(pk=appointment_id)
    if appointment.status != ServiceAppointment.Status.SCHEDULED:
        raise ValidationError(
            f"{appointment.reference} is {appointment.get_status_display()}: only a Scheduled session can be changed."
        )
    before = _when_where(appointment)
    appointment.starts_at, appointment.ends_at, appointment.mode, appointment.location = starts_at, ends_at, mode, location
    appointment.clean()
    after = _when_where(appointment)
    if before == after:
        return appointment
    appointment._history_user = acting_user
    appointment.calendar_sequence += 1  # calendar apps take the event with the higher SEQUENCE as the update
    if clash_override_reason:
        appointment.clash_override_reason = clash_override_reason
    appointment.save(update_fields=["starts_at", "ends_at", "mode", "location", "calendar_sequence",
                                    "clash_override_reason", "updated_at"])
    description = f"was {before}; now {after}"
    if clash_override_reason:
        description += f". Booked over a clash: {clash_override_reason}"
    AppointmentEvent.record(appointment, AppointmentEvent.Kind.RESCHEDULED, by=acting_user, description=description)
    return appointment


def _when_where(appointment: ServiceAppointment) -> str:
    start, end = timezone.localtime(appointment.starts_at), timezone.localtime(appointment.ends_at)
    where = appointment.get_mode_display() + (f", {appointment.location}" if appointment.location else "")
    return f"{start:%d/%m/%Y %H:%M}–{end:%H:%M} ({where})"


# --------------------------------------------------------------------------- booking in the browser (issue 17)


def lock_people(mentor_id: int, mentee_id: int):
    """Lock the mentor's row, then the mentee's (always in that order, so two bookings never wait on each other in a
    circle): a second booking for the same mentor or mentee waits here until the first commits, then sees its
    session in the clash check. On SQLite, which has one writer at a time, this is a plain read."""
    mentor = Mentor.objects.select_for_update().select_related("user").get(pk=mentor_id)
    mentee = Mentee.objects.select_for_update().get(pk=mentee_id)
    return mentor, mentee


def check_clash_override(*, acting_user: User, clashes: list, reason: str, mentor_id: int) -> str:
    """No clash: fine. A clash: refused, unless Senior Leadership give a reason, which is returned to record."""
    reason = (reason or "").strip()
    if not clashes:
        return ""
    if reason and may_override_clash(acting_user):
        return reason
    message = clash_message(clashes, mentor_id=mentor_id)
    if reason:
        message += " Only Senior Leadership can book over a clash."
    elif may_override_clash(acting_user):
        message += " To book it anyway, give the reason for the overlap."
    raise SessionClash(message, clashes)


def check_slot_free(*, acting_user: User, mentor_id: int, mentee_id: int, starts_at: datetime, ends_at: datetime,
                    exclude_ids=(), clash_override_reason: str = "", lock: bool = True) -> str:
    """The clash check for every way one session is booked or moved (Book a session, Move, the admin's add and change
    pages): the mentor's and the mentee's rows locked (`lock`; in the caller's transaction, so nobody books the slot
    before the caller writes), then their overlapping sessions that are not cancelled. Raises SessionClash, with the
    sessions it clashes with, unless there are none or Senior Leadership give a reason, which is returned."""
    if lock:
        lock_people(mentor_id, mentee_id)
    (clashes,) = clashes_for(mentor_id=mentor_id, mentee_id=mentee_id, slots=[(starts_at, ends_at)],
                             exclude_ids=exclude_ids)
    return check_clash_override(acting_user=acting_user, clashes=clashes, reason=clash_override_reason,
                                mentor_id=mentor_id)


def appointments_create(*, mentor: Mentor, mentee: Mentee, slots: list[tuple[datetime, datetime]], mode: str,
                        location: str, acting_user: User, series=None, override_reasons: list[str] | None = None,
                        replaces: ServiceAppointment | None = None) -> list[ServiceAppointment]:
    """Write the sessions, their history rows and 'booked' events: a fixed number of queries for any number."""
    first = sequence_allocate(name=APPOINTMENT_SEQUENCE, count=len(slots))
    override_reasons = override_reasons or [""] * len(slots)
    appointments = [
        ServiceAppointment(reference=format_reference(first + i), mentor=mentor, mentee=mentee, starts_at=start,
                           ends_at=end, mode=mode, location=location, series=series,
                           clash_override_reason=override_reasons[i])
        for i, (start, end) in enumerate(slots)
    ]
    appointments = bulk_create_with_history(appointments, ServiceAppointment, default_user=acting_user)
    now = timezone.now()
    on_behalf = mentor.user_id if acting_user is not None and acting_user.pk != mentor.user_id else None
    describe = []
    for appointment in appointments:
        parts = []
        if series is not None:
            parts.append(f"One of a series: {series}.")
        if replaces is not None:
            parts.append(f"Replaces {replaces.reference}, cancelled.")
        if appointment.clash_override_reason:
            parts.append(f"Booked over a clash: {appointment.clash_override_reason}")
        describe.append(" ".join(parts))
    AppointmentEvent.objects.bulk_create([
        AppointmentEvent(appointment=appointment, kind=AppointmentEvent.Kind.BOOKED, occurred_at=now, actor=acting_user,
                         on_behalf_of_id=on_behalf, description=description)
        for appointment, description in zip(appointments, describe)
    ])
    return appointments


@transaction.atomic
def session_book(*, acting_user: User, mentor: Mentor, mentee: Mentee, day, start_time, booked_minutes: int,
                 mode: str, location: str = "", clash_override_reason: str = "",
                 replaces: ServiceAppointment | None = None, now: datetime | None = None) -> ServiceAppointment:
    """Book one session from the browser: checks who may book with whom, the time (not past, a real length),
    where, and clashes with the mentor's and the mentee's other sessions; then the next SA reference."""
    now = now or timezone.now()
    check_may_book(acting_user, mentor, mentee)
    if replaces is not None and (replaces.status != ServiceAppointment.Status.CANCELLED
                                 or not may_change(acting_user, replaces)):
        raise BookingProblem(f"{replaces.reference} is not a cancelled session of yours, so nothing replaces it.")
    minutes = check_minutes(booked_minutes)
    location = check_where(mode, location)
    starts_at = local_start(day, start_time)
    check_future(starts_at, now)
    ends_at = real_end(starts_at, minutes)
    reason = check_slot_free(acting_user=acting_user, mentor_id=mentor.pk, mentee_id=mentee.pk, starts_at=starts_at,
                             ends_at=ends_at, clash_override_reason=clash_override_reason)
    (appointment,) = appointments_create(mentor=mentor, mentee=mentee, slots=[(starts_at, ends_at)], mode=mode,
                                         location=location, acting_user=acting_user, override_reasons=[reason],
                                         replaces=replaces)
    events.appointments_booked.send(sender=ServiceAppointment, appointments=[appointment], series=None,
                                    acting_user=acting_user, replaces=replaces)
    return appointment


@transaction.atomic
def appointment_move(*, appointment_id: int, acting_user: User, day, start_time, booked_minutes: int | None = None,
                     mode: str | None = None, location: str | None = None, clash_override_reason: str = "",
                     now: datetime | None = None) -> ServiceAppointment:
    """Move a session that has not started to another time, or change where it happens ("edit this session"):
    the same checks as booking; its history says from what to what; the calendar event keeps its UID and its
    SEQUENCE goes up; the mentee and the mentor are emailed. `mode` and `location` None: they stay as they are."""
    now = now or timezone.now()
    current = ServiceAppointment.objects.select_related("mentor__user", "mentee").get(pk=appointment_id)
    if not may_change(acting_user, current):
        raise AppointmentActionNotAllowed(f"{current.reference} is not one of your sessions.")
    lock_people(current.mentor_id, current.mentee_id)
    appointment = ServiceAppointment.objects.select_for_update().select_related("mentor__user", "mentee").get(
        pk=appointment_id)
    if appointment.status != ServiceAppointment.Status.SCHEDULED:
        raise appointment._state_blocker()
    if appointment.has_started(now):
        raise AppointmentActionNotAllowed(f"{appointment.reference} has already started, so it cannot be moved. "
                                          "Wrap it up instead.")
    minutes = check_minutes(booked_minutes if booked_minutes is not None else appointment.booked_minutes)
    new_mode = appointment.mode if mode is None else mode
    new_location = check_where(new_mode, appointment.location if location is None else location)
    starts_at = local_start(day, start_time)
    ends_at = real_end(starts_at, minutes)
    time_changed = (starts_at, ends_at) != (appointment.starts_at, appointment.ends_at)
    place_changed = (new_mode, new_location) != (appointment.mode, appointment.location)
    if not (time_changed or place_changed):
        raise BookingProblem(f"{appointment.reference} is already at that time and place.", field="date")
    reason = ""
    if time_changed:
        check_future(starts_at, now)
        reason = check_slot_free(acting_user=acting_user, mentor_id=appointment.mentor_id,
                                 mentee_id=appointment.mentee_id, starts_at=starts_at, ends_at=ends_at,
                                 exclude_ids=[appointment.pk], clash_override_reason=clash_override_reason,
                                 lock=False)  # locked above, before the session's row
    was_starts_at, was_ends_at, was_where = appointment.starts_at, appointment.ends_at, _where(appointment)
    appointment.starts_at, appointment.ends_at = starts_at, ends_at
    appointment.mode, appointment.location = new_mode, new_location
    appointment.calendar_sequence += 1
    if reason:
        appointment.clash_override_reason = reason
    appointment._history_user = acting_user
    appointment.save(update_fields=["starts_at", "ends_at", "mode", "location", "calendar_sequence",
                                    "clash_override_reason", "updated_at"])
    parts = []
    if time_changed:
        parts.append(f"Moved from {span(was_starts_at, was_ends_at)} to {span(starts_at, ends_at)}.")
    if place_changed:
        parts.append(f"Now {_where(appointment)} (was {was_where}).")
    if reason:
        parts.append(f"Booked over a clash: {reason}")
    AppointmentEvent.record(appointment, AppointmentEvent.Kind.MOVED, by=acting_user, description=" ".join(parts))
    events.appointment_moved.send(sender=ServiceAppointment, appointment=appointment, was_starts_at=was_starts_at,
                                  was_ends_at=was_ends_at, acting_user=acting_user)
    return appointment


def _where(appointment: ServiceAppointment) -> str:
    return appointment.get_mode_display().lower() + (f", {appointment.location}" if appointment.location else "")

"""Repeating sessions (issue 17): plan a series (shown before saving, clashes marked), book it in one go, and change
or cancel "this and all following"."""

from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.db import transaction
from django.utils import timezone

from sessions_app import events
from sessions_app.exceptions import AppointmentActionNotAllowed
from sessions_app.models import AppointmentEvent, AppointmentSeries, CancellationReason, Mentee, Mentor, ServiceAppointment, User
from sessions_app.scheduling import (
    BookingProblem,
    FundingNote,
    Repeat,
    SessionClash,
    check_future,
    check_may_book,
    check_minutes,
    check_where,
    clash_message,
    clashes_for,
    funding_at_booking,
    local_start,
    may_change,
    may_override_clash,
    occurrence_days,
    real_end,
    span,
)

from .booking import appointments_create, lock_people
from .cancel import appointment_cancel


@dataclass
class Occurrence:
    starts_at: datetime
    ends_at: datetime
    clashes: list = field(default_factory=list)

    @property
    def label(self) -> str:
        return span(self.starts_at, self.ends_at)


@dataclass
class SeriesPlan:
    mentor: Mentor
    mentee: Mentee
    start_time: time
    minutes: int
    mode: str
    location: str
    repeat: Repeat
    occurrences: list[Occurrence]
    funding: FundingNote

    @property
    def clashing(self) -> list[Occurrence]:
        return [occurrence for occurrence in self.occurrences if occurrence.clashes]


def series_plan(*, acting_user: User, mentor: Mentor, mentee: Mentee, first_day: date, start_time: time,
                booked_minutes: int, mode: str, location: str, repeat: Repeat, now: datetime | None = None) -> SeriesPlan:
    """Every session the repeat would book, each marked with what it clashes with. Writes nothing."""
    now = now or timezone.now()
    check_may_book(acting_user, mentor, mentee)
    minutes = check_minutes(booked_minutes)
    location = check_where(mode, location)
    days = occurrence_days(first_day, repeat)
    slots = []
    for day in days:
        starts_at = local_start(day, start_time)
        slots.append((starts_at, real_end(starts_at, minutes)))
    check_future(slots[0][0], now)
    check_future(slots[-1][0], now)
    clashes = clashes_for(mentor_id=mentor.pk, mentee_id=mentee.pk, slots=slots)
    occurrences = [Occurrence(start, end, found) for (start, end), found in zip(slots, clashes)]
    return SeriesPlan(mentor, mentee, start_time, minutes, mode, location, repeat, occurrences,
                      funding_at_booking(mentee, days, minutes))


@transaction.atomic
def series_book(*, acting_user: User, mentor: Mentor, mentee: Mentee, first_day: date, start_time: time,
                booked_minutes: int, mode: str, location: str, repeat: Repeat, skip_clashes: bool = False,
                clash_override_reason: str = "", now: datetime | None = None):
    """Book every session of the repeat, one SA each, in one transaction and a fixed number of queries.
    Sessions that clash are refused (nothing is booked), left out (`skip_clashes`), or booked over the clash with
    Senior Leadership's reason. Returns (series, the sessions booked)."""
    lock_people(mentor.pk, mentee.pk)
    plan = series_plan(acting_user=acting_user, mentor=mentor, mentee=mentee, first_day=first_day,
                       start_time=start_time, booked_minutes=booked_minutes, mode=mode, location=location,
                       repeat=repeat, now=now)
    reason = (clash_override_reason or "").strip()
    to_book = plan.occurrences
    if plan.clashing:
        if skip_clashes:
            to_book = [occurrence for occurrence in plan.occurrences if not occurrence.clashes]
            if not to_book:
                raise BookingProblem("Every session of this series clashes with another: nothing to book.")
        elif not (reason and may_override_clash(acting_user)):
            first = plan.clashing[0]
            message = (f"{len(plan.clashing)} of the {len(plan.occurrences)} sessions clash with other sessions. "
                       f"The first: {clash_message(first.clashes, mentor_id=mentor.pk)}")
            if reason:
                message += " Only Senior Leadership can book over a clash."
            raise SessionClash(message, [c for o in plan.clashing for c in o.clashes])
    series = AppointmentSeries.objects.create(
        mentor=mentor, mentee=mentee, interval_weeks=repeat.interval_weeks, first_date=first_day, until=repeat.until,
        count=repeat.count, start_time=start_time, booked_minutes=plan.minutes, mode=mode, location=plan.location,
        created_by=acting_user,
    )
    appointments = appointments_create(
        mentor=mentor, mentee=mentee, slots=[(o.starts_at, o.ends_at) for o in to_book], mode=mode,
        location=plan.location, acting_user=acting_user, series=series,
        override_reasons=[reason if o.clashes else "" for o in to_book],
    )
    events.appointments_booked.send(sender=ServiceAppointment, appointments=appointments, series=series,
                                    acting_user=acting_user, replaces=None)
    return series, appointments


def _following(appointment: ServiceAppointment, now: datetime):
    """This session and the later ones of its series still to come and still Scheduled."""
    if appointment.series_id is None:
        raise BookingProblem(f"{appointment.reference} is not one of a series.")
    return (ServiceAppointment.objects.filter(series_id=appointment.series_id, starts_at__gte=appointment.starts_at,
                                              starts_at__gt=now, status=ServiceAppointment.Status.SCHEDULED)
            .select_related("mentor__user", "mentee").order_by("starts_at"))


@transaction.atomic
def series_cancel_following(*, appointment_id: int, acting_user: User, reason: CancellationReason,
                            internal_note: str, now: datetime | None = None) -> list[ServiceAppointment]:
    """Cancel this session and every later one of its series (each as the Cancel Session wizard would)."""
    now = now or timezone.now()
    appointment = ServiceAppointment.objects.select_related("mentor__user").get(pk=appointment_id)
    if not may_change(acting_user, appointment):
        raise AppointmentActionNotAllowed(f"{appointment.reference} is not one of your sessions.")
    cancelled = []
    for each in _following(appointment, now):
        cancelled.append(appointment_cancel(appointment_id=each.pk, acting_user=acting_user, reason=reason,
                                            internal_note=internal_note))
    if not cancelled:
        raise BookingProblem("No session of this series from here on can still be cancelled.")
    return cancelled


@transaction.atomic
def series_change_following(*, appointment_id: int, acting_user: User, start_time: time, booked_minutes: int,
                            mode: str, location: str, now: datetime | None = None) -> list[ServiceAppointment]:
    """Give this session and every later one of its series a new time of day, length and place. Each keeps its
    day; each moved one is recorded, emailed and updated in calendars as a move. A clash refuses them all."""
    now = now or timezone.now()
    first = ServiceAppointment.objects.select_related("mentor__user", "mentee").get(pk=appointment_id)
    if not may_change(acting_user, first):
        raise AppointmentActionNotAllowed(f"{first.reference} is not one of your sessions.")
    minutes = check_minutes(booked_minutes)
    location = check_where(mode, location)
    lock_people(first.mentor_id, first.mentee_id)
    sessions = list(_following(first, now).select_for_update(of=("self",)))
    if not sessions:
        raise BookingProblem("No session of this series from here on can still be changed.")
    slots = []
    for session in sessions:
        starts_at = local_start(timezone.localdate(session.starts_at), start_time)
        check_future(starts_at, now)
        slots.append((starts_at, real_end(starts_at, minutes)))
    clashes = clashes_for(mentor_id=first.mentor_id, mentee_id=first.mentee_id, slots=slots,
                          exclude_ids=[s.pk for s in sessions])
    clashing = [found for found in clashes if found]
    if clashing:
        raise SessionClash(f"{len(clashing)} of these sessions would clash. The first: "
                           f"{clash_message(clashing[0], mentor_id=first.mentor_id)}", clashing[0])
    for session, (starts_at, ends_at) in zip(sessions, slots):
        was_starts_at, was_ends_at = session.starts_at, session.ends_at
        changed = (starts_at, ends_at, mode, location) != (was_starts_at, was_ends_at, session.mode, session.location)
        session.starts_at, session.ends_at, session.mode, session.location = starts_at, ends_at, mode, location
        if changed:
            session.calendar_sequence += 1
        session._history_user = acting_user
        session.save(update_fields=["starts_at", "ends_at", "mode", "location", "calendar_sequence", "updated_at"])
        AppointmentEvent.record(session, AppointmentEvent.Kind.MOVED, by=acting_user,
                                description=f"Series changed from here on: was {span(was_starts_at, was_ends_at)}; "
                                            f"now {span(starts_at, ends_at)}.")
        if changed:
            events.appointment_moved.send(sender=ServiceAppointment, appointment=session, was_starts_at=was_starts_at,
                                          was_ends_at=was_ends_at, acting_user=acting_user)
    return sessions

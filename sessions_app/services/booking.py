"""Booking Service Appointments and the counters behind their references."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from sessions_app.models import AppointmentEvent, Mentee, Mentor, Sequence, ServiceAppointment, User
from sessions_app.models.appointments import format_reference
from sessions_app.models.people import new_calendar_token

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
) -> ServiceAppointment:
    """Book a new Service Appointment, giving it the next SA reference."""
    appointment = ServiceAppointment(
        mentor=mentor, mentee=mentee, starts_at=starts_at, ends_at=ends_at, mode=mode, location=location
    )
    appointment.clean()
    if mode not in ServiceAppointment.Mode.values:
        raise ValidationError({"mode": "Choose in person or online."})
    appointment.reference = format_reference(sequence_allocate(name=APPOINTMENT_SEQUENCE))
    appointment._history_user = acting_user  # the audit trail's "who" (tasks and commands have no request)
    appointment.save()
    AppointmentEvent.record(appointment, AppointmentEvent.Kind.BOOKED, by=acting_user)
    return appointment


@transaction.atomic
def mentor_regenerate_calendar_token(*, mentor: Mentor) -> Mentor:
    """Give the mentor a new calendar feed address; the old one stops working."""
    mentor.calendar_token = new_calendar_token()
    mentor.save(update_fields=["calendar_token"])
    return mentor


@transaction.atomic
def appointment_reschedule(
    *, appointment_id: int, acting_user: User, starts_at: datetime, ends_at: datetime, mode: str, location: str
) -> ServiceAppointment:
    """Change when or where a session still Scheduled takes place, and say so in its history."""
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
    appointment.save(update_fields=["starts_at", "ends_at", "mode", "location", "updated_at"])
    AppointmentEvent.record(
        appointment, AppointmentEvent.Kind.RESCHEDULED, by=acting_user, description=f"was {before}; now {after}"
    )
    return appointment


def _when_where(appointment: ServiceAppointment) -> str:
    start, end = timezone.localtime(appointment.starts_at), timezone.localtime(appointment.ends_at)
    where = appointment.get_mode_display() + (f", {appointment.location}" if appointment.location else "")
    return f"{start:%d/%m/%Y %H:%M}–{end:%H:%M} ({where})"

"""Cancelling a session in advance."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from sessions_app import events
from sessions_app.durations import notice_text
from sessions_app.models import AppointmentEvent, CancellationReason, ServiceAppointment, User
from sessions_app.services.bulk import close_request_when_settled


@transaction.atomic
def appointment_cancel(
    *, appointment_id: int, acting_user: User, reason: CancellationReason, internal_note: str, now=None,
    offer_rebooking: bool = False,
) -> ServiceAppointment:
    """Cancel a Scheduled session before the late-notice window. The reason is shared in the attendance
    email; the internal note never is. `offer_rebooking`: the canceller is offered "Book a replacement?" next, so
    the mentee's email may wait a few minutes to say "cancelled and rebooked" in one (notifications decides)."""
    now = now or timezone.now()
    appointment = ServiceAppointment.objects.select_for_update().select_related("mentor__user", "mentee").get(
        pk=appointment_id
    )
    appointment.ensure_can("cancel", by=acting_user, now=now)
    errors = {}
    if reason is None or not reason.is_active:
        errors["reason"] = "Choose a cancellation reason from the list."
    if not internal_note.strip():
        errors["internal_note"] = "Add an internal cancellation note (it is not shared in any attendance emails)."
    if errors:
        raise ValidationError(errors)

    _, appointment.status = ServiceAppointment.TRANSITIONS["cancel"]
    appointment.cancellation_reason = reason
    appointment.cancellation_note = internal_note.strip()
    appointment.cancelled_by = acting_user
    appointment.cancelled_at = now
    appointment.notice_hours = appointment.hours_until_start(now)
    appointment._history_user = acting_user  # the audit trail's "who" (tasks have no request)
    appointment.save()
    AppointmentEvent.record(
        appointment, AppointmentEvent.Kind.CANCELLED, by=acting_user, at=now,
        description=f"{reason.label}; notice given: {notice_text(appointment.notice_hours)}",
    )
    events.appointment_cancelled.send(sender=ServiceAppointment, appointment=appointment,  # the attendance emails
                                      rebooking_offered=offer_rebooking)
    close_request_when_settled(mentor_id=appointment.mentor_id, acting_user=acting_user, now=now)
    return appointment

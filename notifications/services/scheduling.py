"""Scheduling emails (issue 17): the booking confirmation with a calendar invitation (.ics, METHOD:REQUEST), the
"your session has moved" email with the updated event, the calendar cancellation (METHOD:CANCEL) and the
reminder the day before. Each is an outbox row, so it goes once, after the booking commits.

Keys say what and to whom: "booking:SA-000123:mentee", "moved:SA-000123:2:mentor" (the second move),
"reminder:SA-000123", "calendar-cancel:SA-000123:mentee".

**Cancelled and rebooked, one email.** After Cancel Session the mentor is offered "Book a replacement?". The mentee's
attendance email (the reason, and the calendar cancellation) waits in the outbox for REBOOKING_HOLD_MINUTES. A
replacement booked meanwhile rewrites that waiting email into one saying "cancelled and rebooked", carrying both
calendar files (METHOD:CANCEL for the old session, METHOD:REQUEST for the new), and sends it at once; the mentee gets
no separate confirmation. No replacement: the sweeper sends the cancellation as it is when the time is up (a closed
browser loses nothing). A replacement booked after it went gets its own confirmation, titled "cancelled and rebooked".
"""

from datetime import timedelta

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from notifications.attendance import cancelled_and_rebooked_email
from notifications.models import OutboxEmail
from sessions_app.calendar_feed import invitation_for
from sessions_app.models import ServiceAppointment
from sessions_app.scheduling import span

from .outbox import outbox_enqueue, outbox_rewrite

Kind = OutboxEmail.Kind


def _text(template: str, context: dict) -> str:
    return render_to_string(f"notifications/{template}.txt", {**context, "site_url": settings.SITE_URL}).strip() + "\n"


def _invitation(appointments, *, method: str, to: str) -> dict:
    first = appointments[0]
    attendees = list(dict.fromkeys(address for address in (first.mentee.email, to) if address))
    body = invitation_for(appointments, method=method, organiser_email=first.mentor.user.email,
                          attendee_emails=attendees, base_url=settings.SITE_URL)
    name = f"{first.reference}.ics" if len(appointments) == 1 else f"{first.reference}-series.ics"
    return {"name": name, "content": body.decode("utf-8"), "mimetype": f"text/calendar; method={method}"}


def _recipients(appointment: ServiceAppointment):
    """(role, address, greeting) for the mentee and the mentor."""
    return [("mentee", appointment.mentee.email, appointment.mentee.full_name),
            ("mentor", appointment.mentor.user.email, appointment.mentor.name)]


def booking_confirmations_queue(*, appointments: list[ServiceAppointment], series=None, replaces=None) -> int:
    """One confirmation to the mentee and one to the mentor for a booking (a whole series is one email), with a
    calendar invitation holding every session. Returns how many were queued."""
    if not appointments:
        return 0
    first = appointments[0]
    queued = 0
    merged = replaces is not None and len(appointments) == 1 and _merge_into_cancellation(replaces, first)
    for role, address, greeting in _recipients(first):
        if role == "mentee" and merged:
            queued += 1
            continue
        context = {"greeting": greeting, "role": role, "appointments": appointments, "series": series,
                   "replaces": replaces, "first": first, "lines": [span(a.starts_at, a.ends_at) for a in appointments],
                   "other_name": first.mentor.name if role == "mentee" else first.mentee.full_name}
        subject = (f"Booked: {len(appointments)} mentoring sessions from {span(first.starts_at, first.ends_at)}"
                   if len(appointments) > 1 else f"Booked: mentoring session {first.reference}, "
                                                 f"{span(first.starts_at, first.ends_at)}")
        if replaces is not None:
            subject = f"{replaces.reference} cancelled and rebooked: {first.reference}, {span(first.starts_at, first.ends_at)}"
        queued += outbox_enqueue(
            key=f"booking:{first.reference}:{role}", kind=Kind.BOOKING_CONFIRMATION, to=[address], subject=subject,
            text_body=_text("booking_confirmation", context), appointment=first,
            attachments=[_invitation(appointments, method="REQUEST", to=address)],
        ) is not None
    return queued


def rebooking_hold_until(appointment: ServiceAppointment, now=None):
    """How long the mentee's cancellation email waits for a replacement: REBOOKING_HOLD_MINUTES, never past the
    session's start. None: it goes at once."""
    minutes = settings.REBOOKING_HOLD_MINUTES
    if minutes <= 0:
        return None
    now = now or timezone.now()
    return min(now + timedelta(minutes=minutes), max(appointment.starts_at, now))


def _merge_into_cancellation(cancelled: ServiceAppointment, replacement: ServiceAppointment) -> bool:
    """The cancelled session's attendance email to the mentee, still waiting, becomes "cancelled and rebooked" with
    the new session's invitation beside the old one's calendar cancellation. False if it has gone (or already
    names a replacement): the replacement's own confirmation goes instead."""
    waiting = OutboxEmail.objects.select_for_update().filter(appointment=cancelled, kind=Kind.ATTENDANCE_MENTEE,
                                         status=OutboxEmail.Status.PENDING).first()
    if waiting is None or any(a.get("mimetype", "").endswith("method=REQUEST") for a in waiting.attachments):
        return False
    takes_out = [a for a in waiting.attachments if a.get("mimetype", "").endswith("method=CANCEL")]
    email = cancelled_and_rebooked_email(cancelled, replacement, takes_out=bool(takes_out))
    return outbox_rewrite(
        email_id=waiting.pk, subject=email.subject, text_body=email.text, html_body=email.html,
        attachments=[*waiting.attachments,
                     _invitation([replacement], method="REQUEST", to=replacement.mentee.email)],
    ) is not None


def move_emails_queue(*, appointment: ServiceAppointment, was_starts_at, was_ends_at) -> int:
    """The mentee (and the mentor) hear the old and the new time, with the updated calendar event."""
    queued = 0
    now = span(appointment.starts_at, appointment.ends_at)
    time_changed = (was_starts_at, was_ends_at) != (appointment.starts_at, appointment.ends_at)
    subject = (f"Moved: mentoring session {appointment.reference} is now {now}" if time_changed else
               f"Changed: mentoring session {appointment.reference}, {now}, is now "
               f"{appointment.get_mode_display().lower()}")
    for role, address, greeting in _recipients(appointment):
        context = {"greeting": greeting, "role": role, "appointment": appointment, "time_changed": time_changed,
                   "was": span(was_starts_at, was_ends_at), "now": now,
                   "other_name": appointment.mentor.name if role == "mentee" else appointment.mentee.full_name}
        queued += outbox_enqueue(
            key=f"moved:{appointment.reference}:{appointment.calendar_sequence}:{role}", kind=Kind.SESSION_MOVED,
            to=[address], subject=subject,
            text_body=_text("session_moved", context), appointment=appointment,
            attachments=[_invitation([appointment], method="REQUEST", to=address)],
        ) is not None
    return queued


def calendar_cancellations_queue(*, appointment: ServiceAppointment) -> int:
    """A session booked with an invitation, now cancelled: METHOD:CANCEL takes it out of both calendars. The
    mentee's comes attached to their attendance email (queued just before, in the same transaction, saying why),
    so they get one email; the mentor gets a short one of their own. Returns how many emails carry it."""
    if not OutboxEmail.objects.filter(appointment=appointment, kind=Kind.BOOKING_CONFIRMATION).exists() and not (
            appointment.series_id and OutboxEmail.objects.filter(
                kind=Kind.BOOKING_CONFIRMATION, appointment__series_id=appointment.series_id).exists()):
        return 0
    carried = 0
    attendance = OutboxEmail.objects.filter(appointment=appointment, kind=Kind.ATTENDANCE_MENTEE,
                                            status=OutboxEmail.Status.PENDING).first()
    if attendance is not None:
        attendance.attachments = [*attendance.attachments,
                                  _invitation([appointment], method="CANCEL", to=appointment.mentee.email)]
        attendance.save(update_fields=["attachments"])
        carried += 1
    context = {"greeting": appointment.mentor.name, "appointment": appointment,
               "when": span(appointment.starts_at, appointment.ends_at)}
    address = appointment.mentor.user.email
    carried += outbox_enqueue(
        key=f"calendar-cancel:{appointment.reference}:mentor", kind=Kind.CALENDAR_CANCELLATION, to=[address],
        subject=f"Cancelled: mentoring session {appointment.reference}, "
                f"{span(appointment.starts_at, appointment.ends_at)}",
        text_body=_text("calendar_cancellation", context), appointment=appointment,
        attachments=[_invitation([appointment], method="CANCEL", to=address)],
    ) is not None
    return carried


def session_reminders_send(*, now=None) -> int:
    """The day before each Scheduled session, its mentee gets a reminder. However often this runs, one reminder
    per session (the outbox key). Returns how many were queued."""
    now = now or timezone.now()
    tomorrow = timezone.localdate(now) + timedelta(days=1)
    sessions = (ServiceAppointment.objects.filter(status=ServiceAppointment.Status.SCHEDULED,
                                                  starts_at__date=tomorrow)
                .select_related("mentor__user", "mentee").order_by("starts_at"))
    queued = 0
    for appointment in sessions:
        context = {"greeting": appointment.mentee.full_name, "appointment": appointment,
                   "when": span(appointment.starts_at, appointment.ends_at)}
        queued += outbox_enqueue(
            key=f"reminder:{appointment.reference}", kind=Kind.SESSION_REMINDER, to=[appointment.mentee.email],
            subject=f"Reminder: mentoring session tomorrow, {span(appointment.starts_at, appointment.ends_at)}",
            text_body=_text("session_reminder", context), appointment=appointment,
        ) is not None
    return queued

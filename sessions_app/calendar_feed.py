"""The iCalendar text of a mentor's private feed."""

from icalendar import Calendar, Event, vCalAddress

from sessions_app.models import ServiceAppointment


def event_uid(appointment) -> str:
    """The session's calendar event, the same in the feed and in every invitation, whatever happens to it."""
    return f"{appointment.reference}@mentoring"


def event_sequence(appointment) -> int:
    """RFC 5545 SEQUENCE: one more at each move, and one more again once cancelled, so calendar apps take the
    latest version as an update of the event they have instead of a second event."""
    cancelled = appointment.status == ServiceAppointment.Status.CANCELLED
    return appointment.calendar_sequence + (1 if cancelled else 0)


def invitation_for(appointments, *, method: str, organiser_email: str, attendee_emails: list[str],
                   base_url: str) -> bytes:
    """An iTIP message (RFC 5546) for email: METHOD:REQUEST books or updates the sessions in the recipient's
    calendar, METHOD:CANCEL takes them out. One VEVENT per session, each with the feed's UID and SEQUENCE."""
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(method)
    cal = Calendar()
    cal.add("prodid", "-//Mentoring//Service Appointments//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    for appointment in appointments:
        event = Event()
        event.add("uid", event_uid(appointment))
        event.add("sequence", event_sequence(appointment))
        event.add("dtstamp", appointment.updated_at)
        event.add("dtstart", appointment.starts_at)
        event.add("dtend", appointment.ends_at)
        event.add("summary", f"{appointment.reference}: mentoring session, {appointment.mentor.name} and "
                             f"{appointment.mentee.full_name}")
        where = appointment.get_mode_display() + (f": {appointment.location}" if appointment.location else "")
        event.add("location", where)
        event.add("description", f"{appointment.get_mode_display()} session. Reference {appointment.reference}.")
        event.add("url", f"{base_url}{appointment.get_absolute_url()}")
        event.add("organizer", vCalAddress(f"mailto:{organiser_email}"), parameters={"cn": appointment.mentor.name})
        for address in attendee_emails:
            event.add("attendee", vCalAddress(f"mailto:{address}"), parameters={"role": "REQ-PARTICIPANT"})
        event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
        cal.add_component(event)
    return cal.to_ical()


def feed_for(mentor, appointments, *, base_url: str) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//Mentoring//Service Appointments//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"Mentoring sessions: {mentor.name}")
    cal.add("x-wr-timezone", "Europe/London")
    for appointment in appointments:
        event = Event()
        event.add("uid", event_uid(appointment))
        event.add("sequence", event_sequence(appointment))
        event.add("dtstamp", appointment.updated_at)
        event.add("dtstart", appointment.starts_at)
        event.add("dtend", appointment.ends_at)
        event.add("summary", f"{appointment.reference}: session with {appointment.mentee.full_name}")
        if appointment.location:
            event.add("location", appointment.location)
        url = f"{base_url}{appointment.get_absolute_url()}"
        event.add("url", url)
        event.add("description", f"{appointment.get_status_display()}. Open the Service Appointment: {url}")
        event.add(
            "status", "CANCELLED" if appointment.status == ServiceAppointment.Status.CANCELLED else "CONFIRMED"
        )
        cal.add_component(event)
    return cal.to_ical()

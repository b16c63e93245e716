"""The iCalendar text of a mentor's private feed."""

from icalendar import Calendar, Event

from sessions_app.models import ServiceAppointment


def feed_for(mentor, appointments, *, base_url: str) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//Mentoring//Service Appointments//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"Mentoring sessions: {mentor.name}")
    cal.add("x-wr-timezone", "Europe/London")
    for appointment in appointments:
        event = Event()
        event.add("uid", f"{appointment.reference}@mentoring")
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

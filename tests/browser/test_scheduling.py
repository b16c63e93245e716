"""In Chromium: a mentor books a weekly series, moves one session, cancels another and books its replacement; the
calendar invitations emailed are read back with the icalendar parser."""

from datetime import timedelta

from django.core import mail
from django.utils import timezone
from icalendar import Calendar

from sessions_app.models import MentorAssignment, ServiceAppointment
from tests.browser.conftest import log_in
from tests.factories import PASSWORD


def seen(locator):
    """Wait for it to show (the page may still be loading after a click), as a user would."""
    locator.wait_for(state="visible")


def invitations_to(address):
    """Every calendar attachment emailed to `address`, parsed, with its email's subject."""
    found = []
    for message in mail.outbox:
        if message.to == [address]:
            for name, content, mimetype in message.attachments:
                if mimetype.startswith("text/calendar"):
                    found.append((message.subject, Calendar.from_ical(content)))
    return found


def test_a_mentor_books_a_series_moves_one_and_cancels_and_rebooks_another(page, mentor, mentee, settings):
    settings.REBOOKING_HOLD_MINUTES = 10  # as in production: the mentee's cancellation waits for the replacement
    MentorAssignment.objects.create(mentor=mentor, mentee=mentee)
    first_day = timezone.localdate() + timedelta(days=14)
    log_in(page, mentor.user.email, PASSWORD)

    # Book a weekly series of three from the homepage, checking it first.
    page.get_by_role("link", name="Book a session").first.click()
    page.get_by_label("Mentee").select_option(label="Mo Mentee")
    page.get_by_label("Date", exact=True).fill(first_day.isoformat())
    page.get_by_label("Starts at").fill("16:00")
    page.get_by_label("Length (minutes)").fill("45")
    page.get_by_label("Phone", exact=True).check()
    page.get_by_label("Repeat", exact=True).select_option(label="Weekly")
    page.get_by_label("Number of sessions").fill("3")
    page.get_by_role("button", name="Check").click()
    seen(page.get_by_role("heading", name="The 3 sessions"))
    page.get_by_role("button", name="Book 3 sessions").click()
    seen(page.get_by_text("3 sessions are booked"))
    booked = list(ServiceAppointment.objects.order_by("starts_at"))
    assert len(booked) == 3 and {s.booked_minutes for s in booked} == {45}
    (subject, invitation), = invitations_to(mentee.email)
    assert invitation["METHOD"] == "REQUEST"
    assert [str(e["UID"]) for e in invitation.walk("VEVENT")] == [f"{s.reference}@mentoring" for s in booked]
    assert {e.decoded("DTSTART").astimezone(timezone.get_current_timezone()).strftime("%H:%M")
            for e in invitation.walk("VEVENT")} == {"16:00"}

    # Move the first one to the next day at 10:00.
    page.wait_for_url(f"**{booked[0].get_absolute_url()}")
    page.get_by_role("link", name="Move").click()
    page.get_by_label("Date", exact=True).fill((first_day + timedelta(days=1)).isoformat())
    page.get_by_label("Starts at").fill("10:00")
    page.get_by_role("button", name="Move").click()
    seen(page.get_by_text(f"{booked[0].reference} is now "))
    subject, update = invitations_to(mentee.email)[-1]
    assert subject.startswith(f"Moved: mentoring session {booked[0].reference}")
    (event,) = update.walk("VEVENT")
    assert str(event["UID"]) == f"{booked[0].reference}@mentoring" and event["SEQUENCE"] == 1

    # Cancel the second, then book its replacement from the prefilled form.
    page.goto(booked[1].get_absolute_url())
    page.get_by_role("link", name="Cancel Session").click()
    page.get_by_label("Cancellation reason").select_option(label="Mentee unwell")
    page.get_by_label("Internal cancellation note").fill("Flu.")
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Confirm cancellation").click()
    seen(page.get_by_text("Book a replacement in the next 10 minutes and Mo Mentee gets one email"))
    emails_to_mentee = len([m for m in mail.outbox if m.to == [mentee.email]])
    page.get_by_role("link", name="Book a replacement").click()
    seen(page.get_by_role("heading", name=f"{booked[1].reference} is cancelled. Book a replacement?"))
    assert page.get_by_label("Length (minutes)").input_value() == "45"
    assert page.get_by_label("Starts at").input_value() == "16:00"
    page.get_by_label("Date", exact=True).fill((first_day + timedelta(days=9)).isoformat())
    page.get_by_role("button", name="Check").click()
    page.get_by_role("button", name="Book the session").click()
    seen(page.get_by_text("is booked"))
    # One email to the mentee says both, with the two calendar files read back: the old UID cancelled, the new one
    # requested.
    (rebooked_email,) = [m for m in mail.outbox if m.to == [mentee.email]][emails_to_mentee:]
    replacement = ServiceAppointment.objects.order_by("-pk").first()
    assert rebooked_email.subject.startswith(f"{booked[1].reference} cancelled and rebooked: {replacement.reference}")
    assert "Reason: Mentee unwell" in rebooked_email.body and "Flu" not in rebooked_email.body
    (cancel, request) = [Calendar.from_ical(content) for _, content, _ in rebooked_email.attachments]
    assert (cancel["METHOD"], request["METHOD"]) == ("CANCEL", "REQUEST")
    assert [str(e["UID"]) for e in cancel.walk("VEVENT")] == [f"{booked[1].reference}@mentoring"]
    assert [str(e["UID"]) for e in request.walk("VEVENT")] == [f"{replacement.reference}@mentoring"]

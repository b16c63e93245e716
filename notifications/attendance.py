"""What an attendance email says. The same function renders the Cancel Session preview and the email sent.

It never contains the internal cancellation note, the Admin Details or the session notes: they are not
even given to the templates.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from sessions_app.models import ServiceAppointment
from sessions_app.scheduling import span

Status, Outcome = ServiceAppointment.Status, ServiceAppointment.Outcome

# How the subject ends: "SA-000123: your session on 20 November 2026 at 15:00 did not take place".
WHAT_HAPPENED = {
    Outcome.ATTENDED: "was attended",
    Outcome.LATE_CANCELLATION: "was cancelled at late notice",
    Outcome.DID_NOT_ATTEND: "did not take place",
    Outcome.CANCELLED: "was cancelled",
}


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def _session_context(appointment: ServiceAppointment) -> dict:
    """What every email about one session says of it."""
    return {
        "reference": appointment.reference,
        "mentee_name": appointment.mentee.full_name,
        "mentor_name": appointment.mentor.user.full_name,
        "start": timezone.localtime(appointment.starts_at),
    }


def attendance_email(appointment: ServiceAppointment, *, funder=None, sign_off=None) -> RenderedEmail:
    """The email to the mentee, or, given a funder, to the funder's billing contact. Given the session's sign-off
    (waiting for the mentee), the mentee's email asks them to confirm or dispute it by their personal link."""
    cancelled_in_advance = appointment.status == Status.CANCELLED
    what = "was cancelled" if cancelled_in_advance else WHAT_HAPPENED.get(appointment.outcome, "was updated")
    start = timezone.localtime(appointment.starts_at)
    context = {
        **_session_context(appointment),
        "end": timezone.localtime(appointment.ends_at),
        "what": what,
        "cancelled_in_advance": cancelled_in_advance,
        "outcome": appointment.outcome,
        # The reason is shared for a cancellation, in advance or at late notice; the internal note never is.
        "reason": appointment.cancellation_reason.label
        if appointment.cancellation_reason_id and (cancelled_in_advance or appointment.outcome == Outcome.LATE_CANCELLATION)
        else "",
        "funder": funder,
        "greeting": (funder.billing_contact_name or funder.name) if funder else appointment.mentee.full_name,
        "site_url": settings.SITE_URL,
        "sign_off": sign_off_link_context(sign_off) if sign_off is not None and not funder else None,
    }
    if funder:
        subject = f"{appointment.reference}: {appointment.mentee.full_name}'s session on {start:%-d %B %Y} {what}"
    else:
        subject = f"{appointment.reference}: your session on {start:%-d %B %Y} at {start:%H:%M} {what}"
    return RenderedEmail(
        subject=subject,
        text=render_to_string("notifications/attendance.txt", context).strip() + "\n",
        html=render_to_string("notifications/attendance.html", context),
    )


def sign_off_link_context(sign_off) -> dict:
    """The personal link and until when it works (a new one comes with each reminder)."""
    from sessions_app.services.sign_off import sign_off_url

    expires = timezone.localtime(timezone.now() + timedelta(days=settings.SIGN_OFF_LINK_DAYS))
    return {"url": sign_off_url(sign_off), "expires": expires,
            "funder_name": sign_off.appointment.funding_arrangement.funder.name}


def cancelled_and_rebooked_email(cancelled: ServiceAppointment, replacement: ServiceAppointment, *,
                                  takes_out: bool) -> RenderedEmail:
    """The mentee's attendance email for a session cancelled and then rebooked in the same flow: one email saying
    both, with the reason shared as in the attendance email (never the internal note). `takes_out`: a calendar
    cancellation of the old session is attached too."""
    context = {
        **_session_context(cancelled),
        "greeting": cancelled.mentee.full_name,
        "reason": cancelled.cancellation_reason.label if cancelled.cancellation_reason_id else "",
        "cancelled_span": span(cancelled.starts_at, cancelled.ends_at),
        "new_reference": replacement.reference,
        "new_span": span(replacement.starts_at, replacement.ends_at),
        "new_how": replacement.get_mode_display(),
        "new_location": replacement.location,
        "takes_out": takes_out,
        "site_url": settings.SITE_URL,
    }
    return RenderedEmail(
        subject=f"{cancelled.reference} cancelled and rebooked: {replacement.reference}, "
                f"{span(replacement.starts_at, replacement.ends_at)}",
        text=render_to_string("notifications/cancelled_and_rebooked.txt", context).strip() + "\n",
        html=render_to_string("notifications/cancelled_and_rebooked.html", context),
    )


def funder_correction_email(appointment: ServiceAppointment, *, funder) -> RenderedEmail:
    """To a funder told about a session that turned out not to be theirs. It says nothing of who funds it now."""
    start = timezone.localtime(appointment.starts_at)
    context = {
        **_session_context(appointment),
        "funder": funder,
        "greeting": funder.billing_contact_name or funder.name,
    }
    return RenderedEmail(
        subject=f"Correction: {appointment.reference}, {appointment.mentee.full_name}'s session on "
                f"{start:%-d %B %Y}, is not funded by {funder.name}",
        text=render_to_string("notifications/funder_correction.txt", context).strip() + "\n",
        html=render_to_string("notifications/funder_correction.html", context),
    )

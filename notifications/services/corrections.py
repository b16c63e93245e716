"""Who is told when a wrap-up is corrected (sessions_app's `wrap_up_corrected`).

A funder told about a session that is no longer theirs gets the short correction ("… is not funded by …"), and the
funder it now belongs to hears about it (`funder_emails_settle`). When what happened changed (the outcome), the mentee
and a funder who were told what happened, and whose session it still is, get a short correction saying what it was.
"""

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from notifications.attendance import WHAT_HAPPENED, RenderedEmail
from notifications.models import OutboxEmail
from sessions_app.models import ServiceAppointment

from .attendance import funder_emails_settle, funders_told, session_funder
from .outbox import outbox_enqueue

Kind = OutboxEmail.Kind


def attendance_correction_email(appointment: ServiceAppointment, *, was: str, funder=None) -> RenderedEmail:
    start = timezone.localtime(appointment.starts_at)
    what_was = WHAT_HAPPENED.get(was, "was updated")
    what_now = WHAT_HAPPENED.get(appointment.outcome, "was updated")
    context = {
        "reference": appointment.reference,
        "mentee_name": appointment.mentee.full_name,
        "mentor_name": appointment.mentor.user.full_name,
        "start": start,
        "funder": funder,
        "greeting": (funder.billing_contact_name or funder.name) if funder else appointment.mentee.full_name,
        "what_was": what_was,
        "what_now": what_now,
        "site_url": settings.SITE_URL,
    }
    if funder:
        subject = (f"Correction: {appointment.reference}, {appointment.mentee.full_name}'s session on "
                   f"{start:%-d %B %Y}, {what_now}")
    else:
        subject = f"Correction: {appointment.reference}, your session on {start:%-d %B %Y} at {start:%H:%M}, {what_now}"
    return RenderedEmail(
        subject=subject,
        text=render_to_string("notifications/attendance_correction.txt", context).strip() + "\n",
        html=render_to_string("notifications/attendance_correction.html", context),
    )


def _key(appointment: ServiceAppointment, who: str) -> str:
    key = f"attendance-correction:{appointment.reference}:{who}"
    earlier = OutboxEmail.objects.filter(appointment=appointment, kind=Kind.ATTENDANCE_CORRECTION,
                                         key__startswith=key).count()
    return f"{key}:{earlier + 1}"


def wrap_up_correction_queue(*, appointment: ServiceAppointment, before, after) -> list[OutboxEmail]:
    """In the correction's transaction: put right what the mentee and funders were told. `before` and `after` are
    the wrap-up's records (sessions_app.services.corrections.WrapUpRecord)."""
    told_before = funders_told(appointment)
    queued = funder_emails_settle(appointment=appointment)
    if before.outcome == after.outcome:
        return queued
    if OutboxEmail.objects.filter(appointment=appointment, kind=Kind.ATTENDANCE_MENTEE).exists():
        email = attendance_correction_email(appointment, was=before.outcome)
        queued.append(outbox_enqueue(
            key=_key(appointment, "mentee"), kind=Kind.ATTENDANCE_CORRECTION, to=[appointment.mentee.email],
            subject=email.subject, text_body=email.text, html_body=email.html, appointment=appointment))
    funder = session_funder(appointment)
    if funder is not None and funder.pk in told_before:
        email = attendance_correction_email(appointment, was=before.outcome, funder=funder)
        queued.append(outbox_enqueue(
            key=_key(appointment, f"funder-{funder.pk}"), kind=Kind.ATTENDANCE_CORRECTION, to=[funder.billing_email],
            subject=email.subject, text_body=email.text, html_body=email.html, appointment=appointment))
    return [email for email in queued if email is not None]


def wrap_up_reopened_queue(*, appointment: ServiceAppointment, acting_user, reason: str) -> OutboxEmail | None:
    """The mentor is told their session is to be wrapped up again, by whom and why (it is back on their
    homepage)."""
    from django.template.loader import render_to_string as render

    user = appointment.mentor.user
    start = timezone.localtime(appointment.starts_at)
    context = {"mentor_name": user.full_name, "appointment": appointment, "start": start, "by": acting_user,
               "reason": reason, "url": settings.SITE_URL + appointment.get_absolute_url(),
               "site_url": settings.SITE_URL}
    earlier = OutboxEmail.objects.filter(appointment=appointment, kind=Kind.WRAP_UP_REOPENED).count()
    return outbox_enqueue(
        key=f"wrap-up-reopened:{appointment.reference}:{earlier + 1}", kind=Kind.WRAP_UP_REOPENED, to=[user.email],
        subject=f"{appointment.reference}: please wrap up your session on {start:%-d %B %Y} again",
        text_body=render("notifications/wrap_up_reopened.txt", context).strip() + "\n",
        html_body=render("notifications/wrap_up_reopened.html", context), appointment=appointment)

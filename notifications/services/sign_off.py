"""The mentee's sign-off emails. The personal link goes in the mentee's attendance email when the wrap-up completes
the session (attendance.py); a session that went to Finance first gets it in an email of its own when Finance
completes it (`sign_off_email_queue`). Then the reminders (`sign-off-reminders` job): one 3 days after the
request, one in the month's last 3 days. One of each per session however often the job runs (outbox keys)."""

from datetime import date, timedelta

from django.conf import settings
from django.utils import timezone

from notifications.models import OutboxEmail
from sessions_app.models import ServiceAppointment, SessionSignOff
from sessions_app.selectors import last_day_of_month, local_midnight
from sessions_app.services import sign_off_reminded
from sessions_app.services.sign_off import sign_off_url

from .alerts import render_email
from .outbox import outbox_enqueue

FIRST_REMINDER_AFTER = timedelta(days=3)
MONTH_END_DAYS = 3
Kind = OutboxEmail.Kind


def _render(sign_off: SessionSignOff, *, reminder: bool = False, month_end: bool = False) -> tuple[str, str, str]:
    appointment = sign_off.appointment
    now = timezone.now()
    context = {
        "reference": appointment.reference, "mentee_name": appointment.mentee.full_name,
        "mentor_name": appointment.mentor.user.full_name, "funder_name": appointment.funding_arrangement.funder.name,
        "start": timezone.localtime(appointment.starts_at), "end": timezone.localtime(appointment.ends_at),
        "minutes": appointment.minutes, "outcome": appointment.get_outcome_display(),
        "url": sign_off_url(sign_off), "expires": timezone.localtime(now + timedelta(days=settings.SIGN_OFF_LINK_DAYS)),
        "reminder": reminder, "month_end": month_end,
    }
    text, html = render_email("sign_off", context)
    day = f"{context['start']:%-d %B %Y}"
    subject = (f"{'Reminder: please' if reminder else 'Please'} confirm your mentoring session on {day} "
               f"({appointment.reference})")
    return subject, text, html


def sign_off_email_queue(*, appointment: ServiceAppointment) -> OutboxEmail | None:
    """In the wrap-up's transaction: the email asking the mentee to confirm the session, once per session (the
    database allows one of this kind per session). Nothing when the session needs no sign-off or it is answered."""
    sign_off = SessionSignOff.objects.filter(appointment=appointment, state=SessionSignOff.State.PENDING).first()
    if sign_off is None:
        return None
    subject, text, html = _render(sign_off)
    return outbox_enqueue(key=f"sign-off:{appointment.reference}", kind=Kind.SIGN_OFF_REQUEST,
                          to=[appointment.mentee.email], subject=subject, text_body=text, html_body=html,
                          appointment=appointment)


def sign_off_reminders_send(*, today: date | None = None, now=None) -> int:
    """Remind mentees who have not answered: 3 days after the request, and in the month's last 3 days (to those
    asked before those days began). One email per session and day at most; each reminder once. Returns how many."""
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    window_starts = last_day_of_month(today) - timedelta(days=MONTH_END_DAYS - 1)
    pending = (SessionSignOff.objects.filter(state=SessionSignOff.State.PENDING,
                                             appointment__status=ServiceAppointment.Status.COMPLETED)
               .select_related("appointment__mentee", "appointment__mentor__user",
                               "appointment__funding_arrangement__funder")
               .order_by("requested_at", "pk"))
    queued = 0
    if today >= window_starts:
        for sign_off in pending.filter(month_end_reminder_at__isnull=True,
                                       requested_at__lt=local_midnight(window_starts)):
            queued += _remind(sign_off, month_end=True, now=now, which=f"month-end-{today:%Y-%m}")
    # Asked on the 20th, reminded on the 23rd (by calendar day in London, whatever the time the job runs).
    asked_before = local_midnight(today - FIRST_REMINDER_AFTER + timedelta(days=1))
    for sign_off in pending.filter(first_reminder_at__isnull=True, requested_at__lt=asked_before):
        queued += _remind(sign_off, month_end=False, now=now, which="first")
    return queued


def _remind(sign_off: SessionSignOff, *, month_end: bool, now, which: str) -> int:
    if not sign_off_reminded(sign_off_id=sign_off.pk, month_end=month_end, now=now):
        return 0
    appointment = sign_off.appointment
    subject, text, html = _render(sign_off, reminder=True, month_end=month_end)
    return outbox_enqueue(key=f"sign-off-reminder:{appointment.reference}:{which}", kind=Kind.SIGN_OFF_REMINDER,
                          to=[appointment.mentee.email], subject=subject, text_body=text, html_body=html,
                          appointment=appointment) is not None

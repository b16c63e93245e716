"""The morning wrap-up reminders and the month-end summary for Senior Leadership."""

from collections import defaultdict
from datetime import date

from django.utils import timezone

from notifications.models import OutboxEmail
from sessions_app import roles
from sessions_app.models import ServiceAppointment, User
from sessions_app.selectors import wrap_up_deadline

from .alerts import render_email
from .outbox import outbox_enqueue

FINAL_DAYS = 3  # the reminder warns plainly about pay and invoices in the month's last three days


def _ended_not_wrapped_up(now):
    return (
        ServiceAppointment.objects.filter(status=ServiceAppointment.Status.SCHEDULED, ends_at__lte=now)
        .select_related("mentor__user", "mentee")
        .order_by("mentor_id", "starts_at")
    )


def wrap_up_reminders_send(*, today: date | None = None, now=None) -> int:
    """One email to each mentor with sessions that ended and are not wrapped up; none to the others.
    Run twice on a day, it queues nothing more. Returns how many were queued."""
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    deadline = wrap_up_deadline(today)
    by_mentor = defaultdict(list)
    for appointment in _ended_not_wrapped_up(now):
        by_mentor[appointment.mentor].append(appointment)
    queued = 0
    for mentor, appointments in by_mentor.items():
        context = {"mentor": mentor, "appointments": appointments, "deadline": deadline,
                   "final_days": deadline.days_left < FINAL_DAYS}
        text, html = render_email("wrap_up_reminder", context)
        count = len(appointments)
        subject = f"{count} session{'s' if count != 1 else ''} to wrap up"
        if context["final_days"]:
            by = (f"{deadline.closes_at:%H:%M} today" if deadline.is_today
                  else f"{deadline.closes_at:%H:%M} on {deadline.day:%-d %B}")
            subject += f" by {by}: unwrapped sessions are not paid this month"
        queued += outbox_enqueue(
            key=f"wrap-up-reminder:{mentor.pk}:{today.isoformat()}", kind=OutboxEmail.Kind.WRAP_UP_REMINDER,
            to=[mentor.user.email], subject=subject, text_body=text, html_body=html,
        ) is not None
    return queued


def leadership_summary_send(*, today: date | None = None, now=None) -> int:
    """On the month's last day, Senior Leadership get every mentor's sessions still not wrapped up.
    On other days it does nothing. Returns how many emails were queued."""
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    deadline = wrap_up_deadline(today)
    if not deadline.is_today:
        return 0
    by_mentor = defaultdict(list)
    for appointment in _ended_not_wrapped_up(now):
        by_mentor[appointment.mentor].append(appointment)
    rows = sorted(by_mentor.items(), key=lambda item: item[0].user.full_name)
    leaders = User.objects.filter(groups__name=roles.SENIOR_LEADERSHIP, is_active=True).order_by("pk")
    queued = 0
    for leader in leaders:
        text, html = render_email("leadership_summary", {"leader": leader, "rows": rows, "deadline": deadline,
                                                     "total": sum(len(a) for _, a in rows)})
        total = sum(len(a) for _, a in rows)
        subject = (f"Month end: {total} session{'s' if total != 1 else ''} still to wrap up across "
                   f"{len(rows)} mentor{'s' if len(rows) != 1 else ''}" if rows else "Month end: every session is wrapped up")
        queued += outbox_enqueue(
            key=f"leadership-summary:{leader.pk}:{today.isoformat()}", kind=OutboxEmail.Kind.LEADERSHIP_SUMMARY,
            to=[leader.email], subject=subject, text_body=text, html_body=html,
        ) is not None
    return queued

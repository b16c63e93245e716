from django.conf import settings
from django.template.loader import render_to_string

from notifications.models import OutboxEmail
from sessions_app import roles
from sessions_app.models import User

from .outbox import outbox_enqueue


def finance_addresses() -> list[str]:
    addresses = list(
        User.objects.filter(groups__name=roles.FINANCE, is_active=True).values_list("email", flat=True)
    )
    if settings.FINANCE_EMAIL:
        addresses.append(settings.FINANCE_EMAIL)
    return addresses


def render_email(template: str, context: dict) -> tuple[str, str]:
    context = {**context, "site_url": settings.SITE_URL}
    return (render_to_string(f"notifications/{template}.txt", context).strip() + "\n",
            render_to_string(f"notifications/{template}.html", context))


def finance_alert_queue(*, ticket) -> OutboxEmail | None:
    """Tell Finance a ticket was logged, or a session went to Awaiting Finance (which logs a ticket)."""
    text, html = render_email("finance_alert", {"ticket": ticket, "appointment": ticket.appointment})
    return outbox_enqueue(
        key=f"finance-alert:ticket:{ticket.pk}", kind=OutboxEmail.Kind.FINANCE_ALERT, to=finance_addresses(),
        subject=f"Finance ticket: {ticket.subject}", text_body=text, html_body=html,
    )


def ticket_reply_queue(*, ticket) -> list[OutboxEmail]:
    """Tell the person who logged a ticket that Finance has replied, and, for a ticket about a session that someone
    else logged (Senior Leadership, or a wrap-up done for the mentor), the session's mentor too."""
    appointment = ticket.appointment
    recipients = [("", ticket.raised_by)]
    if appointment is not None and appointment.mentor.user_id != ticket.raised_by_id:
        recipients.append((":mentor", appointment.mentor.user))
    queued = []
    for suffix, recipient in recipients:
        text, html = render_email("ticket_reply", {"ticket": ticket, "appointment": appointment, "recipient": recipient})
        queued.append(outbox_enqueue(
            key=f"ticket-reply:{ticket.pk}{suffix}", kind=OutboxEmail.Kind.TICKET_REPLY, to=[recipient.email],
            subject=f"Finance replied: {ticket.subject}", text_body=text, html_body=html,
        ))
    return [email for email in queued if email is not None]

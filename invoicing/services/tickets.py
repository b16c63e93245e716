"""Writes for Finance: tickets (and, later, invoices and statements)."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from invoicing.models import FinanceTicket
from notifications.services import finance_alert_queue, ticket_reply_queue
from sessions_app.validators import validate_one_line


@transaction.atomic
def ticket_raise(*, raised_by, subject: str, message: str, appointment=None,
                 kind: str = FinanceTicket.Kind.QUESTION) -> FinanceTicket:
    errors = {}
    if not subject.strip():
        errors["subject"] = "Give the ticket a subject."
    else:
        try:
            validate_one_line(subject.strip())  # the subject goes into email subjects
        except ValidationError as problem:
            errors["subject"] = problem.messages[0]
    if not message.strip():
        errors["message"] = "Tell Finance what you need."
    if errors:
        raise ValidationError(errors)
    ticket = FinanceTicket.objects.create(
        raised_by=raised_by, subject=subject.strip()[:200], message=message.strip(), appointment=appointment, kind=kind
    )
    finance_alert_queue(ticket=ticket)
    return ticket


@transaction.atomic
def ticket_reply(*, ticket_id: int, acting_user, reply: str) -> FinanceTicket:
    """Finance answers a ticket, which closes it; the person who raised it sees the reply on their homepage."""
    if not reply.strip():
        raise ValidationError({"reply": "Write a reply before closing the ticket."})
    ticket = FinanceTicket.objects.select_for_update().get(pk=ticket_id)
    if ticket.status == FinanceTicket.Status.CLOSED:
        raise ValidationError(f"Ticket {ticket.pk} was already answered by {ticket.replied_by} "
                              f"on {timezone.localtime(ticket.replied_at):%d/%m/%Y at %H:%M}.")
    ticket.status = FinanceTicket.Status.CLOSED
    ticket.reply = reply.strip()
    ticket.replied_by = acting_user
    ticket.replied_at = timezone.now()
    ticket.save(update_fields=["status", "reply", "replied_by", "replied_at"])
    ticket_reply_queue(ticket=ticket)
    return ticket


def tickets_close_for_appointment(*, appointment, acting_user, reply: str) -> int:
    """Close every open ticket about this appointment with the same reply; returns how many."""
    closed = 0
    for ticket_id in FinanceTicket.objects.filter(appointment=appointment, status=FinanceTicket.Status.OPEN).values_list("pk", flat=True):
        ticket_reply(ticket_id=ticket_id, acting_user=acting_user, reply=reply)
        closed += 1
    return closed

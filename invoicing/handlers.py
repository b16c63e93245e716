"""What invoicing does when sessions_app announces a domain event (sessions_app/events.py). Connected in
InvoicingConfig.ready; each runs in the transaction of the service that sent the event."""

from sessions_app import events

from invoicing.models import FinanceTicket
from invoicing.services import ticket_raise, tickets_close_for_appointment
from sessions_app.services.wrap_up import OVER_AUTHORISED_HOURS


def on_appointment_wrapped_up(sender, *, appointment, acting_user, sent_to_finance, finance_reason="", **kwargs):
    """Admin Details go to Finance as a ticket: what is missing, or a note from the wrap-up; a session that would
    take its arrangement past its authorised hours, as a ticket saying so."""
    if not appointment.admin_details:
        return
    if finance_reason == OVER_AUTHORISED_HOURS:
        ticket_raise(raised_by=acting_user, appointment=appointment, kind=FinanceTicket.Kind.OVER_AUTHORISED_HOURS,
                     subject=f"{appointment.reference}: over authorised hours", message=appointment.admin_details)
        return
    ticket_raise(
        raised_by=acting_user,
        appointment=appointment,
        kind=FinanceTicket.Kind.MISSING_INFORMATION if sent_to_finance else FinanceTicket.Kind.QUESTION,
        subject=f"{appointment.reference}: "
                f"{'information missing at wrap-up' if sent_to_finance else 'note from the wrap-up'}",
        message=appointment.admin_details,
    )


def on_funding_settled(sender, *, appointment, acting_user, reply, **kwargs):
    tickets_close_for_appointment(appointment=appointment, acting_user=acting_user, reply=reply)


def connect() -> None:
    events.appointment_wrapped_up.connect(on_appointment_wrapped_up, dispatch_uid="invoicing:appointment-wrapped-up")
    events.funding_settled.connect(on_funding_settled, dispatch_uid="invoicing:funding-settled")

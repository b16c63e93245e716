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


def on_wrap_up_corrected(sender, *, appointment, acting_user, before, after, reason, **kwargs):
    """A draft's line made again, a credit note for an issued invoice's line, an adjustment on the next statement.
    Returns what was done, which the correction service passes on to whoever corrected it."""
    from sessions_app.services.corrections import changes

    from invoicing.services.corrections import wrap_up_corrected_settle

    return wrap_up_corrected_settle(appointment=appointment, acting_user=acting_user, before=before, after=after,
                                    reason=reason, description=changes(before, after))


def on_wrap_up_reopened(sender, *, appointment, **kwargs):
    """Off draft documents; refused (the reopen undone) once on an issued one."""
    from invoicing.services.corrections import wrap_up_reopened_settle

    return wrap_up_reopened_settle(appointment=appointment)


def on_sign_off_answered(sender, *, appointment, sign_off, acting_user=None, **kwargs):
    """A session the mentee disputes goes to Finance's queue with their comment. Logged in the name of whoever
    recorded it, or (by the mentee's link, who has no log-in) the session's mentor, so Finance's reply reaches them."""
    if sign_off.state != sign_off.State.DISPUTED:
        return
    how = "on paper" if sign_off.how == sign_off.How.PAPER else "by the link in their email"
    message = (f"{appointment.mentee.full_name} disputed {appointment.reference} {how}. "
               + (f"Their comment: {sign_off.comment}" if sign_off.comment else "They left no comment."))
    ticket_raise(raised_by=acting_user or appointment.mentor.user, appointment=appointment,
                 kind=FinanceTicket.Kind.SIGN_OFF_DISPUTED,
                 subject=f"{appointment.reference}: disputed by the mentee", message=message)


def connect() -> None:
    events.sign_off_answered.connect(on_sign_off_answered, dispatch_uid="invoicing:sign-off-answered")
    events.appointment_wrapped_up.connect(on_appointment_wrapped_up, dispatch_uid="invoicing:appointment-wrapped-up")
    events.funding_settled.connect(on_funding_settled, dispatch_uid="invoicing:funding-settled")
    events.wrap_up_corrected.connect(on_wrap_up_corrected, dispatch_uid="invoicing:wrap-up-corrected")
    events.wrap_up_reopened.connect(on_wrap_up_reopened, dispatch_uid="invoicing:wrap-up-reopened")

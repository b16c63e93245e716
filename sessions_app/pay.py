"""What a mentor earns for a session. Month-end statements (invoicing) apply Finance's policy on top."""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.utils.formats import date_format

from sessions_app import hooks
from sessions_app.models import Mentor, ServiceAppointment

PENNY = Decimal("0.01")

DEFAULT_PAID_OUTCOMES = frozenset(
    {
        ServiceAppointment.Outcome.ATTENDED,
        ServiceAppointment.Outcome.LATE_CANCELLATION,
        ServiceAppointment.Outcome.DID_NOT_ATTEND,
    }
)


def amount_for_minutes(minutes: int, hourly_rate: Decimal) -> Decimal:
    return (Decimal(minutes) * hourly_rate / Decimal(60)).quantize(PENNY, rounding=ROUND_HALF_UP)


def session_pay(appointment: ServiceAppointment, hourly_rate: Decimal) -> Decimal:
    """Pay for a wrapped-up session under the default policy; nothing for other sessions."""
    if appointment.status != ServiceAppointment.Status.COMPLETED:
        return Decimal("0.00")
    if appointment.outcome not in DEFAULT_PAID_OUTCOMES:
        return Decimal("0.00")
    return amount_for_minutes(appointment.minutes, hourly_rate)


# ---------------------------------------------------------------- which payment statement pays a session

@dataclass(frozen=True)
class StatementMove:
    """A wrapped-up session that its month's payment statement does not pay, because that statement was issued
    before the session was wrapped up: a later statement pays it."""

    month: date  # the session's month, whose statement was issued without it
    statement_month: date  # the month of the statement that pays it
    on_it: bool  # that statement has it already (else it goes on it at that month's end)

    @property
    def text(self) -> str:
        later, own = date_format(self.statement_month, "F Y"), date_format(self.month, "F Y")
        verb = "Paid on" if self.on_it else "Moves to"
        return f"{verb} the {later} payment statement: it was wrapped up after the {own} statement was issued."


def statement_moves(mentor: Mentor, appointments: list[ServiceAppointment]) -> dict[int, StatementMove]:
    """The mentor's wrapped-up sessions among `appointments` that a later payment statement pays than their own
    month's, because that one was issued before they were wrapped up. A few queries at most, however many.

    Payment statements belong to invoicing, above this app: it answers through `hooks.statement_moves` (provided
    in InvoicingConfig.ready). Without it, no session has moved."""
    completed = [a for a in appointments if a.status == ServiceAppointment.Status.COMPLETED]
    if not completed:
        return {}
    return hooks.statement_moves(mentor, completed)

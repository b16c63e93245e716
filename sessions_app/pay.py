"""What a mentor earns for a session. Month-end statements (invoicing) apply Finance's policy on top."""

from decimal import ROUND_HALF_UP, Decimal

from sessions_app.models import ServiceAppointment

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

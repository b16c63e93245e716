"""Everything that writes to the database goes through these functions (keyword-only, one transaction each)."""

from .booking import (
    APPOINTMENT_SEQUENCE,
    appointment_book,
    appointment_reschedule,
    mentor_regenerate_calendar_token,
    sequence_allocate,
)
from .wrap_up import WrapUp, appointment_finance_complete, appointment_wrap_up

__all__ = [
    "APPOINTMENT_SEQUENCE",
    "WrapUp",
    "appointment_book",
    "appointment_reschedule",
    "appointment_finance_complete",
    "appointment_wrap_up",
    "mentor_regenerate_calendar_token",
    "sequence_allocate",
]

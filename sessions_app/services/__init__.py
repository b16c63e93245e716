"""Everything that writes to the database goes through these functions (keyword-only, one transaction each)."""

from .accounts import LockedOutAccount, account_unlock, locked_out_accounts
from .booking import (
    APPOINTMENT_SEQUENCE,
    appointment_book,
    appointment_reschedule,
    mentor_regenerate_calendar_token,
    sequence_allocate,
)
from .bulk import StatusChoice, appointments_wrap_up_for_mentor, wrap_up_request_submit
from .cancel import appointment_cancel
from .wrap_up import WrapUp, appointment_finance_complete, appointment_wrap_up

__all__ = [
    "LockedOutAccount",
    "account_unlock",
    "locked_out_accounts",
    "appointment_cancel",
    "APPOINTMENT_SEQUENCE",
    "StatusChoice",
    "WrapUp",
    "appointment_book",
    "appointment_reschedule",
    "appointment_finance_complete",
    "appointment_wrap_up",
    "appointments_wrap_up_for_mentor",
    "wrap_up_request_submit",
    "mentor_regenerate_calendar_token",
    "sequence_allocate",
]

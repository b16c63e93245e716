"""Everything that writes to the database goes through these functions (keyword-only, one transaction each)."""

from .accounts import LockedOutAccount, account_unlock, locked_out_accounts
from .bank_details import BankDetails, bank_details_clean, bank_details_reveal, bank_details_save, mentor_address_save
from .booking import (
    APPOINTMENT_SEQUENCE,
    appointment_book,
    appointment_move,
    appointment_reschedule,
    check_slot_free,
    mentor_regenerate_calendar_token,
    sequence_allocate,
    session_book,
)
from .series import series_book, series_cancel_following, series_change_following, series_plan
from .bulk import StatusChoice, appointments_wrap_up_for_mentor, wrap_up_request_submit
from .cancel import appointment_cancel
from .corrections import KEEP, WrapUpRecord, appointment_correct, appointment_reopen
from .sign_off import sign_off_answer, sign_off_record_paper, sign_off_reminded, sign_off_request
from .wrap_up import WrapUp, appointment_finance_complete, appointment_wrap_up

__all__ = [
    "sign_off_answer",
    "sign_off_record_paper",
    "sign_off_reminded",
    "sign_off_request",
    "BankDetails",
    "bank_details_clean",
    "bank_details_reveal",
    "bank_details_save",
    "mentor_address_save",
    "LockedOutAccount",
    "account_unlock",
    "locked_out_accounts",
    "appointment_cancel",
    "appointment_correct",
    "appointment_reopen",
    "KEEP",
    "WrapUpRecord",
    "APPOINTMENT_SEQUENCE",
    "StatusChoice",
    "WrapUp",
    "appointment_book",
    "appointment_reschedule",
    "check_slot_free",
    "appointment_finance_complete",
    "appointment_wrap_up",
    "appointments_wrap_up_for_mentor",
    "wrap_up_request_submit",
    "mentor_regenerate_calendar_token",
    "sequence_allocate",
    "appointment_move",
    "session_book",
    "series_book",
    "series_cancel_following",
    "series_change_following",
    "series_plan",
]

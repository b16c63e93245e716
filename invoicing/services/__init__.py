from .documents import (
    invoice_credit,
    invoice_mark_paid,
    invoices_issue,
    statement_approve,
    statement_mark_paid,
    statements_issue,
)
from .month_end import MonthEndSummary, month_end_generate
from .tickets import ticket_raise, ticket_reply, tickets_close_for_appointment

__all__ = [
    "MonthEndSummary",
    "invoice_credit",
    "invoice_mark_paid",
    "invoices_issue",
    "month_end_generate",
    "statement_approve",
    "statement_mark_paid",
    "statements_issue",
    "ticket_raise",
    "ticket_reply",
    "tickets_close_for_appointment",
]

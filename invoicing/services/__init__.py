from .documents import (
    InvoicesRefused,
    invoice_credit,
    invoice_mark_paid,
    invoices_issue,
    invoices_issue_all_possible,
    issued_as,
    statement_approve,
    statement_mark_paid,
    statements_issue,
)
from .month_end import MonthEndSummary, month_end_generate
from .tickets import ticket_raise, ticket_reply, tickets_close_for_appointment

__all__ = [
    "InvoicesRefused",
    "MonthEndSummary",
    "invoice_credit",
    "invoice_mark_paid",
    "invoices_issue",
    "invoices_issue_all_possible",
    "issued_as",
    "month_end_generate",
    "statement_approve",
    "statement_mark_paid",
    "statements_issue",
    "ticket_raise",
    "ticket_reply",
    "tickets_close_for_appointment",
]

from .documents import CreditNote, Invoice, InvoiceLine, MonthEndRun, PaymentStatement, StatementLine
from .funder_rules import MissedSessionRule, Term
from .policy import MentorPayRate, OrganisationDetails, OutcomePolicy
from .tickets import FinanceTicket

__all__ = [
    "CreditNote",
    "FinanceTicket",
    "Invoice",
    "InvoiceLine",
    "MentorPayRate",
    "MissedSessionRule",
    "MonthEndRun",
    "OrganisationDetails",
    "OutcomePolicy",
    "PaymentStatement",
    "StatementLine",
    "Term",
]

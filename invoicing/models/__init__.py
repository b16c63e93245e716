from .corrections import SessionCreditNote, StatementAdjustment
from .documents import CreditNote, Invoice, InvoiceLine, MonthEndRun, PaymentStatement, StatementLine
from .funder_rules import MissedSessionRule, Term
from .payment_runs import PaymentRun, PaymentRunItem
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
    "PaymentRun",
    "PaymentRunItem",
    "PaymentStatement",
    "SessionCreditNote",
    "StatementAdjustment",
    "StatementLine",
    "Term",
]

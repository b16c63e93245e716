from .corrections import SessionCreditNote, StatementAdjustment
from .documents import CreditNote, Invoice, InvoiceLine, MonthEndRun, PaymentStatement, StatementLine
from .policy import MentorPayRate, OrganisationDetails, OutcomePolicy
from .tickets import FinanceTicket

__all__ = [
    "CreditNote",
    "FinanceTicket",
    "Invoice",
    "InvoiceLine",
    "MentorPayRate",
    "MonthEndRun",
    "OrganisationDetails",
    "OutcomePolicy",
    "PaymentStatement",
    "SessionCreditNote",
    "StatementAdjustment",
    "StatementLine",
]

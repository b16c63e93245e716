from .corrections import SessionCreditNote, StatementAdjustment
from .documents import CreditNote, Invoice, InvoiceLine, MonthEndRun, PaymentStatement, StatementLine
from .payment_runs import PaymentRun, PaymentRunItem
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
    "PaymentRun",
    "PaymentRunItem",
    "PaymentStatement",
    "SessionCreditNote",
    "StatementAdjustment",
    "StatementLine",
]

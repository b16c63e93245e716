"""Payment runs: paying mentors' approved statements through the bank.

Finance previews a run (who is paid, how much, and which statements cannot be paid and why), creates it (the
statements and each mentor's bank details as they are at that moment), downloads its files for the bank (Bacs
Standard 18, and the bulk-payment CSV), and once the bank has paid marks it paid: its statements are marked paid
and each mentor is emailed a remittance advice. A run not yet paid can be cancelled, which frees its statements for
another. Every step is in the run's history (who, when, why); every file downloaded is also in the history of each
mentor's bank details, since it holds them in full.
"""

import csv
import io
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from invoicing.bacs import Payment, bacs_text, standard18_file
from invoicing.exports import payment_reference
from invoicing.models import OrganisationDetails, PaymentRun, PaymentRunItem, PaymentStatement, StatementAdjustment
from notifications.services import remittance_advice_queue
from sessions_app import roles
from sessions_app.models import MentorBankDetails
from sessions_app.services import bank_details_reveal

from .documents import document_numbers

NO_BANK_DETAILS = "no bank details: the mentor adds them on “My details”, or Finance under Mentors' bank details"
NOTHING_TO_PAY = "nothing to pay (the statement's total is £0.00)"
NOT_APPROVED = "issued but not yet approved for payment"
MISSING_PAYER = ("No payment run was created: fill in the paying account (name, sort code and account number) under "
                 "Organisation's invoice details › Paying mentors first.")


@dataclass
class PaymentLine:
    statement: PaymentStatement
    details: MentorBankDetails | None
    refusal: str = ""

    @property
    def amount(self) -> Decimal:
        return self.statement.total

    @property
    def owed(self) -> str:
        return f"{-self.statement.total:,.2f}"


@dataclass
class PaymentRunPreview:
    payable: list[PaymentLine] = field(default_factory=list)
    refused: list[PaymentLine] = field(default_factory=list)
    owed: list[PaymentLine] = field(default_factory=list)  # statements that came to less than nothing: not paid
    problems: list[str] = field(default_factory=list)  # what stops any run (the paying account is missing)

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.payable), Decimal("0.00"))

    @property
    def statement_ids(self) -> list[int]:
        return [line.statement.pk for line in self.payable]


def owes_text(statement: PaymentStatement) -> str:
    """Why a statement that came to less than nothing is not paid, and where what the mentor owes goes."""
    owed = f"£{-statement.total:,.2f}"
    carry = getattr(statement, "carried_forward", None)
    if carry is None:  # issued, not yet approved
        where = "once approved, it is taken off their next payment statement"
    elif carry.statement_id is None:
        where = "it is taken off their next payment statement, at the next month end"
    else:
        where = f"it is taken off {carry.statement.number or 'their next payment statement'}"
    return (f"the mentor owes {owed} (corrections to sessions paid earlier came to more than this statement's pay): "
            f"nothing is paid, since a bank payment cannot be negative; {where}")


def _unpaid_statements():
    in_live_run = PaymentRunItem.objects.filter(statement=OuterRef("pk"), live=True)
    carried = StatementAdjustment.objects.filter(carried_from=OuterRef("pk"), statement__isnull=False)
    return (PaymentStatement.objects
            .filter(status__in=[PaymentStatement.Status.APPROVED, PaymentStatement.Status.ISSUED])
            .exclude(Exists(in_live_run))
            .exclude(Exists(carried)))  # what it owed is on a later statement: settled


def _payer_problems(org: OrganisationDetails) -> list[str]:
    if not (org.payer_account_name.strip() and org.payer_sort_code and org.payer_account_number):
        return [MISSING_PAYER]
    return []


def payment_run_preview() -> PaymentRunPreview:
    """What a run created now would pay: every statement approved for payment and not in a run yet, with the
    mentor's bank details; the others, issued or without bank details, listed with the reason they are left out."""
    statements = (_unpaid_statements()
                  .select_related("mentor__user", "mentor__bank_details", "carried_forward__statement")
                  .order_by("mentor__user__full_name", "period_start", "number"))
    preview = PaymentRunPreview(problems=_payer_problems(OrganisationDetails.current()))
    for statement in statements:
        details = getattr(statement.mentor, "bank_details", None)
        line = PaymentLine(statement=statement, details=details)
        if statement.total < 0:
            line.refusal = owes_text(statement)
            preview.owed.append(line)
            continue
        if statement.status == PaymentStatement.Status.ISSUED:
            line.refusal = NOT_APPROVED
        elif details is None:
            line.refusal = NO_BANK_DETAILS
        elif statement.total == 0:
            line.refusal = NOTHING_TO_PAY
        (preview.refused if line.refusal else preview.payable).append(line)
    return preview


def next_working_day_after(day: date, days: int) -> date:
    """`days` working days (Monday to Friday) after `day`: Bacs credits arrive on the third."""
    while days:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


class PaymentRunRefused(ValidationError):
    pass


@transaction.atomic
def payment_run_create(*, statement_ids, acting_user, payment_date: date, today: date | None = None) -> PaymentRun:
    """A run paying the given statements (those Finance confirmed), each still approved, unpaid, in no other run and
    with the mentor's bank details. Ones that no longer are (another run took them meanwhile, say) are left out; if
    none is left, nothing is created. Two runs created at once never take the same statement: the statements are
    locked, and whoever comes second sees the first one's items once it has them."""
    today = today or timezone.localdate()
    if payment_date < today:
        raise PaymentRunRefused({"payment_date": "The payment date cannot be in the past."})
    if payment_date.weekday() >= 5:
        raise PaymentRunRefused({"payment_date": "Banks pay on working days: choose a day from Monday to Friday."})
    if payment_date > today + timedelta(days=60):
        raise PaymentRunRefused({"payment_date": "Choose a payment date within the next 60 days."})
    org = OrganisationDetails.current()
    if problems := _payer_problems(org):
        raise PaymentRunRefused(problems)
    ids = sorted({int(pk) for pk in statement_ids})
    locked = list(PaymentStatement.objects.select_for_update(of=("self",)).filter(
        pk__in=ids, status=PaymentStatement.Status.APPROVED).order_by("pk"))
    # A fresh read once the locks are ours: a run that took some of these first has committed its items by now.
    taken = set(PaymentRunItem.objects.filter(statement__in=locked, live=True).values_list("statement_id", flat=True))
    details = {row.mentor_id: row for row in MentorBankDetails.objects.filter(mentor__in={s.mentor_id for s in locked})}
    statements = [s for s in locked if s.pk not in taken and s.mentor_id in details and s.total > 0]
    if not statements:
        raise PaymentRunRefused(["No payment run was created: none of the statements is still approved, unpaid and "
                                 "in no other run, with the mentor's bank details. Someone else may have paid them "
                                 "meanwhile: see Payment runs."])
    (number,) = document_numbers("PR", today.year, 1)
    run = PaymentRun(number=number, created_at=timezone.now(), created_by=acting_user, payment_date=payment_date,
                     total=sum((s.total for s in statements), Decimal("0.00")),
                     payer_account_name=org.payer_account_name.strip(), payer_sort_code=org.payer_sort_code,
                     payer_account_number=org.payer_account_number)
    run._history_user, run._change_reason = acting_user, (
        f"Created: {len(statements)} payment{'' if len(statements) == 1 else 's'}")
    run.save(force_insert=True)
    PaymentRunItem.objects.bulk_create([
        PaymentRunItem(run=run, statement=s, mentor_id=s.mentor_id, amount=s.total, reference=payment_reference(s),
                       account_name=details[s.mentor_id].account_name, sort_code=details[s.mentor_id].sort_code,
                       account_number=details[s.mentor_id].account_number)
        for s in statements
    ])
    return run


def _lock_ready(run_id: int, action: str) -> PaymentRun:
    run = PaymentRun.objects.select_for_update().get(pk=run_id)
    if run.status == PaymentRun.Status.PAID:
        raise PaymentRunRefused([f"{run.number} was already marked paid on "
                                 f"{timezone.localtime(run.paid_at):%d/%m/%Y %H:%M} by {run.paid_by}: {action}."])
    if run.status == PaymentRun.Status.CANCELLED:
        raise PaymentRunRefused([f"{run.number} was cancelled: {action}."])
    return run


@transaction.atomic
def payment_run_mark_paid(*, run_id: int, acting_user) -> PaymentRun:
    """The bank has made the run's payments: its statements are marked paid (each one's history says by which run)
    and each mentor is emailed a remittance advice, through the outbox, once this commits."""
    run = _lock_ready(run_id, "nothing was changed")
    now = timezone.now()
    items = list(run.items.filter(live=True).select_related("statement__mentor__user", "run"))
    statements = list(PaymentStatement.objects.select_for_update().filter(pk__in=[i.statement_id for i in items]))
    for statement in statements:
        statement.status, statement.paid_at = PaymentStatement.Status.PAID, now
    bulk_update_with_history(statements, PaymentStatement, ["status", "paid_at"], default_user=acting_user,
                             default_date=now, default_change_reason=f"Paid by payment run {run.number}")
    run.status, run.paid_at, run.paid_by = PaymentRun.Status.PAID, now, acting_user
    run._history_user, run._change_reason = acting_user, "Marked paid"
    run.save(update_fields=["status", "paid_at", "paid_by"])
    organisation = OrganisationDetails.current()
    for item in items:
        remittance_advice_queue(item=item, organisation=organisation)
    return run


@transaction.atomic
def payment_run_cancel(*, run_id: int, acting_user, reason: str) -> PaymentRun:
    """Cancel a run the bank has not paid: its statements are free for another run."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise PaymentRunRefused({"reason": "Say why the payment run is being cancelled."})
    run = _lock_ready(run_id, "it cannot be cancelled")
    run.items.update(live=False)
    run.status = PaymentRun.Status.CANCELLED
    run._history_user, run._change_reason = acting_user, f"Cancelled: {reason}"[:100]
    run.save(update_fields=["status"])
    return run


FILE_KINDS = {"bacs": "Bacs Standard 18 file", "csv": "bulk-payment CSV"}
BANK_CSV_COLUMNS = ["Sort code", "Account number", "Account name", "Amount", "Reference"]


def _payments(run: PaymentRun) -> list[Payment]:
    return [Payment(sort_code=i.sort_code, account_number=i.account_number, name=i.account_name, amount=i.amount,
                    reference=i.reference)
            for i in run.items.filter(live=True).order_by("pk")]


def payment_run_file(*, run: PaymentRun, kind: str, viewer) -> tuple[bytes, str]:
    """The run's file for the bank, as bytes and a file name, recorded in the run's history and in each mentor's
    bank details' history (the file holds them in full). Only for those allowed to see bank details."""
    if kind not in FILE_KINDS:
        raise ValueError(kind)
    if not viewer.has_perm(roles.VIEW_BANK_DETAILS):
        raise PermissionDenied("You are not allowed to see bank details in full.")
    if run.status == PaymentRun.Status.CANCELLED:
        raise PaymentRunRefused([f"{run.number} was cancelled: its files are no longer offered."])
    payments = _payments(run)
    if kind == "bacs":
        content = standard18_file(payments, payer_sort_code=run.payer_sort_code,
                                  payer_account_number=run.payer_account_number, payer_name=run.payer_account_name)
        filename = f"{run.number}-bacs-standard18.txt"
    else:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(BANK_CSV_COLUMNS)
        for p in payments:
            writer.writerow([p.sort_code, p.account_number, bacs_text(p.name).strip(), f"{p.amount:.2f}",
                             bacs_text(p.reference).strip()])
        content, filename = buffer.getvalue().encode("ascii"), f"{run.number}-bulk-payments.csv"
    with transaction.atomic():
        what = FILE_KINDS[kind]
        run._history_user, run._change_reason = viewer, f"{what[:1].upper()}{what[1:]} downloaded"
        PaymentRun.history.bulk_history_create([run], update=True, default_user=viewer, default_date=timezone.now(),
                                               default_change_reason=run._change_reason)
        details = list(MentorBankDetails.objects.filter(mentor__in=run.items.filter(live=True).values("mentor")))
        bank_details_reveal(details=details, viewer=viewer, purpose=f"{FILE_KINDS[kind]} of {run.number}")
    return content, filename

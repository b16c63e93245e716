"""The month-end job: completed sessions become invoice lines and payment statement lines.

Running it again, or twice at once, changes nothing: the run row is locked for the duration, and the database
allows one live invoice line and one statement line per session.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from invoicing.bulk import insert_history, insert_rows, insert_rows_returning_ids
from invoicing.models import Invoice, InvoiceLine, MonthEndRun, OrganisationDetails, PaymentStatement, StatementLine
from invoicing.policy import PayRates, Policy, vat_on
from invoicing.services.funder_rules import MissedSessionRules
from sessions_app.models import FundingArrangement, Funder, Mentee, ServiceAppointment, SessionSignOff
from sessions_app.pay import amount_for_minutes
from sessions_app.selectors import last_day_of_month, local_midnight

Status = ServiceAppointment.Status
logger = logging.getLogger(__name__)


@dataclass
class MonthEndSummary:
    period_start: date
    invoices_created: int = 0
    invoices_extended: int = 0
    invoice_lines: int = 0
    statements_created: int = 0
    statements_extended: int = 0
    statement_lines: int = 0
    late_lines: int = 0
    waiting_for_issued: int = 0
    awaiting_finance: int = 0
    awaiting_sign_off: int = 0
    issued: int = 0
    adjustments: int = 0
    notes: list = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"Month end {self.period_start:%B %Y}",
            f"  invoices: {self.invoices_created} new, {self.invoices_extended} drafts extended, "
            f"{self.invoice_lines} lines",
            f"  payment statements: {self.statements_created} new, {self.statements_extended} drafts extended, "
            f"{self.statement_lines} lines",
            f"  late sessions from earlier months: {self.late_lines}",
            f"  sessions waiting for next month (their document is already issued): {self.waiting_for_issued}",
            f"  sessions awaiting Finance (not included): {self.awaiting_finance}",
            *([f"  sessions waiting for the mentee's sign-off (not included): {self.awaiting_sign_off}"]
              if self.awaiting_sign_off else []),
            *([f"  adjustments for corrected sessions: {self.adjustments}"] if self.adjustments else []),
            f"  documents issued automatically: {self.issued}",
            *(f"  not issued: {note}" for note in self.notes),
        ]


def record_history(model, new, extended) -> None:
    """The audit trail of the documents the job wrote in bulk: created, or a draft extended, by the job."""
    insert_history(model, [document.pk for document in new], history_type="+", change_reason="Month-end job")
    insert_history(model, [document.pk for document in extended], history_type="~", change_reason="Month-end job")


def _minutes(starts_at, ends_at, actual_minutes) -> int:
    return actual_minutes or int((ends_at - starts_at).total_seconds() // 60)


def month_end_generate(*, year: int, month: int, progress=None, now=None, in_database: bool | None = None,
                       issue: bool | None = None) -> MonthEndSummary:
    """Create (or extend) the month's draft invoices and payment statements; issue them if Finance said so.

    The lines are written by PostgreSQL itself (month_end_sql.py) on PostgreSQL, by Python elsewhere: the same
    rules twice. `in_database=False` takes the Python path on PostgreSQL too (the tests compare the two).
    `issue` overrides Finance's "issue automatically" (the admin's preview issues nothing)."""
    if in_database is None:
        in_database = connection.vendor == "postgresql"
    period_start = date(year, month, 1)
    period_end = last_day_of_month(period_start)
    cutoff = local_midnight(period_end + timedelta(days=1))
    now = now or timezone.now()
    summary = MonthEndSummary(period_start=period_start)
    progress = progress or (lambda done, total, stage: None)

    with transaction.atomic():
        run, _ = MonthEndRun.objects.get_or_create(period_start=period_start)
        run = MonthEndRun.objects.select_for_update().get(pk=run.pk)
        if run.is_closed:
            from .month_close import MonthClosed, closed_message

            raise MonthClosed(closed_message(run, "its month end cannot run again"))
        run.started_at, run.runs = now, run.runs + 1
        from sessions_app.services.corrections import billing_lock

        from .corrections import statement_adjustments_attach

        billing_lock()  # a wrap-up correction in progress finishes first, and none starts until this run is done

        completed = ServiceAppointment.objects.filter(status=Status.COMPLETED, starts_at__lt=cutoff)
        summary.awaiting_finance = ServiceAppointment.objects.filter(
            status=Status.AWAITING_FINANCE, starts_at__lt=cutoff
        ).count()
        summary.awaiting_sign_off = awaiting_sign_off(cutoff).count()
        org = OrganisationDetails.current()
        vat_rate = org.vat_rate if org.vat_registered else Decimal("0.00")
        if in_database:
            from .month_end_sql import bill_in_database, pay_in_database

            bill_in_database(cutoff, vat_rate, period_start, period_end, summary, progress)
            pay_in_database(cutoff, period_start, period_end, summary, progress)
        else:
            policy = Policy()
            bill_sessions(completed, policy, vat_rate, period_start, period_end, summary, progress, cutoff=cutoff)
            pay_sessions(completed, policy, period_start, period_end, summary, progress)
        summary.adjustments = statement_adjustments_attach(period_start=period_start)

        run.finished_at = timezone.now()
        run.save(update_fields=["started_at", "finished_at", "runs"])

    if OrganisationDetails.current().issue_automatically if issue is None else issue:
        from .documents import invoices_issue_all_possible, statements_issue

        drafts = Invoice.objects.filter(period_start=period_start, status=Invoice.Status.DRAFT)
        statements = PaymentStatement.objects.filter(period_start=period_start, status=PaymentStatement.Status.DRAFT)
        issued, summary.notes = invoices_issue_all_possible(invoice_ids=list(drafts.values_list("pk", flat=True)),
                                                            acting_user=None)
        for note in summary.notes:
            logger.warning("Month end %s: an invoice was left a draft: %s", f"{period_start:%Y-%m}", note)
        summary.issued = len(issued)
        summary.issued += len(statements_issue(statement_ids=list(statements.values_list("pk", flat=True)), acting_user=None))
    return summary


# ---------------------------------------------------------------- the mentee's sign-off

def confirmed_by(cutoff):
    """A session's mentee confirmed it before the cutoff: a funder billed for confirmed sessions only is billed for
    it in the month of the confirmation (month_end_sql.py's CONFIRMED_ONLY says the same)."""
    return Exists(SessionSignOff.objects.filter(appointment=OuterRef("pk"), state=SessionSignOff.State.CONFIRMED,
                                                answered_at__lt=cutoff))


def awaiting_sign_off(cutoff):
    """Completed sessions up to the cutoff, not yet invoiced, that wait for their mentee's confirmation: their
    funder is billed for confirmed sessions only. Missed sessions the billing policy does not bill have no sign-off
    (sessions_app.services.sign_off) and are left out."""
    return (ServiceAppointment.objects
            .filter(Q(outcome=ServiceAppointment.Outcome.ATTENDED) | Q(sign_off__isnull=False), status=Status.COMPLETED,
                    starts_at__lt=cutoff, funding_arrangement__funder__bill_only_confirmed=True)
            .filter(~confirmed_by(cutoff), ~Exists(InvoiceLine.objects.filter(appointment=OuterRef("pk"),
                                                                                released=False))))


# ---------------------------------------------------------------- invoices

INVOICE_FIELDS = ["status", "period_start", "period_end", "group_key", "funder_id", "funding_arrangement_id",
                  "mentee_id", "bill_to_name", "bill_to_email", "bill_to_address", "customer_reference", "vat_rate",
                  "net", "vat", "total"]
INVOICE_LINE_FIELDS = ["invoice_id", "appointment_id", "session_date", "reference", "mentee_name", "outcome",
                       "minutes", "hourly_rate", "net", "is_late", "released", "charge_rule"]
STATEMENT_FIELDS = ["status", "mentor_id", "period_start", "period_end", "total"]
STATEMENT_LINE_FIELDS = ["statement_id", "appointment_id", "session_date", "reference", "mentee_name", "outcome",
                         "minutes", "hourly_rate", "amount", "wrapped_up_by_name", "on_behalf", "is_late"]


def bill_sessions(completed, policy, vat_rate, period_start, period_end, summary, progress, *, cutoff):
    rows = (
        completed.filter(~Exists(InvoiceLine.objects.filter(appointment=OuterRef("pk"), released=False)),
                         funding_arrangement__isnull=False)
        .filter(Q(funding_arrangement__funder__bill_only_confirmed=False)
                | Q(funding_arrangement__funder__isnull=True) | confirmed_by(cutoff))
        .order_by("starts_at", "pk")
        .values_list("pk", "reference", "starts_at", "ends_at", "actual_minutes", "outcome", "mentee_id",
                     "mentee__full_name", "funding_arrangement_id", "funding_arrangement__kind",
                     "funding_arrangement__funder_id", "funding_arrangement__hourly_rate", "notice_hours")
    )
    funders = {f.pk: f for f in Funder.objects.all()}
    missed = MissedSessionRules(policy, cutoff=cutoff)
    by_group = defaultdict(list)
    for row in rows:
        (pk, _, starts_at, ends_at, actual, outcome, mentee_id, _, arrangement_id, kind, funder_id, _, notice) = row
        if not policy.billed(funder_id, outcome):
            continue
        charged = missed.charge(pk=pk, funder_id=funder_id, outcome=outcome, notice_hours=notice,
                                minutes=_minutes(starts_at, ends_at, actual))
        if not charged.billed:  # a funder's missed-session rules say not to bill it
            continue
        row = (*row[:12], charged)
        if kind == FundingArrangement.Kind.SELF_FUNDED:
            key = f"mentee:{mentee_id}"
        elif funders[funder_id].single_monthly_invoice:
            key = f"funder:{funder_id}"
        else:
            key = f"arrangement:{arrangement_id}"
        by_group[key].append(row)
    if not by_group:
        return

    existing = {
        invoice.group_key: invoice
        for invoice in Invoice.objects.filter(period_start=period_start, group_key__in=list(by_group))
        .exclude(status=Invoice.Status.CREDITED)
    }
    lines_by_key, new, extended = {}, [], []
    done, total = 0, sum(len(group) for group in by_group.values())
    for key, group in by_group.items():
        invoice = existing.get(key)
        if invoice is None:
            first = group[0]
            invoice = new_invoice(key, arrangement_id=first[8], funder_id=first[10], mentee_id=first[6],
                                   funders=funders, vat_rate=vat_rate, period_start=period_start, period_end=period_end)
            new.append(invoice)
        elif invoice.status != Invoice.Status.DRAFT:
            summary.waiting_for_issued += len(group)  # goes on next month's invoice, marked late
            continue
        else:
            extended.append(invoice)
        lines = []
        for (pk, reference, starts_at, _, _, outcome, _, mentee_name, _, _, _, rate, charged) in group:
            day = timezone.localdate(starts_at)
            lines.append([None, pk, day, reference, mentee_name, outcome, charged.minutes, rate,
                          amount_for_minutes(charged.minutes, rate), day < period_start, False, charged.rule])
        invoice.net += sum(line[8] for line in lines)
        invoice.vat = vat_on(invoice.net, invoice.vat_rate)
        invoice.total = invoice.net + invoice.vat
        lines_by_key[key] = (invoice, lines)
        done += len(lines)
        progress(done, total, "invoice lines")

    fill_bill_to(new)
    ids = insert_rows_returning_ids(Invoice, INVOICE_FIELDS, [
        tuple(getattr(invoice, name) for name in INVOICE_FIELDS) for invoice in new])
    for invoice, pk in zip(new, ids):
        invoice.pk = pk
    if extended:
        Invoice.objects.bulk_update(extended, ["net", "vat", "total"])
    record_history(Invoice, new, extended)
    all_lines = []
    for invoice, lines in lines_by_key.values():
        for line in lines:
            line[0] = invoice.pk
            all_lines.append(tuple(line))
    insert_rows(InvoiceLine, INVOICE_LINE_FIELDS, all_lines)
    summary.invoices_created, summary.invoices_extended = len(new), len(extended)
    summary.invoice_lines = len(all_lines)
    summary.late_lines += sum(line[9] for line in all_lines)


def new_invoice(key, *, arrangement_id, funder_id, mentee_id, funders, vat_rate, period_start, period_end) -> Invoice:
    kind = key.partition(":")[0]
    invoice = Invoice(period_start=period_start, period_end=period_end, group_key=key, vat_rate=vat_rate)
    if kind == "mentee":
        invoice.mentee_id = mentee_id
        invoice.funding_arrangement_id = arrangement_id
    else:
        funder = funders[funder_id]
        invoice.funder_id = funder.pk
        invoice.bill_to_name = funder.name
        invoice.bill_to_email = funder.billing_email
        invoice.bill_to_address = bill_to_address(funder)
        if kind == "arrangement":
            invoice.funding_arrangement_id = arrangement_id
    return invoice


def bill_to_address(funder: Funder) -> str:
    """Where a funder's invoices go: its billing contact, then its address."""
    return "\n".join(filter(None, [funder.billing_contact_name, funder.billing_address.strip()]))


def fill_bill_to(invoices):
    """Self-funded invoices go to the mentee; funded ones to the funder (set already), quoting the reference."""
    mentee_ids = {i.mentee_id for i in invoices if i.mentee_id}
    arrangement_ids = {i.funding_arrangement_id for i in invoices if i.funding_arrangement_id and not i.mentee_id}
    mentees = Mentee.objects.in_bulk(mentee_ids) if mentee_ids else {}
    references = dict(FundingArrangement.objects.filter(pk__in=arrangement_ids).values_list("pk", "reference")) if arrangement_ids else {}
    for invoice in invoices:
        if invoice.mentee_id:
            mentee = mentees[invoice.mentee_id]
            invoice.bill_to_name, invoice.bill_to_email, invoice.bill_to_address = (
                mentee.full_name, mentee.email, mentee.address)
        elif invoice.funding_arrangement_id:
            invoice.customer_reference = references.get(invoice.funding_arrangement_id, "")


# ---------------------------------------------------------------- pay

def pay_sessions(completed, policy, period_start, period_end, summary, progress):
    rows = (
        completed.filter(statement_line__isnull=True)
        .order_by("starts_at", "pk")
        .values_list("pk", "reference", "starts_at", "ends_at", "actual_minutes", "outcome", "mentee__full_name",
                     "mentor_id", "mentor__user_id", "wrapped_up_by_id", "wrapped_up_by__full_name",
                     "funding_arrangement__funder_id")
    )
    by_mentor = defaultdict(list)
    for row in rows:
        if policy.paid(row[11], row[5]):
            by_mentor[row[7]].append(row)
    if not by_mentor:
        return
    existing = {s.mentor_id: s for s in PaymentStatement.objects.filter(period_start=period_start, mentor_id__in=list(by_mentor))}
    rates = PayRates(mentor_ids=list(by_mentor))
    lines_by_mentor, new, extended = {}, [], []
    done, total = 0, sum(len(group) for group in by_mentor.values())
    for mentor_id, group in by_mentor.items():
        statement = existing.get(mentor_id)
        if statement is None:
            statement = PaymentStatement(mentor_id=mentor_id, period_start=period_start, period_end=period_end)
            new.append(statement)
        elif statement.status != PaymentStatement.Status.DRAFT:
            summary.waiting_for_issued += len(group)
            continue
        else:
            extended.append(statement)
        lines = []
        for (pk, reference, starts_at, ends_at, actual, outcome, mentee_name, _, mentor_user_id, by_id, by_name, _) in group:
            minutes = _minutes(starts_at, ends_at, actual)
            day = timezone.localdate(starts_at)
            rate = rates.on(mentor_id, day)
            lines.append([None, pk, day, reference, mentee_name, outcome, minutes, rate,
                          amount_for_minutes(minutes, rate), by_name or "",
                          by_id is not None and by_id != mentor_user_id, day < period_start])
        statement.total += sum(line[8] for line in lines)
        lines_by_mentor[mentor_id] = (statement, lines)
        done += len(lines)
        progress(done, total, "statement lines")

    ids = insert_rows_returning_ids(PaymentStatement, STATEMENT_FIELDS, [
        tuple(getattr(statement, name) for name in STATEMENT_FIELDS) for statement in new])
    for statement, pk in zip(new, ids):
        statement.pk = pk
    if extended:
        PaymentStatement.objects.bulk_update(extended, ["total"])
    record_history(PaymentStatement, new, extended)
    all_lines = []
    for statement, lines in lines_by_mentor.values():
        for line in lines:
            line[0] = statement.pk
            all_lines.append(tuple(line))
    insert_rows(StatementLine, STATEMENT_LINE_FIELDS, all_lines)
    summary.statements_created, summary.statements_extended = len(new), len(extended)
    summary.statement_lines = len(all_lines)
    summary.late_lines += sum(line[11] for line in all_lines)

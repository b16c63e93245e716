"""The month end run from the admin's Month end page: a preview of what it would do, a run asked for by Finance and
carried out by a Celery worker (the same `month_end_generate` as beat's job and the command), its state and result
on the month's `MonthEndRun` row.

States: "" (never asked for from the admin) → queued (asked; the task is on its way to a worker) → running → done
or failed. Asking again while queued or running is refused (a double submit), except when the run has been stuck
for longer than `STUCK_AFTER` (a worker killed): the month end is idempotent, so running it again is always safe.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import OperationalError, transaction
from django.db.models import Count, Max, Sum
from django.utils import timezone
from django.utils.formats import date_format

from invoicing.models import Invoice, InvoiceLine, MonthEndRun, PaymentStatement, StatementAdjustment, StatementLine
from sessions_app.models import ServiceAppointment
from sessions_app.selectors import last_day_of_month, local_midnight

from .month_close import MonthClosed, closed_message, month_name
from .month_end import MonthEndSummary, awaiting_sign_off, month_end_generate
from .pdf import money

logger = logging.getLogger(__name__)
State = MonthEndRun.State
STUCK_AFTER = timedelta(hours=1)


def month_end_month_problem(month: date, *, today: date | None = None) -> str | None:
    """A month the month end cannot be run for from the admin: one that has not started."""
    today = today or timezone.localdate()
    if month.replace(day=1) > today.replace(day=1):
        return f"{month_name(month)} has not started yet: choose this month or an earlier one."
    return None


# --------------------------------------------------------------------------- asking for a run, and running it


def _in_progress(run: MonthEndRun, now) -> bool:
    return run.state in (State.QUEUED, State.RUNNING) and run.state_changed_at is not None and (
        now - run.state_changed_at < STUCK_AFTER)


def in_progress_message(run: MonthEndRun) -> str:
    who = run.requested_by.full_name if run.requested_by_id else "someone"
    when = date_format(timezone.localtime(run.state_changed_at), "j F Y, H:i")
    return (f"The month end for {month_name(run.period_start)} is already {run.get_state_display().lower()} "
            f"(asked for by {who}; {when}). This page shows when it has finished.")


def month_end_request(*, year: int, month: int, acting_user, today: date | None = None) -> MonthEndRun:
    """Ask a worker to run the month end for the month; refused for a month not started, a closed month, or while a
    run is already queued or running."""
    period_start = date(year, month, 1)
    if problem := month_end_month_problem(period_start, today=today):
        raise ValidationError(problem)
    now = timezone.now()
    with transaction.atomic():
        run, _ = MonthEndRun.objects.get_or_create(period_start=period_start)
        try:
            with transaction.atomic():
                # A run in progress holds this row (month_end_generate locks it): say so rather than wait for it.
                run = MonthEndRun.objects.select_for_update(nowait=True).get(pk=run.pk)
        except OperationalError:  # could not obtain the lock: a run (beat's, a command's, a worker's) holds it
            raise ValidationError(f"The month end for {month_name(period_start)} is running now: try again when it "
                                  "has finished (this page then shows what it did).") from None
        if run.is_closed:
            raise MonthClosed(closed_message(run, "its month end cannot run again"))
        if _in_progress(run, now):
            raise ValidationError(in_progress_message(run))
        run.state, run.state_changed_at, run.requested_by, run.result = State.QUEUED, now, acting_user, ""
        run._history_user = acting_user
        run._change_reason = "Month end asked for in the admin"
        run.save(update_fields=["state", "state_changed_at", "requested_by", "result"])

        def dispatch(run_id=run.pk):
            from invoicing.tasks import run_month_end_from_admin

            run_month_end_from_admin.delay(run_id)

        transaction.on_commit(dispatch)
    return run


def _set_state(run_id: int, state: str, *, result: str | None = None, reason: str) -> MonthEndRun:
    with transaction.atomic():
        run = MonthEndRun.objects.select_for_update().get(pk=run_id)
        run.state, run.state_changed_at = state, timezone.now()
        fields = ["state", "state_changed_at"]
        if result is not None:
            run.result = result
            fields.append("result")
        run._history_user = run.requested_by
        run._change_reason = reason
        run.save(update_fields=fields)
    return run


def month_end_run_execute(*, run_id: int) -> MonthEndRun | None:
    """The worker's side: run the month end asked for, recording running, then done (with the summary) or failed
    (with why). A task delivered again after it finished does nothing; one delivered again while the run shows
    running (its worker was killed) runs it again, which is safe."""
    with transaction.atomic():
        run = MonthEndRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.state not in (State.QUEUED, State.RUNNING):
            return run
    _set_state(run_id, State.RUNNING, reason="Month end running")
    try:
        summary = month_end_generate(year=run.period_start.year, month=run.period_start.month)
    except ValidationError as refusal:
        return _set_state(run_id, State.FAILED, result=" ".join(refusal.messages), reason="Month end refused")
    except Exception:
        logger.exception("The month end for %s asked for in the admin failed", f"{run.period_start:%Y-%m}")
        _set_state(run_id, State.FAILED, reason="Month end failed",
                   result="The month end failed with an error, and changed nothing: the error is in the workers' "
                          "log. Running it again is safe.")
        return None  # logged; re-raising would only have the broker deliver it again, to fail the same way
    return _set_state(run_id, State.DONE, result="\n".join(summary.lines()), reason="Month end finished")


# --------------------------------------------------------------------------- the preview


@dataclass
class CustomerPreview:
    """What the run would add to one customer's invoices (a funder, or a self-funded mentee)."""

    name: str
    kind: str  # "Funder" or "Self-funded"
    invoices: int = 0
    sessions: int = 0
    minutes: int = 0
    net: Decimal = Decimal("0.00")
    vat: Decimal = Decimal("0.00")
    late: int = 0

    @property
    def hours(self) -> Decimal:
        return (Decimal(self.minutes) / 60).quantize(Decimal("0.01"))

    @property
    def total(self) -> Decimal:
        return self.net + self.vat


@dataclass
class MentorPreview:
    name: str
    sessions: int = 0
    minutes: int = 0
    amount: Decimal = Decimal("0.00")
    adjustments: Decimal = Decimal("0.00")  # corrections of sessions paid on issued statements (+ or -)

    @property
    def total(self) -> Decimal:
        return self.amount + self.adjustments

    @property
    def shown(self) -> dict:
        """The adjustments and total as the page shows them: -£12.50 for a negative amount."""
        return {"adjustments": money(self.adjustments) if self.adjustments else "", "total": money(self.total)}

    @property
    def hours(self) -> Decimal:
        return (Decimal(self.minutes) / 60).quantize(Decimal("0.01"))


@dataclass
class MonthEndPreview:
    month: date
    customers: list[CustomerPreview] = field(default_factory=list)
    mentors: list[MentorPreview] = field(default_factory=list)
    summary: MonthEndSummary | None = None
    refused: str = ""  # why the month end would not run (a closed month)
    awaiting_sign_off: list = field(default_factory=list)  # sessions left out until their mentee confirms them

    def _sum(self, name):
        return sum((getattr(row, name) for row in self.customers), Decimal("0.00") if name != "sessions" else 0)

    @property
    def totals(self) -> dict:
        return {"sessions": sum(row.sessions for row in self.customers),
                "hours": sum((row.hours for row in self.customers), Decimal("0.00")),
                "net": self._sum("net"), "vat": self._sum("vat"), "total": self._sum("net") + self._sum("vat"),
                "pay": sum((row.amount for row in self.mentors), Decimal("0.00")),
                "adjustments": money(sum((row.adjustments for row in self.mentors), Decimal("0.00"))),
                "pay_total": money(sum((row.total for row in self.mentors), Decimal("0.00"))),
                "paid_sessions": sum(row.sessions for row in self.mentors)}

    @property
    def is_empty(self) -> bool:
        return not self.customers and not self.mentors


def month_end_preview(*, year: int, month: int) -> MonthEndPreview:
    """What running the month end now would add, worked out by the month end itself in a transaction that is rolled
    back (without issuing anything), so the preview and the run cannot disagree."""
    preview = MonthEndPreview(month=date(year, month, 1))
    with transaction.atomic():
        last_line = InvoiceLine.objects.aggregate(last=Max("pk"))["last"] or 0
        last_statement_line = StatementLine.objects.aggregate(last=Max("pk"))["last"] or 0
        vat_before = dict(Invoice.objects.filter(period_start=preview.month).values_list("pk", "vat"))
        pending = list(StatementAdjustment.objects.filter(statement__isnull=True).values_list("pk", flat=True))
        try:
            preview.summary = month_end_generate(year=year, month=month, issue=False)
        except MonthClosed as closed:
            preview.refused = " ".join(closed.messages)
        else:
            _collect(preview, last_line, last_statement_line, vat_before, pending)
            cutoff = local_midnight(last_day_of_month(preview.month) + timedelta(days=1))
            preview.awaiting_sign_off = list(awaiting_sign_off(cutoff).select_related(
                "mentee", "funding_arrangement__funder", "sign_off").order_by("starts_at", "pk"))
        transaction.set_rollback(True)
    return preview


def _collect(preview: MonthEndPreview, last_line: int, last_statement_line: int, vat_before: dict,
             pending_adjustments: list[int]) -> None:
    added = (InvoiceLine.objects.filter(pk__gt=last_line).values("invoice_id")
             .annotate(sessions=Count("pk"), minutes=Sum("minutes"), net=Sum("net")))
    added = {row["invoice_id"]: row for row in added}
    late = dict(InvoiceLine.objects.filter(pk__gt=last_line, is_late=True).values("invoice_id")
                .annotate(n=Count("pk")).values_list("invoice_id", "n"))
    customers = {}
    invoices = Invoice.objects.filter(pk__in=list(added)).values_list("pk", "funder_id", "mentee_id", "bill_to_name",
                                                                      "vat")
    for pk, funder_id, mentee_id, name, vat in invoices:
        key = ("funder", funder_id) if funder_id else ("mentee", mentee_id)
        row = customers.setdefault(key, CustomerPreview(name=name, kind="Funder" if funder_id else "Self-funded"))
        line = added[pk]
        row.invoices += 1
        row.sessions += line["sessions"]
        row.minutes += line["minutes"] or 0
        row.net += line["net"] or Decimal("0.00")
        row.vat += vat - vat_before.get(pk, Decimal("0.00"))
        row.late += late.get(pk, 0)
    preview.customers = sorted(customers.values(), key=lambda row: (row.kind != "Funder", row.name.lower()))
    pay = (StatementLine.objects.filter(pk__gt=last_statement_line)
           .values("statement__mentor__user__full_name")
           .annotate(sessions=Count("pk"), minutes=Sum("minutes"), amount=Sum("amount"))
           .order_by("statement__mentor__user__full_name"))
    mentors = {row["statement__mentor__user__full_name"]: MentorPreview(
        name=row["statement__mentor__user__full_name"], sessions=row["sessions"], minutes=row["minutes"] or 0,
        amount=row["amount"] or Decimal("0.00")) for row in pay}
    attached = (StatementAdjustment.objects.filter(pk__in=pending_adjustments, statement__isnull=False)
                .values("mentor__user__full_name").annotate(amount=Sum("amount")))
    for row in attached:
        name = row["mentor__user__full_name"]
        mentors.setdefault(name, MentorPreview(name=name)).adjustments = row["amount"]
    preview.mentors = sorted(mentors.values(), key=lambda row: row.name)


# --------------------------------------------------------------------------- what is still outstanding


@dataclass
class MentorOutstanding:
    mentor: object
    not_wrapped_up: list = field(default_factory=list)
    awaiting_finance: list = field(default_factory=list)


def month_end_outstanding(month: date, *, now=None) -> list[MentorOutstanding]:
    """The month's sessions that the month end leaves out, by mentor: started and not wrapped up, or awaiting
    Finance. Two queries."""
    now = now or timezone.now()
    start, end = local_midnight(month), local_midnight(last_day_of_month(month) + timedelta(days=1))
    sessions = (ServiceAppointment.objects
                .filter(starts_at__gte=start, starts_at__lt=min(end, now),
                        status__in=[ServiceAppointment.Status.SCHEDULED, ServiceAppointment.Status.AWAITING_FINANCE])
                .select_related("mentor__user", "mentee").order_by("mentor__user__full_name", "mentor_id",
                                                                   "starts_at", "pk"))
    by_mentor: dict[int, MentorOutstanding] = defaultdict(lambda: None)
    result = []
    for appointment in sessions:
        row = by_mentor[appointment.mentor_id]
        if row is None:
            row = by_mentor[appointment.mentor_id] = MentorOutstanding(mentor=appointment.mentor)
            result.append(row)
        if appointment.status == ServiceAppointment.Status.AWAITING_FINANCE:
            row.awaiting_finance.append(appointment)
        else:
            row.not_wrapped_up.append(appointment)
    return result


def month_documents(month: date) -> dict:
    """The month's documents as they stand, by status: what the page says is already there."""
    invoices = dict(Invoice.objects.filter(period_start=month).values_list("status").annotate(n=Count("pk")))
    statements = dict(PaymentStatement.objects.filter(period_start=month).values_list("status")
                      .annotate(n=Count("pk")))
    return {"invoices": invoices, "statements": statements,
            "invoice_drafts": invoices.get(Invoice.Status.DRAFT, 0),
            "statement_drafts": statements.get(PaymentStatement.Status.DRAFT, 0)}

"""What invoicing does when a wrap-up is corrected or reopened (sessions_app's `wrap_up_corrected` and
`wrap_up_reopened`), in the correction's transaction:

- not on any document yet: nothing; the month end bills and pays the session as it now is;
- on a draft invoice or statement: its line is taken off and made again from the corrected session (or left off,
  if it is no longer billed or paid), by the month end's own code;
- on an issued (or paid) invoice: a credit note for that one line; the line is released, so the next month end
  invoices the corrected session again, marked late;
- on an issued (approved, paid) payment statement: an adjustment for the difference, carried by the mentor's next
  statement at that month's end, and the mentor is told.

A correction and a month end take turns (`billing_lock`), so the month end never bills a session from before a
correction that then misses the line it wrote. Reopening is refused once the session is on an issued document.
"""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from invoicing.models import (
    Invoice,
    InvoiceLine,
    OrganisationDetails,
    PaymentStatement,
    StatementAdjustment,
    StatementLine,
)
from invoicing.policy import PayRates, Policy, vat_on
from notifications.models import OutboxEmail
from notifications.services import outbox_enqueue
from sessions_app.exceptions import AppointmentActionNotAllowed
from sessions_app.models import ServiceAppointment
from sessions_app.pay import amount_for_minutes
from sessions_app.selectors import last_day_of_month, local_midnight
from sessions_app.services.corrections import billing_lock

from .month_end import MonthEndSummary, bill_sessions, pay_sessions
from .partial_credit import invoice_line_credit
from .pdf import money

def _month(day) -> str:
    return date_format(day, "F Y")


def _cutoff(period_start):
    return local_midnight(last_day_of_month(period_start) + timedelta(days=1))


def _billing_changed(before, after) -> bool:
    return (before.outcome, before.funding_arrangement_id, before.minutes) != (
        after.outcome, after.funding_arrangement_id, after.minutes)


def _pay_changed(before, after) -> bool:
    return (before.outcome, before.funder_id, before.minutes) != (after.outcome, after.funder_id, after.minutes)


def _quiet(done, total, stage):
    pass


# ---------------------------------------------------------------- invoices

def _invoice_total_again(invoice: Invoice, *, reason: str) -> None:
    """A draft after a line left it: its totals from the lines it still has; gone when it has none."""
    net = invoice.lines.aggregate(net=Sum("net"))["net"]
    if net is None:
        invoice.delete()
        return
    invoice.net = net
    invoice.vat = vat_on(net, invoice.vat_rate)
    invoice.total = invoice.net + invoice.vat
    invoice._change_reason = reason
    invoice.save(update_fields=["net", "vat", "total"])


def _bill_again_on_draft(appointment: ServiceAppointment, period_start) -> list[Invoice]:
    """The month end's own rules, for this one session and the draft's month."""
    org = OrganisationDetails.current()
    vat_rate = org.vat_rate if org.vat_registered else Decimal("0.00")
    session = ServiceAppointment.objects.filter(pk=appointment.pk, status=ServiceAppointment.Status.COMPLETED,
                                                starts_at__lt=_cutoff(period_start))
    bill_sessions(session, Policy(), vat_rate, period_start, last_day_of_month(period_start),
                  MonthEndSummary(period_start=period_start), _quiet, cutoff=_cutoff(period_start))
    return [line.invoice for line in InvoiceLine.objects.filter(appointment=appointment, released=False)
            .select_related("invoice")]


def _correct_invoice(appointment, *, acting_user, reason, today) -> list[str]:
    line = InvoiceLine.objects.filter(appointment=appointment, released=False).first()
    if line is None:
        return []
    invoice = Invoice.objects.select_for_update(of=("self",)).get(pk=line.invoice_id)
    if invoice.status == Invoice.Status.DRAFT:
        line.delete()
        _invoice_total_again(invoice, reason=f"{appointment.reference} taken off: wrap-up corrected")
        now_on = _bill_again_on_draft(appointment, invoice.period_start)
        if now_on:
            return [f"The draft invoice for {now_on[0].bill_to_name} ({_month(invoice.period_start)}) now has "
                    f"{appointment.reference} as corrected."]
        return [f"{appointment.reference} is off the draft invoice for {invoice.bill_to_name} "
                f"({_month(invoice.period_start)}); it is invoiced at a month end if it is billed."]
    credit_note = invoice_line_credit(line_id=line.pk, acting_user=acting_user,
                                      reason=f"{appointment.reference}: wrap-up corrected. {reason}", today=today)
    return [f"{credit_note.number} credits {appointment.reference} on {invoice.number} ({money(credit_note.total)}); "
            "the corrected session is invoiced at the next month end, if it is billed."]


# ---------------------------------------------------------------- payment statements

def _pay_now(appointment: ServiceAppointment) -> Decimal:
    """What the mentor is owed for the session as it now is, by Finance's policy and the mentor's pay rates."""
    if appointment.status != ServiceAppointment.Status.COMPLETED:
        return Decimal("0.00")
    arrangement = appointment.funding_arrangement
    if not Policy().paid(arrangement.funder_id if arrangement else None, appointment.outcome):
        return Decimal("0.00")
    rate = PayRates(mentor_ids=[appointment.mentor_id]).on(appointment.mentor_id,
                                                          timezone.localdate(appointment.starts_at))
    return amount_for_minutes(appointment.minutes, rate)


def _statement_total_again(statement: PaymentStatement, *, reason: str) -> None:
    lines = statement.lines.aggregate(total=Sum("amount"))["total"]
    adjustments = statement.adjustments.aggregate(total=Sum("amount"))["total"]
    if lines is None and adjustments is None:
        statement.delete()
        return
    statement.total = (lines or Decimal("0.00")) + (adjustments or Decimal("0.00"))
    statement._change_reason = reason
    statement.save(update_fields=["total"])


def _pay_again_on_draft(appointment: ServiceAppointment, period_start) -> StatementLine | None:
    session = ServiceAppointment.objects.filter(pk=appointment.pk, status=ServiceAppointment.Status.COMPLETED,
                                                starts_at__lt=_cutoff(period_start))
    pay_sessions(session, Policy(), period_start, last_day_of_month(period_start),
                 MonthEndSummary(period_start=period_start), _quiet)
    return StatementLine.objects.filter(appointment=appointment).first()


def _correct_statement(appointment, *, acting_user, reason, description, now) -> list[str]:
    line = StatementLine.objects.filter(appointment=appointment).first()
    if line is None:
        return []
    statement = PaymentStatement.objects.select_for_update(of=("self",)).select_related("mentor__user").get(
        pk=line.statement_id)
    if statement.status == PaymentStatement.Status.DRAFT:
        line.delete()
        _statement_total_again(statement, reason=f"{appointment.reference} taken off: wrap-up corrected")
        if _pay_again_on_draft(appointment, statement.period_start):
            return [f"The draft payment statement of {statement.mentor} ({_month(statement.period_start)}) now has "
                    f"{appointment.reference} as corrected."]
        return [f"{appointment.reference} is off the draft payment statement of {statement.mentor}: it is not paid "
                "as it now is."]
    paid = line.amount + (line.adjustments.aggregate(total=Sum("amount"))["total"] or Decimal("0.00"))
    owed = _pay_now(appointment)
    if owed == paid:
        return []
    adjustment = StatementAdjustment(
        mentor=appointment.mentor, appointment=appointment, corrects=line, session_date=line.session_date,
        reference=line.reference, mentee_name=line.mentee_name, description=description, reason=reason,
        was_amount=paid, now_amount=owed, amount=owed - paid, created_at=now, created_by=acting_user,
    )
    adjustment._history_user = acting_user
    adjustment.save()
    _tell_mentor(adjustment, statement)
    return [f"{appointment.reference} was paid {money(paid)} on {statement.number}; {money(owed)} is owed now, so "
            f"{statement.mentor}'s next payment statement carries an adjustment of {money(owed - paid)}."]


def _tell_mentor(adjustment: StatementAdjustment, statement: PaymentStatement) -> OutboxEmail | None:
    user = statement.mentor.user
    org = OrganisationDetails.current()
    context = {
        "mentor_name": user.full_name, "statement": statement, "adjustment": adjustment, "org": org,
        "was": money(adjustment.was_amount), "now": money(adjustment.now_amount), "amount": money(adjustment.amount),
        "dashboard_url": settings.SITE_URL + reverse("dashboard"), "site_url": settings.SITE_URL,
    }
    return outbox_enqueue(
        key=f"statement-correction:{statement.number}:{adjustment.reference}:{adjustment.pk}",
        kind=OutboxEmail.Kind.STATEMENT_CORRECTION, to=[user.email], appointment=adjustment.appointment,
        subject=f"Your payment statement {statement.number} changes: {adjustment.reference} corrected "
                f"({money(adjustment.amount)})",
        text_body=render_to_string("notifications/statement_correction.txt", context).strip() + "\n",
        html_body=render_to_string("notifications/statement_correction.html", context),
    )


def statement_adjustments_attach(*, period_start, now=None) -> int:
    """At a month's end: adjustments made before the month ended and not yet on a statement go on each mentor's
    statement for the month (made if need be), unless that is issued already (then the next month's). Returns how
    many were attached."""
    cutoff = _cutoff(period_start)
    pending = list(StatementAdjustment.objects.select_for_update(of=("self",))
                   .filter(statement__isnull=True, created_at__lt=cutoff)
                   # what a statement owed goes on a later month's statement, never its own or an earlier one
                   .exclude(carried_from__period_start__gte=period_start)
                   .order_by("mentor_id", "pk"))
    if not pending:
        return 0
    by_mentor: dict[int, list[StatementAdjustment]] = {}
    for adjustment in pending:
        by_mentor.setdefault(adjustment.mentor_id, []).append(adjustment)
    statements = {s.mentor_id: s for s in PaymentStatement.objects.select_for_update().filter(
        period_start=period_start, mentor_id__in=list(by_mentor))}
    attached = 0
    for mentor_id, adjustments in by_mentor.items():
        statement = statements.get(mentor_id)
        if statement is None:
            statement = PaymentStatement(mentor_id=mentor_id, period_start=period_start,
                                         period_end=last_day_of_month(period_start), total=Decimal("0.00"))
            statement._change_reason = "Month-end job: adjustments brought forward"
            statement.save()
        elif statement.status != PaymentStatement.Status.DRAFT:
            continue  # that month's statement is out: the next month's carries them
        StatementAdjustment.objects.filter(pk__in=[a.pk for a in adjustments]).update(statement=statement)
        statement.total += sum(a.amount for a in adjustments)
        statement._change_reason = "Month-end job: adjustments brought forward"
        statement.save(update_fields=["total"])
        attached += len(adjustments)
    return attached


# ---------------------------------------------------------------- the handlers' services

@transaction.atomic
def wrap_up_corrected_settle(*, appointment, acting_user, before, after, reason, description="",
                             today=None) -> list[str]:
    """Put right what was billed and paid for a corrected session. Returns what was done, for the person who
    corrected it."""
    if not (_billing_changed(before, after) or _pay_changed(before, after)):
        return []
    billing_lock()
    now = timezone.now()
    done = []
    if _billing_changed(before, after):
        done += _correct_invoice(appointment, acting_user=acting_user, reason=reason,
                                 today=today or timezone.localdate())
    if _pay_changed(before, after):
        done += _correct_statement(appointment, acting_user=acting_user, reason=reason,
                                   description=description, now=now)
    return done


@transaction.atomic
def wrap_up_reopened_settle(*, appointment) -> list[str]:
    """A reopened session comes off draft documents; on an issued one it cannot be reopened (raises, which undoes the
    reopen)."""
    billing_lock()
    line = InvoiceLine.objects.filter(appointment=appointment, released=False).select_related("invoice").first()
    statement_line = StatementLine.objects.filter(appointment=appointment).select_related("statement").first()
    for document, kind in ((line.invoice if line else None, "invoice"),
                           (statement_line.statement if statement_line else None, "payment statement")):
        if document is not None and document.status != "draft":
            raise AppointmentActionNotAllowed(
                f"{appointment.reference} is on {kind} {document.number}, issued on "
                f"{date_format(document.issue_date, 'j F Y')}, so it cannot be reopened. Correct its wrap-up "
                "instead: the correction credits or adjusts that document.")
    done = []
    if line is not None:
        invoice = Invoice.objects.select_for_update(of=("self",)).get(pk=line.invoice_id)
        line.delete()
        _invoice_total_again(invoice, reason=f"{appointment.reference} taken off: reopened")
        done.append(f"{appointment.reference} is off the draft invoice for {invoice.bill_to_name}.")
    if statement_line is not None:
        statement = PaymentStatement.objects.select_for_update(of=("self",)).get(pk=statement_line.statement_id)
        statement_line.delete()
        _statement_total_again(statement, reason=f"{appointment.reference} taken off: reopened")
        done.append(f"{appointment.reference} is off the draft payment statement.")
    return done

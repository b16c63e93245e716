"""Closing a month: after Finance closes it, nothing in that month's invoices and payment statements changes except
through credit notes and the next months' documents.

- `month_close` closes it (Finance, with a reason, from the admin's Month end page); `month_close_problems` says
  what stops it, and the confirmation page shows the same list, so the page and the service agree.
- The month end of a closed month, and issuing a draft of one, are refused (`ensure_month_open`, called by
  `month_end_generate`, `invoices_issue` and `statements_issue`); the database refuses them too (migration 0013).
- A session of a closed month wrapped up (or completed by Finance) afterwards goes on a later month's documents,
  marked late, as any late wrap-up does: the next month end picks up every completed session not yet invoiced.
- Sessions' pages say the month is closed: `month_lock_for` answers `sessions_app.closed_months.month_lock`
  (registered in InvoicingConfig.ready), since sessions_app does not import invoicing.
"""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format

from invoicing.models import Invoice, MonthEndRun, PaymentStatement
from sessions_app.closed_months import MonthLock


def month_name(month: date) -> str:
    return date_format(month, "F Y")


class MonthClosed(ValidationError):
    """The month is closed: what was asked would change its documents."""


def closed_message(run: MonthEndRun, doing: str) -> str:
    who = run.closed_by.full_name if run.closed_by_id else "Finance"
    return (f"{month_name(run.period_start)} was closed by {who} on "
            f"{date_format(timezone.localtime(run.closed_at), 'j F Y')}, so {doing}. Its invoices and payment "
            "statements can only be corrected by a credit note; sessions of that month wrapped up since go on the "
            "next month's documents.")


def closed_months(months) -> dict[date, MonthEndRun]:
    """Of these months (their first days), the closed ones."""
    months = {month.replace(day=1) for month in months}
    if not months:
        return {}
    return {run.period_start: run for run in
            MonthEndRun.objects.filter(period_start__in=months, closed_at__isnull=False).select_related("closed_by")}


def ensure_month_open(month: date, *, doing: str) -> None:
    """Raises MonthClosed, saying who closed the month and when, if it is closed."""
    run = closed_months([month]).get(month.replace(day=1))
    if run is not None:
        raise MonthClosed(closed_message(run, doing))


def month_close_problems(month: date, *, today: date | None = None) -> list[str]:
    """Why the month cannot be closed now (an empty list when it can): it must be over, its month end must have run,
    and every invoice and payment statement of it must be issued (a draft of a closed month could never be)."""
    today = today or timezone.localdate()
    month = month.replace(day=1)
    name = month_name(month)
    if month >= today.replace(day=1):
        return [f"{name} is not over yet: a month can be closed once it has ended."]
    run = MonthEndRun.objects.filter(period_start=month).select_related("closed_by").first()
    if run is not None and run.is_closed:
        return [closed_message(run, "it cannot be closed again")]
    if run is None or not run.runs:
        return [f"The month end has not run for {name}: run it (and issue its documents) before closing the month."]
    problems = []
    drafts = Invoice.objects.filter(period_start=month, status=Invoice.Status.DRAFT).count()
    if drafts:
        problems.append(f"{drafts} draft invoice{'s' if drafts != 1 else ''} of {name} "
                        f"{'are' if drafts != 1 else 'is'} not issued: issue {'them' if drafts != 1 else 'it'} "
                        "first (or they could never be).")
    drafts = PaymentStatement.objects.filter(period_start=month, status=PaymentStatement.Status.DRAFT).count()
    if drafts:
        problems.append(f"{drafts} draft payment statement{'s' if drafts != 1 else ''} of {name} "
                        f"{'are' if drafts != 1 else 'is'} not issued: issue {'them' if drafts != 1 else 'it'} "
                        "first (or the mentors could never be paid).")
    if run.state in (MonthEndRun.State.QUEUED, MonthEndRun.State.RUNNING):
        problems.append(f"The month end for {name} is running: wait for it to finish.")
    return problems


@transaction.atomic
def month_close(*, year: int, month: int, acting_user, reason: str, today: date | None = None) -> MonthEndRun:
    """Close the month for good: its documents never change again except through credit notes. Recorded in the
    month-end run's history with who and why."""
    period_start = date(year, month, 1)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the month is being closed (for example “Accounts for October "
                                         "2026 filed”)."})
    # The run row is what the month end locks: a run cannot add drafts between the check and the close.
    run = MonthEndRun.objects.select_for_update().filter(period_start=period_start).first()
    problems = month_close_problems(period_start, today=today)
    if problems:
        raise ValidationError(problems)
    run.closed_at, run.closed_by, run.close_reason = timezone.now(), acting_user, reason
    run._history_user = acting_user
    run._change_reason = f"Month closed: {reason}"[:100]
    run.save(update_fields=["closed_at", "closed_by", "close_reason"])
    return run


def month_lock_for(day: date) -> MonthLock | None:
    """For sessions_app's pages: whether the month of `day` is closed, by whom and when. One query, and none for
    this month or later (a month is closed only once it is over)."""
    month = day.replace(day=1)
    if month >= timezone.localdate().replace(day=1):
        return None
    run = closed_months([month]).get(month)
    if run is None:
        return None
    return MonthLock(month=month, closed_at=run.closed_at)

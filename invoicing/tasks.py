"""Celery tasks for documents: thin and idempotent."""

from datetime import date, timedelta

from celery import shared_task


@shared_task(ignore_result=True)
def run_month_end(day: str | None = None) -> str:
    """Beat runs this every evening from the 28th; it does the month's run only on the last day."""
    from django.utils import timezone

    from invoicing.services import month_end_generate
    from sessions_app.selectors import wrap_up_deadline

    today = date.fromisoformat(day) if day else timezone.localdate()
    if today.day == 1:  # a run held up past midnight (worker down, redelivered): it is still last month's
        today -= timedelta(days=1)
    elif not wrap_up_deadline(today).is_today:
        return f"{today}: not the last day of the month"
    from invoicing.services.month_close import MonthClosed

    try:
        return "\n".join(month_end_generate(year=today.year, month=today.month).lines())
    except MonthClosed as closed:  # Finance closed it already: nothing to do
        return " ".join(closed.messages)


@shared_task(ignore_result=True)
def run_month_end_from_admin(run_id: int) -> None:
    """The month end Finance asked for on the admin's Month end page; its state and result go on the run's row."""
    from invoicing.services.month_end_admin import month_end_run_execute

    month_end_run_execute(run_id=run_id)


@shared_task(ignore_result=True)
def render_invoice_pdf(invoice_id: int) -> None:
    from invoicing.services.pdf import invoice_render_pdf

    invoice_render_pdf(invoice_id=invoice_id)


@shared_task(ignore_result=True)
def render_statement_pdf(statement_id: int) -> None:
    from invoicing.services.pdf import statement_render_pdf

    statement_render_pdf(statement_id=statement_id)


@shared_task(ignore_result=True)
def render_credit_note_pdf(credit_note_id: int) -> None:
    from invoicing.services.pdf import credit_note_render_pdf

    credit_note_render_pdf(credit_note_id=credit_note_id)


@shared_task(ignore_result=True)
def render_session_credit_note_pdf(credit_note_id: int) -> None:
    from invoicing.services.partial_credit import session_credit_note_render_pdf

    session_credit_note_render_pdf(credit_note_id=credit_note_id)


@shared_task(ignore_result=True)
def render_missing_pdfs() -> int:
    from invoicing.services.pdf import pdfs_render_missing

    return pdfs_render_missing()

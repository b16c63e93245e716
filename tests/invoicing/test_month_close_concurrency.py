"""Closing a month and running its month end at the same moment, and asking for a run while one holds the month,
on PostgreSQL (real row locks)."""

import threading
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from invoicing.models import Invoice, MonthEndRun, PaymentStatement
from invoicing.services import invoices_issue, month_end_generate, statements_issue
from invoicing.services.month_close import month_close
from invoicing.services.month_end_admin import month_end_request
from tests.factories import FundingArrangementFactory
from tests.invoicing.helpers import at, completed_session

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def at_once(*calls) -> list:
    """Run the calls in threads released together; what each raised (None when it did not)."""
    barrier, outcomes = threading.Barrier(len(calls)), [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            call()
        except Exception as error:  # compared below
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_a_close_and_a_run_at_once_never_leave_a_closed_month_with_drafts(mentor, finance_user, time_machine):
    time_machine.move_to(at(2026, 11, 20, 12))
    arrangement = FundingArrangementFactory()
    completed_session(mentor, arrangement, at(2026, 10, 5))
    month_end_generate(year=2026, month=10)
    invoices_issue(invoice_ids=list(Invoice.objects.values_list("pk", flat=True)), acting_user=None)
    statements_issue(statement_ids=list(PaymentStatement.objects.values_list("pk", flat=True)), acting_user=None)
    completed_session(mentor, arrangement, at(2026, 10, 12))  # wrapped up late: the next run would add a draft

    outcomes = at_once(
        lambda: month_close(year=2026, month=10, acting_user=finance_user, reason="Filed."),
        lambda: month_end_generate(year=2026, month=10))
    run = MonthEndRun.objects.get(period_start=date(2026, 10, 1))
    drafts = Invoice.objects.filter(period_start=date(2026, 10, 1), status="draft").exists()
    assert not (run.is_closed and drafts)
    # Whichever went second: the run is refused in a closed month, or the close is refused while the run's draft
    # waits; both go through only when the run found nothing to add for October (the late session goes on
    # November's documents once October's were issued). Never an error other than the refusal's message.
    assert all(isinstance(outcome, ValidationError) for outcome in outcomes if outcome is not None)
    if all(outcome is None for outcome in outcomes):
        assert run.is_closed and not drafts


def test_asking_for_a_run_while_one_holds_the_month_is_refused_at_once(finance_user, time_machine):
    time_machine.move_to(at(2026, 11, 20, 12))
    run = MonthEndRun.objects.create(period_start=date(2026, 10, 1))
    holder = connections.create_connection("default")
    try:
        with holder.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT id FROM invoicing_monthendrun WHERE id = %s FOR UPDATE", [run.pk])
            with pytest.raises(ValidationError) as refused:
                month_end_request(year=2026, month=10, acting_user=finance_user)
            cursor.execute("ROLLBACK")
    finally:
        holder.close()
    assert refused.value.messages == [
        "The month end for October 2026 is running now: try again when it has finished (this page then shows what "
        "it did)."]
    run.refresh_from_db()
    assert run.state == MonthEndRun.State.NOT_REQUESTED
